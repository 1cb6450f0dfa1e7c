/**
 * The sync loop: a trigger (webhook, poll, start-up) fetches, builds a snapshot of the branch head, validates
 * it and promotes it, or rejects it and keeps serving the previous one. At most one sync runs and one waits.
 */
import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { formatIssue } from '../engine/index.js';
import type { EngineCache, Issue, RepoEvaluator, RepoSource, SecretScopes } from '../engine/index.js';
import {
  CommitNotServedError,
  GitcfgError,
  InvalidConfigError,
  NotFoundError,
  UsageError,
} from '../errors/index.js';
import type { GitRepository } from '../git/index.js';
import type { Logger } from '../log/index.js';
import type { ServerMetrics } from '../metrics/index.js';
import { buildSnapshot } from '../snapshot/index.js';
import type { Snapshot, SnapshotFile, SnapshotStore } from '../snapshot/index.js';
import type { RejectedCommitsFile } from './rejected-commits.js';
import { subdirSource } from './subdir-source.js';

/** Where commits come from: a mirror of a remote (fetched) or a local repository (re-read). */
export interface SyncOrigin {
  /** Credential-free description for status and logs (redacted URL or path). */
  readonly description: string;
  /** True when `update` talks to a network remote. */
  readonly remote: boolean;
  /** Opens the repository (a mirror clones on first use); later calls return the same one. */
  open(): Promise<GitRepository>;
  /** Brings the branch up to date (fetch for a mirror, re-read for a local repository); its head, or null. */
  update(): Promise<string | null>;
}

/** How one sync run ended. */
export type SyncOutcome = 'promoted' | 'unchanged' | 'rejected' | 'failed' | 'skipped';

/** Error shape in status (never carries secrets: messages come from typed errors that redact URLs). */
export interface StatusError {
  code: string;
  message: string;
}

/** What `GET /v1/status` reports. */
export interface SyncStatus {
  repository: string;
  branch: string;
  subdir: string;
  served: { commit: string; builtAt: string; promotedAt: string | null; from: 'git' | 'data-dir' } | null;
  stale: boolean;
  branchHead: string | null;
  lastFetch: { at: string; ok: boolean; durationMs: number; error?: StatusError } | null;
  lastSync: {
    at: string;
    reason: string;
    outcome: SyncOutcome;
    durationMs: number;
    error?: StatusError;
  } | null;
  rejected: { commit: string; at: string; issues: Issue[]; messages: string[] } | null;
  syncs: { total: number; running: boolean; pending: boolean; byOutcome: Record<string, number> };
  counts: { namespaces: number; environments: number; configs: number };
  /** Last write of the snapshot to the data dir (null before the first, or without a data dir). */
  persistence: { ok: boolean; at: string; commit: string; error?: StatusError } | null;
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
  /** Rejected commits kept across restarts (a known-bad head is not validated again); null keeps none. */
  rejections?: RejectedCommitsFile | null;
  logger: Logger;
  metrics: ServerMetrics;
  now?: () => Date;
  /** Commits kept for `?ref=` reads (default 16). */
  refCacheSize?: number;
  /** History index to extend to the branch head after every successful fetch (audit trail). */
  history?: { extend(head: string): Promise<unknown> };
  /** Secret scopes every commit is validated against (a reference outside them rejects the commit). */
  secretScopes?: SecretScopes;
  /** The other replicas (`--redis`): told of every new branch head this replica fetches. */
  fleet?: { announce(commit: string): void };
}

/** How many commits `awaitCommit` walks back from the served one looking for the asked commit. */
const ANCESTRY_LIMIT = 2000;

/** Runs syncs, keeps their status, and builds snapshots of older commits on demand. */
export class SyncService {
  private readonly now: () => Date;
  private readonly subdir: string;
  private running: Promise<SyncOutcome> | null = null;
  private pending: Promise<SyncOutcome> | null = null;
  private closed = false;
  private task: ScheduledTask | null = null;
  private repository: GitRepository | null = null;
  private servedFrom: 'git' | 'data-dir' = 'git';
  private stale = false;
  private branchHead: string | null = null;
  private lastFetch: SyncStatus['lastFetch'] = null;
  private lastSync: SyncStatus['lastSync'] = null;
  private rejected: SyncStatus['rejected'] = null;
  private persistence: SyncStatus['persistence'] = null;
  private total = 0;
  private readonly byOutcome: Record<string, number> = {};
  private readonly refCache = new Map<string, Promise<Snapshot>>();
  private readonly refCacheSize: number;
  private historyWork: Promise<unknown> = Promise.resolve();
  /** `${served}:${asked}` -> whether `asked` is `served` or an ancestor of it (both immutable). */
  private readonly ancestry = new Map<string, boolean>();

  constructor(private readonly options: SyncServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.subdir = (options.subdir ?? '').replace(/^\/+|\/+$/g, '');
    this.refCacheSize = options.refCacheSize ?? 16;
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
    this.servedFrom = 'data-dir';
    this.setStale(true);
    this.options.metrics.servedCommit.reset();
    this.options.metrics.servedCommit.set({ commit: loaded.snapshot.commit }, 1);
    logger.info({ commit: loaded.snapshot.commit }, 'serving persisted snapshot until the first sync');
    return true;
  }

  /**
   * Asks for a sync. Coalesces: while one runs, every trigger shares a single follow-up run. Never rejects.
   * Resolves with the outcome of the run that covers this trigger.
   */
  trigger(reason: string): Promise<SyncOutcome> {
    if (this.closed) return Promise.resolve('skipped');
    if (this.pending) return this.pending;
    if (!this.running) return this.start(reason);
    this.pending = this.running.then(() => {
      this.pending = null;
      return this.closed ? 'skipped' : this.start(reason);
    });
    return this.pending;
  }

  private start(reason: string): Promise<SyncOutcome> {
    const run = this.run(reason)
      .then((outcome) => {
        this.extendHistory(outcome);
        return outcome;
      })
      .finally(() => {
        if (this.running === run) this.running = null;
      });
    this.running = run;
    return run;
  }

  /**
   * After the snapshot is promoted (or kept), brings the history index to the fetched head in the background:
   * a first build can take seconds and must not hold up the next sync. `close()` waits for it.
   */
  private extendHistory(outcome: SyncOutcome): void {
    const history = this.options.history;
    const head = this.branchHead;
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
  async settled(): Promise<void> {
    while (this.running || this.pending) await (this.pending ?? this.running);
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
      if (left <= 0 || this.closed) {
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
    const repository = this.repository;
    if (!repository) return false;
    const key = `${served}:${commit}`;
    const known = this.ancestry.get(key);
    if (known !== undefined) return known;
    const seen = new Set<string>([served]);
    const queue = [served];
    let found = false;
    try {
      while (queue.length > 0 && seen.size < ANCESTRY_LIMIT && !found) {
        const { parents } = await repository.readCommit(queue.shift()!);
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
    this.closed = true;
    if (this.task) {
      await this.task.destroy();
      this.task = null;
    }
    await this.pending;
    await this.running;
    await this.historyWork;
  }

  /** Current status (a fresh object each call). */
  status(): SyncStatus {
    const snapshot = this.options.store.current;
    return {
      repository: this.options.origin.description,
      branch: this.options.branch,
      subdir: this.subdir,
      served: snapshot
        ? {
            commit: snapshot.commit,
            builtAt: snapshot.builtAt,
            promotedAt: this.options.store.promotedAt,
            from: this.servedFrom,
          }
        : null,
      stale: this.stale,
      branchHead: this.branchHead,
      lastFetch: this.lastFetch,
      lastSync: this.lastSync,
      rejected: this.rejected,
      syncs: {
        total: this.total,
        running: this.running !== null,
        pending: this.pending !== null,
        byOutcome: { ...this.byOutcome },
      },
      counts: {
        namespaces: snapshot?.namespaces.length ?? 0,
        environments: snapshot?.environments.length ?? 0,
        configs: snapshot?.configs.size ?? 0,
      },
      persistence: this.persistence,
    };
  }

  /** Whether the served snapshot may be behind the remote. */
  get isStale(): boolean {
    return this.stale;
  }

  /**
   * The snapshot of `ref` (commit, tag or branch), built on demand with the same engine and cached by commit.
   * Throws NotFoundError for an unknown ref and InvalidConfigError (with every issue) for an invalid commit.
   */
  async snapshotAt(ref: string): Promise<Snapshot> {
    const repository = this.repository;
    if (!repository) throw new NotFoundError('ref', ref, { reason: 'repository not available yet' });
    let commit: string;
    try {
      commit = await repository.resolveRef(ref);
    } catch (error) {
      if (error instanceof NotFoundError) throw new NotFoundError('ref', ref);
      throw error;
    }
    const current = this.options.store.current;
    if (current?.commit === commit) return current;
    const cached = this.refCache.get(commit);
    if (cached) {
      // Refresh recency.
      this.refCache.delete(commit);
      this.refCache.set(commit, cached);
      return cached;
    }
    const building = this.build(repository, commit).then((result) => {
      if (!result.ok) throw new InvalidConfigError(result.issues, `commit ${commit}`);
      return result.snapshot;
    });
    this.refCache.set(commit, building);
    // Transient failures (git errors) are not cached; invalid commits are (they stay invalid).
    building.catch((error: unknown) => {
      if (!(error instanceof InvalidConfigError)) this.refCache.delete(commit);
    });
    while (this.refCache.size > this.refCacheSize) {
      const oldest = this.refCache.keys().next().value;
      if (oldest === undefined) break;
      this.refCache.delete(oldest);
    }
    return building;
  }

  private async build(repository: GitRepository, commit: string) {
    const source: RepoSource = await repository.source(commit);
    return buildSnapshot({
      commit,
      source: this.subdir ? subdirSource(source, this.subdir) : source,
      previous: this.options.store.current,
      cache: this.options.cache,
      ...(this.options.evaluate ? { evaluate: this.options.evaluate } : {}),
      now: this.now,
      ...(this.options.secretScopes ? { secretScopes: this.options.secretScopes } : {}),
    });
  }

  private setStale(stale: boolean): void {
    this.stale = stale;
    this.options.metrics.stale.set(stale ? 1 : 0);
  }

  /** Writes the promoted snapshot to the data dir; a failure is shown in status and metrics, not only logged. */
  private async persist(snapshot: Snapshot, promotedAt: string): Promise<void> {
    const { file, logger, metrics } = this.options;
    if (!file) return;
    const saved = { at: this.now().toISOString(), commit: snapshot.commit };
    try {
      await file.save(snapshot, promotedAt);
      this.persistence = { ok: true, ...saved };
      metrics.persistFailing.set(0);
    } catch (err) {
      const persistError = statusError(err);
      this.persistence = { ok: false, ...saved, error: persistError };
      metrics.persistFailing.set(1);
      metrics.persistFailures.inc();
      logger.error({ error: persistError }, 'could not persist the snapshot; serving continues');
    }
  }

  /**
   * Nothing served (the data dir's snapshot is missing or damaged) and the remote cannot be fetched: the local
   * mirror still holds the last fetched commit. Serve it, flagged stale, rather than nothing (and persist it, so
   * the next start has a snapshot again); only if it is valid.
   */
  private async serveMirrorHead(repository: GitRepository): Promise<void> {
    const { logger, metrics, store } = this.options;
    let commit: string;
    try {
      commit = await repository.resolveRef(this.options.branch);
    } catch {
      return; // an empty mirror: nothing to serve
    }
    const result = await this.build(repository, commit);
    if (!result.ok) {
      logger.error(
        { commit, issueCount: result.issues.length },
        'the mirror head is invalid; nothing to serve',
      );
      return;
    }
    if (store.current) return;
    const promotion = store.promote(result.snapshot);
    this.servedFrom = 'data-dir';
    this.setStale(true);
    metrics.servedCommit.reset();
    metrics.servedCommit.set({ commit }, 1);
    logger.warn(
      { commit },
      'remote unreachable, no usable snapshot in the data dir: serving the mirror head (stale)',
    );
    await this.persist(result.snapshot, promotion.promotedAt);
  }

  private async run(reason: string): Promise<SyncOutcome> {
    const { logger, metrics, origin, store } = this.options;
    const started = performance.now();
    const at = this.now().toISOString();
    let outcome: SyncOutcome = 'failed';
    let error: StatusError | undefined;
    try {
      let repository: GitRepository;
      let head: string | null;
      try {
        repository = await origin.open();
        this.repository = repository;
        head = await origin.update();
      } catch (err) {
        error = statusError(err);
        this.lastFetch = { at, ok: false, durationMs: Math.round(performance.now() - started), error };
        metrics.fetchFailures.inc();
        if (store.current) this.setStale(true);
        logger.warn({ reason, error }, 'fetch failed; still serving the last good snapshot');
        if (!store.current && this.repository) await this.serveMirrorHead(this.repository);
        return (outcome = 'failed');
      }
      this.lastFetch = { at, ok: true, durationMs: Math.round(performance.now() - started) };
      // Announced before validation: the other replicas fetch and validate in parallel with this one.
      if (head !== null && head !== this.branchHead) this.options.fleet?.announce(head);
      this.branchHead = head;
      if (head === null) {
        error = { code: 'E_NOT_FOUND', message: `branch not found: ${this.options.branch}` };
        logger.warn({ reason, branch: this.options.branch }, 'branch not found');
        return (outcome = 'failed');
      }
      if (store.current?.commit === head) {
        this.servedFrom = this.servedFrom === 'data-dir' ? 'git' : this.servedFrom;
        // The branch went back to the served commit (e.g. a force-push): no rejection is pending any more.
        this.rejected = null;
        metrics.rejectedIssues.set(0);
        this.setStale(false);
        metrics.lastSuccessfulSync.set(Date.now() / 1000);
        return (outcome = 'unchanged');
      }
      if (this.rejected?.commit === head) {
        // Already evaluated and rejected: nothing new to do until the branch moves.
        this.setStale(false);
        return (outcome = 'rejected');
      }
      const known = this.options.rejections?.get(head);
      if (known) {
        // Rejected before a restart: answer with that verdict instead of running the content again.
        this.rejected = known;
        metrics.rejectedIssues.set(known.issues.length);
        this.setStale(false);
        logger.warn(
          { commit: head, issueCount: known.issues.length },
          'commit was rejected before; still rejected',
        );
        return (outcome = 'rejected');
      }
      const result = await this.build(repository, head);
      if (!result.ok) {
        const messages = result.issues.map((issue) => formatIssue(issue));
        const rejected = { commit: head, at, issues: result.issues, messages };
        // Remembered before it shows in the status, so the status never shows a rejection its sync has not counted.
        await this.options.rejections?.remember(rejected).catch((err: unknown) => {
          logger.warn({ error: statusError(err) }, 'could not remember the rejected commit');
        });
        this.rejected = rejected;
        metrics.rejectedCommits.inc();
        metrics.rejectedIssues.set(result.issues.length);
        this.setStale(false);
        logger.error(
          { commit: head, issues: messages.slice(0, 100), issueCount: messages.length },
          'commit rejected: configuration is invalid; the previous snapshot stays live',
        );
        return (outcome = 'rejected');
      }
      const promotion = store.promote(result.snapshot);
      this.servedFrom = 'git';
      this.rejected = null;
      this.setStale(false);
      metrics.rejectedIssues.set(0);
      metrics.servedCommit.reset();
      metrics.servedCommit.set({ commit: head }, 1);
      metrics.lastSuccessfulSync.set(Date.now() / 1000);
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
      const durationMs = performance.now() - started;
      this.total += 1;
      this.byOutcome[outcome] = (this.byOutcome[outcome] ?? 0) + 1;
      this.lastSync = {
        at,
        reason,
        outcome,
        durationMs: Math.round(durationMs),
        ...(error ? { error } : {}),
      };
      metrics.syncDuration.observe({ outcome }, durationMs / 1000);
    }
  }
}

/** Throws UsageError unless `expression` is a valid node-cron schedule (5 fields, or 6 with seconds). */
export function assertPollSchedule(expression: string): void {
  if (!cron.validate(expression))
    throw new UsageError(`invalid poll schedule "${expression}" (cron syntax or off)`);
}

/** Error fields safe to show: typed errors keep their code; anything else is generic but keeps its message. */
function statusError(err: unknown): StatusError {
  // Credentials in URLs are masked even in messages of foreign errors.
  const mask = (m: string): string => m.replace(/\/\/[^/@\s]*@/g, '//***@');
  if (err instanceof GitcfgError) return { code: err.code, message: mask(err.message) };
  return { code: 'E_INTERNAL', message: mask(err instanceof Error ? err.message : String(err)) };
}
