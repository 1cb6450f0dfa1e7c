/**
 * The sync flow with a fake origin (no git, no clock): coalescing of triggers, rejection of an invalid head,
 * retry after a failed fetch. Each fetch waits until the test answers it, so every interleaving is explicit.
 */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineCache, evaluateRepo, memorySource } from '../../src/engine/index.js';
import type { RepoEvaluator } from '../../src/engine/index.js';
import { NotFoundError, RemoteUnreachableError } from '../../src/errors/index.js';
import type { CommitSource, GitRepository } from '../../src/git/index.js';
import { silentLogger } from '../../src/log/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { SnapshotStore } from '../../src/snapshot/index.js';
import { SyncService } from '../../src/sync/index.js';
import type { SyncOrigin } from '../../src/sync/index.js';
import { CONFIG_FILES } from '../server/server-fixture.js';

const GOOD = 'a'.repeat(40);
const BAD = 'b'.repeat(40);
const NEXT = 'c'.repeat(40);
const OLD = 'e'.repeat(40);
const OLDER = 'f'.repeat(40);

const COMMITS: Record<string, Record<string, string>> = {
  [GOOD]: CONFIG_FILES,
  [BAD]: { ...CONFIG_FILES, 'defaults/app.yaml': 'greeting: 1\n' },
  [NEXT]: { ...CONFIG_FILES, 'environments/staging/app.yaml': 'greeting: next\n' },
  // Both namespaces differ from GOOD; OLDER differs from OLD in `db` only.
  [OLD]: { ...CONFIG_FILES, 'defaults/app.yaml': 'greeting: old\n', 'defaults/db.yaml': 'host: old\n' },
  [OLDER]: { ...CONFIG_FILES, 'defaults/app.yaml': 'greeting: old\n', 'defaults/db.yaml': 'host: older\n' },
};

/** A repository of the commits above; counts the sources built. */
function fakeRepository(): GitRepository & { built: string[] } {
  const built: string[] = [];
  const unused = (): never => {
    throw new Error('not used by the sync');
  };
  return {
    built,
    async resolveRef(ref) {
      if (COMMITS[ref]) return ref;
      throw new NotFoundError('ref', ref);
    },
    async readCommit(oid) {
      if (!COMMITS[oid]) throw new NotFoundError('commit', oid);
      return unused();
    },
    async source(commit): Promise<CommitSource> {
      built.push(commit);
      return { ...memorySource(COMMITS[commit]!), commit };
    },
    listTree: unused,
    diffCommits: unused,
    readBlob: unused,
    log: unused,
  };
}

/** An origin whose every `update()` waits for the test to `answer` it (a head or an error). */
function fakeOrigin() {
  const calls: { resolve: (head: string | null) => void; reject: (err: unknown) => void }[] = [];
  let told: (() => void) | null = null;
  const repository = fakeRepository();
  const origin: SyncOrigin & { updates: number } = {
    description: 'https://***@git.example/config.git',
    remote: true,
    repository,
    updates: 0,
    update() {
      origin.updates += 1;
      return new Promise<string | null>((resolve, reject) => {
        calls.push({ resolve, reject });
        told?.();
      });
    },
  };
  /** The next unanswered `update()`, once the sync has made it. */
  async function next() {
    while (calls.length === 0) await new Promise<void>((resolve) => (told = resolve));
    told = null;
    return calls.shift()!;
  }
  return { origin, repository, next };
}

function service(origin: SyncOrigin, evaluateAt?: RepoEvaluator) {
  const store = new SnapshotStore();
  const sync = new SyncService({
    origin,
    ...(evaluateAt ? { evaluateAt } : {}),
    branch: 'main',
    store,
    file: null,
    cache: new EngineCache(),
    logger: silentLogger(),
    metrics: createMetrics({ processMetrics: false }),
  });
  return { store, sync };
}

describe('SyncService with a fake origin', () => {
  it('coalesces triggers during a run into one follow-up run with the first waiting reason', async () => {
    const { origin, next } = fakeOrigin();
    const { store, sync } = service(origin);
    const first = sync.trigger('startup');
    const second = sync.trigger('webhook');
    const third = sync.trigger('poll');
    assert.equal(second, third, 'triggers during a run share the pending run');
    assert.deepEqual(sync.status().syncs, { total: 0, running: true, pending: true, byOutcome: {} });
    (await next()).resolve(GOOD);
    assert.equal(await first, 'promoted');
    (await next()).resolve(GOOD);
    assert.equal(await second, 'unchanged');
    await sync.settled();
    assert.equal(origin.updates, 2);
    assert.equal(store.current?.commit, GOOD);
    const status = sync.status();
    assert.equal(status.lastSync?.reason, 'webhook');
    assert.deepEqual(status.syncs, {
      total: 2,
      running: false,
      pending: false,
      byOutcome: { promoted: 1, unchanged: 1 },
    });
    await sync.close();
    assert.equal(await sync.trigger('after close'), 'skipped');
    assert.equal(origin.updates, 2);
  });

  it('rejects an invalid head, keeps serving the last good commit, and does not validate it again', async () => {
    const { origin, repository, next } = fakeOrigin();
    const { store, sync } = service(origin);
    const promoted = sync.trigger('startup');
    (await next()).resolve(GOOD);
    assert.equal(await promoted, 'promoted');

    const rejected = sync.trigger('webhook');
    (await next()).resolve(BAD);
    assert.equal(await rejected, 'rejected');
    assert.equal(store.current?.commit, GOOD);
    const status = sync.status();
    assert.equal(status.rejected?.commit, BAD);
    assert.deepEqual(
      status.rejected?.issues.map((issue) => issue.file),
      ['defaults/app.yaml'],
    );
    assert.equal(status.stale, false);

    const again = sync.trigger('poll');
    (await next()).resolve(BAD);
    assert.equal(await again, 'rejected');
    assert.deepEqual(repository.built, [GOOD, BAD], 'the rejected head is built once');

    // The branch moves on to a valid commit: promoted, and the rejection is over.
    const fixed = sync.trigger('webhook');
    (await next()).resolve(NEXT);
    assert.equal(await fixed, 'promoted');
    assert.equal(sync.status().rejected, null);
    await sync.close();
  });

  it('keeps serving, stale, after a failed fetch, and catches up on the next trigger', async () => {
    const { origin, next } = fakeOrigin();
    const { store, sync } = service(origin);
    const promoted = sync.trigger('startup');
    (await next()).resolve(GOOD);
    assert.equal(await promoted, 'promoted');

    const failed = sync.trigger('poll');
    (await next()).reject(
      new RemoteUnreachableError('fetch', 'https://bot:s3cret@git.example/config.git refused (ECONNREFUSED)'),
    );
    assert.equal(await failed, 'failed');
    let status = sync.status();
    assert.equal(status.stale, true);
    assert.equal(status.lastFetch?.ok, false);
    assert.equal(status.lastFetch?.error?.code, 'E_REMOTE_UNREACHABLE');
    assert.doesNotMatch(status.lastFetch?.error?.message ?? '', /s3cret/);
    assert.equal(store.current?.commit, GOOD);

    const retried = sync.trigger('poll');
    (await next()).resolve(NEXT);
    assert.equal(await retried, 'promoted');
    status = sync.status();
    assert.deepEqual([status.stale, status.lastFetch?.ok, store.current?.commit], [false, true, NEXT]);
    assert.deepEqual(status.syncs.byOutcome, { promoted: 2, failed: 1 });
    await sync.close();
  });

  it('serves a pinned or older commit from the open repository before any sync', async () => {
    const { origin } = fakeOrigin();
    const { sync } = service(origin);
    assert.equal((await sync.snapshotAt(NEXT)).commit, NEXT);
    await assert.rejects(sync.snapshotAt('d'.repeat(40)), { code: 'E_NOT_FOUND' });
    assert.equal(origin.updates, 0);
    await sync.close();
  });

  it('makes a read before the first clone wait for it, instead of answering not found', async () => {
    const { origin, next } = fakeOrigin();
    let cloned = false;
    const repository: GitRepository = {
      ...origin.repository,
      resolveRef: (ref) =>
        cloned ? origin.repository.resolveRef(ref) : Promise.reject(new NotFoundError('ref', ref)),
    };
    const { sync } = service({
      ...origin,
      repository,
      readable: () => cloned,
      update: () => origin.update(),
    });
    const pinned = sync.snapshotAt(NEXT);
    const first = await Promise.race([
      next(),
      pinned.then(
        () => 'answered',
        (error: unknown) => error,
      ),
    ]);
    assert.ok(first instanceof Object && 'resolve' in first, `answered before cloning: ${String(first)}`);
    const clone = first as Awaited<ReturnType<typeof next>>;
    assert.equal(origin.updates, 1, 'the read started the clone');
    cloned = true;
    clone.resolve(GOOD);
    assert.equal((await pinned).commit, NEXT);
    assert.equal((await sync.snapshotAt(GOOD)).commit, GOOD);
    assert.equal(origin.updates, 1, 'once cloned, reads do not sync');
    await sync.close();
  });

  it('builds an old commit on the nearest snapshot built before, one build at a time, with the same result', async () => {
    const { origin, next } = fakeOrigin();
    const asked: (readonly string[] | undefined)[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const counting: RepoEvaluator = async (source, options) => {
      asked.push(options?.namespaces);
      mostAtOnce = Math.max(mostAtOnce, ++running);
      try {
        await new Promise((resolve) => setImmediate(resolve));
        return await evaluateRepo(source, options);
      } finally {
        running--;
      }
    };
    const { sync } = service(origin, counting);
    const started = sync.trigger('startup');
    (await next()).resolve(GOOD);
    assert.equal(await started, 'promoted');
    const [old, older] = await Promise.all([sync.snapshotAt(OLD), sync.snapshotAt(OLDER)]);
    assert.equal(mostAtOnce, 1, 'two old commits were built at once');
    // OLD on the served snapshot (both namespaces changed); OLDER on OLD, one file away.
    assert.deepEqual(asked, [['app', 'db'], ['db']]);
    // The same snapshot as built on the served one only.
    const fresh = service(fakeOrigin().origin).sync;
    const alone = await fresh.snapshotAt(OLDER);
    const bodies = (snapshot: typeof alone) =>
      [...snapshot.configs].map(([key, config]) => [key, config.json.etag, config.inputKey]);
    assert.deepEqual(bodies(older), bodies(alone));
    assert.deepEqual(bodies(old).length, bodies(alone).length);
    assert.equal(older.configs.get('db/production')?.value.host, 'older');
    assert.equal(older.configs.get('app/production')?.value.greeting, 'old');
    await Promise.all([sync.close(), fresh.close()]);
  });

  it('an invalid old commit fails its own read only: the builds after it run, and its result is kept', async () => {
    const { origin, repository } = fakeOrigin();
    const { sync } = service(origin);
    const [bad, old] = await Promise.allSettled([sync.snapshotAt(BAD), sync.snapshotAt(OLD)]);
    assert.equal(bad.status, 'rejected');
    assert.equal((bad as PromiseRejectedResult).reason.code, 'E_INVALID_CONFIG');
    assert.equal(old.status === 'fulfilled' && old.value.commit, OLD);
    // Asked again, the invalid commit is answered from the cache, not built again.
    await assert.rejects(sync.snapshotAt(BAD), { code: 'E_INVALID_CONFIG' });
    assert.equal(repository.built.filter((c) => c === BAD).length, 1);
    await sync.close();
  });
});
