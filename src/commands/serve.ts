/** `gitcfg serve`: the sync server (mirror or local repository -> validated snapshots -> HTTP API). */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { DestinationStream } from 'pino';
import { claimDataDir, describeIdentity } from '../data-dir/index.js';
import { EngineCache } from '../engine/index.js';
import { EvaluationPool } from '../evaluation-pool/index.js';
import { validatorCacheIn } from './validate.js';
import { UsageError, redactUrl, stripUrlCredentials } from '../errors/index.js';
import { openLocalRepository, openMirror } from '../git/index.js';
import type { GitMirror, LocalRepository, RemoteAuth } from '../git/index.js';
import { HistoryIndex, HistoryIndexFile, HistoryService } from '../history/index.js';
import { createLogger } from '../log/index.js';
import type { Logger } from '../log/index.js';
import { createMetrics, enableFleetMetrics } from '../metrics/index.js';
import { LocalFleet, RedisFleet, parseRedisEndpoint } from '../cluster/index.js';
import type { Fleet } from '../cluster/index.js';
import { buildApp, listen, loadConsoleAssets } from '../server/index.js';
import { findPackageRoot } from './package-root.js';
import { SnapshotFile, SnapshotStore } from '../snapshot/index.js';
import { RejectedCommitsFile, SyncService, assertPollSchedule } from '../sync/index.js';
import type { SyncOrigin } from '../sync/index.js';
import { WebhookReceiver, signalSettingsFromEnv, webhookSecretsFromEnv } from '../webhooks/index.js';
import { AccessControl, loadTokensFile, secretResolverFromEnv } from '../auth/index.js';
import { RolloutService } from '../rollouts/index.js';
import { EditService, PinStore, WriteLock, localWriteTarget, mirrorWriteTarget } from '../edits/index.js';
import type { WriteTarget } from '../edits/index.js';
import { limitSettingsFrom, parseTrustProxy } from '../limits/index.js';
import type { LimitSettings } from '../limits/index.js';

/** Options of `serveCommand`; every option falls back to its environment variable, then to the default. */
export interface ServeOptions {
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** Environment (`GITCFG_*` variables, webhook secrets, git credentials). */
  env: Record<string, string | undefined>;
  /** `--repo`: http(s) URL (mirrored) or local path. Env `GITCFG_REPO`. Required. */
  repo?: string;
  /** `--branch` (env `GITCFG_BRANCH`, default `main`). */
  branch?: string;
  /** `--subdir`: config root inside the repository (env `GITCFG_SUBDIR`; default: the root, or for a local
   * path inside a repository, that path). */
  subdir?: string;
  /** `--port` (env `GITCFG_PORT`, default 8080; 0 picks a free port). */
  port?: number | string;
  /** `--host` (env `GITCFG_HOST`, default 127.0.0.1). */
  host?: string;
  /** `--data-dir` (env `GITCFG_DATA_DIR`, default `.gitcfg-data`): mirror and persisted snapshot. */
  dataDir?: string;
  /** `--reset-data-dir` (env `GITCFG_RESET_DATA_DIR=1`): a data dir recorded for another repository, branch or
   * config root is emptied and taken over instead of stopping the start. */
  resetDataDir?: boolean;
  /** `--poll`: node-cron expression or `off` (env `GITCFG_POLL`, default every minute). */
  poll?: string;
  /** Log level (env `GITCFG_LOG_LEVEL`, default `info`). */
  logLevel?: string;
  /** Where JSON logs go (default stdout). */
  logDestination?: DestinationStream;
  /** Human-readable start-up lines ("where to look"); default: stderr. */
  print?: (line: string) => void;
  /** Install SIGTERM/SIGINT handlers that drain and close (the CLI sets this; tests do not). */
  handleSignals?: boolean;
  /** Random delay added to each poll, in ms (default 5000). */
  pollJitterMs?: number;
  /** Answer plain config/bundle GETs before express routing (default true; false for comparisons). */
  fastPath?: boolean;
  /** `--limit-<class>` rate limits (`20/s:40`, `600/min`, `off`); env `GITCFG_LIMIT_<CLASS>`. See docs/limits.md. */
  limitCheap?: string;
  limitExpensive?: string;
  limitWrite?: string;
  limitWebhook?: string;
  /** `--limit-bad-signatures`: webhook deliveries with a failing signature per client address. */
  limitBadSignatures?: string;
  /** `--limit-streams`: open watch/SSE connections per principal, or `off` (env `GITCFG_LIMIT_STREAMS`). */
  limitStreams?: string;
  /** `--expensive-concurrency`: expensive requests served at once (env `GITCFG_EXPENSIVE_CONCURRENCY`). */
  expensiveConcurrency?: string;
  /** `--trust-proxy`: `off` (default), a hop count, or addresses/CIDRs whose `X-Forwarded-For` names the client. */
  trustProxy?: string;
  /** `--validation-workers`: worker threads validating commits (env `GITCFG_VALIDATION_WORKERS`, default min(2, cores)). */
  validationWorkers?: number | string;
  /** `--validation-timeout-ms`: bound of one validation step (a file, a pair) (env `GITCFG_VALIDATION_TIMEOUT_MS`, default 20000). */
  validationTimeoutMs?: number | string;
  /** `--validation-heap-mb`: heap bound of one validation worker (env `GITCFG_VALIDATION_HEAP_MB`, default 512). */
  validationHeapMb?: number | string;
  /** `--mirror-all-refs` (env `GITCFG_MIRROR_ALL_REFS=1`): mirror every branch and tag, not only `branch`. */
  mirrorAllRefs?: boolean;
  /** `--no-spring` (env `GITCFG_SPRING=off`): do not serve the Spring Cloud Config protocol. */
  spring?: boolean;
  /** `--no-ui` (env `GITCFG_UI=off`): do not serve the web console at `/ui/`. */
  ui?: boolean;
  /** Folder of the built console (default `dist/console` of the package). */
  uiDir?: string;
  /** `--spring-prefix` (env `GITCFG_SPRING_PREFIX`, default `/spring`). */
  springPrefix?: string;
  /** `--redis`: `redis://host:port/db` or `rediss://` (env `GITCFG_REDIS_URL`): run as one replica of a fleet. */
  redis?: string;
  /** `--replica-id` (env `GITCFG_REPLICA_ID`, default `<hostname>-<pid>`): this replica's name in the fleet. */
  replicaId?: string;
  /** `--redis-fallback-poll` (env `GITCFG_REDIS_FALLBACK_POLL`, default every 10 s): poll while Redis is away. */
  redisFallbackPoll?: string;
  /** `--fleet-max-lag` seconds behind the fleet `/readyz?fleet=1` accepts (env `GITCFG_FLEET_MAX_LAG`, default 30). */
  fleetMaxLag?: number | string;
  /** `--min-commit-wait-ms`: bound of a `Gitcfg-Min-Commit` wait (env `GITCFG_MIN_COMMIT_WAIT_MS`, default 5000). */
  minCommitWaitMs?: number | string;
}

/** The abuse limits of `serve` from its options and environment. */
function limitSettings(opts: ServeOptions, env: Record<string, string | undefined>): LimitSettings {
  const pick = (flag: string | undefined, name: string) => flag ?? env[`GITCFG_${name}`];
  const values: Parameters<typeof limitSettingsFrom>[0] = {};
  const set = (key: keyof typeof values, value: string | undefined) => {
    if (value !== undefined) values[key] = value;
  };
  set('cheap', pick(opts.limitCheap, 'LIMIT_CHEAP'));
  set('expensive', pick(opts.limitExpensive, 'LIMIT_EXPENSIVE'));
  set('write', pick(opts.limitWrite, 'LIMIT_WRITE'));
  set('webhook', pick(opts.limitWebhook, 'LIMIT_WEBHOOK'));
  set('bad-signatures', pick(opts.limitBadSignatures, 'LIMIT_BAD_SIGNATURES'));
  set('streams', pick(opts.limitStreams, 'LIMIT_STREAMS'));
  set('expensive-concurrency', pick(opts.expensiveConcurrency, 'EXPENSIVE_CONCURRENCY'));
  try {
    return limitSettingsFrom(values, parseTrustProxy(pick(opts.trustProxy, 'TRUST_PROXY')));
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(`invalid limit: ${err.message}`);
    throw err;
  }
}

/** A running server. */
export interface ServeHandle {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Drains (stop accepting, end SSE and long-polls, finish the running sync) and closes. Idempotent. */
  close(): Promise<void>;
  /** Resolves once closed (by `close()` or by a signal when `handleSignals` is set). */
  closed: Promise<void>;
}

const DEFAULT_POLL = '* * * * *';
/** Polling while the fleet's Redis is unreachable (node-cron with seconds). */
const DEFAULT_FALLBACK_POLL = '*/10 * * * * *';

/**
 * Starts the sync server and resolves once it listens; the first sync runs in the background (`/readyz` turns
 * 200 once a snapshot is served, at once when one is persisted in the data dir). Never calls `process.exit`:
 * with `handleSignals`, the CLI awaits `closed` and then exits. Throws UsageError for bad options.
 */
export async function serveCommand(opts: ServeOptions): Promise<ServeHandle> {
  const env = opts.env;
  const repo = opts.repo ?? env.GITCFG_REPO;
  if (!repo) throw new UsageError('missing --repo (or GITCFG_REPO): a git URL or a local path');
  const branch = opts.branch ?? env.GITCFG_BRANCH ?? 'main';
  const host = opts.host ?? env.GITCFG_HOST ?? '127.0.0.1';
  const port = parsePort(opts.port ?? env.GITCFG_PORT ?? 8080);
  const dataDir = resolve(opts.cwd, opts.dataDir ?? env.GITCFG_DATA_DIR ?? '.gitcfg-data');
  const poll = (opts.poll ?? env.GITCFG_POLL ?? DEFAULT_POLL).trim();
  if (poll !== 'off') assertPollSchedule(poll);
  const explicitSubdir = opts.subdir ?? env.GITCFG_SUBDIR;
  const print = opts.print ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const logger = createLogger({
    level: opts.logLevel ?? env.GITCFG_LOG_LEVEL ?? 'info',
    ...(opts.logDestination ? { destination: opts.logDestination } : {}),
  });
  const isUrl = /^https?:\/\//i.test(repo);
  // Checked before anything starts: a bad tokens file or pins file stops the server with a clear error.
  const tokensFile = env.GITCFG_TOKENS_FILE ? resolve(opts.cwd, env.GITCFG_TOKENS_FILE) : null;
  const access = tokensFile
    ? AccessControl.withTokens(loadTokensFile(tokensFile, (p) => readFileSync(p, 'utf8')))
    : AccessControl.open();
  const secretResolver = secretResolverFromEnv(env, (p) => readFileSync(resolve(opts.cwd, p), 'utf8'));
  // Without any scopes configured nothing resolves, and references stay what they are (pointers for another
  // resolver): only an operator's list makes a reference outside it a validation issue.
  const secretScopes = secretResolver.configured ? secretResolver.scopes : undefined;
  const origin = isUrl
    ? mirrorOrigin(
        repo,
        branch,
        join(dataDir, 'mirror'),
        authFromEnv(env),
        logger,
        new WriteLock(),
        opts.mirrorAllRefs ?? env.GITCFG_MIRROR_ALL_REFS === '1',
      )
    : localOrigin(resolve(opts.cwd, repo), branch);
  // For a local path inside a repository, that path is the config root unless --subdir says otherwise.
  const subdir = explicitSubdir ?? (isUrl ? '' : await origin.prefix());
  // Before anything is read from the data dir: its mirror, snapshot, history and pins may be another repository's.
  const identity = { repository: await origin.root(), branch, subdir };
  const claim = await claimDataDir(dataDir, identity, {
    reset: opts.resetDataDir ?? env.GITCFG_RESET_DATA_DIR === '1',
  });
  if (claim === 'adopted' || claim === 'reset') {
    logger.warn({ dataDir, identity }, `data dir ${claim} for ${describeIdentity(identity)}`);
  }
  const metrics = createMetrics();
  const redisUrl = opts.redis ?? env.GITCFG_REDIS_URL;
  const replicaId = (opts.replicaId ?? env.GITCFG_REPLICA_ID ?? `${hostname()}-${process.pid}`).trim();
  if (!/^[\w.:-]{1,128}$/.test(replicaId)) throw new UsageError(`invalid replica id: ${replicaId}`);
  const fallbackPoll = (
    opts.redisFallbackPoll ??
    env.GITCFG_REDIS_FALLBACK_POLL ??
    DEFAULT_FALLBACK_POLL
  ).trim();
  assertPollSchedule(fallbackPoll);
  const fleet: Fleet = redisUrl
    ? new RedisFleet({
        endpoint: parseRedisEndpoint(redisUrl, env, (p) => readFileSync(resolve(opts.cwd, p), 'utf8')),
        replicaId,
        identity,
        logger,
        metrics,
        ...(env.GITCFG_REDIS_HEARTBEAT_MS
          ? { heartbeatMs: positiveInt('heartbeat', env.GITCFG_REDIS_HEARTBEAT_MS)! }
          : {}),
      })
    : new LocalFleet(replicaId);
  if (redisUrl) enableFleetMetrics(metrics);
  const pins = new PinStore(dataDir, undefined, redisUrl ? fleet : undefined);
  await pins.load();
  const secrets = webhookSecretsFromEnv(env, (path) => readFileSync(resolve(opts.cwd, path), 'utf8'));

  const store = new SnapshotStore();
  const cache = new EngineCache();
  const rejections = new RejectedCommitsFile(dataDir, {
    // A verdict also depends on these settings: one made under other scopes or bounds is not reused.
    settings: JSON.stringify([
      secretScopes?.entries ?? null,
      opts.validationTimeoutMs ?? env.GITCFG_VALIDATION_TIMEOUT_MS ?? null,
      opts.validationHeapMb ?? env.GITCFG_VALIDATION_HEAP_MB ?? null,
    ]),
  });
  await rejections.load();
  // Commits, ?ref= reads, history and edits are untrusted content: validated in bounded worker threads.
  const pool = new EvaluationPool({
    size: positiveInt('validation workers', opts.validationWorkers ?? env.GITCFG_VALIDATION_WORKERS),
    timeoutMs: positiveInt(
      'validation timeout',
      opts.validationTimeoutMs ?? env.GITCFG_VALIDATION_TIMEOUT_MS,
    ),
    maxHeapMb: positiveInt('validation heap', opts.validationHeapMb ?? env.GITCFG_VALIDATION_HEAP_MB),
    validatorCache: validatorCacheIn(join(dataDir, 'validators')),
  });
  // Audit trail: the history index lives next to the snapshot in the data dir and follows every fetch.
  const history = new HistoryService({
    index: new HistoryIndex({
      branch,
      store: new HistoryIndexFile(dataDir),
      onSaveError: (error) => logger.warn({ error: String(error) }, 'history index not saved'),
    }),
    repository: () => origin.open(),
    subdir,
    evaluate: pool.evaluator('history'),
    onCacheEvent: (cache, event) => metrics.cacheEvents.inc({ cache, event }),
  });
  const sync = new SyncService({
    origin,
    branch,
    subdir,
    store,
    file: new SnapshotFile(dataDir),
    cache,
    // A cold build parses the whole tree; later syncs evaluate only what a commit reaches, so the workers of a
    // cold build are retired rather than left idling on its heap.
    evaluate: pool.evaluator('sync', { retireAfterParses: 256 }),
    rejections,
    // A first build of the index reads every tree of the history through short-lived scratch readers, so the
    // serving repository's object cache never holds them (see HistoryIndex).
    history,
    logger,
    metrics,
    ...(secretScopes ? { secretScopes } : {}),
    fleet,
  });
  const edits = new EditService({
    target: origin.writeTarget,
    subdir,
    committer: {
      name: env.GITCFG_COMMITTER_NAME ?? 'gitcfg server',
      email: env.GITCFG_COMMITTER_EMAIL ?? 'gitcfg@localhost',
    },
    cache,
    evaluate: pool.evaluator('edits'),
    ...(secretScopes ? { secretScopes } : {}),
    // The response of an edit carries the commit served once the sync has picked it up.
    onCommitted: async () => {
      await sync.trigger('edit');
      return store.current?.commit ?? null;
    },
  });
  const webhooks = new WebhookReceiver({ secrets, branch });
  // Follows promotions from the first one (the snapshot restored from the data dir) on.
  const rollouts = new RolloutService({
    store,
    snapshotAt: (commit) => sync.snapshotAt(commit),
    file: join(dataDir, 'rollouts.json'),
    logger,
    // Every replica gives one client the same answer: one clock and the same controls for the same rollout.
    replication: fleet,
    revert: async (state, author, reason) => {
      const result = await edits.revert({
        commit: state.candidate,
        since: state.stable,
        author,
        message:
          `Abort the rollout of ${state.env}: back to ${state.stable.slice(0, 12)}\n\n` +
          `This reverts commits ${state.stable}..${state.candidate}.\nReason: ${reason}`,
      });
      return result.commit;
    },
  });
  await rollouts.start();
  await sync.restore();
  const uiOn = opts.ui !== false && env.GITCFG_UI !== 'off';
  const uiDir = opts.uiDir ?? join(findPackageRoot(), 'dist', 'console');
  const consoleAssets = uiOn ? loadConsoleAssets(uiDir) : null;
  const serverApp = buildApp({
    console: {
      assets: consoleAssets,
      offReason: uiOn ? 'the console was not built (npm run build)' : 'the console is off (--no-ui)',
    },
    store,
    sync,
    webhooks,
    metrics,
    logger,
    history,
    fastPath: opts.fastPath ?? true,
    limits: limitSettings(opts, env),
    springPrefix:
      opts.spring === false || env.GITCFG_SPRING === 'off'
        ? null
        : (opts.springPrefix ?? env.GITCFG_SPRING_PREFIX),
    writes: { access, edits, pins, secrets: secretResolver },
    ...(redisUrl ? { fleet } : {}),
    fleetMaxLagSeconds: positiveInt('fleet max lag', opts.fleetMaxLag ?? env.GITCFG_FLEET_MAX_LAG) ?? 30,
    minCommitWaitMs:
      positiveInt('min-commit wait', opts.minCommitWaitMs ?? env.GITCFG_MIN_COMMIT_WAIT_MS) ?? 5000,
    rollouts,
    signals: signalSettingsFromEnv(env, (path) => readFileSync(resolve(opts.cwd, path), 'utf8')),
  });
  const running = await listen(serverApp, { port, host });
  const jitterMs = opts.pollJitterMs ?? 5000;
  if (poll !== 'off') sync.startPolling(poll, jitterMs);
  // Not held up by a Redis that takes its connect timeout to fail.
  void sync.trigger('startup');
  let wasAway = false;
  await fleet.start(
    {
      state: () => {
        const status = sync.status();
        return {
          served: store.current?.commit ?? null,
          rejected: status.rejected?.commit ?? null,
          branchHead: status.branchHead,
          fetchedAt: status.lastFetch?.ok ? Date.parse(status.lastFetch.at) : null,
        };
      },
      localPins: () => pins.list(),
    },
    {
      onCommit: (commit) => {
        if (commit === null) {
          void sync.trigger('fleet');
          return;
        }
        // Usually the hint of the webhook already started a fetch that sees this commit: check after it.
        const covered = () => store.current?.commit === commit || sync.status().branchHead === commit;
        void sync.settled().then(() => {
          if (!covered()) void sync.trigger('fleet');
        });
      },
      onRollout: (env, state) => rollouts.adopt(env, state),
      onPins: (shared) => {
        pins.replace(shared).then(
          (changed) => {
            if (changed.length > 0) logger.info({ envs: changed }, 'pins changed in the fleet');
          },
          (error: unknown) => logger.error({ error: String(error) }, 'could not save the fleet pins locally'),
        );
      },
      onConnection: (connected) => {
        // Redis away: announcements cannot arrive, so poll (fast) until it returns; then back to the schedule
        // and one fetch for what was announced while this replica was away.
        if (!connected) sync.startPolling(fallbackPoll, Math.min(jitterMs, 1000));
        else if (poll !== 'off') sync.startPolling(poll, jitterMs);
        else void sync.stopPolling();
        if (connected && wasAway) void sync.trigger('fleet-rejoin');
        wasAway = !connected;
      },
    },
  );

  const enabled = Object.keys(secrets);
  logger.info(
    {
      url: running.url,
      repository: origin.description,
      branch,
      subdir,
      dataDir,
      poll,
      webhooks: enabled,
      ...(redisUrl ? { replica: replicaId, fleet: fleet.status().redis } : {}),
    },
    'gitcfg server listening',
  );
  logger.info(
    { tokens: access.size, pins: pins.list().map((p) => p.env) },
    access.enabled
      ? 'access control on: every API request needs a bearer token'
      : 'no tokens file (GITCFG_TOKENS_FILE): reads are open, writes are refused',
  );
  print(`gitcfg serving ${origin.description} (branch ${branch}${subdir ? `, config in ${subdir}/` : ''})`);
  if (consoleAssets) print(`  console:  ${running.url}/ui/`);
  else if (uiOn) print('  console:  not built (npm run build), /ui/ is off');
  print(`  status:   ${running.url}/v1/status`);
  print(`  config:   ${running.url}/v1/config/<namespace>/<environment>`);
  print(`  metrics:  ${running.url}/metrics`);
  print(
    `  webhooks: ${enabled.length ? enabled.map((p) => `${running.url}/v1/webhooks/${p}`).join(' ') : 'none (set GITCFG_WEBHOOK_SECRET)'}`,
  );

  // Name a real URL as soon as a snapshot is served (at once when one was persisted).
  const example = (): boolean => {
    const first = store.current?.configs.values().next().value;
    if (first) print(`  example:  ${running.url}/v1/config/${first.namespace}/${first.environment}`);
    return first !== undefined;
  };
  if (!example()) {
    const stop = store.subscribe(() => {
      stop();
      example();
    });
  }

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing: Promise<void> | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'draining');
    void close();
  };
  function close(): Promise<void> {
    closing ??= (async () => {
      if (opts.handleSignals) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      await running.close();
      rollouts.close();
      await fleet.close();
      await sync.close();
      await pool.close();
      logger.info('gitcfg server stopped');
      logger.flush();
      resolveClosed();
    })();
    return closing;
  }
  if (opts.handleSignals) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  return { url: running.url, close, closed };
}

/** A positive integer option, or undefined when not set (the default applies). */
function positiveInt(what: string, value: number | string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`invalid ${what}: ${value}`);
  return n;
}

function parsePort(value: number | string): number {
  const port = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`invalid port: ${value}`);
  return port;
}

/** Remote credentials from the environment (never from flags, never logged). */
function authFromEnv(env: Record<string, string | undefined>): RemoteAuth | undefined {
  if (env.GITCFG_GIT_TOKEN) {
    return {
      token: env.GITCFG_GIT_TOKEN,
      ...(env.GITCFG_GIT_USERNAME ? { username: env.GITCFG_GIT_USERNAME } : {}),
    };
  }
  if (env.GITCFG_GIT_USERNAME || env.GITCFG_GIT_PASSWORD) {
    return { username: env.GITCFG_GIT_USERNAME ?? '', password: env.GITCFG_GIT_PASSWORD ?? '' };
  }
  return undefined;
}

/** Where commits come from, plus what the server needs to set itself up. */
interface ServeOrigin extends SyncOrigin {
  /** Config root implied by the repository path (a local path inside a work tree), else ''. */
  prefix(): Promise<string>;
  /** The repository as recorded in the data dir: URL without credentials, or the local repository's root. */
  root(): Promise<string>;
  writeTarget: WriteTarget;
}

/** A bare mirror in the data dir, cloned on first use, fetched on every sync, re-mirrored when packs pile up. */
function mirrorOrigin(
  url: string,
  branch: string,
  dir: string,
  auth: RemoteAuth | undefined,
  logger: Logger,
  lock: WriteLock,
  allRefs = false,
): ServeOrigin {
  let mirror: GitMirror | null = null;
  // The promise is shared so that concurrent first calls open one mirror, never two on the same directory.
  let opening: Promise<GitMirror> | null = null;
  const open = (): Promise<GitMirror> => {
    opening ??= openMirror({
      url,
      dataDir: dir,
      branch,
      ...(auth ? { auth } : {}),
      // Every branch and tag, so `?ref=` and Spring labels can name them (each fetch then moves more refs).
      ...(allRefs ? { tags: true } : {}),
      onEvent: (event) => logger.info({ mirror: event }, `mirror ${event.type}`),
    }).then(
      (opened) => (mirror = opened),
      (error: unknown) => {
        opening = null; // a remote that is down at start must be retried by the next sync
        throw error;
      },
    );
    return opening;
  };
  return {
    description: redactUrl(url),
    remote: true,
    async prefix() {
      return '';
    },
    async root() {
      return stripUrlCredentials(url);
    },
    open,
    // Fetches share the edits' lock: a fetch moves the local branch, never between an edit's commit and push.
    writeTarget: mirrorWriteTarget(open, lock, branch),
    async update(): Promise<string | null> {
      const m = mirror;
      if (!m) throw new Error('mirror not open');
      return lock.run(async () => {
        const outcome = await m.fetch();
        if (outcome.packs > 50) await m.remirror(`${outcome.packs} packs`);
        return m.head;
      });
    },
  };
}

/** A repository on local disk: every sync re-reads the branch. */
function localOrigin(path: string, branch: string): ServeOrigin {
  let repository: LocalRepository | null = null;
  const open = async (): Promise<LocalRepository> =>
    (repository ??= await openLocalRepository(path, { branch }));
  return {
    description: path,
    remote: false,
    async prefix() {
      try {
        return (await open()).location.prefix.replace(/\/$/, '');
      } catch {
        return '';
      }
    },
    async root() {
      try {
        const { location } = await open();
        return location.workTree ?? location.commonDir;
      } catch {
        return path;
      }
    },
    open,
    writeTarget: localWriteTarget(open),
    async update(): Promise<string | null> {
      const { head } = await (await open()).refresh();
      return head;
    },
  };
}
