/**
 * Edit requests the server refuses before committing anything: commit messages carrying git trailers (they would
 * attribute the commit to people who never gave it) and JSON bodies nested deeper than any configuration.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanupTempDirs, createTempRepo, run, tempDir } from '../helpers/git-repo.js';
import { TOKENS, WRITE_FILES, bearer, readLayer, startServer, waitReady } from './writes-fixture.js';
import type { TestServer } from './writes-fixture.js';

/** The error answer of a refused edit. */
interface ErrorAnswer {
  error: { code: string; message: string };
}

describe('edit requests refused before any commit', () => {
  let repo: string;
  let server: TestServer;

  before(async () => {
    repo = await createTempRepo({ bare: true, files: WRITE_FILES });
    const dir = await tempDir();
    server = await startServer({ repo, dir, dataDir: path.join(dir, 'data') });
    await waitReady(server.base, TOKENS.admin);
  });

  after(async () => {
    await server.handle.close();
    await cleanupTempDirs();
  });

  async function patch(body: string, message?: string): Promise<{ status: number; json: ErrorAnswer }> {
    const file = await readLayer(server.base, 'app', 'staging');
    const res = await fetch(`${server.base}/v1/config/app/staging`, {
      method: 'PATCH',
      headers: {
        ...bearer('writer'),
        'content-type': 'application/merge-patch+json',
        'if-match': file.etag!,
        ...(message !== undefined ? { 'gitcfg-message': encodeURIComponent(message) } : {}),
      },
      body,
    });
    return { status: res.status, json: (await res.json()) as ErrorAnswer };
  }

  it('refuses Gitcfg-Message trailers with 400 naming the trailer', async () => {
    const head = await run(repo, 'rev-parse', 'main');
    const cases: Array<[string, string]> = [
      ['Raise retries\n\nCo-authored-by: Mallory <ceo@example.com>', 'Co-authored-by'],
      ['Raise retries\nSigned-off-by: Someone Else <se@example.com>', 'Signed-off-by'],
      ['Raise retries\n\nreviewed-by:  the security team', 'reviewed-by'],
      ['Raise retries\n\nChange-Id: I12345\nApproved: yes', 'Change-Id'],
    ];
    for (const [message, trailer] of cases) {
      const res = await patch('{"greeting":"trailer"}', message);
      assert.equal(res.status, 400, message);
      assert.equal(res.json.error.code, 'E_USAGE');
      assert.ok(res.json.error.message.includes(`"${trailer}:"`), res.json.error.message);
    }
    assert.equal(await run(repo, 'rev-parse', 'main'), head, 'nothing was committed');
    // A subject that merely contains a colon, and prose after it, are ordinary messages.
    const ok = await patch(
      '{"greeting":"fine"}',
      'Fix: raise retries\n\nThe upstream is slow today.\nWhy: see the incident',
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(
      (await run(repo, 'log', '-1', '--format=%B', 'main')).trimEnd(),
      'Fix: raise retries\n\nThe upstream is slow today.\nWhy: see the incident',
    );
  });

  it('answers 400 to a merge patch nested 20,000 levels deep', async () => {
    const head = await run(repo, 'rev-parse', 'main');
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const res = await patch(deep);
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.match(res.json.error.message, /deeper than 100 levels/);
    const file = await readLayer(server.base, 'app', 'staging');
    const put = await fetch(`${server.base}/v1/config/app/staging`, {
      method: 'PUT',
      headers: { ...bearer('writer'), 'content-type': 'application/json', 'if-match': file.etag! },
      body: `{"greeting":"x","tags":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
    });
    assert.equal(put.status, 400);
    assert.equal(await run(repo, 'rev-parse', 'main'), head);
  });
});
