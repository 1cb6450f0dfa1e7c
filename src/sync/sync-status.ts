/** What the sync reports: the status of `GET /v1/status` and the sync metrics, kept in one place. */
import { GitcfgError, redactCredentials } from '../errors/index.js';
import type { ServerMetrics } from '../metrics/index.js';
import type { Snapshot } from '../snapshot/index.js';
import type { Rejection } from './rejected-commits.js';

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
  rejected: Rejection | null;
  syncs: { total: number; running: boolean; pending: boolean; byOutcome: Record<string, number> };
  counts: { namespaces: number; environments: number; configs: number };
  /** Last write of the snapshot to the data dir (null before the first, or without a data dir). */
  persistence: { ok: boolean; at: string; commit: string; error?: StatusError } | null;
}

/** Error fields safe to show: typed errors keep their code; anything else is generic but keeps its message. */
export function statusError(err: unknown): StatusError {
  // Credentials in URLs are masked even in messages of foreign errors.
  if (err instanceof GitcfgError) return { code: err.code, message: redactCredentials(err.message) };
  return {
    code: 'E_INTERNAL',
    message: redactCredentials(err instanceof Error ? err.message : String(err)),
  };
}

/** The sync's state as status and metrics show it; the sync flow tells it what happened. */
export class SyncRecorder {
  servedFrom: 'git' | 'data-dir' = 'git';
  stale = false;
  branchHead: string | null = null;
  rejected: Rejection | null = null;
  private lastFetch: SyncStatus['lastFetch'] = null;
  private lastSync: SyncStatus['lastSync'] = null;
  private persistence: SyncStatus['persistence'] = null;
  private total = 0;
  private readonly byOutcome: Record<string, number> = {};

  constructor(private readonly metrics: ServerMetrics) {}

  setStale(stale: boolean): void {
    this.stale = stale;
    this.metrics.stale.set(stale ? 1 : 0);
  }

  /** `commit` is served now, from git or (restored or rebuilt without the remote) from the data dir. */
  serving(commit: string, from: 'git' | 'data-dir'): void {
    this.servedFrom = from;
    this.metrics.servedCommit.reset();
    this.metrics.servedCommit.set({ commit }, 1);
  }

  fetched(at: string, durationMs: number): void {
    this.lastFetch = { at, ok: true, durationMs };
  }

  fetchFailed(at: string, durationMs: number, error: StatusError): void {
    this.lastFetch = { at, ok: false, durationMs, error };
    this.metrics.fetchFailures.inc();
  }

  /** The rejection in force (null: none); `counted` for a commit rejected by this run. */
  setRejected(rejected: Rejection | null, counted = false): void {
    this.rejected = rejected;
    if (counted) this.metrics.rejectedCommits.inc();
    this.metrics.rejectedIssues.set(rejected ? rejected.issues.length : 0);
  }

  /** The served snapshot is the branch head. */
  upToDate(): void {
    this.setStale(false);
    this.metrics.lastSuccessfulSync.set(Date.now() / 1000);
  }

  persisted(saved: { at: string; commit: string }, error?: StatusError): void {
    if (!error) {
      this.persistence = { ok: true, ...saved };
      this.metrics.persistFailing.set(0);
      return;
    }
    this.persistence = { ok: false, ...saved, error };
    this.metrics.persistFailing.set(1);
    this.metrics.persistFailures.inc();
  }

  /** A sync run ended after `durationMs`. */
  finished(run: Omit<NonNullable<SyncStatus['lastSync']>, 'durationMs'>, durationMs: number): void {
    this.total += 1;
    this.byOutcome[run.outcome] = (this.byOutcome[run.outcome] ?? 0) + 1;
    const { error, ...ended } = run;
    this.lastSync = { ...ended, durationMs: Math.round(durationMs), ...(error ? { error } : {}) };
    this.metrics.syncDuration.observe({ outcome: run.outcome }, durationMs / 1000);
  }

  /** The status as of now (a fresh object each call). */
  status(
    where: { repository: string; branch: string; subdir: string },
    snapshot: Snapshot | null,
    promotedAt: string | null,
    syncs: { running: boolean; pending: boolean },
  ): SyncStatus {
    return {
      ...where,
      served: snapshot
        ? { commit: snapshot.commit, builtAt: snapshot.builtAt, promotedAt, from: this.servedFrom }
        : null,
      stale: this.stale,
      branchHead: this.branchHead,
      lastFetch: this.lastFetch,
      lastSync: this.lastSync,
      rejected: this.rejected,
      syncs: { total: this.total, ...syncs, byOutcome: { ...this.byOutcome } },
      counts: {
        namespaces: snapshot?.namespaces.length ?? 0,
        environments: snapshot?.environments.length ?? 0,
        configs: snapshot?.configs.size ?? 0,
      },
      persistence: this.persistence,
    };
  }
}
