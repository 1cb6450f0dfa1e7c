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

interface Waiter {
  environment: string;
  since: string | null;
  resolve(event: WatchEvent | null): void;
}

interface Stream {
  environment: string | null;
  res: ServerResponse;
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
  eventSince(environment: string | null, since: string | null): WatchEvent | null {
    const snapshot = this.store.current;
    if (!snapshot || snapshot.commit === since) return null;
    const last = this.store.last;
    // Exact changes are known for the last step only; from further back, every pair may have changed.
    const changed =
      last && last.commit === snapshot.commit && last.previousCommit === since
        ? last.changed
        : allPairs(snapshot);
    return {
      commit: snapshot.commit,
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
  ): Promise<WatchEvent | null> {
    const ready = this.eventSince(environment, since);
    if (ready || this.closed) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        environment,
        since,
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
  stream(res: ServerResponse, environment: string | null, lastEventId: string | null): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 3000\n: connected ${this.store.current?.commit ?? 'no snapshot yet'}\n\n`);
    const stream: Stream = { environment, res };
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
      const missed = this.eventSince(environment, lastEventId);
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

  private onPromotion(promotion: Promotion): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.since === promotion.commit) continue;
      waiter.resolve(this.eventFor(promotion, waiter.environment, waiter.since));
    }
    for (const stream of this.streams) {
      writeEvent(stream.res, this.eventFor(promotion, stream.environment, promotion.previousCommit));
    }
  }

  private eventFor(promotion: Promotion, environment: string | null, since: string | null): WatchEvent {
    const snapshot = this.store.current;
    const changed = since === promotion.previousCommit || !snapshot ? promotion.changed : allPairs(snapshot);
    return {
      commit: promotion.commit,
      previousCommit: promotion.previousCommit,
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
