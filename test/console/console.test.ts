/**
 * The web console in a real Chromium against the real server mirroring a smart-HTTP remote: sign in, edit through
 * the schema form with the dry-run diff, save (the commit on the remote keeps the YAML comments), invalid values,
 * conflicts, live updates after a git push, history with rollback and pins, read-only tokens, and axe-core.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { cleanupTempDirs, cloneRepo, commitFiles, run } from '../helpers/git-repo.js';
import { GITHUB_PUSH_EXAMPLE, postGithubPush, waitFor } from '../server/server-fixture.js';
import { TOKENS } from '../edits/writes-fixture.js';
import {
  axeViolations,
  buildConsole,
  launchChromium,
  signIn,
  startConsoleServer,
} from './console-fixture.js';
import type { ConsoleServer } from './console-fixture.js';

describe('web console in Chromium', () => {
  let browser: Browser;
  let server: ConsoleServer;
  const contexts: BrowserContext[] = [];

  before(async () => {
    const [ui, b] = await Promise.all([buildConsole(), launchChromium()]);
    browser = b;
    server = await startConsoleServer(ui);
  });

  after(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await browser?.close();
    await server?.handle.close();
    await server?.remote.close();
    await cleanupTempDirs();
  });

  async function page(width = 1280): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    // Waits, not limits: every check round-trips through the full engine, slow on a loaded 2-core CI machine.
    context.setDefaultTimeout(90_000);
    contexts.push(context);
    const p = await context.newPage();
    // Any script error or CSP refusal fails the test that caused it.
    const problems: string[] = [];
    p.on('pageerror', (e) => problems.push(String(e)));
    p.on('console', (m) => {
      // Expected 4xx answers are logged by the browser; CodeMirror's style attributes (tab-size) are refused
      // by the CSP by design, and the page must work without them.
      if (m.type() === 'error' && !/status of 4\d\d|Applying inline style violates/.test(m.text())) {
        problems.push(m.text());
      }
    });
    (p as Page & { problems: string[] }).problems = problems;
    return p;
  }
  const problemsOf = (p: Page) => (p as Page & { problems: string[] }).problems;
  const head = () => run(server.bare, 'rev-parse', 'refs/heads/main');

  it('edit a number in the form: diff for production and staging, save, commit on the remote, new value shown', async () => {
    const p = await page();
    await signIn(p, server.base, TOKENS.writer);
    await p.goto(`${server.base}/ui/#/pair/app/production`);
    await p.locator('.tree li').filter({ hasText: 'delay' }).first().waitFor();
    await p.getByRole('link', { name: 'Edit defaults' }).click();
    const delay = p.getByLabel(/^delay/);
    await delay.fill('250');
    const check = p.getByRole('region', { name: 'Check before saving' });
    await check.getByText('Valid.').waitFor();
    const production = check.getByRole('region', { name: 'Effective change in production' });
    const staging = check.getByRole('region', { name: 'Effective change in staging' });
    assert.match(await production.innerText(), /\/retry\/delay: 100 → 250/);
    assert.match(await staging.innerText(), /\/retry\/delay: 100 → 250/);
    await p.getByLabel('Commit message').fill('Slower retries for the new provider');
    await p.getByRole('button', { name: 'Save' }).click();
    await p.getByTestId('saved-commit').waitFor();
    const commit = await head();
    assert.equal(
      await run(server.bare, 'log', '-1', '--format=%an <%ae>|%s', commit),
      'writer <writer@example.com>|Slower retries for the new provider',
    );
    const file = await run(server.bare, 'show', `${commit}:defaults/app.yaml`);
    assert.match(file, /^# defaults of app\ngreeting: hello # the greeting\n/);
    assert.match(file, /delay: 250/);
    await p.goto(`${server.base}/ui/#/pair/app/staging`);
    await p.locator('.tree li').filter({ hasText: 'delay: 250' }).first().waitFor();
    assert.deepEqual(problemsOf(p), []);
  });

  it('an invalid value shows the issue with file:line and commits nothing', async () => {
    const before = await head();
    const p = await page();
    await signIn(p, server.base, TOKENS.writer);
    await p.goto(`${server.base}/ui/#/edit/app/production`);
    await p.getByLabel(/^max/).fill('50');
    const check = p.getByRole('region', { name: 'Check before saving' });
    const issue = check
      .getByRole('listitem')
      .filter({ hasText: 'environments/production/app.yaml:' })
      .first();
    await issue.waitFor();
    assert.match(await issue.innerText(), /environments\/production\/app\.yaml:\d+/);
    await p.getByLabel('Commit message').fill('Too many');
    assert.equal(await p.getByRole('button', { name: 'Save' }).isDisabled(), true);
    assert.equal(await head(), before);
  });

  it('the YAML editor completes keys from the schema and marks the server issue on its line', async () => {
    const before = await head();
    const p = await page();
    await signIn(p, server.base, TOKENS.writer);
    await p.goto(`${server.base}/ui/#/edit/app/staging?mode=yaml`);
    const editor = p.locator('.cm-content');
    await editor.waitFor();
    await editor.click();
    await p.keyboard.press('Control+End');
    await p.keyboard.type('cou');
    await p.getByRole('option', { name: /counter/ }).click();
    await p.keyboard.type('many');
    const check = p.getByRole('region', { name: 'Check before saving' });
    // Each keystroke is checked; wait for the answer about the finished line.
    const issue = check
      .getByRole('listitem')
      .filter({ hasText: /integer/ })
      .first();
    await issue.waitFor();
    assert.match(await issue.innerText(), /^environments\/staging\/app\.yaml:3:\d+: .*integer/);
    await p.locator('.cm-lint-marker-error').first().waitFor();
    assert.match(await editor.innerText(), /counter: many/);
    assert.equal(await head(), before);
  });

  it('a read-only token sees no write controls, and a forged write is refused', async () => {
    const p = await page(390);
    await signIn(p, server.base, TOKENS.reader);
    await p.goto(`${server.base}/ui/#/pair/app/production`);
    await p.locator('.tree li').first().waitFor();
    assert.equal(await p.getByRole('link', { name: /^Edit/ }).count(), 0);
    await p.goto(`${server.base}/ui/#/history/app/production`);
    await p.getByRole('heading', { name: /History of app/ }).waitFor();
    await p.locator('.timeline > li').first().waitFor();
    assert.equal(await p.getByRole('button', { name: /Roll back|Revert|Pin/ }).count(), 0);
    const status = await p.evaluate(async () => {
      const storage = (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } })
        .sessionStorage;
      const token = storage.getItem('gitcfg.token');
      const res = await fetch('/v1/config/app/production', {
        method: 'PATCH',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/merge-patch+json',
          'If-Match': '*',
        },
        body: JSON.stringify({ greeting: 'forged' }),
      });
      return res.status;
    });
    assert.equal(status, 403);
  });

  it('two browsers edit the same file: the second gets the conflict view, re-applies, and both changes land', async () => {
    const [a, b] = [await page(), await page()];
    await Promise.all([signIn(a, server.base, TOKENS.writer), signIn(b, server.base, TOKENS.writer)]);
    for (const p of [a, b]) await p.goto(`${server.base}/ui/#/edit/app/staging`);
    await a.getByLabel(/^greeting/).fill('hello from A');
    await b.getByLabel(/^counter/).fill('7');
    for (const [p, msg] of [
      [a, 'A edits the greeting'],
      [b, 'B sets the counter'],
    ] as const) {
      await p.getByRole('region', { name: 'Check before saving' }).getByText('Valid.').waitFor();
      await p.getByLabel('Commit message').fill(msg);
    }
    await a.getByRole('button', { name: 'Save' }).click();
    await a.getByTestId('saved-commit').waitFor();
    await b.getByRole('button', { name: 'Save' }).click();
    const conflict = b.getByRole('alert').filter({ hasText: 'Someone changed this file meanwhile' });
    await conflict.waitFor();
    assert.match(await conflict.innerText(), /hello from A/);
    await b.getByRole('button', { name: 'Re-apply my change on top' }).click();
    await b.getByRole('region', { name: 'Check before saving' }).getByText('Valid.').waitFor();
    await b.getByRole('button', { name: 'Save' }).click();
    await b.getByTestId('saved-commit').waitFor();
    const file = await run(server.bare, 'show', 'refs/heads/main:environments/staging/app.yaml');
    assert.match(file, /greeting: hello from A/);
    assert.match(file, /counter: 7/);
  });

  it('someone pushes with git: the open page updates from the event stream', async () => {
    const p = await page();
    await signIn(p, server.base, TOKENS.writer);
    await p.goto(`${server.base}/ui/#/pair/db/production`);
    await p.locator('.tree li').filter({ hasText: 'host' }).first().waitFor();
    const work = await cloneRepo(server.remote.url('config.git'));
    const pushed = await commitFiles(
      work,
      { 'defaults/db.yaml': 'host: db2.internal\npassword: ${env:DB_PASSWORD}\n' },
      'Move the database',
    );
    await run(work, 'push', '--quiet', 'origin', 'main');
    const res = await postGithubPush(server.base, server.webhookSecret, GITHUB_PUSH_EXAMPLE, {
      after: pushed,
    });
    assert.equal(res.status, 202);
    await p.locator('.tree li').filter({ hasText: 'db2.internal' }).first().waitFor();
    await p.goto(`${server.base}/ui/#/overview`);
    await waitFor(
      'served commit on the overview',
      async () => (await p.getByTestId('served-commit').innerText()) === pushed.slice(0, 8),
    );
    // The delivery that brought it is listed, with what the server did with it.
    const delivery = p.getByTestId('webhook-deliveries').locator('li').first();
    assert.match(await delivery.innerText(), /github push accepted refs\/heads\/main/);
  });

  it('a lost connection shows a banner, and the page recovers when the server answers again', async () => {
    const p = await page();
    await signIn(p, server.base, TOKENS.writer);
    await p.goto(`${server.base}/ui/#/pair/app/production`);
    await p.locator('.tree li').first().waitFor();
    await p.context().setOffline(true);
    await p.getByRole('link', { name: 'History' }).click();
    const banner = p.getByRole('alert').filter({ hasText: 'Connection to the gitcfg server lost' });
    await banner.waitFor();
    await p.context().setOffline(false);
    await banner.waitFor({ state: 'detached' });
  });

  it('history shows the commit; rollback dry-run, confirm, a rollback commit; pin and unpin', async () => {
    const p = await page();
    await signIn(p, server.base, TOKENS.admin);
    await p.goto(`${server.base}/ui/#/history/app/production`);
    const entry = p.locator('.timeline > li').filter({ hasText: 'Slower retries for the new provider' });
    await entry.waitFor();
    const initial = p.locator('.timeline > li').last();
    await initial.getByRole('button', { name: 'Roll back to this' }).click();
    const confirm = p.getByRole('alertdialog');
    await confirm.waitFor();
    assert.match(await confirm.innerText(), /\/retry\/delay: 250 → 100/);
    const before = await head();
    await confirm.getByRole('button', { name: 'Confirm rollback' }).click();
    await p.getByText(/^Committed /).waitFor();
    const after = await head();
    assert.notEqual(after, before);
    assert.match(await run(server.bare, 'log', '-1', '--format=%s', after), /^Roll back app\/production/);
    await p.locator('.timeline > li').first().getByRole('button', { name: 'Pin production here' }).click();
    await p.getByRole('button', { name: 'Unpin production' }).waitFor();
    await p.getByRole('button', { name: 'Unpin production' }).click();
    await waitFor(
      'unpinned',
      async () => (await p.getByRole('button', { name: 'Unpin production' }).count()) === 0,
    );
  });

  it('axe-core finds no serious or critical violation on any view', async () => {
    const p = await page();
    await p.goto(`${server.base}/ui/`);
    await p.getByLabel('Token').waitFor();
    const found: string[] = (await axeViolations(p)).map((v) => `sign-in: ${v}`);
    await signIn(p, server.base, TOKENS.admin);
    const views: [string, string][] = [
      ['overview', 'Served commit'],
      ['matrix', 'Namespaces × environments'],
      ['pair/app/staging', 'Why this value?'],
      ['edit/app/staging', 'Before saving'],
      ['edit/app/staging?mode=yaml', 'Before saving'],
      ['history/app/production', 'History of app'],
    ];
    for (const [view, marker] of views) {
      await p.goto(`${server.base}/ui/#/${view}`);
      await p.getByText(marker).first().waitFor();
      if (view.endsWith('yaml')) await p.locator('.cm-content').waitFor();
      found.push(...(await axeViolations(p)).map((v) => `${view}: ${v}`));
    }
    assert.deepEqual(found, []);
    assert.deepEqual(problemsOf(p), []);
  });
});
