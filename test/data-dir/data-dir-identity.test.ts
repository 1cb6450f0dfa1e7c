/**
 * A data dir belongs to one repository, branch and config root: a server started on another one stops with a
 * typed error naming both, or (with --reset-data-dir) starts clean; it never serves the other one's snapshot.
 */
import * as assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataDirMismatchError } from '../../src/errors/index.js';
import { underSubdir } from '../helpers/config-repo.js';
import { startGitHttpRemote } from '../helpers/git-http-remote.js';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import {
  cleanupTempDirs,
  commitFiles,
  createTempRepo,
  publishBare,
  run,
  tempDir,
} from '../helpers/git-repo.js';
import { startTestServer, withTestServer } from '../helpers/test-server.js';
import type { TestServerOptions } from '../helpers/test-server.js';
import { CONFIG_FILES, getJson, waitForServed } from '../server/server-fixture.js';

/** Serves until the branch head is served, reads `/v1/config/db/production`, and closes. */
function serveOnce(opts: TestServerOptions, head: string): Promise<unknown> {
  return withTestServer(opts, async ({ base }) => {
    await waitForServed(base, head);
    return getJson(`${base}/v1/config/db/production`);
  });
}

async function refusal(opts: TestServerOptions): Promise<DataDirMismatchError> {
  const error = await startTestServer(opts).then(
    async (server) => {
      await server.close();
      return null;
    },
    (e: unknown) => e,
  );
  assert.ok(error instanceof DataDirMismatchError, `expected DataDirMismatchError, got ${String(error)}`);
  assert.equal(error.code, 'E_DATA_DIR_MISMATCH');
  return error;
}

describe('data dir identity', () => {
  let remote: GitHttpRemote;
  let root: string;
  const heads: Record<string, string> = {};

  before(async () => {
    root = await tempDir();
    for (const [name, host] of [
      ['one', 'one.internal'],
      ['other', 'other.internal'],
    ] as const) {
      const work = await createTempRepo({
        files: { ...CONFIG_FILES, 'defaults/db.yaml': `host: ${host}\n` },
      });
      heads[name] = await run(work, 'rev-parse', 'HEAD');
      await publishBare(work, root, `${name}.git`);
    }
    remote = await startGitHttpRemote({ root });
  });
  after(async () => {
    await remote.close();
    await cleanupTempDirs();
  });

  it('refuses another --repo, naming both without credentials, and starts clean with --reset-data-dir', async () => {
    const dataDir = await tempDir();
    const cwd = dataDir;
    const first = { cwd, dataDir, repo: remote.url('one.git') };
    assert.deepEqual(await serveOnce(first, heads.one!), { host: 'one.internal' });
    const recorded = JSON.parse(await readFile(path.join(dataDir, 'identity.json'), 'utf8')) as unknown;
    assert.deepEqual(recorded, { format: 1, repository: remote.url('one.git'), branch: 'main', subdir: '' });

    // Credentials are not part of the identity: the same repository with a user and password is accepted.
    const withCredentials = remote.url('one.git', { username: 'ci', password: 'hunter2-secret' });
    assert.deepEqual(await serveOnce({ ...first, repo: withCredentials }, heads.one!), {
      host: 'one.internal',
    });

    const other = remote.url('other.git', { username: 'ci', password: 'hunter2-secret' });
    const error = await refusal({ cwd, dataDir, repo: other });
    assert.match(error.message, /one\.git/);
    assert.match(error.message, /other\.git/);
    assert.match(error.message, /--reset-data-dir/);
    assert.doesNotMatch(error.message + JSON.stringify(error.data), /hunter2/);

    // The reset deletes the other repository's mirror and snapshot: what is served is this repository's head.
    const reset = { cwd, dataDir, repo: other, resetDataDir: true };
    assert.deepEqual(await serveOnce(reset, heads.other!), { host: 'other.internal' });
    await refusal(first);
  });

  it('refuses another --branch or --subdir of the same local repository', async () => {
    const work = await createTempRepo({
      files: underSubdir(CONFIG_FILES, 'cfg'),
    });
    const head = await run(work, 'rev-parse', 'HEAD');
    await run(work, 'branch', 'release');
    await commitFiles(work, { 'other/gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n' });
    const main = await run(work, 'rev-parse', 'HEAD');
    const dataDir = await tempDir();
    const base = { cwd: work, dataDir, repo: '.', subdir: 'cfg' };
    assert.deepEqual(await serveOnce(base, main), { host: 'db.internal' });

    const branchError = await refusal({ ...base, branch: 'release' });
    assert.match(branchError.message, /branch main.*branch release/);
    const subdirError = await refusal({ ...base, subdir: 'other' });
    assert.match(subdirError.message, /config root cfg\/.*config root other\//);
    // The same identity spelled through a path inside the work tree is the same data dir.
    assert.deepEqual(await serveOnce({ cwd: work, dataDir, repo: 'cfg' }, main), { host: 'db.internal' });
    assert.deepEqual(await serveOnce({ ...base, branch: 'release', resetDataDir: true }, head), {
      host: 'db.internal',
    });
  });

  it('adopts a data dir written before identities were recorded, and refuses a damaged record', async () => {
    const work = await createTempRepo({ files: CONFIG_FILES });
    const head = await run(work, 'rev-parse', 'HEAD');
    const dataDir = await tempDir();
    await serveOnce({ cwd: work, dataDir, repo: '.' }, head);
    await writeFile(path.join(dataDir, 'identity.json'), '{"format": 1, "repo');
    const error = await refusal({ cwd: work, dataDir, repo: '.' });
    assert.match(error.message, /damaged/);
    await serveOnce({ cwd: work, dataDir, repo: '.', resetDataDir: true }, head);
    await rm(path.join(dataDir, 'identity.json'));
    assert.deepEqual(await serveOnce({ cwd: work, dataDir, repo: '.' }, head), { host: 'db.internal' });
    assert.ok(JSON.parse(await readFile(path.join(dataDir, 'identity.json'), 'utf8')));
  });
});
