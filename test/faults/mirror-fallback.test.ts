/**
 * A damaged (or missing) snapshot.json while the remote is down: the mirror in the data dir still holds the last
 * fetched commit, so the server rebuilds from it and serves it flagged stale instead of nothing.
 */
import * as assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import type { ServeHandle } from '../../src/commands/serve.js';
import { SnapshotFile } from '../../src/snapshot/index.js';
import { cleanupTempDirs, commitFiles, run } from '../helpers/git-repo.js';
import { getJson, status, waitFor, waitForServed } from '../server/server-fixture.js';
import { notifyPush, startFaultRemote, startFaultServer } from './fault-fixture.js';

describe('a damaged snapshot with the remote down', () => {
  after(() => cleanupTempDirs());

  for (const damage of ['garbage', 'missing'] as const) {
    it(`serves the mirror's last fetched commit, stale (snapshot.json ${damage})`, async (t) => {
      const remote = await startFaultRemote();
      let handle: ServeHandle | null = null;
      t.after(async () => {
        await handle?.close();
        await remote.remote.close();
      });
      const first = await startFaultServer({ url: remote.url });
      const fetched = await remote.head();
      await waitForServed(first.base, fetched);
      const config = await getJson(`${first.base}/v1/config/app/production`);
      await first.handle.close();

      // The remote goes down, moves on meanwhile (never fetched), and the persisted snapshot is lost.
      await remote.remote.stop();
      await commitFiles(
        remote.work,
        { 'defaults/app.yaml': `greeting: never fetched (${damage})\n` },
        'not fetched',
      );
      await run(remote.work, 'push', '--quiet', '--force', remote.bare, 'HEAD:main');
      const file = new SnapshotFile(first.dataDir);
      if (damage === 'garbage') await writeFile(file.path, '{"truncated": ');
      else await rm(file.path);

      const second = await startFaultServer({ url: remote.url, dataDir: first.dataDir });
      handle = second.handle;
      const served = await waitFor('mirror head served', async () => {
        const s = await status(second.base);
        return s.served && !s.syncs.running ? s : null;
      });
      assert.equal(served.served?.commit, fetched);
      assert.equal(served.stale, true);
      assert.equal(served.lastFetch?.ok, false);
      assert.equal((await fetch(`${second.base}/readyz`)).status, 200);
      assert.deepEqual(await getJson(`${second.base}/v1/config/app/production`), config);
      // Persisted again: the next start has a snapshot even before the mirror is opened.
      const loaded = await file.load();
      assert.equal(loaded.status === 'loaded' ? loaded.snapshot.commit : loaded.status, fetched);

      await remote.remote.restart();
      const head = await remote.head();
      assert.equal((await notifyPush(second.base, head)).status, 202);
      assert.equal((await waitForServed(second.base, head)).stale, false);
      await second.handle.close();
      handle = null;
    });
  }
});
