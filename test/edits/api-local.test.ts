/**
 * Serving a local repository: edits commit straight onto its branch (compare-and-swap on the ref). Also: no
 * tokens file (reads open, writes refused) and a bad tokens file (the server does not start).
 */
import * as assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../../src/auth/index.js';
import { serveCommand } from '../../src/commands/serve.js';
import { cleanupTempDirs, commitFiles, createTempRepo, run, tempDir } from '../helpers/git-repo.js';
import { TOKENS, WRITE_FILES, bearer, readLayer, startServer, waitReady } from './writes-fixture.js';
import type { TestServer } from './writes-fixture.js';

describe('edits of a served local repository', () => {
  let repo: string;
  let dir: string;
  let server: TestServer | null = null;

  before(async () => {
    repo = await createTempRepo({ bare: true, files: WRITE_FILES });
    dir = await tempDir();
  });

  after(async () => {
    await server?.handle.close();
    await cleanupTempDirs();
  });

  it('without a tokens file: reads are open, every write is refused with how to enable writes', async () => {
    server = await startServer({ repo, dir, dataDir: path.join(dir, 'data-open'), tokens: false });
    await waitReady(server.base, '');
    const read = await fetch(`${server.base}/v1/config/app/staging`);
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { greeting: string }).greeting, 'hi staging');
    const file = await readLayer(server.base, 'app', 'staging');
    assert.equal(file.status, 200);
    const before = await run(repo, 'rev-parse', 'main');
    const put = await fetch(`${server.base}/v1/config/app/staging`, {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml', 'if-match': file.etag! },
      body: 'greeting: nope\n',
    });
    assert.equal(put.status, 403);
    assert.match(((await put.json()) as { error: { message: string } }).error.message, /GITCFG_TOKENS_FILE/);
    const pin = await fetch(`${server.base}/v1/pins`, { method: 'POST', body: '{}' });
    assert.equal(pin.status, 403);
    assert.equal(await run(repo, 'rev-parse', 'main'), before);
    await server.handle.close();
    server = null;
  });

  it('commits onto the branch, compare-and-swap against commits made meanwhile', async () => {
    server = await startServer({ repo, dir, dataDir: path.join(dir, 'data') });
    await waitReady(server.base, TOKENS.admin);
    const file = await readLayer(server.base, 'app', 'staging');
    // Someone commits another file meanwhile: the edit lands on top of it.
    const work = await createTempRepo();
    await run(work, 'fetch', '--quiet', repo, 'main');
    await run(work, 'checkout', '--quiet', '-B', 'main', 'FETCH_HEAD');
    const outside = await commitFiles(work, { 'README.md': 'hello\n' }, 'outside');
    await run(work, 'push', '--quiet', repo, 'main');
    const put = await fetch(`${server.base}/v1/config/app/staging`, {
      method: 'PUT',
      headers: { ...bearer('writer'), 'content-type': 'application/json', 'if-match': file.etag! },
      body: JSON.stringify({ greeting: 'from json' }),
    });
    const result = (await put.json()) as { commit: string; parent: string; served: string };
    assert.equal(put.status, 200, JSON.stringify(result));
    assert.equal(result.parent, outside);
    assert.equal(await run(repo, 'rev-parse', 'main'), result.commit);
    assert.equal(result.served, result.commit);
    await run(repo, 'fsck', '--strict', '--no-progress');
    assert.equal(
      await run(repo, 'show', `${result.commit}:environments/staging/app.yaml`),
      'greeting: from json',
    );
    // Someone changes the same file: the old ETag no longer applies.
    await run(work, 'fetch', '--quiet', repo, 'main');
    await run(work, 'checkout', '--quiet', '-B', 'main', 'FETCH_HEAD');
    await commitFiles(work, { 'environments/staging/app.yaml': 'greeting: native\n' }, 'native edit');
    await run(work, 'push', '--quiet', repo, 'main');
    const stale = await fetch(`${server.base}/v1/config/app/staging`, {
      method: 'PATCH',
      headers: {
        ...bearer('writer'),
        'content-type': 'application/merge-patch+json',
        'if-match': `"${await run(repo, 'rev-parse', `${result.commit}:environments/staging/app.yaml`)}"`,
      },
      body: JSON.stringify({ greeting: 'lost update' }),
    });
    assert.equal(stale.status, 412);
    assert.equal(await run(repo, 'show', 'main:environments/staging/app.yaml'), 'greeting: native');
  });

  it('a bad tokens file stops the server at start with a clear error that echoes no hash', async () => {
    const file = path.join(dir, 'bad-tokens.yaml');
    const hash = hashToken('whatever');
    await writeFile(
      file,
      `tokens:\n  - name: x\n    email: x@example.com\n    sha256: ${hash.slice(0, 60)}\n    scopes: [root]\n`,
    );
    await assert.rejects(
      serveCommand({
        cwd: dir,
        env: { GITCFG_TOKENS_FILE: file },
        repo,
        port: 0,
        dataDir: path.join(dir, 'data-bad'),
        poll: 'off',
        logLevel: 'silent',
        print: () => {},
      }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'E_TOKENS_FILE');
        assert.match(err.message, /\/tokens\/0\/sha256/);
        assert.match(err.message, /\/tokens\/0\/scopes\/0/);
        assert.ok(!err.message.includes(hash.slice(0, 60)));
        return true;
      },
    );
  });
});
