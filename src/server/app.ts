/**
 * The HTTP API (express 5). Requests read the current snapshot only: bodies and ETags are pre-rendered, so the
 * hot path is a map lookup and a write. No body parser runs except on webhooks, which read their raw bytes.
 */
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { GitcfgError, InvalidConfigError, NotFoundError, UsageError } from '../errors/index.js';
import type { JsonObject } from '../engine/index.js';
import type { Logger } from '../log/index.js';
import type { ServerMetrics } from '../metrics/index.js';
import {
  currentVersion,
  documentAtVersion,
  renderDocument,
  renderJson,
  renderYaml,
  subtree,
} from '../snapshot/index.js';
import type { RenderedBody, RenderedDocument, Snapshot, SnapshotStore } from '../snapshot/index.js';
import type { SyncStatus } from '../sync/index.js';
import { WEBHOOK_PROVIDERS } from '../webhooks/index.js';
import type { WebhookProvider, WebhookReceiver } from '../webhooks/index.js';
import { WatchHub } from './watch-hub.js';
import type { AuditQueries } from '../history/index.js';
import { registerHistoryRoutes } from './routes/history.js';
import { fastPathAllowed, registerAccessControl } from './routes/access.js';
import type { WriteDeps } from './routes/access.js';
import { registerEditRoutes } from './routes/edits.js';
import { registerPinRoutes } from './routes/pins.js';
import { registerRollbackRoutes } from './routes/rollback.js';

/** What the app needs from the sync service. */
export interface AppSync {
  status(): SyncStatus;
  readonly isStale: boolean;
  trigger(reason: string): Promise<unknown>;
  snapshotAt(ref: string): Promise<Snapshot>;
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
  /** Access control (tokens, scopes, secrets), edits, rollback and pins; absent: open reads, no write routes. */
  writes?: WriteDeps;
}

/** The built app: the express app, the request handler to serve with, and the watcher hub to drain. */
export interface ServerApp {
  readonly app: Express;
  /** `app`, preceded (unless `fastPath: false`) by the pre-routed hot reads; give this to `http.createServer`. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly hub: WatchHub;
}

type Format = 'json' | 'yaml';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
const CONTENT_TYPE: Record<Format, string> = {
  json: 'application/json; charset=utf-8',
  yaml: 'application/yaml; charset=utf-8',
};

/** Builds the express app without listening. */
export function buildApp(deps: AppDeps): ServerApp {
  const { store, sync, webhooks, metrics, logger } = deps;
  const defaultTimeout = deps.watch?.defaultTimeoutSeconds ?? 30;
  const maxTimeout = deps.watch?.maxTimeoutSeconds ?? 60;
  const hub = new WatchHub(store, metrics, deps.watch?.heartbeatMs);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Request duration by route template; the route is known only once routing is done, i.e. at 'finish'.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.httpDuration.observe({ route, method: req.method, status: res.statusCode }, seconds);
    });
    next();
  });

  const writeCtx = deps.writes ? { writes: deps.writes, store, sync, logger } : null;
  if (writeCtx) registerAccessControl(app, writeCtx);

  app.get('/healthz', (_req, res) => {
    sendJson(res, 200, { status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    const snapshot = store.current;
    if (snapshot) sendJson(res, 200, { status: 'ready', commit: snapshot.commit, stale: sync.isStale });
    else sendError(res, 503, 'E_NOT_READY', 'no snapshot loaded yet');
  });

  app.get('/metrics', async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-cache' });
    res.end(body);
  });

  app.get('/v1/status', (_req, res) => {
    const pins = deps.writes?.pins ? { pins: deps.writes.pins.list() } : {};
    sendJson(res, 200, { ...sync.status(), ready: store.current !== null, watchers: hub.size, ...pins });
  });

  app.get(CONFIG_ROUTE, async (req, res) => {
    const namespace = String(req.params.namespace);
    const env = String(req.params.env);
    const format = formatOf(req);
    const ref = queryString(req, 'ref');
    const snapshot = ref === undefined ? requireSnapshot(store) : await sync.snapshotAt(ref);
    const config = snapshot.configs.get(`${namespace}/${env}`);
    if (!config) throw missingPair(snapshot, namespace, env);
    if (queryString(req, 'explain') === '1' && deps.history) {
      sendJson(res, 200, await deps.history.explain(namespace, env, { at: snapshot.commit }));
      return;
    }
    const versionParam = queryString(req, 'version');
    let document: RenderedDocument = config;
    let version = currentVersion(snapshot, namespace);
    if (versionParam !== undefined) {
      const wanted = Number(versionParam);
      if (!/^\d+$/.test(versionParam))
        throw new UsageError(`version must be a positive integer: ${versionParam}`);
      const migrated = documentAtVersion(snapshot, namespace, config, wanted);
      if (!migrated.document) {
        throw new UsageError(migrated.issues.map((i) => i.message).join('; '), { issues: migrated.issues });
      }
      document = migrated.document;
      version = wanted;
    }
    const headers: Record<string, string> = { 'Gitcfg-Schema-Version': String(version) };
    sendDocument(req, res, document, format, snapshot, ref === undefined && sync.isStale, headers);
  });

  app.get(BUNDLE_ROUTE, async (req, res) => {
    const env = String(req.params.env);
    const format = formatOf(req);
    const ref = queryString(req, 'ref');
    if (queryString(req, 'version') !== undefined) {
      throw new UsageError('version is per namespace: use /v1/config/:namespace/:env?version=N');
    }
    const snapshot = ref === undefined ? requireSnapshot(store) : await sync.snapshotAt(ref);
    const bundle = snapshot.bundles.get(env);
    if (!bundle) throw new NotFoundError('environment', env);
    sendDocument(req, res, bundle, format, snapshot, ref === undefined && sync.isStale, {});
  });

  app.get('/v1/schemas/:namespace', async (req, res) => {
    const namespace = String(req.params.namespace);
    const ref = queryString(req, 'ref');
    const snapshot = ref === undefined ? requireSnapshot(store) : await sync.snapshotAt(ref);
    const schema = snapshot.schemas.get(namespace);
    if (!schema) throw new NotFoundError('namespace', namespace);
    const current = currentVersion(snapshot, namespace);
    const versionParam = queryString(req, 'version');
    let document: RenderedDocument = schema;
    let version = current;
    if (versionParam !== undefined && Number(versionParam) !== current) {
      const old = snapshot.versions.get(namespace)?.oldSchemas[versionParam];
      if (!/^\d+$/.test(versionParam) || !old) {
        throw new UsageError(`no schema of version ${versionParam} for ${namespace} (current: ${current})`);
      }
      document = renderDocument(old);
      version = Number(versionParam);
    }
    const headers = { 'Gitcfg-Schema-Version': String(version) };
    sendDocument(req, res, document, formatOf(req), snapshot, ref === undefined && sync.isStale, headers);
  });

  app.get('/v1/watch/:env', async (req, res) => {
    const env = String(req.params.env);
    const snapshot = store.current;
    if (snapshot && !snapshot.environments.includes(env)) throw new NotFoundError('environment', env);
    const since = queryString(req, 'since') ?? null;
    const timeoutParam = queryString(req, 'timeout');
    let timeout = defaultTimeout;
    if (timeoutParam !== undefined) {
      timeout = Number(timeoutParam);
      if (!Number.isFinite(timeout) || timeout < 0) throw new UsageError(`invalid timeout: ${timeoutParam}`);
    }
    timeout = Math.min(timeout, maxTimeout);
    const event = await hub.wait(env, since, timeout * 1000, res);
    if (res.destroyed || res.writableEnded) return;
    if (!event) {
      res.writeHead(304, { 'Cache-Control': 'no-cache', 'Gitcfg-Commit': store.current?.commit ?? '' });
      res.end();
      return;
    }
    sendJson(res, 200, event, { 'Gitcfg-Commit': event.commit });
  });

  app.get('/v1/events', (req, res) => {
    const env = queryString(req, 'env') ?? null;
    const lastEventId = req.get('last-event-id') ?? queryString(req, 'since') ?? null;
    hub.stream(res, env, lastEventId);
  });

  app.post('/v1/webhooks/:provider', async (req, res) => {
    const provider = String(req.params.provider);
    if (!(WEBHOOK_PROVIDERS as readonly string[]).includes(provider)) {
      throw new NotFoundError('webhook provider', provider);
    }
    const p = provider as WebhookProvider;
    const body = webhooks.enabled(p) ? await readBody(req, webhooks.bodyLimit) : Buffer.alloc(0);
    const decision = body === null ? webhooks.tooLarge() : webhooks.receive(p, req.headers, body);
    metrics.webhookDeliveries.inc({ provider, outcome: decision.outcome });
    // Never log headers or bodies here: they carry signatures and tokens.
    logger.info(
      {
        provider,
        outcome: decision.outcome,
        status: decision.status,
        deliveryId: decision.event?.deliveryId,
        event: decision.event?.eventName,
        refs: decision.event?.refs,
        after: decision.event?.after,
      },
      'webhook delivery',
    );
    if (decision.outcome === 'accepted') void sync.trigger(`webhook:${provider}`);
    if (body === null) res.setHeader('Connection', 'close');
    sendJson(res, decision.status, decision.body);
  });

  if (deps.history) registerHistoryRoutes(app, { history: deps.history, store });
  if (writeCtx) {
    registerEditRoutes(app, writeCtx);
    registerRollbackRoutes(app, writeCtx);
    registerPinRoutes(app, writeCtx);
  }

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new NotFoundError('route', `${req.method} ${req.path}`));
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (error instanceof InvalidConfigError) {
      sendJson(res, 422, {
        error: { code: error.code, message: error.message, issues: error.issues },
      });
      return;
    }
    if (error instanceof NotFoundError) return sendError(res, 404, error.code, error.message);
    if (error instanceof UsageError) {
      const issues = error.data.issues;
      sendJson(res, 400, {
        error: { code: error.code, message: error.message, ...(issues ? { issues } : {}) },
      });
      return;
    }
    if (error instanceof NotReadyError) return sendError(res, 503, error.code, error.message);
    if (error instanceof GitcfgError && error.code === 'E_GIT') {
      return sendError(res, 502, error.code, error.message);
    }
    logger.error({ err: error, path: req.path }, 'request failed');
    sendError(res, 500, 'E_INTERNAL', 'internal error');
  });

  const handler =
    deps.fastPath === false
      ? (req: IncomingMessage, res: ServerResponse) => app(req, res)
      : (req: IncomingMessage, res: ServerResponse) => {
          if (!fastPathAllowed(deps.writes, store, req) || !fastRead(store, sync, metrics, req, res)) {
            app(req, res);
          }
        };
  return { app, handler, hub };
}

/** No snapshot loaded yet. */
class NotReadyError extends GitcfgError {
  constructor() {
    super('E_NOT_READY', 'no snapshot loaded yet');
  }
}

function requireSnapshot(store: SnapshotStore): Snapshot {
  const snapshot = store.current;
  if (!snapshot) throw new NotReadyError();
  return snapshot;
}

function missingPair(snapshot: Snapshot, namespace: string, env: string): NotFoundError {
  if (!snapshot.namespaces.includes(namespace)) return new NotFoundError('namespace', namespace);
  if (!snapshot.environments.includes(env)) return new NotFoundError('environment', env);
  return new NotFoundError('config', `${namespace}/${env}`);
}

function queryString(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UsageError(`query parameter ${name} must be given once`);
  return value;
}

function formatOf(req: Request): Format {
  const format = queryString(req, 'format');
  if (format === 'yaml' || format === 'yml') return 'yaml';
  if (format === 'json') return 'json';
  if (format !== undefined) throw new UsageError(`unknown format: ${format} (json or yaml)`);
  return formatFromAccept(req.headers.accept);
}

/** YAML when the client accepts YAML and not JSON; JSON otherwise. */
function formatFromAccept(accept: string | undefined): Format {
  if (accept && YAML_TYPES.some((t) => accept.includes(t)) && !accept.includes('application/json'))
    return 'yaml';
  return 'json';
}

/** Whether `If-None-Match` matches `etag` (weak comparison, as RFC 9110 prescribes for GET). */
function notModified(headers: IncomingHttpHeaders, etag: string): boolean {
  const header = headers['if-none-match'];
  if (!header) return false;
  if (header.trim() === '*') return true;
  for (const candidate of header.split(',')) {
    const tag = candidate.trim();
    if ((tag.startsWith('W/') ? tag.slice(2) : tag) === etag) return true;
  }
  return false;
}

function sendDocument(
  req: Request,
  res: Response,
  document: RenderedDocument,
  format: Format,
  snapshot: Snapshot,
  stale: boolean,
  extra: Record<string, string>,
): void {
  const path = queryString(req, 'path');
  let rendered: RenderedBody = document[format];
  if (path !== undefined && path !== '') {
    const value = subtree(document.value as JsonObject, path);
    if (value === undefined) throw new NotFoundError('path', path);
    rendered = format === 'json' ? renderJson(value) : renderYaml(value);
  }
  writeRendered(req, res, rendered, format, snapshot.commit, stale, extra);
}

/** Writes a pre-rendered body with its caching headers, or 304 when the client has it (shared by both paths). */
function writeRendered(
  req: IncomingMessage,
  res: ServerResponse,
  rendered: RenderedBody,
  format: Format,
  commit: string,
  stale: boolean,
  extra: Record<string, string>,
): void {
  const headers: Record<string, string> = {
    ETag: rendered.etag,
    'Gitcfg-Commit': commit,
    'Cache-Control': 'no-cache',
    Vary: 'Accept',
    ...extra,
  };
  if (stale) headers['Gitcfg-Stale'] = 'true';
  if (notModified(req.headers, rendered.etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['Content-Type'] = CONTENT_TYPE[format];
  headers['Content-Length'] = String(rendered.body.length);
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : rendered.body);
}

const CONFIG_ROUTE = '/v1/config/:namespace/:env';
const BUNDLE_ROUTE = '/v1/bundle/:env';
const SIMPLE_CONFIG = /^\/v1\/config\/([a-z][a-z0-9-]*)\/([a-z][a-z0-9-]*)$/;
const SIMPLE_BUNDLE = /^\/v1\/bundle\/([a-z][a-z0-9-]*)$/;

/**
 * The hottest reads (GET of a current config or bundle, no query string, found in the snapshot) answered
 * before express routing, with the same writer and the same metrics; returns false for everything else, which
 * express handles (errors, 404s, queries, YAML by query, every other route).
 */
function fastRead(
  store: SnapshotStore,
  sync: AppSync,
  metrics: ServerMetrics,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const url = req.url;
  if ((req.method !== 'GET' && req.method !== 'HEAD') || !url || !url.startsWith('/v1/')) return false;
  const snapshot = store.current;
  if (!snapshot) return false;
  let document: RenderedDocument | undefined;
  let route: string;
  let extra: Record<string, string>;
  let match = SIMPLE_CONFIG.exec(url);
  if (match) {
    const namespace = match[1]!;
    document = snapshot.configs.get(`${namespace}/${match[2]!}`);
    route = CONFIG_ROUTE;
    extra = { 'Gitcfg-Schema-Version': String(currentVersion(snapshot, namespace)) };
  } else {
    match = SIMPLE_BUNDLE.exec(url);
    if (!match) return false;
    document = snapshot.bundles.get(match[1]!);
    route = BUNDLE_ROUTE;
    extra = {};
  }
  if (!document) return false;
  const start = process.hrtime.bigint();
  const format = formatFromAccept(req.headers.accept);
  writeRendered(req, res, document[format], format, snapshot.commit, sync.isStale, extra);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  metrics.httpDuration.observe({ route, method: req.method, status: res.statusCode }, seconds);
  return true;
}

function sendJson(res: Response, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    'Content-Type': CONTENT_TYPE.json,
    'Content-Length': String(bytes.length),
    'Cache-Control': 'no-cache',
    ...extra,
  });
  res.end(bytes);
}

function sendError(res: Response, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

/** Reads the raw body up to `limit` bytes; null when it is larger (the rest is drained, then dropped). */
function readBody(req: Request, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number.isFinite(declared) && declared > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      // Drain a moderately oversized body so the client reads our 413; cut off abusive ones.
      if (size > limit * 8) req.destroy();
      if (!over) chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', reject);
    // After 'end' this is a no-op; otherwise the body was cut off.
    req.on('close', () => resolve(null));
  });
}
