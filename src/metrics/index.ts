/** Prometheus metrics of the sync server, on a registry of their own (never the global default registry). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metric } from 'prom-client';

/** Every metric the server records; pass this object to the services that record them. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** Duration of sync runs, by outcome (`promoted`, `unchanged`, `rejected`, `failed`). */
  readonly syncDuration: Histogram<'outcome'>;
  /** Unix time (seconds) of the last sync whose fetch and evaluation succeeded. */
  readonly lastSuccessfulSync: Gauge;
  /** Commits rejected because their evaluation had issues. */
  readonly rejectedCommits: Counter;
  /** Issues of the last rejected commit (0 once a good commit is promoted). */
  readonly rejectedIssues: Gauge;
  /** Failed fetches from the remote. */
  readonly fetchFailures: Counter;
  /** Webhook deliveries by provider and outcome (`accepted`, `ping`, `ignored`, `duplicate`, `unauthorized`...). */
  readonly webhookDeliveries: Counter<'provider' | 'outcome'>;
  /** HTTP request duration by route template, method and status. */
  readonly httpDuration: Histogram<'route' | 'method' | 'status' | 'protocol'>;
  /** Always 1, labelled with the served commit (one series at a time). */
  readonly servedCommit: Gauge<'commit'>;
  /** 1 while the served snapshot is stale (loaded from disk or last fetch failed). */
  readonly stale: Gauge;
  /** Open long-poll and server-sent-event watchers. */
  readonly watchers: Gauge<'kind'>;
  /** Failed writes of the promoted snapshot to the data dir. */
  readonly persistFailures: Counter;
  /** 1 while the last write of the snapshot to the data dir failed (serving continues from memory). */
  readonly persistFailing: Gauge;
  /** Requests refused by an abuse limit, by route class and principal (a token's name, `anonymous`, a provider). */
  readonly limitedRequests: Counter<'class' | 'principal'>;
  /** Fleet (`--redis`): 1 while the shared Redis is reachable (absent without `--redis`). */
  readonly fleetConnected: Gauge;
  /** Fleet: 1 while this replica polls on the fallback schedule because Redis is unreachable. */
  readonly fleetFallbackPolling: Gauge;
  /** Fleet: seconds each replica has been behind the newest announced commit (0 in step), by replica id. */
  readonly fleetReplicaLag: Gauge<'replica'>;
  /** Fleet: 1 per replica heard from within the heartbeat window, with the commit it serves. */
  readonly fleetReplicaServing: Gauge<'replica' | 'commit'>;
  /** Fleet: messages and bytes published to Redis, by kind (commit, pins, beat). */
  readonly fleetMessages: Counter<'kind'>;
  readonly fleetBytes: Counter<'kind'>;
  /** Sets what brings the per-replica gauges up to date; it runs on every scrape. */
  setFleetCollector(collect: () => void): void;
  /** Lookups and evictions of the bounded caches of old commits (`refs`, `history-commits`...), by event. */
  readonly cacheEvents: Counter<'cache' | 'event'>;
  /** Share of clients on the candidate of each running rollout (percent). */
  readonly rolloutShare: Gauge<'env'>;
  /** Live clients of the inventory per environment with a rollout, on its stable or candidate (or `other`). */
  readonly rolloutClients: Gauge<'env' | 'role'>;
  /** Brings the rollout gauges up to date at scrape time. */
  setRolloutCollector(collect: () => void): void;
}

/** Creates the metrics on a fresh registry (process metrics included unless `processMetrics: false`). */
export function createMetrics(options: { processMetrics?: boolean } = {}): ServerMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let fleetCollector: (() => void) | null = null;
  let rolloutCollector: (() => void) | null = null;
  return {
    setFleetCollector(collect) {
      fleetCollector = collect;
    },
    setRolloutCollector(collect) {
      rolloutCollector = collect;
    },
    rolloutShare: new Gauge({
      name: 'gitcfg_rollout_share_percent',
      help: 'Percent of clients on the candidate commit of each running rollout',
      labelNames: ['env'],
      registers,
      collect: () => rolloutCollector?.(),
    }),
    rolloutClients: new Gauge({
      name: 'gitcfg_rollout_clients',
      help: 'Clients seen recently in an environment with a rollout, on its stable or candidate commit (or other)',
      labelNames: ['env', 'role'],
      registers,
    }),
    registry,
    syncDuration: new Histogram({
      name: 'gitcfg_sync_duration_seconds',
      help: 'Duration of sync runs (fetch, build, validate, promote)',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    lastSuccessfulSync: new Gauge({
      name: 'gitcfg_last_successful_sync_timestamp_seconds',
      help: 'Unix time of the last sync whose fetch and evaluation succeeded',
      registers,
    }),
    rejectedCommits: new Counter({
      name: 'gitcfg_rejected_commits_total',
      help: 'Commits rejected because their configuration is invalid',
      registers,
    }),
    rejectedIssues: new Gauge({
      name: 'gitcfg_rejected_commit_issues',
      help: 'Issues of the last rejected commit (0 once a good commit is promoted)',
      registers,
    }),
    fetchFailures: new Counter({
      name: 'gitcfg_fetch_failures_total',
      help: 'Failed fetches from the remote',
      registers,
    }),
    cacheEvents: new Counter({
      name: 'gitcfg_cache_events_total',
      help: 'Hits, misses and evictions of the byte-bounded caches of old commits, by cache',
      labelNames: ['cache', 'event'],
      registers,
    }),
    webhookDeliveries: new Counter({
      name: 'gitcfg_webhook_deliveries_total',
      help: 'Webhook deliveries by provider and outcome',
      labelNames: ['provider', 'outcome'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'gitcfg_http_request_duration_seconds',
      help: 'HTTP request duration by route template, method, status and protocol (gitcfg, spring, ofrep)',
      labelNames: ['route', 'method', 'status', 'protocol'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 60],
      registers,
    }),
    servedCommit: new Gauge({
      name: 'gitcfg_served_commit_info',
      help: 'The commit currently served (value is always 1)',
      labelNames: ['commit'],
      registers,
    }),
    stale: new Gauge({
      name: 'gitcfg_snapshot_stale',
      help: '1 while the served snapshot is stale (loaded from disk, or the last fetch failed)',
      registers,
    }),
    watchers: new Gauge({
      name: 'gitcfg_watchers',
      help: 'Open watchers by kind (longpoll, sse)',
      labelNames: ['kind'],
      registers,
    }),
    persistFailures: new Counter({
      name: 'gitcfg_snapshot_persist_failures_total',
      help: 'Failed writes of the promoted snapshot to the data dir',
      registers,
    }),
    persistFailing: new Gauge({
      name: 'gitcfg_snapshot_persist_failing',
      help: '1 while the last write of the snapshot to the data dir failed (serving continues from memory)',
      registers,
    }),
    limitedRequests: new Counter({
      name: 'gitcfg_limited_requests_total',
      help: 'Requests refused by an abuse limit, by route class and principal (token name, anonymous, or provider)',
      labelNames: ['class', 'principal'],
      registers,
    }),
    fleetConnected: new Gauge({
      name: 'gitcfg_fleet_redis_connected',
      help: '1 while the shared Redis of the fleet is reachable (--redis)',
      registers: [],
    }),
    fleetFallbackPolling: new Gauge({
      name: 'gitcfg_fleet_fallback_polling',
      help: '1 while this replica polls the remote because the shared Redis is unreachable',
      registers: [],
    }),
    fleetReplicaLag: new Gauge({
      name: 'gitcfg_fleet_replica_lag_seconds',
      help: 'Seconds each replica has been behind the newest commit announced in the fleet (0: in step)',
      labelNames: ['replica'],
      registers: [],
      // Collected first of the per-replica gauges: brings both up to date at scrape time.
      collect: () => fleetCollector?.(),
    }),
    fleetReplicaServing: new Gauge({
      name: 'gitcfg_fleet_replica_serving_info',
      help: '1 per replica heard from within the heartbeat window, labelled with the commit it serves',
      labelNames: ['replica', 'commit'],
      registers: [],
    }),
    fleetMessages: new Counter({
      name: 'gitcfg_fleet_messages_published_total',
      help: 'Messages this replica published to the shared Redis, by kind (commit, pins, beat)',
      labelNames: ['kind'],
      registers: [],
    }),
    fleetBytes: new Counter({
      name: 'gitcfg_fleet_bytes_published_total',
      help: 'Payload bytes this replica published to the shared Redis, by kind',
      labelNames: ['kind'],
      registers: [],
    }),
  };
}

/** Adds the fleet metrics to the registry: only a server started with `--redis` exposes them. */
export function enableFleetMetrics(metrics: ServerMetrics): void {
  const fleet: Metric<string>[] = [
    metrics.fleetConnected,
    metrics.fleetFallbackPolling,
    metrics.fleetReplicaLag,
    metrics.fleetReplicaServing,
    metrics.fleetMessages,
    metrics.fleetBytes,
  ];
  for (const metric of fleet) metrics.registry.registerMetric(metric);
}
