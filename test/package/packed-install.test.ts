/**
 * The packed tarball on its own: built, packed, installed into an empty directory with npm, then used the way a
 * consumer would (`npx gitcfg validate`, `npx gitcfg serve`, `import('gitcfg/client')`). Nothing from this
 * checkout is reachable from the install (no tsx, no source, no patches of node_modules).
 */
import * as assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cleanupTempDirs, createTempRepo, tempDir } from '../helpers/git-repo.js';
import { PROJECT_ROOT, distIsFresh } from '../helpers/run-cli.js';
import { CONFIG_FILES, waitFor } from '../server/server-fixture.js';

const exec = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
// The CLI must not fall back to the TypeScript source: the install has to run on its own build.
const env = { ...process.env, GITCFG_FROM_SOURCE: undefined, NODE_OPTIONS: undefined };

describe('the packed tarball installed into an empty directory', () => {
  let app: string;
  let repo: string;

  before(async () => {
    // A fresh build is kept: rewriting dist/ would race with other test files starting the CLI from it.
    if (!distIsFresh()) await exec(npm, ['run', 'build'], { cwd: PROJECT_ROOT, env });
    const packs = await tempDir('gitcfg-pack-');
    const { stdout } = await exec(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', packs], {
      cwd: PROJECT_ROOT,
      env,
    });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path);
    assert.ok(files.includes('dist/src/cli/main.js') && files.includes('dist/src/client/index.js'));
    assert.ok(files.includes('dist/console/index.html'), 'the built console is packed');
    assert.ok(
      files.includes('dist/src/evaluation-pool/evaluation-worker.bundle.js'),
      'the bundled evaluation worker is packed (validate below runs it)',
    );
    assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('src/')), 'only the build is packed');
    app = await tempDir('gitcfg-app-');
    await writeFile(path.join(app, 'package.json'), '{ "private": true, "type": "module" }\n');
    const tarball = path.join(packs, packed!.filename);
    // Every dependency is usually in the npm cache; the registry is only asked for what is not.
    await exec(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, env });
    repo = await createTempRepo({ files: CONFIG_FILES });
  });
  after(cleanupTempDirs);

  it('validates a config repository with npx gitcfg', async () => {
    const { stdout, stderr } = await exec(npx, ['--no-install', 'gitcfg', 'validate', '--repo', repo], {
      cwd: app,
      env,
    });
    assert.match(stdout + stderr, /2 namespaces x 2 environments valid/);
  });

  it('serves it with npx gitcfg serve', async () => {
    const dataDir = path.join(app, 'data');
    const args = ['--no-install', 'gitcfg', 'serve', '--repo', repo, '--port', '0', '--poll', 'off'];
    const child = spawn(npx, [...args, '--data-dir', dataDir], { cwd: app, env, detached: true });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    try {
      const base = await waitFor(
        'the server to print its URL',
        async () => /status:\s+(\S+)\/v1\/status/.exec(stderr)?.[1],
      );
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      await waitFor('readiness', async () => (await fetch(`${base}/readyz`)).status === 200);
      assert.deepEqual(await (await fetch(`${base}/v1/config/db/staging`)).json(), { host: 'db.internal' });
      assert.match(stderr, /console:\s+\S+\/ui\//);
      const page = await fetch(`${base}/ui/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>gitcfg console<\/title>/);
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
    // npx itself may end by the signal; the server's own log says it drained and stopped.
    await exited;
    assert.match(stdout, /gitcfg server stopped/);
  });

  it('imports gitcfg/client and gitcfg', async () => {
    const script =
      "const client = await import('gitcfg/client'); const root = await import('gitcfg');" +
      'console.log(typeof client.createClient, root.createClient === client.createClient);';
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env });
    assert.equal(stdout.trim(), 'function true');
  });
});
