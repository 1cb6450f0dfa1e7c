/**
 * Rollouts of promoted commits: listens to promotions, starts, restarts and ends rollouts by each environment's
 * policy, decides per client which commit it gets, keeps the state in the data dir (a restart resumes at the
 * right step) and runs the controls. The stable commit's snapshot is kept in memory (or rebuilt through the
 * by-ref service after a restart); the candidate is always the served snapshot.
 */
import { readCheckedFile, writeCheckedFile } from '../data-file/index.js';
import { GitcfgError, NotFoundError, RolloutsFileError } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { Promotion, Snapshot } from '../snapshot/index.js';
import { ClientInventory } from './inventory.js';
import { effectivePolicy } from './policy.js';
import {
  abortRollout,
  bucketOf,
  checkedState,
  isActive,
  onCandidate,
  pauseRollout,
  phaseAt,
  promoteRollout,
  resumeRollout,
  startRollout,
} from './state.js';
import type { RolloutPhase, RolloutState } from './state.js';

/** Which commit one client gets in an environment with a rollout. */
export interface RolloutDecision {
  role: 'stable' | 'candidate';
  commit: string;
  rollout: RolloutState;
}

/** A rollout as `GET /v1/rollouts` lists it. */
export interface RolloutView extends RolloutPhase {
  env: string;
  id: string;
  stable: string;
  candidate: string;
  steps: number[];
  stepDurationMs: number;
  bakeTimeMs: number;
  startedAt: string;
  pausedAt: string | null;
  endedAt: string | null;
  by: string | null;
  nextStepAt: string | null;
  /** Live clients of the inventory on each commit. */
  clients: { stable: number; candidate: number; other: number };
}

/** The commit author of an abort's revert. */
export interface RevertAuthor {
  name: string;
  email: string;
}

/** Where the state is shared with other replicas (`--redis`): the fleet's `shareRollout`. */
export interface RolloutReplication {
  shareRollout(env: string, state: RolloutState, first: boolean): Promise<unknown>;
}

export interface RolloutServiceDeps {
  store: { readonly current: Snapshot | null; subscribe(listener: (p: Promotion) => void): () => void };
  /** The snapshot of a commit, built on demand and cached (the `?ref=` service). */
  snapshotAt(commit: string): Promise<Snapshot>;
  /** The state file in the data dir; absent: memory only. */
  file?: string;
  logger: Logger;
  now?: () => number;
  inventory?: ClientInventory;
  /** Records an abort in git: reverts `stable..candidate` as `author`; returns the new commit. */
  revert?: (state: RolloutState, author: RevertAuthor, reason: string) => Promise<string>;
  replication?: RolloutReplication;
}

const FILE_KIND = 'rollouts';
const FILE_FORMAT = 1;
/** Client buckets memoised (one rollout at a time: the one read last). */
const BUCKET_CACHE_SIZE = 100_000;
/** Finished rollouts kept for the listing. */
const KEEP_FINISHED = 20;

export class RolloutService {
  /** Rollouts that decide who gets what: active, or aborted until the branch is back on the stable. */
  private readonly states = new Map<string, RolloutState>();
  private finished: Array<RolloutState & { endedAt: number }> = [];
  /** Stable snapshots by environment (kept from the promotion, or rebuilt after a restart). */
  private readonly stables = new Map<string, Snapshot>();
  private readonly loading = new Map<string, Promise<Snapshot>>();
  private previous: Snapshot | null = null;
  private readonly buckets = new Map<string, { id: string; map: Map<string, number> }>();
  private readonly listeners = new Set<(env: string) => void>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private writing: Promise<unknown> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;
  readonly inventory: ClientInventory;
  private readonly now: () => number;

  constructor(private readonly deps: RolloutServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.inventory = deps.inventory ?? new ClientInventory({}, this.now);
  }

  /** Loads the state file, then follows promotions. Call before the first snapshot is promoted. */
  async start(): Promise<void> {
    if (this.deps.file) {
      const read = await readCheckedFile(this.deps.file, FILE_KIND, FILE_FORMAT);
      if (read.status === 'corrupt') throw new RolloutsFileError(`rollouts file is damaged: ${read.reason}`);
      if (read.status === 'loaded') this.restore(read.data);
    }
    this.previous = this.deps.store.current;
    this.unsubscribe = this.deps.store.subscribe((p) => this.onPromotion(p));
    for (const env of this.states.keys()) this.schedule(env);
  }

  /** Takes the complete state from the other replicas (or the file). */
  restore(data: unknown): string[] {
    const d = data as { states?: unknown; finished?: unknown } | null;
    const states = Array.isArray(d?.states) ? d.states.map(checkedState) : [];
    if (states.some((s) => s === null)) throw new RolloutsFileError('rollouts state holds a damaged entry');
    const changed: string[] = [];
    const next = new Map((states as RolloutState[]).map((s) => [s.env, s]));
    for (const env of new Set([...this.states.keys(), ...next.keys()])) {
      if (JSON.stringify(this.states.get(env)) !== JSON.stringify(next.get(env))) changed.push(env);
    }
    this.states.clear();
    for (const [env, s] of next) this.states.set(env, s);
    if (Array.isArray(d?.finished)) {
      this.finished = d.finished
        .map((f) => {
          const s = checkedState(f);
          const endedAt = (f as { endedAt?: unknown }).endedAt;
          return s && typeof endedAt === 'number' ? { ...s, endedAt } : null;
        })
        .filter((s) => s !== null)
        .slice(0, KEEP_FINISHED);
    }
    for (const env of changed) {
      this.schedule(env);
      this.emit(env);
    }
    return changed;
  }

  close(): void {
    this.unsubscribe?.();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Told when who-gets-what of an environment may have changed (a step, a control, a new candidate). */
  onChange(listener: (env: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether `env` has a rollout that decides per client. */
  has(env: string): boolean {
    return this.states.has(env);
  }

  /**
   * Which commit `clientId` gets in `env`, or null when every client gets the served snapshot. Without a client
   * id: the stable.
   */
  decide(env: string, clientId: string | undefined): RolloutDecision | null {
    const state = this.states.get(env);
    if (!state) return null;
    const t = this.now();
    if (state.abortedAt === undefined && !isActive(state, t)) return null;
    return onCandidate(state, clientId, t, (id) => this.bucket(env, state.id, id))
      ? { role: 'candidate', commit: state.candidate, rollout: state }
      : { role: 'stable', commit: state.stable, rollout: state };
  }

  /** `bucketOf(clientId, id)`, memoised per environment (a hash per read costs a fifth of the throughput). */
  private bucket(env: string, id: string, clientId: string): number {
    let cache = this.buckets.get(env);
    if (!cache || cache.id !== id || cache.map.size >= BUCKET_CACHE_SIZE) {
      this.buckets.set(env, (cache = { id, map: new Map() }));
    }
    let b = cache.map.get(clientId);
    if (b === undefined) cache.map.set(clientId, (b = bucketOf(clientId, id)));
    return b;
  }

  /** The stable snapshot of `env` when it is in memory. */
  stableSnapshot(env: string): Snapshot | undefined {
    const state = this.states.get(env);
    const s = this.stables.get(env);
    return s && state && s.commit === state.stable ? s : undefined;
  }

  /** The stable snapshot of `env`, rebuilt through the by-ref service when not in memory. */
  async loadStable(env: string, load: (commit: string) => Promise<Snapshot>): Promise<Snapshot> {
    const state = this.states.get(env);
    if (!state) throw new NotFoundError('rollout', env);
    const ready = this.stableSnapshot(env);
    if (ready) return ready;
    let pending = this.loading.get(state.stable);
    if (!pending) {
      pending = load(state.stable).finally(() => this.loading.delete(state.stable));
      this.loading.set(state.stable, pending);
    }
    const snapshot = await pending;
    if (this.states.get(env)?.stable === snapshot.commit) this.stables.set(env, snapshot);
    return snapshot;
  }

  /** Records a client seen in `env` (the inventory). */
  seen(env: string, clientId: string, commit: string): void {
    this.inventory.seen(env, clientId, commit);
  }

  /** Current and recently finished rollouts. */
  list(): RolloutView[] {
    return [
      ...[...this.states.values()].sort((a, b) => a.env.localeCompare(b.env)).map((s) => this.view(s)),
      ...this.finished.map((s) => this.view(s, s.endedAt)),
    ];
  }

  /** The rollout of `env` (active or aborted), or throws 404. */
  get(env: string): RolloutView {
    const state = this.states.get(env);
    if (!state) throw new NotFoundError('rollout', env);
    return this.view(state);
  }

  async pause(env: string): Promise<RolloutView> {
    return this.transition(env, (s, t) => pauseRollout(s, t));
  }

  async resume(env: string): Promise<RolloutView> {
    return this.transition(env, (s, t) => resumeRollout(s, t));
  }

  async promote(env: string, by: string): Promise<RolloutView> {
    return this.transition(env, (s, t) => promoteRollout(s, t, by));
  }

  /**
   * Everyone on the stable at once, then a revert commit of `stable..candidate` by `author` so the branch says
   * what runs. The rollout ends when that commit (or any commit with the stable's config) is promoted.
   */
  async abort(
    env: string,
    author: RevertAuthor,
    reason: string,
  ): Promise<{
    rollout: RolloutView;
    revert: { commit: string } | { error: string; code: ErrorCode } | null;
  }> {
    const rollout = await this.transition(env, (s, t) => abortRollout(s, t, author.name));
    this.deps.logger.warn({ env, by: author.name, reason }, 'rollout aborted');
    const state = this.states.get(env);
    if (!this.deps.revert || !state) return { rollout, revert: null };
    try {
      return { rollout, revert: { commit: await this.deps.revert(state, author, reason) } };
    } catch (err) {
      // Everyone stays on the stable; the branch still names the candidate until someone reverts it.
      const code: ErrorCode = err instanceof GitcfgError ? err.code : 'E_INTERNAL';
      this.deps.logger.error(
        { env, code, error: String(err) },
        'the revert commit of an aborted rollout failed',
      );
      return { rollout, revert: { error: (err as Error).message, code } };
    }
  }

  /** Environments whose rollout (running, paused or baking) a signal can abort. */
  abortable(env: string): boolean {
    const state = this.states.get(env);
    return !!state && state.abortedAt === undefined && isActive(state, this.now());
  }

  private async transition(
    env: string,
    step: (s: RolloutState, t: number) => RolloutState,
  ): Promise<RolloutView> {
    const state = this.states.get(env);
    if (!state) throw new NotFoundError('rollout', env);
    const next = step(state, this.now());
    if (next !== state) {
      this.states.set(env, next);
      this.changed(env);
      await this.save();
      await this.share(env, next, false);
    }
    return this.view(next);
  }

  private view(s: RolloutState, endedAt?: number): RolloutView {
    const t = this.now();
    const phase = phaseAt(s, t);
    const counts = this.inventory.countByCommit(s.env);
    let stable = 0;
    let candidate = 0;
    let other = 0;
    for (const [commit, n] of counts) {
      if (commit === s.stable) stable += n;
      else if (commit === s.candidate) candidate += n;
      else other += n;
    }
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      env: s.env,
      id: s.id,
      stable: s.stable,
      candidate: s.candidate,
      ...phase,
      steps: s.policy.steps,
      stepDurationMs: s.policy.stepMs,
      bakeTimeMs: s.policy.bakeMs,
      startedAt: iso(s.startedAt)!,
      pausedAt: iso(s.pausedAt),
      endedAt: iso(endedAt ?? s.promotedAt ?? s.abortedAt),
      by: s.by ?? null,
      nextStepAt: iso(phase.nextAt ?? undefined),
      clients: { stable, candidate, other },
    };
  }

  private onPromotion(promotion: Promotion): void {
    const next = this.deps.store.current;
    if (!next || next.commit !== promotion.commit) return;
    const prev = this.previous;
    this.previous = next;
    const t = this.now();
    let dirty = false;
    for (const env of next.environments) {
      const state = this.states.get(env);
      const policy = effectivePolicy(next.manifestInfo.environments, env);
      const bundleOf = (s: Snapshot | null | undefined) => s?.bundles.get(env)?.json.etag;
      if (state && state.candidate === next.commit) continue;
      const live = state && (state.abortedAt !== undefined || isActive(state, t));
      if (state && live) {
        const stable = this.stables.get(env);
        if (bundleOf(stable) === bundleOf(next) && stable !== undefined) {
          // Back on the stable's config (the abort's revert, or a manual one): the rollout is over.
          this.end(env, state, t);
        } else if (!policy) {
          this.end(env, state, t);
        } else if (state.abortedAt === undefined && bundleOf(prev) === bundleOf(next) && prev) {
          // Nothing of this environment changed: the same rollout now serves the newer commit.
          this.states.set(env, { ...state, candidate: next.commit });
        } else {
          // A new candidate restarts the rollout from its first step, from the same stable.
          const restarted = startRollout(env, state.stable, next.commit, policy, t);
          this.states.set(env, restarted);
          void this.share(env, restarted, true);
          this.deps.logger.info({ env, stable: state.stable, candidate: next.commit }, 'rollout restarted');
        }
        dirty = true;
        this.changed(env);
        continue;
      }
      if (state) {
        this.end(env, state, t);
        dirty = true;
      }
      if (!policy || !prev || bundleOf(prev) === bundleOf(next)) continue;
      const started = startRollout(env, prev.commit, next.commit, policy, t);
      this.states.set(env, started);
      this.stables.set(env, prev);
      void this.share(env, started, true);
      this.deps.logger.info({ env, stable: prev.commit, candidate: next.commit }, 'rollout started');
      dirty = true;
      this.changed(env);
    }
    for (const env of [...this.states.keys()]) {
      if (!next.environments.includes(env)) {
        this.end(env, this.states.get(env)!, t);
        dirty = true;
      }
    }
    if (dirty) void this.save().catch(() => undefined);
    // After a restart the stable's snapshot is rebuilt ahead of the first read (and of the abort's revert).
    for (const env of this.states.keys()) {
      if (!this.stableSnapshot(env)) void this.loadStable(env, this.deps.snapshotAt).catch(() => undefined);
    }
  }

  private end(env: string, state: RolloutState, t: number): void {
    this.states.delete(env);
    this.buckets.delete(env);
    this.stables.delete(env);
    this.finished = [{ ...state, endedAt: t }, ...this.finished].slice(0, KEEP_FINISHED);
    const timer = this.timers.get(env);
    if (timer) clearTimeout(timer);
    this.timers.delete(env);
  }

  private changed(env: string): void {
    this.schedule(env);
    this.emit(env);
  }

  private emit(env: string): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(env);
      } catch {
        // A failing listener must not block the others.
      }
    }
  }

  /** A timer at the next step of `env`'s rollout, so watchers of clients that move are told. */
  private schedule(env: string): void {
    const old = this.timers.get(env);
    if (old) clearTimeout(old);
    this.timers.delete(env);
    const state = this.states.get(env);
    if (!state) return;
    const { nextAt } = phaseAt(state, this.now());
    if (nextAt === null) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(env);
        this.changed(env);
      },
      Math.max(1, nextAt - this.now()),
    );
    timer.unref();
    this.timers.set(env, timer);
  }

  /**
   * Shares the state of `env` with the other replicas; a rollout started by another replica first (same id)
   * brings its clock and controls here.
   */
  private async share(env: string, state: RolloutState, first: boolean): Promise<void> {
    if (!this.deps.replication) return;
    try {
      this.adopt(env, await this.deps.replication.shareRollout(env, state, first));
    } catch (err) {
      this.deps.logger.warn({ env, error: String(err) }, 'rollout state not shared');
    }
  }

  /**
   * Takes the state of `env` another replica shared, when it is the rollout this replica runs (same id): its
   * start time, pause, promotion or abort. A rollout this replica has not started yet is taken up when it does.
   */
  adopt(env: string, raw: unknown): void {
    const shared = checkedState(raw);
    const local = this.states.get(env);
    if (!shared || shared.env !== env || !local || local.id !== shared.id) return;
    if (JSON.stringify(local) === JSON.stringify(shared)) return;
    this.states.set(env, shared);
    this.changed(env);
    void this.save().catch(() => undefined);
  }

  /** Persists the state in the data dir; writes are serialised. */
  private save(): Promise<void> {
    const data = { states: [...this.states.values()], finished: this.finished };
    const run = this.writing.then(async () => {
      if (this.deps.file) await writeCheckedFile(this.deps.file, FILE_KIND, FILE_FORMAT, data);
    });
    this.writing = run.catch((err: unknown) =>
      this.deps.logger.error({ error: String(err) }, 'rollout state not saved'),
    );
    return run;
  }
}
