/**
 * Access control in front of every API route: bearer authentication, read scopes, pins (a pinned environment
 * is served from its pinned commit) and resolved secrets for callers allowed to read them. Also the shared
 * plumbing of the write routes (deps, JSON answers, error mapping, body reading).
 */
import type { Express, NextFunction, Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { SecretMatcher } from '../../engine/index.js';
import type { AccessControl, Principal, SecretResolver } from '../../auth/index.js';
import type { EditService, PinStore } from '../../edits/index.js';
import type { JsonObject } from '../../engine/index.js';
import {
  ConflictError,
  ForbiddenError,
  GitcfgError,
  InvalidConfigError,
  NotFoundError,
  PreconditionFailedError,
  PreconditionRequiredError,
  PushOutcomeUnknownError,
  UnauthorizedError,
  UsageError,
} from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { etagOf, renderJson, renderYaml, subtree } from '../../snapshot/index.js';
import type { RenderedDocument, Snapshot, SnapshotStore } from '../../snapshot/index.js';

/** What access control, edits, rollback and pins need (`AppDeps.writes`). */
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

/** What the routes read besides `WriteDeps`. */
export interface RouteContext {
  writes: WriteDeps;
  store: SnapshotStore;
  sync: { snapshotAt(ref: string): Promise<Snapshot>; trigger(reason: string): Promise<unknown> };
  logger: Logger;
}

const FAST_CONFIG = /^\/v1\/config\/([a-z][a-z0-9-]*)\/([a-z][a-z0-9-]*)$/;
const FAST_BUNDLE = /^\/v1\/bundle\/([a-z][a-z0-9-]*)$/;

/**
 * Whether the pre-routed fast path (plain reads of the current snapshot, which knows nothing of tokens, pins
 * and secrets) may answer `req`: only for a caller whose scopes allow the read, of an environment that is not
 * pinned, and not for a secret reader of a namespace with secrets. Anything else goes through the routes.
 */
export function fastPathAllowed(
  writes: WriteDeps | undefined,
  store: SnapshotStore,
  req: IncomingMessage,
): boolean {
  if (!writes) return true;
  if (req.method !== 'GET' && req.method !== 'HEAD') return true; // the fast path only answers reads
  const url = req.url ?? '';
  const config = FAST_CONFIG.exec(url);
  const bundle = config ? null : FAST_BUNDLE.exec(url);
  if (!config && !bundle) return !writes.access.enabled && (writes.pins?.size ?? 0) === 0;
  const env = config ? config[2]! : bundle![1]!;
  if (writes.pins?.get(env)) return false;
  const { access } = writes;
  if (!access.enabled) return true;
  let principal: Principal | null;
  try {
    principal = access.authenticate(req.headers.authorization);
  } catch {
    return false;
  }
  const snapshot = store.current;
  if (!principal || !snapshot) return false;
  if (bundle) return snapshot.namespaces.every((ns) => access.canRead(principal, ns, env));
  const ns = config![1]!;
  if (!access.canRead(principal, ns, env)) return false;
  return !(access.canReadSecrets(principal, ns, env) && matcherFor(snapshot.schemas.get(ns)));
}

/** The authenticated caller of a request (set by the access middleware). */
export function principalOf(res: Response): Principal | null {
  return (res.locals.principal as Principal | undefined) ?? null;
}

/** Sends a JSON body. */
export function sendJson(
  res: Response,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(bytes.length),
    'Cache-Control': 'no-store',
    ...extra,
  });
  res.end(bytes);
}

const STATUS: Record<string, number> = {
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  E_NOT_FOUND: 404,
  E_CONFLICT: 409,
  E_REF_MOVED: 409,
  E_PUSH_REJECTED: 409,
  E_PRECONDITION_FAILED: 412,
  E_PRECONDITION_REQUIRED: 428,
  E_USAGE: 400,
  E_UNSUPPORTED_MEDIA_TYPE: 415,
  E_PAYLOAD_TOO_LARGE: 413,
  E_INVALID_CONFIG: 422,
  E_GIT: 503,
  E_REMOTE_UNREACHABLE: 503,
  E_AUTH_FAILED: 503,
  E_NOT_READY: 503,
  E_PUSH_OUTCOME_UNKNOWN: 504,
};

/** Answers an error of the write routes with its status; unknown errors are logged and answered 500. */
export function sendFailure(res: Response, err: unknown, logger: Logger): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (!(err instanceof GitcfgError) || STATUS[err.code] === undefined) {
    logger.error({ err }, 'request failed');
    sendJson(res, 500, { error: { code: 'E_INTERNAL', message: 'internal error' } });
    return;
  }
  const status = STATUS[err.code]!;
  const headers: Record<string, string> = {};
  if (err instanceof UnauthorizedError) {
    headers['WWW-Authenticate'] = err.data.invalid ? 'Bearer error="invalid_token"' : 'Bearer';
  }
  const body: Record<string, unknown> = { code: err.code, message: err.message };
  if (err instanceof InvalidConfigError) body.issues = err.issues;
  if (err instanceof ConflictError && Array.isArray(err.data.paths)) body.paths = err.data.paths;
  if (err instanceof PreconditionFailedError || err instanceof PreconditionRequiredError) {
    body.etag = err.data.etag ?? null;
    if (typeof err.data.etag === 'string') headers['Gitcfg-File-ETag'] = err.data.etag;
  }
  if (err instanceof PushOutcomeUnknownError) body.commit = err.data.commit;
  if (status === 503) body.message = `${err.message}; nothing was committed`;
  sendJson(res, status, { error: body }, headers);
}

/** Wraps an async route so every failure goes through `sendFailure`. */
export function guarded(
  logger: Logger,
  fn: (req: Request, res: Response) => Promise<void>,
): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    try {
      await fn(req, res);
    } catch (err) {
      sendFailure(res, err, logger);
    }
  };
}

/** Reads the raw body, refusing more than `limit` bytes (413). */
export async function readBody(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number): GitcfgError {
  return new GitcfgError('E_PAYLOAD_TOO_LARGE', `request body larger than ${limit} bytes`);
}

/** A single-valued query parameter. */
export function queryParam(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UsageError(`query parameter ${name} must be given once`);
  return value;
}

const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const CONFIG_RE = /^\/v1\/config\/([^/]+)\/([^/]+)\/?$/;
const BUNDLE_RE = /^\/v1\/bundle\/([^/]+)\/?$/;
const SCHEMA_RE = /^\/v1\/schemas\/([^/]+)\/?$/;
const ENV_RE = /^\/v1\/(?:watch|files\/[^/]+|history\/[^/]+)\/([^/]+)\/?$/;
const HISTORY_RE = /^\/v1\/history\/([^/]+)\/([^/]+)\/?$/;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const matchers = new WeakMap<RenderedDocument, SecretMatcher>();

function matcherFor(schema: RenderedDocument | undefined): SecretMatcher | null {
  if (!schema) return null;
  let m = matchers.get(schema);
  if (!m) matchers.set(schema, (m = new SecretMatcher(schema.value as JsonObject)));
  return m.hasSecrets ? m : null;
}

/**
 * The access middleware: authenticates (401 with `WWW-Authenticate: Bearer`), checks read scopes of config,
 * bundle, schema and per-environment routes (403), requires a token on every other `/v1` route except
 * webhooks (they check their own signatures), serves pinned environments from their pin and resolves secret
 * references for callers with `read-secrets`.
 */
export function accessMiddleware(ctx: RouteContext) {
  const { writes, store, sync, logger } = ctx;
  const { access } = writes;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const path = req.path;
    if (OPEN_PATHS.has(path) || path.startsWith('/v1/webhooks/') || !path.startsWith('/v1/')) return next();
    try {
      const header = req.headers.authorization;
      let principal: Principal | null;
      try {
        principal = access.authenticate(header);
      } catch (err) {
        if (err instanceof UnauthorizedError) throw new UnauthorizedError(err.message, { invalid: true });
        throw err;
      }
      res.locals.principal = principal;
      access.authorizeAny(principal);
      const read = req.method === 'GET' || req.method === 'HEAD';
      const config = CONFIG_RE.exec(path);
      const bundle = config ? null : BUNDLE_RE.exec(path);
      const env = config ? decode(config[2]!) : bundle ? decode(bundle[1]!) : undefined;
      if (read && config) access.authorize(principal, 'read', decode(config[1]!), env!);
      if (read && bundle) {
        for (const ns of store.current?.namespaces ?? []) access.authorize(principal, 'read', ns, env!);
        if (!store.current) access.authorize(principal, 'read', '*', env!);
      }
      const schema = read ? SCHEMA_RE.exec(path) : null;
      if (schema && !readableSomewhere(access, principal, decode(schema[1]!), store.current)) {
        throw new ForbiddenError(`no read scope for namespace ${decode(schema[1]!)}`);
      }
      const history = read ? HISTORY_RE.exec(path) : null;
      if (history) access.authorize(principal, 'read', decode(history[1]!), decode(history[2]!));
      if (read && path === '/v1/diff') {
        // A diff spans every namespace (of one environment with ?env=): it needs read on all of them.
        const only = queryParam(req, 'env');
        for (const e of only !== undefined ? [only] : (store.current?.environments ?? [])) {
          for (const ns of store.current?.namespaces ?? []) access.authorize(principal, 'read', ns, e);
        }
      }
      const perEnv = ENV_RE.exec(path);
      if (read && perEnv && path.startsWith('/v1/watch/')) {
        const e = decode(perEnv[1]!);
        const nss = store.current?.namespaces ?? [];
        if (!nss.some((ns) => access.canRead(principal, ns, e))) {
          throw new ForbiddenError(`no read scope in environment ${e}`);
        }
      }
      // Pins: every answer about a pinned environment says so; reads are served from the pinned commit.
      const pinEnv = env ?? (perEnv ? decode(perEnv[1]!) : undefined);
      const pin = pinEnv !== undefined ? writes.pins?.get(pinEnv) : undefined;
      if (pin) res.setHeader('Gitcfg-Pinned', pin.commit);
      if (read && pin && (config || bundle) && queryParam(req, 'ref') === undefined) {
        // An internal rewrite: the route then serves `?ref=<pinned commit>` from the sync's per-commit cache.
        req.url += `${req.url.includes('?') ? '&' : '?'}ref=${pin.commit}`;
        await warmPin(pin.commit);
      }
      if (read && config && access.canReadSecrets(principal, decode(config[1]!), env!)) {
        if (await serveResolved(req, res, ctx, decode(config[1]!), env!)) return;
      }
      next();
    } catch (err) {
      sendFailure(res, err, logger);
    }
  };

  /**
   * Right after a restart the sync may not have opened the repository yet (pins must be served even with the
   * remote down): wait for one sync run (it opens the local mirror before fetching), then build the pin.
   */
  async function warmPin(commit: string): Promise<void> {
    try {
      await sync.snapshotAt(commit);
    } catch (err) {
      if (!(err instanceof NotFoundError) || err.data.reason === undefined) return; // the route reports it
      await sync.trigger('pinned read');
      await sync.snapshotAt(commit).catch(() => undefined);
    }
  }

  function readableSomewhere(
    a: AccessControl,
    p: Principal | null,
    ns: string,
    snapshot: Snapshot | null,
  ): boolean {
    return ['defaults', ...(snapshot?.environments ?? [])].some((e) => a.canRead(p, ns, e));
  }

  /** Renders a config with its secret references resolved (never cached, never stored). */
  async function serveResolved(
    req: Request,
    res: Response,
    c: RouteContext,
    namespace: string,
    env: string,
  ): Promise<boolean> {
    if (queryParam(req, 'version') !== undefined || queryParam(req, 'explain') !== undefined) return false;
    const ref = queryParam(req, 'ref');
    const snapshot = ref === undefined ? store.current : await sync.snapshotAt(ref);
    const config = snapshot?.configs.get(`${namespace}/${env}`);
    const matcher = matcherFor(snapshot?.schemas.get(namespace));
    if (!snapshot || !config || !matcher) return false;
    const missing = new Set<string>();
    const lookup = (name: string) => c.writes.secrets.lookup(namespace, env, name);
    const resolved = matcher.resolve(config.value, lookup, missing);
    const p = queryParam(req, 'path');
    const value = p === undefined || p === '' ? resolved : subtree(resolved, p);
    if (value === undefined) throw new NotFoundError('path', p!);
    const format = formatOf(req);
    const body = format === 'yaml' ? renderYaml(value).body : renderJson(value).body;
    const etag = etagOf(body);
    const headers: Record<string, string> = {
      ETag: etag,
      'Gitcfg-Commit': snapshot.commit,
      'Gitcfg-Secrets': missing.size > 0 ? `unresolved=${[...missing].sort().join(',')}` : 'resolved',
      'Cache-Control': 'no-store',
      Vary: 'Accept, Authorization',
    };
    if (req.headers['if-none-match']?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    headers['Content-Type'] =
      format === 'yaml' ? 'application/yaml; charset=utf-8' : 'application/json; charset=utf-8';
    headers['Content-Length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}

function formatOf(req: Request): 'json' | 'yaml' {
  const format = queryParam(req, 'format');
  if (format === 'yaml' || format === 'yml') return 'yaml';
  if (format === 'json') return 'json';
  if (format !== undefined) throw new UsageError(`unknown format: ${format} (json or yaml)`);
  const accept = req.headers.accept ?? '';
  return /\b(application|text)\/(x-)?yaml\b/.test(accept) && !accept.includes('application/json')
    ? 'yaml'
    : 'json';
}

/** Registers the access middleware on `app` (call before any route). */
export function registerAccessControl(app: Express, ctx: RouteContext): void {
  app.use(accessMiddleware(ctx));
}
