/**
 * The settings of `gitcfg serve`: flags, then `GITCFG_*` variables, then defaults, checked before anything
 * starts. Every problem is reported at once (one UsageError), so a bad deployment is fixed in one round.
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { DestinationStream } from 'pino';
import { UsageError } from '../errors/index.js';
import type { RemoteAuth } from '../git/index.js';
import { limitSettingsFrom, parseTrustProxy } from '../limits/index.js';
import type { LimitSettings } from '../limits/index.js';
import { LOG_LEVELS } from '../log/index.js';
import { assertPollSchedule } from '../sync/index.js';
import { findPackageRoot } from './package-root.js';

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

const DEFAULT_POLL = '* * * * *';
/** Polling while the fleet's Redis is unreachable (node-cron with seconds). */
const DEFAULT_FALLBACK_POLL = '*/10 * * * * *';

/** Checked settings of `gitcfg serve` (what the composition root builds the services from). */
export interface ServeSettings {
  repo: string;
  /** True for an http(s) URL (mirrored into the data dir), false for a local path (already resolved). */
  isUrl: boolean;
  branch: string;
  host: string;
  port: number;
  dataDir: string;
  resetDataDir: boolean;
  /** node-cron expression, or `off`. */
  poll: string;
  pollJitterMs: number;
  /** `--subdir` / `GITCFG_SUBDIR` when given (else the composition root derives it). */
  explicitSubdir: string | undefined;
  logLevel: string;
  auth: RemoteAuth | undefined;
  mirrorAllRefs: boolean;
  tokensFile: string | null;
  redisUrl: string | undefined;
  replicaId: string;
  fallbackPoll: string;
  heartbeatMs: number | undefined;
  validation: { workers: number | undefined; timeoutMs: number | undefined; heapMb: number | undefined };
  /** Identifies the validation bounds a rejection verdict was made under (raw values, as configured). */
  verdictSettings: readonly unknown[];
  limits: LimitSettings;
  /** Spring Cloud Config prefix; null when off, undefined for the default. */
  springPrefix: string | null | undefined;
  ui: { on: boolean; dir: string };
  fastPath: boolean;
  fleetMaxLagSeconds: number;
  minCommitWaitMs: number;
  committer: { name: string; email: string };
}

/** Checks every option; throws one UsageError naming every problem (`data.problems`). */
export function serveSettings(opts: ServeOptions): ServeSettings {
  const env = opts.env;
  const problems: string[] = [];
  /** The value `read` gives, or `fallback` with its problem recorded. */
  const checked = <T>(read: () => T, fallback: T): T => {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problems.push(err.message);
      return fallback;
    }
  };
  const repo = opts.repo ?? env.GITCFG_REPO;
  if (!repo) problems.push('missing --repo (or GITCFG_REPO): a git URL or a local path');
  const isUrl = /^https?:\/\//i.test(repo ?? '');
  const poll = (opts.poll ?? env.GITCFG_POLL ?? DEFAULT_POLL).trim();
  if (poll !== 'off') checked(() => assertPollSchedule(poll), undefined);
  const logLevel = opts.logLevel ?? env.GITCFG_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`unknown log level "${logLevel}" (expected one of ${LOG_LEVELS.join(', ')})`);
  }
  const replicaId = (opts.replicaId ?? env.GITCFG_REPLICA_ID ?? `${hostname()}-${process.pid}`).trim();
  if (!/^[\w.:-]{1,128}$/.test(replicaId)) problems.push(`invalid replica id: ${replicaId}`);
  const fallbackPoll = (
    opts.redisFallbackPoll ??
    env.GITCFG_REDIS_FALLBACK_POLL ??
    DEFAULT_FALLBACK_POLL
  ).trim();
  checked(() => assertPollSchedule(fallbackPoll), undefined);
  const int = (what: string, value: number | string | undefined) =>
    checked(() => positiveInt(what, value), undefined);
  const timeout = opts.validationTimeoutMs ?? env.GITCFG_VALIDATION_TIMEOUT_MS;
  const heap = opts.validationHeapMb ?? env.GITCFG_VALIDATION_HEAP_MB;
  const uiOn = opts.ui !== false && env.GITCFG_UI !== 'off';
  const settings: ServeSettings = {
    repo: repo && !isUrl ? resolve(opts.cwd, repo) : (repo ?? ''),
    isUrl,
    branch: opts.branch ?? env.GITCFG_BRANCH ?? 'main',
    host: opts.host ?? env.GITCFG_HOST ?? '127.0.0.1',
    port: checked(() => parsePort(opts.port ?? env.GITCFG_PORT ?? 8080), 0),
    dataDir: resolve(opts.cwd, opts.dataDir ?? env.GITCFG_DATA_DIR ?? '.gitcfg-data'),
    resetDataDir: opts.resetDataDir ?? env.GITCFG_RESET_DATA_DIR === '1',
    poll,
    pollJitterMs: opts.pollJitterMs ?? 5000,
    explicitSubdir: opts.subdir ?? env.GITCFG_SUBDIR,
    logLevel,
    auth: authFromEnv(env),
    mirrorAllRefs: opts.mirrorAllRefs ?? env.GITCFG_MIRROR_ALL_REFS === '1',
    tokensFile: env.GITCFG_TOKENS_FILE ? resolve(opts.cwd, env.GITCFG_TOKENS_FILE) : null,
    redisUrl: opts.redis ?? env.GITCFG_REDIS_URL,
    replicaId,
    fallbackPoll,
    heartbeatMs: env.GITCFG_REDIS_HEARTBEAT_MS ? int('heartbeat', env.GITCFG_REDIS_HEARTBEAT_MS) : undefined,
    validation: {
      workers: int('validation workers', opts.validationWorkers ?? env.GITCFG_VALIDATION_WORKERS),
      timeoutMs: int('validation timeout', timeout),
      heapMb: int('validation heap', heap),
    },
    verdictSettings: [timeout ?? null, heap ?? null],
    limits: checked(() => limitSettings(opts, env), limitSettingsFrom({}, null)),
    springPrefix:
      opts.spring === false || env.GITCFG_SPRING === 'off'
        ? null
        : (opts.springPrefix ?? env.GITCFG_SPRING_PREFIX),
    ui: { on: uiOn, dir: opts.uiDir ?? join(findPackageRoot(), 'dist', 'console') },
    fastPath: opts.fastPath ?? true,
    fleetMaxLagSeconds: int('fleet max lag', opts.fleetMaxLag ?? env.GITCFG_FLEET_MAX_LAG) ?? 30,
    minCommitWaitMs: int('min-commit wait', opts.minCommitWaitMs ?? env.GITCFG_MIN_COMMIT_WAIT_MS) ?? 5000,
    committer: {
      name: env.GITCFG_COMMITTER_NAME ?? 'gitcfg server',
      email: env.GITCFG_COMMITTER_EMAIL ?? 'gitcfg@localhost',
    },
  };
  if (problems.length === 1) throw new UsageError(problems[0]!, { problems });
  if (problems.length > 1) {
    throw new UsageError(`${problems.length} problems with the options: ${problems.join('; ')}`, {
      problems,
    });
  }
  return settings;
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
