/**
 * `kill -9` of `gitcfg serve` (a child process running the CLI against a smart-HTTP remote, with a data dir) at
 * random points of a sync, 20 times: every restart must serve a valid snapshot (a commit that was pushed, with
 * that commit's content) and reach the newest commit; the data dir must never end up unusable.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SnapshotFile } from '../../src/snapshot/index.js';
import { cleanupTempDirs, tempDir } from '../helpers/git-repo.js';
import { status, waitFor } from '../server/server-fixture.js';
import { SECRETS, startFaultRemote } from './fault-fixture.js';
import type { FaultRemote } from './fault-fixture.js';
import { rng } from '../../bench/lib/generate-repo.js';
import { postGenericWebhook, startServeProcess } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

const ROUNDS = 20;
const SEED = Number(process.env.GITCFG_FAULT_SEED ?? 20261122);

describe('kill -9 during syncs', () => {
  let remote: FaultRemote;
  let dataDir: string;
  let server: ServeProcess | null = null;
  /** Every pushed commit and the `db` host it serves. */
  const hosts = new Map<string, string>();

  before(async () => {
    remote = await startFaultRemote();
    hosts.set(await remote.head(), 'db.internal');
    dataDir = path.join(await tempDir('gitcfg-faults-kill-'), 'data');
  });

  after(async () => {
    await server?.kill();
    await remote?.remote.close();
    await cleanupTempDirs();
  });

  const start = (): Promise<ServeProcess> =>
    startServeProcess({
      repo: remote.url,
      dataDir,
      cwd: path.dirname(dataDir),
      env: { GITCFG_WEBHOOK_SECRET_GENERIC: SECRETS.generic },
    });

  it(`restarts ${ROUNDS} times after SIGKILL and always serves a valid snapshot (seed ${SEED})`, async (t) => {
    const random = rng(SEED);
    let validAtRestart = 0;
    server = await start();
    for (let round = 0; round < ROUNDS; round++) {
      const host = `db-${round}.internal`;
      const commit = await remote.push({ 'defaults/db.yaml': `host: ${host}\n` }, `round ${round}`);
      hosts.set(commit, host);
      // Kill somewhere between the webhook and a little after a typical sync (clone, fetch, build, persist).
      const res = await postGenericWebhook(server.url, SECRETS.generic).catch(() => null);
      if (res) await res.arrayBuffer();
      await sleep(Math.floor(random() * 400));
      await server.kill('SIGKILL');

      server = await start();
      const base = server.url;
      // Whatever it serves at once must be a commit we pushed, with that commit's content.
      const first = await status(base);
      if (first.served) {
        const config = await fetch(`${base}/v1/config/db/production`);
        assert.equal(config.status, 200, `round ${round}`);
        const served = config.headers.get('gitcfg-commit') ?? '';
        assert.ok(hosts.has(served), `round ${round}: serves an unknown commit ${served}`);
        assert.deepEqual(await config.json(), { host: hosts.get(served) }, `round ${round}`);
        validAtRestart++;
      }
      // The start-up sync reaches the newest commit: the mirror and snapshot file are usable (or repaired).
      await waitFor(
        `round ${round}: commit ${commit.slice(0, 8)} served after restart`,
        async () => {
          const s = await status(base);
          return s.served?.commit === commit && !s.syncs.running ? s : null;
        },
        2400,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${server?.output().slice(-3000)}`);
      });
      assert.deepEqual(await (await fetch(`${base}/v1/config/db/production`)).json(), { host });
    }
    t.diagnostic(`rounds ${ROUNDS}, restarts serving a persisted snapshot at once ${validAtRestart}`);
    await server.kill('SIGTERM');
    server = null;
    const persisted = await new SnapshotFile(dataDir).load();
    assert.equal(persisted.status, 'loaded');
    assert.ok(persisted.status === 'loaded' && hosts.has(persisted.snapshot.commit));
    // At least the rounds after the first promotion had a snapshot to serve at once.
    assert.ok(validAtRestart >= ROUNDS - 2, `only ${validAtRestart} restarts served at once`);
  });
});
