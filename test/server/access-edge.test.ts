/**
 * The HTTP edge tried as an attacker would: letter-case, percent-encoding, slashes and dot segments on every
 * route, with no token and with a token scoped elsewhere; pins that a path variant must not skip; diffs that
 * reach namespaces the served commit no longer has; raw files of a rejected branch head. A real server mirrors a
 * real smart-HTTP remote. Tests run in order and share one remote.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createConfigRepo } from '../helpers/config-repo.js';
import type { ConfigRepo } from '../helpers/config-repo.js';
import { cleanupTempDirs, tempDir } from '../helpers/git-repo.js';
import { TOKENS, WRITE_FILES, bearer, startServer, waitReady } from '../edits/writes-fixture.js';
import type { TestServer } from '../edits/writes-fixture.js';
import { waitFor } from './server-fixture.js';
import { pathVariants } from '../helpers/path-variants.js';

/** The first commit also has a namespace `legacy` that a later commit removes. */
const LEGACY_FILES: Record<string, string> = {
  'schemas/legacy.schema.json': JSON.stringify({ type: 'object' }),
  'defaults/legacy.yaml': 'legacy_password_hint: only-for-legacy-readers\n',
};

/**
 * Every variant of every route is tried in a burst: on a fast machine the old-commit reads among them pass the
 * expensive class's 20/s, and a 429 would hide what the access check answers. Rate limits have tests of their own.
 */
const NO_RATE_LIMIT = { GITCFG_LIMIT_EXPENSIVE: 'off' };

describe('the HTTP edge, tried as an attacker would', () => {
  let repo: ConfigRepo;
  let dir: string;
  let server: TestServer;
  let first: string;
  let current: string;

  const base = () => server.base;

  /** Status and body of a GET; a stream (SSE) is cut off after its headers. */
  async function get(
    url: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; text: string }> {
    const controller = new AbortController();
    const res = await fetch(`${base()}${url}`, { headers, signal: controller.signal });
    if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      controller.abort();
      return { status: res.status, text: '' };
    }
    return { status: res.status, text: await res.text() };
  }

  async function push(files: Record<string, string | null>, message: string): Promise<string> {
    return repo.commit(files, message);
  }

  async function syncNow(): Promise<void> {
    // Polling is off: a restart syncs at start-up (the data dir keeps pins and the last snapshot).
    await server.handle.close();
    server = await startServer({ repo: repo.url!, dir, dataDir: path.join(dir, 'data'), env: NO_RATE_LIMIT });
    await waitReady(base(), TOKENS.admin);
  }

  before(async () => {
    dir = await tempDir();
    repo = await createConfigRepo({ files: { ...WRITE_FILES, ...LEGACY_FILES } }, { remote: true });
    first = repo.head;
    current = await push(
      { 'schemas/legacy.schema.json': null, 'defaults/legacy.yaml': null },
      'retire legacy',
    );
    server = await startServer({ repo: repo.url!, dir, dataDir: path.join(dir, 'data'), env: NO_RATE_LIMIT });
    const served = await waitReady(base(), TOKENS.admin);
    assert.equal(served, current);
  });

  after(async () => {
    await server?.handle.close();
    await repo.close();
    await cleanupTempDirs();
  });

  /** Every read route, canonical form, reading `app` (which `dbreader` may not read) in production. */
  const appReads = () => [
    '/v1/config/app/production',
    '/v1/config/app/production?explain=1',
    '/v1/config/app/production?ref=main',
    `/v1/config/app/production?ref=${current}`,
    '/v1/config/app/production?version=1',
    '/v1/config/app/production?format=yaml',
    '/v1/bundle/production',
    `/v1/bundle/production?ref=${current}`,
    '/v1/history/app/production',
    `/v1/diff?from=${first}`,
    '/v1/schemas/app',
    `/v1/schemas/app?ref=${current}`,
    '/v1/files/app/production',
    // Spring Cloud Config: Environment, at a label, and a flat file.
    '/spring/app/production',
    '/spring/app/production/main',
    '/spring/app-production.yml',
  ];
  /** Routes that answer any valid token, or stream: refused without one. */
  const tokenOnly = () => [
    '/v1/status',
    '/v1/pins',
    '/v1/watch/production?timeout=0',
    '/v1/events?env=production',
    '/v1/namespaces',
    '/v1/whoami',
  ];
  /** Routes only an admin token reads. */
  const adminOnly = () => ['/v1/rollouts'];

  it('the canonical paths answer an allowed token (so the refusals below mean something)', async () => {
    for (const url of appReads()) {
      const res = await get(url, bearer('admin'));
      assert.ok(res.status === 200 || res.status === 304, `${url}: ${res.status} ${res.text}`);
    }
    for (const url of tokenOnly()) {
      const res = await get(url, bearer('reader'));
      assert.ok(res.status === 200 || res.status === 304, `${url}: ${res.status} ${res.text}`);
    }
    for (const url of adminOnly()) {
      const res = await get(url, bearer('admin'));
      assert.equal(res.status, 200, `${url}: ${res.text}`);
    }
  });

  it('no variant of any route reads anything without a token or with a token scoped elsewhere', async () => {
    let tried = 0;
    for (const canonical of [...appReads(), ...tokenOnly()]) {
      for (const url of [canonical, ...pathVariants(canonical)]) {
        const anonymous = await get(url);
        tried++;
        assert.ok([400, 401, 404].includes(anonymous.status), `no token: ${url} -> ${anonymous.status}`);
        assert.doesNotMatch(anonymous.text, /greeting|hello|legacy_password_hint/, url);
        if (tokenOnly().includes(canonical)) continue;
        const elsewhere = await get(url, bearer('dbReader'));
        tried++;
        assert.ok(
          [400, 403, 404].includes(elsewhere.status),
          `token scoped to db: ${url} -> ${elsewhere.status} ${elsewhere.text.slice(0, 200)}`,
        );
        assert.doesNotMatch(elsewhere.text, /greeting|hello/, url);
      }
    }
    for (const canonical of adminOnly()) {
      for (const url of [canonical, ...pathVariants(canonical)]) {
        for (const headers of [{}, bearer('reader')]) {
          const res = await get(url, headers);
          tried++;
          assert.ok([400, 401, 403, 404].includes(res.status), `${url} -> ${res.status}`);
          assert.doesNotMatch(res.text, /"rollouts"/, url);
        }
      }
    }
    assert.ok(tried > 400, `tried ${tried} requests`);
    console.log(
      `path variants: ${tried} requests without a token and with a token scoped elsewhere, 0 reads`,
    );
  });

  it('a pinned environment is served from its pin under every path that reads it', async () => {
    const pinned = await fetch(`${base()}/v1/pins`, {
      method: 'POST',
      headers: { ...bearer('admin'), 'content-type': 'application/json' },
      body: JSON.stringify({ env: 'production', commit: current }),
    });
    assert.equal(pinned.status, 201, await pinned.text());
    const next = await push(
      { 'environments/production/app.yaml': 'greeting: unpinned value\n' },
      'new greeting',
    );
    await syncNow();
    const status = (await get('/v1/status', bearer('admin'))).text;
    assert.match(status, new RegExp(next));
    const url = '/v1/config/app/production';
    for (const variant of [url, ...pathVariants(url)]) {
      const res = await get(variant, bearer('reader'));
      assert.doesNotMatch(res.text, /unpinned value/, `${variant} skipped the pin`);
    }
    const res = await fetch(`${base()}${url}`, { headers: bearer('reader') });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('gitcfg-pinned'), current);
    const unpin = await fetch(`${base()}/v1/pins/production`, { method: 'DELETE', headers: bearer('admin') });
    assert.equal(unpin.status, 204);
    assert.match(
      await (await fetch(`${base()}${url}`, { headers: bearer('reader') })).text(),
      /unpinned value/,
    );
    current = next;
  });

  it('a diff from an old commit needs read on the namespaces that commit had, not only the served ones', async () => {
    const url = `/v1/diff?from=${first}`;
    const admin = await get(url, bearer('admin'));
    assert.equal(admin.status, 200);
    assert.match(admin.text, /legacy/);
    const res = await get(url, bearer('appDbReader'));
    assert.equal(res.status, 403, res.text);
    assert.doesNotMatch(res.text, /only-for-legacy-readers/);
    // The same token reads a diff between commits that only have names it may read.
    const later = await get(`/v1/diff?from=${current}`, bearer('appDbReader'));
    assert.equal(later.status, 200, later.text);
  });

  it('raw files of a rejected branch head are answered only to callers who may read its secrets', async () => {
    const served = current;
    const rejected = await push(
      { 'defaults/db.yaml': 'host: db.internal\npassword: plain-Hunter2-x\n' },
      'oops',
    );
    await syncNow();
    await waitFor('the rejected commit reported', async () => {
      const s = JSON.parse((await get('/v1/status', bearer('admin'))).text) as {
        rejected: { commit: string } | null;
      };
      return s.rejected?.commit === rejected;
    });
    const dbReader = await get('/v1/files/db/defaults', bearer('dbReader'));
    assert.equal(dbReader.status, 403, dbReader.text);
    assert.doesNotMatch(dbReader.text, /Hunter2/);
    assert.match(dbReader.text, new RegExp(served.slice(0, 12)));
    const secretReader = await get('/v1/files/db/defaults', bearer('secretReader'));
    assert.equal(secretReader.status, 200);
    assert.match(secretReader.text, /plain-Hunter2-x/);
    // Once the head is valid again, readers get its files.
    current = await push({ 'defaults/db.yaml': 'host: db.internal\npassword: ${env:DB_PASSWORD}\n' }, 'fix');
    await syncNow();
    const fixed = await get('/v1/files/db/defaults', bearer('dbReader'));
    assert.equal(fixed.status, 200, fixed.text);
  });
});
