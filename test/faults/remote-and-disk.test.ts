/**
 * Faults around the server rather than in the content: the remote down at start and while running, a
 * force-push that rewrites (or rewinds) the branch, and a data dir that cannot be written. Tests run in order
 * against one remote and one server.
 *
 * Decided behaviour of a force-push: the mirror follows the remote. The new head is built like any other commit
 * and served if valid, even when it is older than the served one (a rewind); commits that vanished from the
 * branch are no longer served.
 */
import * as assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServeHandle } from '../../src/commands/serve.js';
import { SnapshotFile } from '../../src/snapshot/index.js';
import { cleanupTempDirs, commitFiles, run } from '../helpers/git-repo.js';
import { getJson, status, waitFor, waitForServed } from '../server/server-fixture.js';
import type { LogSink } from '../server/server-fixture.js';
import { notifyPush, startFaultRemote, startFaultServer } from './fault-fixture.js';
import type { FaultRemote } from './fault-fixture.js';

describe('remote outages, force-pushes and an unwritable data dir', () => {
  let remote: FaultRemote;
  let handle: ServeHandle | null = null;
  let base = '';
  let logs: LogSink;
  let dataDir: string;

  before(async () => {
    remote = await startFaultRemote();
  });

  after(async () => {
    await handle?.close();
    await remote?.remote.close();
    await cleanupTempDirs();
  });

  /** Commits and pushes straight into the bare repository (works while the HTTP remote is down). */
  async function pushDirect(files: Record<string, string>, message: string): Promise<string> {
    const oid = await commitFiles(remote.work, files, message);
    await run(remote.work, 'push', '--quiet', '--force', remote.bare, 'HEAD:main');
    return oid;
  }

  it('starts with the remote down: not ready, the error in status; serves once the remote is back', async () => {
    await remote.remote.stop();
    ({ handle, base, logs, dataDir } = await startFaultServer({ url: remote.url }));
    const down = await waitFor('first fetch attempt', async () => {
      const s = await status(base);
      return s.lastFetch && !s.syncs.running ? s : null;
    });
    assert.equal(down.served, null);
    assert.equal(down.lastFetch?.ok, false);
    assert.match(down.lastFetch?.error?.code ?? '', /^E_/);
    assert.ok((down.lastFetch?.error?.message ?? '').length > 0);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
    assert.equal((await fetch(`${base}/v1/config/app/production`)).status, 503);

    await remote.remote.restart();
    const head = await remote.head();
    assert.equal((await notifyPush(base, head)).status, 202);
    const up = await waitForServed(base, head);
    assert.equal(up.stale, false);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
  });

  it('goes stale while the remote is down and catches up when it returns', async () => {
    const served = await remote.head();
    await remote.remote.stop();
    const next = await pushDirect({ 'defaults/db.yaml': 'host: db.during-outage\n' }, 'during outage');
    assert.equal((await notifyPush(base, next)).status, 202);
    const down = await waitFor('failed fetch', async () => {
      const s = await status(base);
      return s.lastFetch?.ok === false && !s.syncs.running ? s : null;
    });
    assert.equal(down.stale, true);
    assert.equal(down.served?.commit, served);
    const res = await fetch(`${base}/v1/config/db/production`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('gitcfg-stale'), 'true');
    assert.deepEqual(await res.json(), { host: 'db.internal' });

    await remote.remote.restart();
    assert.equal((await notifyPush(base, next)).status, 202);
    const up = await waitForServed(base, next);
    assert.equal(up.stale, false);
    assert.deepEqual(await getJson(`${base}/v1/config/db/production`), { host: 'db.during-outage' });
  });

  it('follows a force-push that rewrites the branch, and one that rewinds it', async () => {
    const root = await remote.head();
    const discarded = await remote.push({ 'defaults/db.yaml': 'host: db.discarded\n' }, 'to be discarded');
    await notifyPush(base, discarded);
    await waitForServed(base, discarded);

    // Rewrite: a different commit on top of `root`; `discarded` disappears from the branch.
    await run(remote.work, 'reset', '--quiet', '--hard', root);
    const rewritten = await remote.push({ 'defaults/db.yaml': 'host: db.rewritten\n' }, 'rewritten');
    assert.equal((await notifyPush(base, rewritten)).status, 202);
    const s = await waitForServed(base, rewritten);
    assert.equal(s.branchHead, rewritten);
    assert.deepEqual(await getJson(`${base}/v1/config/db/production`), { host: 'db.rewritten' });

    // Rewind: the branch goes back to an older commit, which is served again.
    await run(remote.work, 'reset', '--quiet', '--hard', root);
    await run(remote.work, 'push', '--quiet', '--force', 'origin', 'HEAD:main');
    assert.equal((await notifyPush(base, root)).status, 202);
    await waitForServed(base, root);
    assert.deepEqual(await getJson(`${base}/v1/config/db/production`), { host: 'db.during-outage' });

    // A force-push to an invalid commit is rejected like any other; the rewound commit stays served.
    const invalid = await remote.push({ 'defaults/app.yaml': 'greeting: [not, a, string]\n' }, 'invalid');
    await notifyPush(base, invalid);
    const rejected = await waitFor('rejection after force-push', async () => {
      const st = await status(base);
      return st.rejected?.commit === invalid && !st.syncs.running ? st : null;
    });
    assert.equal(rejected.served?.commit, root);
    await run(remote.work, 'reset', '--quiet', '--hard', root);
  });

  it('keeps serving from memory when the snapshot cannot be persisted, and persists again once fixed', async () => {
    const file = new SnapshotFile(dataDir);
    // Tests may run as root, where chmod stops nothing: put a directory where the snapshot file goes instead.
    await rm(file.path, { force: true });
    await mkdir(path.join(file.path, 'blocker'), { recursive: true });
    const next = await remote.push({ 'defaults/db.yaml': 'host: db.unpersisted\n' }, 'not persisted');
    assert.equal((await notifyPush(base, next)).status, 202);
    const s = await waitForServed(base, next);
    assert.deepEqual(await getJson(`${base}/v1/config/db/production`), { host: 'db.unpersisted' });
    assert.equal(s.stale, false);
    const logged = await waitFor('persistence error logged', async () =>
      logs.records().find((r) => String(r.msg).includes('could not persist the snapshot')),
    );
    assert.ok(logged.error, 'the log line carries the error');
    assert.equal((await file.load()).status, 'corrupt');
    // Also visible without the logs: in /v1/status and in the metrics.
    const failing = await status(base);
    assert.equal(failing.persistence?.ok, false);
    assert.equal(failing.persistence?.commit, next);
    assert.ok(failing.persistence?.error?.message, 'status names the error');
    const metricsText = await (await fetch(`${base}/metrics`)).text();
    assert.match(metricsText, /^gitcfg_snapshot_persist_failing 1$/m);
    assert.match(metricsText, /^gitcfg_snapshot_persist_failures_total [1-9]/m);

    await rm(file.path, { recursive: true, force: true });
    const fixed = await remote.push({ 'defaults/db.yaml': 'host: db.persisted\n' }, 'persisted');
    await notifyPush(base, fixed);
    await waitForServed(base, fixed);
    const loaded = await waitFor('snapshot persisted again', async () => {
      const result = await file.load();
      return result.status === 'loaded' && result.snapshot.commit === fixed ? result : null;
    });
    assert.equal(loaded.status, 'loaded');
    const ok = await status(base);
    assert.deepEqual([ok.persistence?.ok, ok.persistence?.commit], [true, fixed]);
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^gitcfg_snapshot_persist_failing 0$/m);
  });

  it('recovers when the mirror in the data dir is replaced by a file', async () => {
    const mirror = path.join(dataDir, 'mirror');
    await rm(mirror, { recursive: true, force: true });
    await writeFile(mirror, 'not a repository\n');
    const next = await remote.push(
      { 'defaults/db.yaml': 'host: db.after-mirror-loss\n' },
      'after mirror loss',
    );
    assert.equal((await notifyPush(base, next)).status, 202);
    await waitForServed(base, next);
    assert.deepEqual(await getJson(`${base}/v1/config/db/production`), { host: 'db.after-mirror-loss' });
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});
