/**
 * The console's browser tests: the system Chromium driven by playwright-core (never a downloaded browser), the
 * console built fresh from source, and `gitcfg serve` mirroring a real smart-HTTP remote.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { startGitHttpRemote } from '../helpers/git-http-remote.js';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import { createTempRepo, tempDir } from '../helpers/git-repo.js';
import { PROJECT_ROOT } from '../helpers/run-cli.js';
import { TOKENS, WRITE_FILES, startServer, waitReady } from '../edits/writes-fixture.js';
import type { TestServer } from '../edits/writes-fixture.js';

const run = promisify(execFile);

/** The Chromium to drive: `GITCFG_CHROMIUM`, else `chromium` (or `chromium-browser`) on the PATH. */
export function chromiumPath(): string {
  const explicit = process.env.GITCFG_CHROMIUM;
  if (explicit) return explicit;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const candidate = path.join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
  }
  throw new Error('no Chromium found: install the chromium package or set GITCFG_CHROMIUM');
}

/** One headless Chromium for a test file (contexts per test); playwright gives each launch a fresh profile. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Builds the console from source into a temp dir (what `npm run build` puts in dist/console). */
export async function buildConsole(): Promise<string> {
  const out = path.join(await tempDir('gitcfg-console-'), 'console');
  await run(process.execPath, [path.join(PROJECT_ROOT, 'console', 'build.mjs'), out], { cwd: PROJECT_ROOT });
  return out;
}

/** A smart-HTTP remote holding `WRITE_FILES` and a server mirroring it with the console on. */
export interface ConsoleServer extends TestServer {
  remote: GitHttpRemote;
  bare: string;
  webhookSecret: string;
}

export async function startConsoleServer(uiDir: string): Promise<ConsoleServer> {
  const root = await tempDir('gitcfg-console-remote-');
  const bare = await createTempRepo({ bare: true, files: WRITE_FILES, dir: path.join(root, 'config.git') });
  const remote = await startGitHttpRemote({ root });
  const dir = await tempDir();
  const webhookSecret = 'console-webhook-secret';
  const server = await startServer({
    repo: remote.url('config.git'),
    dir,
    dataDir: path.join(dir, 'data'),
    env: { GITCFG_WEBHOOK_SECRET: webhookSecret },
    ui: { uiDir },
  });
  await waitReady(server.base, TOKENS.admin);
  return { ...server, remote, bare, webhookSecret };
}

/** Opens the console and signs in with `token`. */
export async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/ui/`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in as').waitFor();
}

/** Serious and critical accessibility violations on the page as it is now. */
export async function axeViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
