/**
 * The generic-webhook example of docs/server.md, run as written (bash, openssl, curl) against a real server: it
 * must be accepted and trigger a sync.
 */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cleanupTempDirs } from '../helpers/git-repo.js';
import { waitForServed } from '../server/server-fixture.js';
import { SECRETS, startFaultRemote, startFaultServer } from '../faults/fault-fixture.js';
import type { FaultRemote } from '../faults/fault-fixture.js';

const DOC = new URL('../../docs/server.md', import.meta.url);

/** The `sh` block that follows the "Generic" provider bullet. */
async function genericExample(): Promise<string> {
  const text = await readFile(DOC, 'utf8');
  const from = text.indexOf('- **Generic**');
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(from));
  assert.ok(from >= 0 && block, 'docs/server.md has the generic webhook example');
  return block[1]!;
}

describe('docs/server.md generic webhook example', () => {
  let remote: FaultRemote;
  let server: Awaited<ReturnType<typeof startFaultServer>> | null = null;

  before(async () => {
    remote = await startFaultRemote();
  });

  after(async () => {
    await server?.handle.close();
    await remote.remote.close();
    await cleanupTempDirs();
  });

  it('is accepted and triggers a sync', async () => {
    server = await startFaultServer({ url: remote.url });
    await waitForServed(server.base, await remote.head());
    const next = await remote.push(
      { 'defaults/app.yaml': 'greeting: from the docs example\n' },
      'docs example',
    );
    const script = (await genericExample()).replaceAll('http://127.0.0.1:8080', server.base);
    const { stdout } = await promisify(execFile)('bash', ['-euc', script], {
      env: { PATH: process.env.PATH ?? '', GITCFG_WEBHOOK_SECRET_GENERIC: SECRETS.generic },
    });
    assert.deepEqual(JSON.parse(stdout), { status: 'accepted' });
    await waitForServed(server.base, next);
  });
});
