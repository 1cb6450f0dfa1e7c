/**
 * The sync loop: a trigger (webhook, poll, start-up) fetches, builds a snapshot of the branch head, validates
 * it and promotes it, or rejects it and keeps serving the previous one. At most one sync runs and one waits.
 */
import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { formatIssue } from '../engine/index.js';
import type { EngineCache, RepoEvaluator, SecretScopes } from '../engine/index.js';
import { CommitNotServedError, InvalidConfigError, NotFoundError, UsageError } from '../errors/index.js';
import { subtreeSource } from '../git/index.js';
import type { GitRepository } from '../git/index.js';
import type { Logger } from '../log/index.js';
import type { ServerMetrics } from '../metrics/index.js';
import { BoundedCache, approximateBytes } from '../bounded-cache/index.js';
import { buildSnapshot, nearestSnapshot, snapshotBytes } from '../snapshot/index.js';
import type { Snapshot, SnapshotFile, SnapshotStore } from '../snapshot/index.js';
import type { RejectedCommitsFile } from './rejected-commits.js';
import { SyncRecorder, statusError } from './sync-status.js';
import type { StatusError, SyncOutcome, SyncStatus } from './sync-status.js';
import { TriggerCoalescer } from './trigger-coalescer.js';

export type { StatusError, SyncOutcome, SyncStatus };

/** Where commits come from: a mirror of a remote (fetched) or a local repository (re-read). */
export interface SyncOrigin {
  /** Credential-free description for status and logs (redacted URL or path). */
  readonly description: string;
  /** True when `update` talks to a network remote. */
  readonly remote: boolean;
  /**
   * The repository, opened before the services are built: what it holds on disk is readable at once (pinned and
   * `?ref=` reads), even before the first `update` and with the remote down.
   */
  readonly repository: GitRepository;
  /** False while the repository holds nothing readable until the first `update` (a mirror whose clone is due). */
  readable?(): boolean;
  /** Brings the branch up to date (fetch for a mirror, re-read for a local repository); its head, or null. */
  update(): Promise<string | null>;
}

/** Dependencies and options of a `SyncService`. */
export interface SyncServiceOptions {
  origin: SyncOrigin;
  branch: string;
  /** Config root inside the repository ('' for the root). */
  subdir?: string;
  store: SnapshotStore;
  /** Persistence of the promoted snapshot; null to keep nothing on disk. */
  file: SnapshotFile | null;
  /** The process-wide engine cache (parsed documents by blob oid, configs by input key). */
  cache: EngineCache;
  /** Evaluates fetched commits (default: in process); the server passes an isolated, bounded evaluator. */
  evaluate?: RepoEvaluator;
  /** Evaluates commits read by `?ref=` and pins (default: `evaluate`). */
  evaluateAt?: RepoEvaluator;
  /** Rejected commits kept across restarts (a known-bad head is not validated again); null keeps none. */
  rejections?: RejectedCommitsFile | null;
  logger: Logger;
  metrics: ServerMetrics;
  now?: () => Date;
  /** Commits kept for `?ref=` reads (default 16). */
  refCacheSize?: number;
  /** Estimated bytes of the snapshots kept for `?ref=` reads (default 64 MiB). */
  refCacheBytes?: number;
  /** History index to extend to the branch head after every successful fetch (audit trail). */
  history?: { extend(head: string): Promise<unknown> };
  /** Secret scopes every commit is validated against (a reference outside them rejects the commit). */
  secretScopes?: SecretScopes;
  /** The other replicas (`--redis`): told of every new branch head this replica fetches. */
  fleet?: { announce(commit: string): void };
}

/** A `?ref=` snapshot being built, and once it is, the snapshot (a base for the next ones). */
interface RefEntry {
  building: Promise<Snapshot>;
  built?: Snapshot;
}

/** How many commits `awaitCommit` walks back from the served one looking for the asked commit. */
const ANCESTRY_LIMIT = 2000;
const DEFAULT_REF_CACHE_BYTES = 64 * 1024 * 1024;

/** Runs syncs, keeps their status, and builds snapshots of older commits on demand. */
export class SyncService {
  private readonly now: () => Date;
  private readonly subdir: string;
  private readonly repository: GitRepository;
  private readonly triggers: TriggerCoalescer<SyncOutcome>;
  private readonly recorder: SyncRecorder;
  private task: ScheduledTask | null = null;
  private readonly refCache: BoundedCache<RefEntry>;
  private historyWork: Promise<unknown> = Promise.resolve();
  /** The last `?ref=` build asked for (they run one after the other). */
  private refBuilds: Promise<unknown> = Promise.resolve();
  /** `${served}:${asked}` -> whether `asked` is `served` or an ancestor of it (both immutable). */
  private readonly ancestry = new Map<string, boolean>();

  constructor(private readonly options: SyncServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.subdir = (options.subdir ?? '').replace(/^\/+|\/+$/g, '');
    this.repository = options.origin.repository;
    this.recorder = new SyncRecorder(options.metrics);
    this.triggers = new TriggerCoalescer(
      (reason) =>
        this.run(reason).then((outcome) => {
          this.extendHistory(outcome);
          return outcome;
        }),
      'skipped',
    );
    this.refCache = new BoundedCache({
      maxBytes: options.refCacheBytes ?? DEFAULT_REF_CACHE_BYTES,
      maxEntries: options.refCacheSize ?? 16,
      onEvent: (event) => options.metrics.cacheEvents.inc({ cache: 'refs', event }),
    });
  }

  /** Loads the persisted snapshot (served at once, flagged stale). A damaged file is logged and ignored. */
  async restore(): Promise<boolean> {
    const { file, logger, store } = this.options;
    if (!file) return false;
    const loaded = await file.load();
    if (loaded.status === 'missing') return false;
    if (loaded.status === 'corrupt') {
      logger.warn({ reason: loaded.reason }, 'persisted snapshot is damaged; rebuilding from git');
      return false;
    }
    if (store.current) return false;
    store.promote(loaded.snapshot, loaded.promotedAt ?? undefined);
    this.recorder.serving(loaded.snapshot.commit, 'data-dir');
    this.recorder.setStale(true);
    logger.info({ commit: loaded.snapshot.commit }, 'serving persisted snapshot until the first sync');
    return true;
  }

  /**
   * Asks for a sync. Coalesces: while one runs, every trigger shares a single follow-up run. Never rejects.
   * Resolves with the outcome of the run that covers this trigger.
   */
  trigger(reason: string): Promise<SyncOutcome> {
    return this.triggers.trigger(reason);
  }

  /**
   * After the snapshot is promoted (or kept), brings the history index to the fetched head in the background:
   * a first build can take seconds and must not hold up the next sync. `close()` waits for it.
   */
  private extendHistory(outcome: SyncOutcome): void {
    const history = this.options.history;
    const head = this.recorder.branchHead;
    if (!history || !head || outcome === 'failed' || outcome === 'skipped') return;
    this.historyWork = this.historyWork
      .then(() => history.extend(head))
      .catch((err: unknown) => {
        this.options.logger.warn({ error: statusError(err) }, 'history index not extended');
      });
  }

  /** Starts cron polling (`expression` in node-cron syntax) with up to `jitterMs` of random delay per tick. */
  startPolling(expression: string, jitterMs = 5000): void {
    assertPollSchedule(expression);
    this.task?.destroy();
    this.task = cron.schedule(expression, () => void this.trigger('poll'), {
      name: 'gitcfg-poll',
      maxRandomDelay: jitterMs,
      noOverlap: true,
    });
  }

  /** Resolves once no sync runs or waits (never rejects). */
  settled(): Promise<void> {
    return this.triggers.settled();
  }

  /** Stops cron polling (webhooks and fleet announcements still trigger syncs). */
  async stopPolling(): Promise<void> {
    const task = this.task;
    this.task = null;
    await task?.destroy();
  }

  /**
   * Read-your-writes: resolves once the served commit is `commit` or a descendant of it, fetching (coalesced
   * with every other trigger) while it is not; throws CommitNotServedError after `timeoutMs`.
   */
  async awaitCommit(commit: string, timeoutMs: number): Promise<void> {
    const started = Date.now();
    for (;;) {
      if (await this.serves(commit)) return;
      const left = started + timeoutMs - Date.now();
      if (left <= 0 || this.triggers.closed) {
        throw new CommitNotServedError(
          commit,
          Date.now() - started,
          Math.max(1, Math.ceil(timeoutMs / 5000)),
        );
      }
      const sync = this.trigger('min-commit');
      // Wait for this sync (or a promotion another trigger brings), at most the time left; then check again.
      let stop = (): void => undefined;
      const promoted = new Promise<void>((resolve) => {
        stop = this.options.store.subscribe(() => resolve());
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        sync,
        promoted,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.min(left, 1000)))),
      ]);
      clearTimeout(timer);
      stop();
    }
  }

  /** Whether the served snapshot is `commit` or a descendant of it (bounded walk of the parents). */
  private async serves(commit: string): Promise<boolean> {
    const served = this.options.store.current?.commit;
    if (!served) return false;
    if (served === commit) return true;
    const key = `${served}:${commit}`;
    const known = this.ancestry.get(key);
    if (known !== undefined) return known;
    const seen = new Set<string>([served]);
    const queue = [served];
    let found = false;
    try {
      while (queue.length > 0 && seen.size < ANCESTRY_LIMIT && !found) {
        const { parents } = await this.repository.readCommit(queue.shift()!);
        for (const parent of parents) {
          if (parent === commit) found = true;
          if (!seen.has(parent)) {
            seen.add(parent);
            queue.push(parent);
          }
        }
      }
    } catch {
      return false; // an object missing from the mirror: not known here yet
    }
    this.ancestry.set(key, found);
    if (this.ancestry.size > 256) this.ancestry.delete(this.ancestry.keys().next().value!);
    return found;
  }

  /** Stops polling and waits for the running (and pending) sync to finish. */
  async close(): Promise<void> {
    const closing = this.triggers.close();
    if (this.task) {
      await this.task.destroy();
      this.task = null;
    }
    await closing;
    await this.historyWork;
  }

  /** Current status (a fresh object each call). */
  status(): SyncStatus {
    const { origin, branch, store } = this.options;
    return this.recorder.status(
      { repository: origin.description, branch, subdir: this.subdir },
      store.current,
      store.promotedAt,
      { running: this.triggers.running, pending: this.triggers.pending },
    );
  }

  /** Whether the served snapshot may be behind the remote. */
  get isStale(): boolean {
    return this.recorder.stale;
  }

  /**
   * The snapshot of `ref` (commit, tag or branch), built on demand with the same engine and cached by commit.
   * Throws NotFoundError for an unknown ref and InvalidConfigError (with every issue) for an invalid commit.
   */
  async snapshotAt(ref: string): Promise<Snapshot> {
    // A read before the first clone waits for it rather than answering 404 for a commit the remote has.
    if (this.options.origin.readable?.() === false) await this.trigger('read before the first clone');
    let commit: string;
    try {
      commit = await this.repository.resolveRef(ref);
    } catch (error) {
      if (error instanceof NotFoundError) throw new NotFoundError('ref', ref);
      throw error;
    }
    const current = this.options.store.current;
    if (current?.commit === commit) return current;
    const cached = this.refCache.get(commit);
    if (cached) return cached.building;
    // One build at a time: two at once held two builds' garbage in every thread, and the second waits for the
    // first, a nearer base.
    const evaluate = this.options.evaluateAt ?? this.options.evaluate;
    const entry: RefEntry = {
      building: this.refBuilds
        .then(() => this.build(commit, evaluate, 'nearest'))
        .then((result) => {
          if (!result.ok) throw new InvalidConfigError(result.issues, `commit ${commit}`);
          return result.snapshot;
        }),
    };
    this.refBuilds = entry.building.catch(() => {});
    const { building } = entry;
    // Counted at the size of the served snapshot until its own size is known.
    this.refCache.set(commit, entry, current ? snapshotBytes(current) : 0);
    // Only while this entry is the cached one: evicted while queued, the commit may be cached again since.
    const ours = () => this.refCache.peek(commit) === entry;
    building.then(
      (snapshot) => {
        entry.built = snapshot;
        if (ours()) this.refCache.resize(commit, snapshotBytes(snapshot));
      },
      // Transient failures (git errors) are not cached; invalid commits are (they stay invalid).
      (error: unknown) => {
        if (!ours()) return;
        if (error instanceof InvalidConfigError) this.refCache.resize(commit, approximateBytes(error.issues));
        else this.refCache.delete(commit);
      },
    );
    return building;
  }

  /**
   * Builds `commit` on the served snapshot, or with `base: 'nearest'` on whichever of it and the built `?ref=`
   * snapshots has the tree nearest to the commit's.
   */
  private async build(
    commit: string,
    evaluate = this.options.evaluate,
    base: 'served' | 'nearest' = 'served',
  ) {
    const source = subtreeSource(await this.repository.source(commit), this.subdir);
    const served = this.options.store.current;
    const previous =
      base === 'nearest'
        ? (nearestSnapshot(
            source.entries,
            [served, ...Array.from(this.refCache.values(), (entry) => entry.built)],
            this.options.secretScopes,
          ) ?? served)
        : served;
    return buildSnapshot({
      commit,
      source,
      previous,
      cache: this.options.cache,
      ...(evaluate ? { evaluate } : {}),
      now: this.now,
      ...(this.options.secretScopes ? { secretScopes: this.options.secretScopes } : {}),
    });
  }

  /** Writes the promoted snapshot to the data dir; a failure is shown in status and metrics, not only logged. */
  private async persist(snapshot: Snapshot, promotedAt: string): Promise<void> {
    const { file, logger } = this.options;
    if (!file) return;
    const saved = { at: this.now().toISOString(), commit: snapshot.commit };
    try {
      await file.save(snapshot, promotedAt);
      this.recorder.persisted(saved);
    } catch (err) {
      const persistError = statusError(err);
      this.recorder.persisted(saved, persistError);
      logger.error({ error: persistError }, 'could not persist the snapshot; serving continues');
    }
  }

  /**
   * Nothing served (the data dir's snapshot is missing or damaged) and the remote cannot be fetched: the local
   * mirror still holds the last fetched commit. Serve it, flagged stale, rather than nothing (and persist it, so
   * the next start has a snapshot again); only if it is valid.
   */
  private async serveMirrorHead(): Promise<void> {
    const { logger, store } = this.options;
    let commit: string;
    let result: Awaited<ReturnType<SyncService['build']>>;
    try {
      commit = await this.repository.resolveRef(this.options.branch);
      result = await this.build(commit);
    } catch {
      return; // an empty (not cloned yet) or damaged mirror: nothing to serve
    }
    if (!result.ok) {
      logger.error(
        { commit, issueCount: result.issues.length },
        'the mirror head is invalid; nothing to serve',
      );
      return;
    }
    if (store.current) return;
    const promotion = store.promote(result.snapshot);
    this.recorder.serving(commit, 'data-dir');
    this.recorder.setStale(true);
    logger.warn(
      { commit },
      'remote unreachable, no usable snapshot in the data dir: serving the mirror head (stale)',
    );
    await this.persist(result.snapshot, promotion.promotedAt);
  }

  /** One sync: fetch, then build, validate and promote (or reject) the branch head. */
  private async run(reason: string): Promise<SyncOutcome> {
    const { logger, origin, store } = this.options;
    const recorder = this.recorder;
    const started = performance.now();
    const at = this.now().toISOString();
    let outcome: SyncOutcome = 'failed';
    let error: StatusError | undefined;
    try {
      let head: string | null;
      try {
        head = await origin.update();
      } catch (err) {
        error = statusError(err);
        recorder.fetchFailed(at, Math.round(performance.now() - started), error);
        if (store.current) recorder.setStale(true);
        logger.warn({ reason, error }, 'fetch failed; still serving the last good snapshot');
        if (!store.current) await this.serveMirrorHead();
        return (outcome = 'failed');
      }
      recorder.fetched(at, Math.round(performance.now() - started));
      // Announced before validation: the other replicas fetch and validate in parallel with this one.
      if (head !== null && head !== recorder.branchHead) this.options.fleet?.announce(head);
      recorder.branchHead = head;
      if (head === null) {
        error = { code: 'E_NOT_FOUND', message: `branch not found: ${this.options.branch}` };
        logger.warn({ reason, branch: this.options.branch }, 'branch not found');
        return (outcome = 'failed');
      }
      if (store.current?.commit === head) {
        recorder.servedFrom = 'git';
        // The branch went back to the served commit (e.g. a force-push): no rejection is pending any more.
        recorder.setRejected(null);
        recorder.upToDate();
        return (outcome = 'unchanged');
      }
      if (recorder.rejected?.commit === head) {
        // Already evaluated and rejected: nothing new to do until the branch moves.
        recorder.setStale(false);
        return (outcome = 'rejected');
      }
      const known = this.options.rejections?.get(head);
      if (known) {
        // Rejected before a restart: answer with that verdict instead of running the content again.
        recorder.setRejected(known);
        recorder.setStale(false);
        logger.warn(
          { commit: head, issueCount: known.issues.length },
          'commit was rejected before; still rejected',
        );
        return (outcome = 'rejected');
      }
      const result = await this.build(head);
      if (!result.ok) {
        const messages = result.issues.map((issue) => formatIssue(issue));
        const rejected = { commit: head, at, issues: result.issues, messages };
        // Remembered before it shows in the status, so the status never shows a rejection its sync has not counted.
        await this.options.rejections?.remember(rejected).catch((err: unknown) => {
          logger.warn({ error: statusError(err) }, 'could not remember the rejected commit');
        });
        recorder.setRejected(rejected, true);
        recorder.setStale(false);
        logger.error(
          { commit: head, issues: messages.slice(0, 100), issueCount: messages.length },
          'commit rejected: configuration is invalid; the previous snapshot stays live',
        );
        return (outcome = 'rejected');
      }
      const promotion = store.promote(result.snapshot);
      recorder.serving(head, 'git');
      recorder.setRejected(null);
      recorder.upToDate();
      logger.info(
        { commit: head, previousCommit: promotion.previousCommit, changed: promotion.changed.length, reason },
        'snapshot promoted',
      );
      await this.persist(result.snapshot, promotion.promotedAt);
      return (outcome = 'promoted');
    } catch (err) {
      error = statusError(err);
      logger.error({ reason, error }, 'sync failed');
      return (outcome = 'failed');
    } finally {
      recorder.finished({ at, reason, outcome, ...(error ? { error } : {}) }, performance.now() - started);
    }
  }
}

/** Throws UsageError unless `expression` is a valid node-cron schedule (5 fields, or 6 with seconds). */
export function assertPollSchedule(expression: string): void {
  if (!cron.validate(expression))
    throw new UsageError(`invalid poll schedule "${expression}" (cron syntax or off)`);
}
