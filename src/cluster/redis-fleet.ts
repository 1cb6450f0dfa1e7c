/**
 * The fleet over Redis (the only importer of ioredis): pub/sub for commit announcements, pin changes and
 * heartbeats; a hash for the pins and SET NX keys for webhook deliveries. Every message is a hint, checked on
 * receipt: a replica fetches and validates a commit itself and never takes config from Redis.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { FleetUnavailableError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { ServerMetrics } from '../metrics/index.js';
import { checkedPin, isCommitId } from './fleet.js';
import type { Fleet, FleetEvents, FleetSelf, FleetStatus, ReplicaView, SharedPin } from './fleet.js';
import type { RedisEndpoint } from './redis-endpoint.js';

/** Options of a `RedisFleet`. */
export interface RedisFleetOptions {
  endpoint: RedisEndpoint;
  replicaId: string;
  /** What the fleet serves (repository, branch, config root): replicas of other fleets share nothing with it. */
  identity: { repository: string; branch: string; subdir: string };
  logger: Logger;
  metrics: ServerMetrics;
  /** Heartbeat period (default 2000 ms); a replica silent for 3 periods leaves the view. */
  heartbeatMs?: number;
  /** How long a webhook delivery id is remembered fleet-wide (default 1 day). */
  deliveryTtlSeconds?: number;
  now?: () => number;
}

type Kind = 'commit' | 'pins' | 'beat' | 'rollout';

/** How long a shared rollout state is kept after its last change (seconds). */
const ROLLOUT_TTL_SECONDS = 7 * 24 * 3600;
/**
 * Keeps the stored rollout when it has the same id (another replica started it first: its clock wins), else
 * stores ours; returns what is stored. One script, so no other replica writes between the read and the write.
 */
const ADOPT_OR_SET_ROLLOUT = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and type(decoded) == 'table' and decoded.id == ARGV[2] then return current end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
return ARGV[1]
`;

/** Most replicas kept in the view. */
const MAX_REPLICAS = 256;

/** Largest message accepted from Redis (bytes): heartbeats and announcements are far below. */
const MAX_MESSAGE = 16 * 1024;

interface Beat {
  id: string;
  served: string | null;
  rejected: string | null;
  branchHead: string | null;
  lagSeconds: number;
  fallbackPolling: boolean;
  at: string;
}

export class RedisFleet implements Fleet {
  readonly mode = 'redis' as const;
  readonly replicaId: string;
  private readonly prefix: string;
  private readonly heartbeatMs: number;
  private readonly deliveryTtl: number;
  private readonly now: () => number;
  private pub: Redis | null = null;
  private sub: Redis | null = null;
  private self: FleetSelf | null = null;
  private events: FleetEvents | null = null;
  private connected = false;
  /** The last connection error (e.g. refused, WRONGPASS), for logs and status; never carries the password. */
  private lastError: string | null = null;
  private everConnected = false;
  private timer: NodeJS.Timeout | null = null;
  private joining: Promise<void> | null = null;
  private closed = false;
  /** Newest commit announced (by anyone) and when this replica first heard of it. */
  private newest: { commit: string; at: number } | null = null;
  private readonly beats = new Map<string, { beat: Beat; receivedAt: number }>();
  private readonly published: Record<string, { messages: number; bytes: number }> = {};

  constructor(private readonly options: RedisFleetOptions) {
    this.replicaId = options.replicaId;
    const key = createHash('sha256')
      .update(JSON.stringify([options.identity.repository, options.identity.branch, options.identity.subdir]))
      .digest('hex')
      .slice(0, 16);
    this.prefix = `gitcfg:${key}:`;
    this.heartbeatMs = options.heartbeatMs ?? 2000;
    this.deliveryTtl = options.deliveryTtlSeconds ?? 86400;
    this.now = options.now ?? Date.now;
  }

  /** Set while Redis holds the fleet's pins: absent after Redis lost its data. */
  private get marker(): string {
    return `${this.prefix}pins-seeded`;
  }

  private channel(kind: Kind): string {
    return `${this.prefix}${kind}`;
  }

  private connection(name: string): Redis {
    const { endpoint } = this.options;
    const options: RedisOptions = {
      host: endpoint.host,
      port: endpoint.port,
      db: endpoint.db,
      ...(endpoint.username ? { username: endpoint.username } : {}),
      ...(endpoint.password ? { password: endpoint.password } : {}),
      ...(endpoint.tls ? { tls: endpoint.tls } : {}),
      connectionName: `gitcfg-${name}`,
      lazyConnect: true,
      // Fail fast while Redis is away: the replica falls back to polling instead of queueing commands.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: 2000,
      autoResubscribe: false,
      retryStrategy: (times) => Math.min(100 * times, 1000),
    };
    const redis = new Redis(options);
    // Errors surface as connection state (logged once per transition), never as unhandled events.
    redis.on('error', (err: Error) => (this.lastError = redisError(err)));
    redis.on('ready', () => void this.onReady());
    redis.on('close', () => this.setConnected(false));
    return redis;
  }

  async start(self: FleetSelf, events: FleetEvents): Promise<void> {
    this.self = self;
    this.events = events;
    this.options.metrics.fleetConnected.set(0);
    this.pub = this.connection('pub');
    this.sub = this.connection('sub');
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) =>
      this.onMessage(channel.toString(), message),
    );
    await Promise.all([this.pub.connect().catch(() => undefined), this.sub.connect().catch(() => undefined)]);
    await this.onReady();
    if (!this.connected) {
      this.options.logger.warn(
        { redis: this.options.endpoint.description, error: this.lastError },
        'redis unreachable at start: polling the remote until it returns',
      );
      this.events.onConnection(false);
      this.options.metrics.fleetFallbackPolling.set(1);
    }
    this.options.metrics.setFleetCollector(() => this.refreshGauges(this.ownBeat()));
    this.timer = setInterval(() => this.heartbeat(), this.heartbeatMs);
    this.timer.unref();
  }

  /** Both connections ready: subscribe, reconcile the pins, tell the replica to catch up (once at a time). */
  private onReady(): Promise<void> {
    this.joining ??= this.join().finally(() => (this.joining = null));
    return this.joining;
  }

  private async join(): Promise<void> {
    const { pub, sub } = this;
    if (!pub || !sub || this.closed || this.connected) return;
    if (pub.status !== 'ready' || sub.status !== 'ready') return;
    try {
      await sub.subscribe(
        this.channel('commit'),
        this.channel('pins'),
        this.channel('beat'),
        this.channel('rollout'),
      );
      await this.reconcilePins();
    } catch (err) {
      this.options.logger.warn({ error: String(err) }, 'redis joined but setup failed; retrying');
      pub.disconnect(true);
      return;
    }
    this.setConnected(true);
    this.heartbeat();
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected || this.closed) return;
    this.connected = connected;
    const { logger, metrics, endpoint } = this.options;
    metrics.fleetConnected.set(connected ? 1 : 0);
    metrics.fleetFallbackPolling.set(connected ? 0 : 1);
    if (connected) {
      logger.info(
        { redis: endpoint.description, replica: this.replicaId },
        this.everConnected ? 'redis back: rejoined the fleet' : 'joined the fleet',
      );
      this.everConnected = true;
    } else {
      logger.warn(
        { redis: endpoint.description, replica: this.replicaId, error: this.lastError },
        'redis unreachable: polling the remote until it returns',
      );
      // The other end may still be connected: force both to reconnect so subscriptions are made again.
      if (this.sub?.status === 'ready') this.sub.disconnect(true);
      if (this.pub?.status === 'ready') this.pub.disconnect(true);
    }
    this.events?.onConnection(connected);
  }

  /**
   * Redis wins when it holds the pins (the marker is set by every pin write and every seeding); when the marker
   * is gone (a new, or restarted Redis without persistence), a replica with a local copy publishes it, first
   * writer per environment wins. A replica without pins never seeds, so it cannot wipe the others' copies.
   */
  private async reconcilePins(): Promise<void> {
    const pub = this.pub!;
    const hash = `${this.prefix}pins`;
    const local = this.self?.localPins() ?? [];
    const seeded = local.length > 0 ? await pub.set(this.marker, '1', 'NX') : null;
    if (seeded === 'OK') {
      for (const pin of local) await pub.hsetnx(hash, pin.env, JSON.stringify(pin));
      if (local.length > 0) {
        this.options.logger.info({ pins: local.map((p) => p.env) }, 'pins re-published to redis');
        await this.publish('pins', { from: this.replicaId });
      }
    }
    this.events?.onPins(await this.readPins());
  }

  private async readPins(): Promise<SharedPin[]> {
    const raw = await this.pub!.hgetall(`${this.prefix}pins`);
    const pins: SharedPin[] = [];
    for (const [env, text] of Object.entries(raw)) {
      const pin = checkedPin(parseJson(text));
      if (pin && pin.env === env) pins.push(pin);
      else this.options.logger.warn({ env: env.slice(0, 64) }, 'ignored a malformed pin in redis');
    }
    return pins;
  }

  private async publish(kind: Kind, body: object): Promise<void> {
    const text = JSON.stringify(body);
    await this.pub!.publish(this.channel(kind), text);
    const bytes = Buffer.byteLength(text);
    const entry = (this.published[kind] ??= { messages: 0, bytes: 0 });
    entry.messages += 1;
    entry.bytes += bytes;
    this.options.metrics.fleetMessages.inc({ kind });
    this.options.metrics.fleetBytes.inc({ kind }, bytes);
  }

  private onMessage(channel: string, message: Buffer): void {
    if (message.length > MAX_MESSAGE) return;
    const body = parseJson(message.toString('utf8'));
    if (!body || typeof body !== 'object') return;
    const m = body as Record<string, unknown>;
    if (channel === this.channel('commit')) {
      if (m.from === this.replicaId) return;
      if (m.commit === null) {
        this.events?.onCommit(null);
      } else if (isCommitId(m.commit)) {
        this.heard(m.commit);
        this.events?.onCommit(m.commit);
      }
    } else if (channel === this.channel('pins')) {
      if (m.from === this.replicaId) return;
      this.readPins().then(
        (pins) => this.events?.onPins(pins),
        (err: unknown) => this.options.logger.warn({ error: String(err) }, 'could not read the shared pins'),
      );
    } else if (channel === this.channel('rollout')) {
      if (m.from === this.replicaId || typeof m.env !== 'string' || !/^[a-z][a-z0-9-]{0,63}$/.test(m.env))
        return;
      const env = m.env;
      this.pub?.get(this.rolloutKey(env)).then(
        (text) => {
          if (text !== null && text.length <= MAX_MESSAGE) this.events?.onRollout?.(env, parseJson(text));
        },
        (err: unknown) => this.options.logger.warn({ error: String(err) }, 'could not read a shared rollout'),
      );
    } else if (channel === this.channel('beat')) {
      const beat = checkedBeat(m);
      // Bounded: a flood of made-up ids cannot grow the view without limit.
      if (beat && beat.id !== this.replicaId && (this.beats.size < MAX_REPLICAS || this.beats.has(beat.id))) {
        this.beats.set(beat.id, { beat, receivedAt: this.now() });
      }
    }
  }

  /** Records `commit` as the newest known, unless it already is. */
  private heard(commit: string): boolean {
    if (this.newest?.commit === commit) return false;
    this.newest = { commit, at: this.now() };
    return true;
  }

  announce(commit: string | null): void {
    if ((commit !== null && !this.heard(commit)) || !this.connected) return;
    this.publish('commit', { from: this.replicaId, commit }).catch(() => undefined);
  }

  async claimDelivery(key: string): Promise<boolean> {
    if (!this.connected || !this.pub) return true;
    try {
      const claimed = await this.pub.set(
        `${this.prefix}delivery:${key}`,
        this.replicaId,
        'EX',
        this.deliveryTtl,
        'NX',
      );
      return claimed === 'OK';
    } catch {
      return true;
    }
  }

  private async shared<T>(what: string, work: (pub: Redis) => Promise<T>): Promise<T> {
    if (!this.connected || !this.pub) {
      throw new FleetUnavailableError(`${what} needs the fleet's redis, which is unreachable: retry later`);
    }
    try {
      return await work(this.pub);
    } catch (err) {
      if (err instanceof FleetUnavailableError) throw err;
      throw new FleetUnavailableError(`${what} failed: redis did not answer`);
    }
  }

  async setPin(pin: SharedPin): Promise<void> {
    await this.shared('pinning', async (pub) => {
      await pub.multi().hset(`${this.prefix}pins`, pin.env, JSON.stringify(pin)).set(this.marker, '1').exec();
      await this.publish('pins', { from: this.replicaId });
    });
  }

  async deletePin(env: string): Promise<void> {
    await this.shared('unpinning', async (pub) => {
      await pub.multi().hdel(`${this.prefix}pins`, env).set(this.marker, '1').exec();
      await this.publish('pins', { from: this.replicaId });
    });
  }

  private rolloutKey(env: string): string {
    return `${this.prefix}rollout:${env}`;
  }

  async shareRollout(env: string, state: { id: string }, first: boolean): Promise<unknown> {
    if (!this.connected || !this.pub) return state;
    const pub = this.pub;
    try {
      if (first) {
        // Atomic: two replicas promoting the same commit at once must end with one clock, not the last writer's.
        const ours = JSON.stringify(state);
        const text = (await pub.eval(
          ADOPT_OR_SET_ROLLOUT,
          1,
          this.rolloutKey(env),
          ours,
          state.id,
          String(ROLLOUT_TTL_SECONDS),
        )) as string | null;
        if (text === ours) {
          await this.publish('rollout', { from: this.replicaId, env });
          return state;
        }
        const kept = text === null || text.length > MAX_MESSAGE ? null : parseJson(text);
        return kept && typeof kept === 'object' && (kept as { id?: unknown }).id === state.id ? kept : state;
      }
      await pub.set(this.rolloutKey(env), JSON.stringify(state), 'EX', ROLLOUT_TTL_SECONDS);
      await this.publish('rollout', { from: this.replicaId, env });
    } catch (err) {
      // The rollout goes on on this replica; the others follow the same steps from their own promotion.
      this.options.logger.warn({ env, error: String(err) }, 'could not share a rollout state');
    }
    return state;
  }

  /** Seconds this replica has been behind the newest announced commit (0: serving it, or it was rejected). */
  private lag(): number {
    const state = this.self?.state();
    if (!this.newest || !state) return 0;
    const { commit, at } = this.newest;
    if (state.served === commit || state.rejected === commit) return 0;
    // Fetched since: the remote had moved on (or back), and this replica serves what it found.
    if (state.served === state.branchHead && (state.fetchedAt ?? 0) >= at) return 0;
    return Math.max(0, (this.now() - at) / 1000);
  }

  inStep(maxLagSeconds: number): boolean {
    return this.lag() <= maxLagSeconds;
  }

  private ownBeat(): Beat {
    const { served, rejected, branchHead } = this.self?.state() ?? {
      served: null,
      rejected: null,
      branchHead: null,
    };
    return {
      id: this.replicaId,
      served,
      rejected,
      branchHead,
      lagSeconds: Math.round(this.lag() * 1000) / 1000,
      fallbackPolling: !this.connected,
      at: new Date(this.now()).toISOString(),
    };
  }

  private heartbeat(): void {
    const own = this.ownBeat();
    if (this.connected) this.publish('beat', own).catch(() => undefined);
  }

  /** The view: this replica and every replica heard from within three heartbeats. */
  private view(own: Beat): ReplicaView[] {
    const horizon = this.now() - 3 * this.heartbeatMs;
    const others: ReplicaView[] = [];
    for (const [id, { beat, receivedAt }] of this.beats) {
      if (receivedAt < horizon) this.beats.delete(id);
      else others.push({ ...beat, self: false });
    }
    others.sort((a, b) => a.id.localeCompare(b.id));
    return [{ ...own, self: true }, ...others];
  }

  private refreshGauges(own: Beat): void {
    const { fleetReplicaLag, fleetReplicaServing } = this.options.metrics;
    fleetReplicaLag.reset();
    fleetReplicaServing.reset();
    for (const replica of this.view(own)) {
      fleetReplicaLag.set({ replica: replica.id }, replica.lagSeconds);
      if (replica.served) fleetReplicaServing.set({ replica: replica.id, commit: replica.served }, 1);
    }
  }

  status(): FleetStatus {
    const own = this.ownBeat();
    return {
      mode: 'redis',
      replicaId: this.replicaId,
      redis: this.options.endpoint.description,
      connected: this.connected,
      ...(this.connected || this.lastError === null ? {} : { error: this.lastError }),
      fallbackPolling: !this.connected,
      newestAnnounced: this.newest?.commit ?? null,
      lagSeconds: own.lagSeconds,
      replicas: this.view(own),
      published: structuredClone(this.published),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.closed = true;
    for (const redis of [this.sub, this.pub]) {
      if (!redis) continue;
      try {
        if (redis.status === 'ready') await redis.quit();
        else redis.disconnect();
      } catch {
        redis.disconnect();
      }
    }
  }
}

/** A connection error for logs: its code or first line, bounded (ioredis messages carry no password). */
function redisError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return (code ?? err.message.split('\n')[0] ?? 'error').slice(0, 200);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const orNull = (value: unknown): string | null => (isCommitId(value) ? value : null);

/** A heartbeat from another replica (untrusted), or null. */
function checkedBeat(m: Record<string, unknown>): Beat | null {
  if (typeof m.id !== 'string' || m.id.length === 0 || m.id.length > 128) return null;
  return {
    id: m.id,
    served: orNull(m.served),
    rejected: orNull(m.rejected),
    branchHead: orNull(m.branchHead),
    lagSeconds: typeof m.lagSeconds === 'number' && Number.isFinite(m.lagSeconds) ? m.lagSeconds : 0,
    fallbackPolling: m.fallbackPolling === true,
    at: typeof m.at === 'string' ? m.at.slice(0, 40) : '',
  };
}
