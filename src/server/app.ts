/**
 * The HTTP API (express 5). Every route is declared with the access it needs (`route-table.ts`) and mounted
 * case-sensitively and strictly; requests read the current snapshot only (bodies and ETags are pre-rendered). A
 * pre-routed fast path answers plain reads through the same reader and the same access checks.
 */
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AccessControl } from '../auth/index.js';
import type { SecretResolver } from '../auth/index.js';
import type { EditService, PinStore } from '../edits/index.js';
import { GitcfgError, NotFoundError, UsageError } from '../errors/index.js';
import type { AuditQueries } from '../history/index.js';
import type { Logger } from '../log/index.js';
import type { ServerMetrics } from '../metrics/index.js';
import type { Snapshot, SnapshotStore } from '../snapshot/index.js';
import type { SyncStatus } from '../sync/index.js';
import type { SignalSettings, WebhookReceiver } from '../webhooks/index.js';
import { DEFAULT_LIMITS, RequestLimits } from '../limits/index.js';
import type { LimitSettings } from '../limits/index.js';
import { ConfigReader } from './config-reader.js';
import { sendFailure } from './http-io.js';
import { mountRoutes } from './route-table.js';
import type { MountedRoutes } from './route-table.js';
import { consoleRoutes } from './routes/console.js';
import type { ConsoleAssets } from './routes/console.js';
import { editRoutes } from './routes/edits.js';
import { historyRoutes } from './routes/history.js';
import { ofrepRoutes } from './routes/ofrep.js';
import { pinRoutes } from './routes/pins.js';
import { readRoutes } from './routes/reads.js';
import type { AppFleet } from './routes/reads.js';
import { rollbackRoutes } from './routes/rollback.js';
import { rolloutRoutes } from './routes/rollouts.js';
import type { RolloutService } from '../rollouts/index.js';
import { DEFAULT_SPRING_PREFIX, springFastPath, springPrefix, springRoutes } from './routes/spring.js';
import { WatchHub } from './watch-hub.js';

/** What the app needs from the sync service. */
export interface AppSync {
  status(): SyncStatus;
  readonly isStale: boolean;
  trigger(reason: string): Promise<unknown>;
  snapshotAt(ref: string): Promise<Snapshot>;
  awaitCommit?(commit: string, timeoutMs: number): Promise<void>;
}

/** Access control, secrets, edits, rollback and pins (`AppDeps.writes`). */
export interface WriteDeps {
  access: AccessControl;
  /** Absent: the write routes answer 403 (nothing to write to). */
  edits?: EditService;
  pins?: PinStore;
  /** Resolves `${env:NAME}` secret references of a namespace x environment within its secret scopes. */
  secrets: SecretResolver;
  /** Largest accepted request body, bytes (default 1 MiB). */
  bodyLimit?: number;
}

/** Dependencies of `buildApp`. */
export interface AppDeps {
  store: SnapshotStore;
  sync: AppSync;
  webhooks: WebhookReceiver;
  metrics: ServerMetrics;
  logger: Logger;
  /** Long-poll defaults (seconds): `default` 30, `max` 60. SSE heartbeat every `heartbeatMs` (15 s). */
  watch?: { defaultTimeoutSeconds?: number; maxTimeoutSeconds?: number; heartbeatMs?: number };
  /** Answer plain GETs of current configs and bundles before express routing (default true). */
  fastPath?: boolean;
  /** Audit queries (`/v1/history`, `/v1/diff`, `?explain=1`); absent: those answer 404. */
  history?: AuditQueries;
  /** Access control (tokens, scopes, secrets), edits, rollback and pins; absent: open reads, no writes. */
  writes?: WriteDeps;
  /** Abuse limits (docs/limits.md); absent: the defaults. */
  limits?: LimitSettings;
  /** The built web console served at `/ui/`; null or absent: not served (`offReason` says why in its 404). */
  console?: { assets: ConsoleAssets | null; offReason?: string };
  /** Prefix of the Spring Cloud Config routes (default `/spring`); null: not served. */
  springPrefix?: string | null;
  /** The other replicas (`--redis`); absent: a server of one, as without it. */
  fleet?: AppFleet;
  /** Lag behind the fleet `/readyz?fleet=1` accepts, seconds (default 30). */
  fleetMaxLagSeconds?: number;
  /** Bound of a read-your-writes wait (`Gitcfg-Min-Commit`), ms (default 5000). */
  minCommitWaitMs?: number;
  /** Rollouts of promoted commits (docs/rollouts.md); absent: every promotion reaches everyone at once. */
  rollouts?: RolloutService;
  /** Who may send the signals that abort rollouts. */
  signals?: SignalSettings;
}

/** The built app: the express app, the request handler to serve with, and the watcher hub to drain. */
export interface ServerApp {
  readonly app: Express;
  /** `app`, preceded (unless `fastPath: false`) by the pre-routed hot reads; give this to `http.createServer`. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly hub: WatchHub;
  /** Every mounted route with its declared access. */
  readonly routes: MountedRoutes;
}

/**
 * A request path that could mean different things to different readers (dot segments, empty segments,
 * backslashes, control characters, NUL) is refused before any routing.
 */
const ABNORMAL_PATH = /^[^/]|\\|\/\/|(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)|%00|[^\x21-\x7e]/i;

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Builds the express app without listening. */
export function buildApp(deps: AppDeps): ServerApp {
  const { store, sync, webhooks, metrics, logger } = deps;
  const hub = new WatchHub(store, metrics, deps.watch?.heartbeatMs);
  const access = deps.writes?.access ?? AccessControl.open();
  const secrets = deps.writes?.secrets;
  const limits = new RequestLimits(deps.limits ?? { ...DEFAULT_LIMITS, trustProxy: null });
  const table = {
    access,
    logger,
    limits,
    onLimited: (routeClass: string, principal: string) =>
      metrics.limitedRequests.inc({ class: routeClass, principal }),
  };
  const reader = new ConfigReader({
    limits,
    store,
    sync,
    access,
    pins: deps.writes?.pins,
    history: deps.history,
    resolveSecret: (namespace, env, name) => secrets?.lookup(namespace, env, name),
    minCommitWaitMs: deps.minCommitWaitMs,
    rollouts: deps.rollouts,
  });
  // Who gets which commit moves with each rollout step and control: watchers of those clients are told.
  deps.rollouts?.onChange((env) => hub.recheck(env));
  if (deps.rollouts) {
    const rollouts = deps.rollouts;
    metrics.setRolloutCollector(() => {
      metrics.rolloutShare.reset();
      metrics.rolloutClients.reset();
      for (const r of rollouts.list()) {
        if (r.status === 'completed' || r.status === 'promoted' || r.endedAt !== null) continue;
        metrics.rolloutShare.set({ env: r.env }, r.share);
        for (const role of ['stable', 'candidate', 'other'] as const) {
          metrics.rolloutClients.set({ env: r.env, role }, r.clients[role]);
        }
      }
    });
  }
  const spring = deps.springPrefix === null ? null : springPrefix(deps.springPrefix ?? DEFAULT_SPRING_PREFIX);
  // Which protocol a route template belongs to, for the request metric.
  const protocolOf = (route: string): string =>
    spring && route.startsWith(`${spring}/`) ? 'spring' : route.includes('/ofrep/') ? 'ofrep' : 'gitcfg';
  const springFast = spring
    ? springFastPath({ prefix: spring, reader, access, store, sync, limits })
    : () => null;
  const app = express();
  // Set before the first route: the router reads them when it is created.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);

  // Request duration by route template; the route is known only once routing is done, i.e. at 'finish'.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.httpDuration.observe(
        { route, method: req.method, status: res.statusCode, protocol: protocolOf(route) },
        seconds,
      );
    });
    next();
  });

  const writeDeps = {
    edits: deps.writes?.edits,
    store,
    sync,
    logger,
    bodyLimit: deps.writes?.bodyLimit,
  };
  const routes = mountRoutes(
    app,
    [
      // Before the read routes: `/v1/webhooks/:provider` would take the signal paths.
      ...rolloutRoutes({
        rollouts: deps.rollouts,
        store,
        logger,
        metrics,
        table,
        signals: deps.signals,
        bodyLimit: 256 * 1024,
      }),
      ...readRoutes({
        store,
        sync,
        reader,
        hub,
        metrics,
        logger,
        webhooks,
        pins: deps.writes?.pins,
        fleet: deps.fleet,
        fleetMaxLagSeconds: deps.fleetMaxLagSeconds ?? 30,
        watch: {
          defaultTimeoutSeconds: deps.watch?.defaultTimeoutSeconds ?? 30,
          maxTimeoutSeconds: deps.watch?.maxTimeoutSeconds ?? 60,
        },
        table,
      }),
      ...(deps.history ? historyRoutes({ history: deps.history, store }) : []),
      ...editRoutes(writeDeps),
      ...rollbackRoutes(writeDeps),
      ...pinRoutes({ pins: deps.writes?.pins, sync, logger }),
      ...consoleRoutes({
        store,
        access,
        assets: deps.console?.assets ?? null,
        offReason: deps.console?.offReason ?? 'the console is off',
      }),
      ...(spring ? springRoutes({ prefix: spring, reader }) : []),
      ...ofrepRoutes({ reader }),
    ],
    table,
  );

  app.use((req: Request, res: Response) => {
    sendFailure(res, new NotFoundError('route', `${req.method} ${req.path}`), logger);
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // Express's own failures (e.g. a parameter that is not valid percent-encoding) carry a 4xx `status`.
    const status = (error as { status?: unknown } | null)?.status;
    if (!(error instanceof GitcfgError) && typeof status === 'number' && status >= 400 && status < 500) {
      sendFailure(res, new UsageError(`bad request: ${(error as Error).message}`), logger);
      return;
    }
    sendFailure(res, error, logger);
  });

  const refuseAbnormal = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!ABNORMAL_PATH.test(pathOf(req.url ?? ''))) return false;
    sendFailure(res, new UsageError('malformed request path'), logger);
    return true;
  };
  const handler =
    deps.fastPath === false
      ? (req: IncomingMessage, res: ServerResponse) => {
          if (!refuseAbnormal(req, res)) app(req, res);
        }
      : (req: IncomingMessage, res: ServerResponse) => {
          if (refuseAbnormal(req, res)) return;
          const start = process.hrtime.bigint();
          const answered = reader.tryPlainRead(req, res) ?? springFast(req, res);
          if (!answered) {
            app(req, res);
            return;
          }
          const seconds = Number(process.hrtime.bigint() - start) / 1e9;
          metrics.httpDuration.observe(
            {
              route: answered.route,
              method: req.method!,
              status: res.statusCode,
              protocol: protocolOf(answered.route),
            },
            seconds,
          );
        };
  return { app, handler, hub, routes };
}
