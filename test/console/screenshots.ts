/**
 * `npm run console:screenshots`: a screenshot of each console view into docs/images/ (the example config-repo,
 * served locally), and the first-load figures of docs/console.md: compressed bytes of /ui/ and the time to an
 * interactive page on loopback (median of fresh browser contexts). Not part of `npm test`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyExampleConfigRepo } from '../helpers/config-fixture.js';
import { startGitHttpRemote } from '../helpers/git-http-remote.js';
import { cleanupTempDirs, publishBare, tempDir } from '../helpers/git-repo.js';
import { startServer, tokenEntry, waitReady } from '../edits/writes-fixture.js';
import { buildConsole, launchChromium, signIn } from './console-fixture.js';

const IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url));
const ADMIN = 'gcfg-screenshot-admin-4b7d9e1f3a5c';

const ui = await buildConsole();
const work = await copyExampleConfigRepo();
const root = await tempDir();
await publishBare(work, root, 'config.git');
const remote = await startGitHttpRemote({ root });
const dir = await tempDir();
const server = await startServer({
  repo: remote.url('config.git'),
  dir,
  dataDir: path.join(dir, 'data'),
  tokensFile: 'version: 1\ntokens:\n' + tokenEntry('alex', ADMIN, ['admin']),
  ui: { uiDir: ui },
  // The example's API keys are `${env:...}` references: let every pair resolve them.
  env: { GITCFG_SECRET_ENV: '*/*:*' },
});
const browser = await launchChromium();
try {
  await waitReady(server.base, ADMIN);
  await mkdir(IMAGES, { recursive: true });

  // First load: a fresh context each time (nothing cached), until the sign-in form is ready.
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 7; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const start = performance.now();
    await page.goto(`${server.base}/ui/`);
    await page.getByLabel('Token').waitFor();
    times.push(performance.now() - start);
    // Runs in the page: every resource's bytes on the wire (compressed), the HTML included.
    bytes = await page.evaluate(`performance.getEntriesByType('resource')
      .concat(performance.getEntriesByType('navigation'))
      .reduce((n, e) => n + e.transferSize, 0)`);
    await context.close();
  }
  times.sort((a, b) => a - b);

  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const shot = async (name: string) => {
    await page.screenshot({ path: path.join(IMAGES, `console-${name}.png`), fullPage: false });
  };
  await page.goto(`${server.base}/ui/`);
  await page.getByLabel('Token').waitFor();
  await shot('sign-in');
  await signIn(page, server.base, ADMIN);
  await page.getByText('Served commit').waitFor();
  await shot('overview');
  await page.goto(`${server.base}/ui/#/matrix`);
  await page.getByRole('table').waitFor();
  await shot('matrix');
  await page.goto(`${server.base}/ui/#/pair/ml/staging`);
  await page.getByText('Why this value?').first().waitFor();
  await page.locator('details.why').nth(2).locator('summary').click();
  await shot('pair');
  await page.goto(`${server.base}/ui/#/edit/ml/production`);
  await page.getByLabel(/^score_threshold/).fill('0.7');
  await page.getByText('Valid.').waitFor();
  await page.getByLabel('Commit message').fill('Raise the churn score threshold');
  await page.getByRole('region', { name: 'Check before saving' }).scrollIntoViewIfNeeded();
  await shot('edit-form');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByTestId('saved-commit').waitFor();
  await page.goto(`${server.base}/ui/#/edit/ml/production?mode=yaml`);
  await page.locator('.cm-content').waitFor();
  await shot('edit-yaml');
  await page.goto(`${server.base}/ui/#/history/ml/production`);
  await page.locator('.timeline > li').first().waitFor();
  await shot('history');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${server.base}/ui/#/pair/ml/production`);
  await page.getByText('Why this value?').first().waitFor();
  await shot('phone');
  await context.close();

  const report = {
    firstLoadMs: { median: Math.round(times[3]!), min: Math.round(times[0]!), max: Math.round(times[6]!) },
    firstLoadTransferBytes: bytes,
  };
  await writeFile(path.join(IMAGES, 'console-measurements.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report));
} finally {
  await browser.close();
  await server.handle.close();
  await remote.close();
  await cleanupTempDirs();
}
