/**
 * The fleet port: what the sync service, the pin store, the webhook route and the server need from the other
 * replicas. `LocalFleet` (no `--redis`) is a fleet of one and changes nothing; `RedisFleet` shares hints and small
 * state through Redis. Git stays the only source of truth: nothing here carries config.
 */

/** A pin as the fleet shares it (the same shape as the pin store's). */
export interface SharedPin {
  env: string;
  commit: string;
  pinnedAt: string;
  by: string;
}

/** What one replica says about itself in its heartbeat. */
export interface ReplicaState {
  /** Commit it serves (null before its first snapshot). */
  served: string | null;
  /** Commit its own validation rejected last (null when none is pending). */
  rejected: string | null;
  /** Head of the branch at its last fetch. */
  branchHead: string | null;
  /** When its last successful fetch started (ms since the epoch); local only, not sent. */
  fetchedAt?: number | null;
}

/** A replica in the fleet view. */
export interface ReplicaView extends ReplicaState {
  id: string;
  /** Seconds it has been behind the newest announced commit (0: in step). */
  lagSeconds: number;
  /** Whether it polls the remote because Redis is unreachable. */
  fallbackPolling: boolean;
  /** When its last heartbeat was sent (its own clock). */
  at: string;
  self: boolean;
}

/** The fleet section of `/v1/status`. */
export interface FleetStatus {
  mode: 'local' | 'redis';
  replicaId: string;
  /** Redis endpoint without credentials (redis mode). */
  redis?: string;
  connected: boolean;
  /** Why Redis is unreachable (the last connection error), while it is. */
  error?: string;
  fallbackPolling: boolean;
  /** Newest commit announced in the fleet (by a webhook, a poll or an edit of any replica). */
  newestAnnounced: string | null;
  /** This replica's lag behind `newestAnnounced`, seconds. */
  lagSeconds: number;
  /** Replicas heard from within the heartbeat window (this one first). */
  replicas: ReplicaView[];
  /** Messages and payload bytes this replica published, by kind. */
  published: Record<string, { messages: number; bytes: number }>;
}

/** What the fleet tells this replica. */
export interface FleetEvents {
  /**
   * Another replica saw `commit` on the branch (or accepted a push webhook: null when the delivery names no
   * commit): fetch and promote it (coalesced by the sync).
   */
  onCommit(commit: string | null): void;
  /** The shared pins changed (the complete set, already checked). */
  onPins(pins: SharedPin[]): void;
  /** Redis became reachable (`true`: rejoin and catch up) or unreachable (`false`: poll instead). */
  onConnection(connected: boolean): void;
  /** Another replica changed the rollout of `env` (untrusted: the rollouts module checks `state`). */
  onRollout?(env: string, state: unknown): void;
}

/** Where a replica reads its own state and local pin copy from. */
export interface FleetSelf {
  state(): ReplicaState;
  /** The local copy of the pins, published when Redis lost them (a restart without persistence). */
  localPins(): SharedPin[];
}

/** The fleet port. */
export interface Fleet {
  readonly mode: 'local' | 'redis';
  readonly replicaId: string;
  /** Connects (never throws for an unreachable Redis: the replica then polls) and starts heartbeats. */
  start(self: FleetSelf, events: FleetEvents): Promise<void>;
  /**
   * Tells the other replicas that the branch is at `commit` (a no-op for a commit the fleet already knows), or
   * with null that it moved (an accepted push webhook that names no commit): they fetch at once.
   */
  announce(commit: string | null): void;
  /**
   * Claims a webhook delivery fleet-wide: true for the first replica, false for every later one. With Redis
   * unreachable it answers true (a duplicate sync is cheap; a dropped push is not).
   */
  claimDelivery(key: string): Promise<boolean>;
  /** Stores a pin for every replica; throws FleetUnavailableError when Redis is unreachable. */
  setPin(pin: SharedPin): Promise<void>;
  /** Lifts a pin for every replica; throws FleetUnavailableError when Redis is unreachable. */
  deletePin(env: string): Promise<void>;
  /**
   * Shares the rollout state of `env` (an object with an `id`) with every replica. With `first` (a rollout this
   * replica just started), a state of the same id already shared wins and is returned (the first replica to
   * promote sets the clock); otherwise `state` is stored and returned. Without Redis: `state`, shared with none.
   */
  shareRollout(env: string, state: { id: string }, first: boolean): Promise<unknown>;
  /** Whether this replica is within `maxLagSeconds` of the fleet's newest commit. */
  inStep(maxLagSeconds: number): boolean;
  status(): FleetStatus;
  close(): Promise<void>;
}

/** A fleet of one: nothing is shared, every answer is today's single-process behaviour. */
export class LocalFleet implements Fleet {
  readonly mode = 'local' as const;
  private self: FleetSelf | null = null;
  constructor(readonly replicaId: string) {}

  async start(self: FleetSelf): Promise<void> {
    this.self = self;
  }

  announce(): void {}

  async claimDelivery(): Promise<boolean> {
    return true;
  }

  async setPin(): Promise<void> {}

  async deletePin(): Promise<void> {}

  async shareRollout(_env: string, state: { id: string }): Promise<unknown> {
    return state;
  }

  inStep(): boolean {
    return true;
  }

  status(): FleetStatus {
    const { served, rejected, branchHead } = this.self?.state() ?? {
      served: null,
      rejected: null,
      branchHead: null,
    };
    return {
      mode: 'local',
      replicaId: this.replicaId,
      connected: true,
      fallbackPolling: false,
      newestAnnounced: null,
      lagSeconds: 0,
      replicas: [
        {
          id: this.replicaId,
          served,
          rejected,
          branchHead,
          lagSeconds: 0,
          fallbackPolling: false,
          at: new Date().toISOString(),
          self: true,
        },
      ],
      published: {},
    };
  }

  async close(): Promise<void> {}
}

const SHA = /^[0-9a-f]{40}$/;

/** Whether `value` is a full commit id. */
export function isCommitId(value: unknown): value is string {
  return typeof value === 'string' && SHA.test(value);
}

/** A pin read from shared state (untrusted: another process wrote it), or null when it is not one. */
export function checkedPin(value: unknown): SharedPin | null {
  if (!value || typeof value !== 'object') return null;
  const p = value as Record<string, unknown>;
  if (typeof p.env !== 'string' || !/^[a-z][a-z0-9-]{0,63}$/.test(p.env) || !isCommitId(p.commit))
    return null;
  return {
    env: p.env,
    commit: p.commit,
    pinnedAt: typeof p.pinnedAt === 'string' ? p.pinnedAt.slice(0, 64) : '',
    by: typeof p.by === 'string' ? p.by.slice(0, 200) : 'unknown',
  };
}
