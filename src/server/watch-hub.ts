/**
 * Watchers of promotions: long-polls and server-sent-event streams. Idle watchers cost one entry in a set (and
 * one timer for a long-poll's deadline); a promotion walks the set once. Nothing polls.
 */
import type { ServerResponse } from 'node:http';
import type { ServerMetrics } from '../metrics/index.js';
import type { Promotion, Snapshot, SnapshotChange, SnapshotStore } from '../snapshot/index.js';

/** What a watcher is told: the new commit and the pairs of its environment that changed. */
export interface WatchEvent {
  commit: string;
  previousCommit: string | null;
  changed: SnapshotChange[];
}

/**
 * The commit one watcher should see now: the served one, or during a rollout the one its client gets (a client
 * on the stable is not woken by the candidate). Null: the served one.
 */
export type WatchTarget = () => string | null;

interface Waiter {
  environment: string;
  since: string | null;
  target: WatchTarget | undefined;
  resolve(event: WatchEvent | null): void;
}

interface Stream {
  environment: string | null;
  res: ServerResponse;
  target: WatchTarget | undefined;
  /** The commit it was last told of. */
  last: string | null;
}

/** Fans promotions out to long-polls and SSE streams. */
export class WatchHub {
  private readonly waiters = new Set<Waiter>();
  private readonly streams = new Set<Stream>();
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly store: SnapshotStore,
    private readonly metrics: ServerMetrics,
    private readonly heartbeatMs = 15_000,
  ) {
    this.unsubscribe = store.subscribe((promotion) => this.onPromotion(promotion));
  }

  /** Number of open long-polls and streams. */
  get size(): { longpoll: number; sse: number } {
    return { longpoll: this.waiters.size, sse: this.streams.size };
  }

  /**
   * The event for a watcher of `environment` whose last known commit is `since`, if the served commit already
   * differs; null when it does not (or nothing is served yet).
   */
  eventSince(environment: string | null, since: string | null, target?: WatchTarget): WatchEvent | null {
    const snapshot = this.store.current;
    const commit = target?.() ?? snapshot?.commit;
    if (!snapshot || commit === undefined || commit === since) return null;
    const last = this.store.last;
    // Exact changes are known for the last step only; from further back, every pair may have changed.
    const changed =
      last && last.commit === commit && last.previousCommit === since ? last.changed : allPairs(snapshot);
    return {
      commit,
      previousCommit: since,
      changed: changed.filter((c) => environment === null || c.environment === environment),
    };
  }

  /** Waits until the served commit differs from `since`, at most `timeoutMs`; null on timeout or close. */
  wait(
    environment: string,
    since: string | null,
    timeoutMs: number,
    res: ServerResponse,
    target?: WatchTarget,
  ): Promise<WatchEvent | null> {
    const ready = this.eventSince(environment, since, target);
    if (ready || this.closed) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        environment,
        since,
        target,
        resolve: (event) => {
          clearTimeout(timer);
          res.off('close', onClose);
          if (this.waiters.delete(waiter)) this.metrics.watchers.set({ kind: 'longpoll' }, this.waiters.size);
          resolve(event);
        },
      };
      const timer = setTimeout(() => waiter.resolve(null), timeoutMs);
      const onClose = (): void => waiter.resolve(null);
      res.once('close', onClose);
      this.waiters.add(waiter);
      this.metrics.watchers.set({ kind: 'longpoll' }, this.waiters.size);
    });
  }

  /** Turns `res` into an SSE stream of promotions (optionally of one environment). */
  stream(
    res: ServerResponse,
    environment: string | null,
    lastEventId: string | null,
    target?: WatchTarget,
  ): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    const connected = target?.() ?? this.store.current?.commit ?? null;
    res.write(`retry: 3000\n: connected ${connected ?? 'no snapshot yet'}\n\n`);
    const stream: Stream = { environment, res, target, last: connected };
    if (this.closed) {
      res.end();
      return;
    }
    this.streams.add(stream);
    this.metrics.watchers.set({ kind: 'sse' }, this.streams.size);
    res.once('close', () => {
      this.streams.delete(stream);
      this.metrics.watchers.set({ kind: 'sse' }, this.streams.size);
      if (this.streams.size === 0) this.stopHeartbeat();
    });
    // A reconnecting client that missed a promotion is told at once.
    if (lastEventId) {
      const missed = this.eventSince(environment, lastEventId, target);
      if (missed) writeEvent(res, missed);
    }
    this.startHeartbeat();
  }

  /** Ends every long-poll (as "nothing changed") and every stream; later watchers are answered at once. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.stopHeartbeat();
    for (const waiter of [...this.waiters]) waiter.resolve(null);
    for (const stream of [...this.streams]) stream.res.end();
    this.streams.clear();
  }

  /**
   * Tells the watchers of `environment` whose commit moved without a promotion (a rollout step, pause, promote or
   * abort): each is told only when the commit its client should see is not the one it has.
   */
  recheck(environment: string): void {
    const promotion = this.store.last;
    if (!promotion) return;
    this.notify(promotion, (env, target) => target !== undefined && env === environment);
  }

  private onPromotion(promotion: Promotion): void {
    this.notify(promotion, () => true);
  }

  private notify(
    promotion: Promotion,
    concerns: (environment: string | null, target: WatchTarget | undefined) => boolean,
  ): void {
    for (const waiter of [...this.waiters]) {
      if (!concerns(waiter.environment, waiter.target)) continue;
      const commit = waiter.target?.() ?? promotion.commit;
      if (waiter.since === commit) continue;
      waiter.resolve(this.eventFor(promotion, waiter.environment, waiter.since, commit));
    }
    for (const stream of this.streams) {
      if (!concerns(stream.environment, stream.target)) continue;
      const commit = stream.target?.() ?? promotion.commit;
      if (stream.target && stream.last === commit) continue;
      const since = stream.target ? stream.last : promotion.previousCommit;
      writeEvent(stream.res, this.eventFor(promotion, stream.environment, since, commit));
      stream.last = commit;
    }
  }

  private eventFor(
    promotion: Promotion,
    environment: string | null,
    since: string | null,
    commit: string,
  ): WatchEvent {
    const snapshot = this.store.current;
    const exact = commit === promotion.commit && since === promotion.previousCommit;
    const changed = exact || !snapshot ? promotion.changed : allPairs(snapshot);
    return {
      commit,
      previousCommit: commit === promotion.commit ? promotion.previousCommit : since,
      changed: changed.filter((c) => environment === null || c.environment === environment),
    };
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      for (const stream of this.streams) stream.res.write(': heartbeat\n\n');
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

function writeEvent(res: ServerResponse, event: WatchEvent): void {
  res.write(`id: ${event.commit}\nevent: promotion\ndata: ${JSON.stringify(event)}\n\n`);
}

function allPairs(snapshot: Snapshot): SnapshotChange[] {
  return [...snapshot.configs.values()].map((c) => ({ namespace: c.namespace, environment: c.environment }));
}
