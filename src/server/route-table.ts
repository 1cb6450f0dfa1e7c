/**
 * Route-declared access, deny by default. Every route states what it needs in its `RouteSpec.access`; the table
 * authenticates, enforces the declaration before the handler runs, and refuses to mount a route without one.
 * Routes whose answer spans names only known while answering (`read-checked`) must pass every namespace and
 * environment they answer about through `ctx.guard`: a success written before any check is turned into a 500,
 * so a forgotten check fails closed instead of leaking.
 */
import type { Express, Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessControl, Principal } from '../auth/index.js';
import { ForbiddenError, InternalError, RateLimitedError, UnauthorizedError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { PrincipalRef, RequestLimits, RouteClass } from '../limits/index.js';
import { queryParam, sendFailure } from './http-io.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a route needs from its caller. Names in `read`/`write` are route parameters. */
export type RouteAccess =
  /** Probes and metrics: no token, no configuration data. */
  | { kind: 'public' }
  /** Webhooks: the handler verifies the provider's signature over the raw body. */
  | { kind: 'signature' }
  /** Any valid token (open when the server has no tokens file). */
  | { kind: 'token' }
  /** Read of one namespace x environment named by route parameters (checked before the handler). */
  | { kind: 'read'; namespaceParam: string; envParam: string }
  /** A read whose names are known only while answering: the handler checks each through `ctx.guard`. */
  | { kind: 'read-checked' }
  /** Write of one namespace x environment named by route parameters. */
  | { kind: 'write'; namespaceParam: string; envParam: string }
  /** Admin actions (rollback, pins). */
  | { kind: 'admin' };

/** Scope checks bound to the caller of one request. */
export interface AccessGuard {
  readonly principal: Principal | null;
  /** Throws (401/403) unless the caller may read `namespace`/`env`. */
  read(namespace: string, env: string): void;
  /** Throws unless the caller may read some namespace of `env` among `namespaces`. */
  readSomeIn(env: string, namespaces: readonly string[]): void;
  /** Throws unless the caller may read `namespace` in some environment among `envs` (or its defaults). */
  readSomewhere(namespace: string, envs: readonly string[]): void;
  /** Throws unless the caller may read some namespace among `namespaces` in some environment among `envs`. */
  readAny(namespaces: readonly string[], envs: readonly string[]): void;
  /** Whether the caller may read resolved secrets of `namespace`/`env` (never without a tokens file). */
  canReadSecrets(namespace: string, env: string): boolean;
  /** Whether the caller may read `namespace`/`env` (no throw: for filtering). */
  canRead(namespace: string, env: string): boolean;
}

/** What a handler gets besides the request and response. */
export interface RouteContext {
  guard: AccessGuard;
}

/** The cost class a request is limited in; `none` for probes (and webhooks, which limit after their signature). */
export type RouteLimit = RouteClass | 'none';

export interface RouteSpec {
  method: HttpMethod;
  /** Express path (matched case-sensitively and strictly: `/V1/...` and a trailing `/` are other paths). */
  path: string;
  access: RouteAccess;
  /** One line for the route table in the docs and the route-table test. */
  summary: string;
  /** Default: `none` for public and signed routes, `write` for writes and admin, reads by their query. */
  limit?: RouteLimit | ((req: Request) => RouteLimit);
  /** Also accept HTTP Basic with the token as the password (user name ignored), as Spring clients send it. */
  basicAuth?: boolean;
  handler: (req: Request, res: Response, ctx: RouteContext) => Promise<void> | void;
}

/** A read is expensive when it makes the server build or migrate something: an old commit, version or explain. */
export function readCost(req: IncomingMessage): RouteLimit {
  for (const name of ['ref', 'version', 'explain'])
    if (queryParam(req, name) !== undefined) return 'expensive';
  return 'cheap';
}

function limitOf(spec: RouteSpec, req: Request): RouteLimit {
  if (typeof spec.limit === 'function') return spec.limit(req);
  if (spec.limit) return spec.limit;
  switch (spec.access.kind) {
    case 'public':
    case 'signature':
      return 'none';
    case 'write':
    case 'admin':
      return 'write';
    default:
      return readCost(req);
  }
}

/** What the table needs. */
export interface RouteTableDeps {
  access: AccessControl;
  logger: Logger;
  limits?: RequestLimits | undefined;
  /** Told of every request refused by a limit (metrics). */
  onLimited?: ((routeClass: RouteClass, principal: string) => void) | undefined;
}

/**
 * Applies the abuse limits of `cls` to a request: a token of the class's bucket (headers on the answer), or one
 * open-connection slot for streams (released when the connection closes). Throws RateLimitedError when over.
 */
export function applyLimit(
  deps: RouteTableDeps,
  cls: RouteLimit,
  who: PrincipalRef,
  res: ServerResponse,
): void {
  const { limits } = deps;
  if (!limits || cls === 'none') return;
  if (cls === 'stream') {
    const release = limits.streams.acquire(who.key);
    if (!release) {
      deps.onLimited?.('stream', who.label);
      throw new RateLimitedError('stream', 1, {});
    }
    res.once('close', release);
    return;
  }
  const admission = limits.take(cls, who);
  for (const [name, value] of Object.entries(admission.headers)) res.setHeader(name, value);
  if (!admission.allowed) {
    deps.onLimited?.(cls, who.label);
    throw new RateLimitedError(cls, admission.retryAfterSeconds, admission.headers);
  }
}

/**
 * The bearer form of an HTTP Basic header whose password is the token. An empty password (`Basic Og==`, what a
 * Spring client without credentials sends) means no token; other schemes are returned unchanged.
 */
function bearerFromBasic(authorization: string): string | undefined {
  const m = /^Basic[ ]+([A-Za-z0-9+/]*={0,2})\s*$/i.exec(authorization);
  if (!m) return authorization;
  const credentials = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = credentials.indexOf(':');
  const password = colon < 0 ? '' : credentials.slice(colon + 1);
  if (password === '') return undefined;
  if (!/^[\x21-\x7e]+$/.test(password)) throw new UnauthorizedError('invalid token');
  return `Bearer ${password}`;
}

/**
 * Authenticates the `Authorization` header of `req` (401 for a malformed or unknown token); with `allowBasic`,
 * also HTTP Basic carrying the token as its password. Without a tokens file every header is ignored.
 */
export function authenticate(
  access: AccessControl,
  req: IncomingMessage,
  allowBasic = false,
): Principal | null {
  try {
    const header = req.headers.authorization;
    return access.authenticate(
      allowBasic && access.enabled && header !== undefined ? bearerFromBasic(header) : header,
    );
  } catch (err) {
    if (err instanceof UnauthorizedError) throw new UnauthorizedError(err.message, { invalid: true });
    throw err;
  }
}

/** The scope checks of one caller. `onCheck` is told of every passed check (the fail-closed bookkeeping). */
export function guardFor(
  access: AccessControl,
  principal: Principal | null,
  onCheck = () => {},
): AccessGuard {
  const deny = (what: string): never => {
    if (access.enabled && !principal) throw new UnauthorizedError();
    throw new ForbiddenError(`token "${principal?.name ?? ''}" has no read scope for ${what}`);
  };
  return {
    principal,
    read(namespace, env) {
      access.authorize(principal, 'read', namespace, env);
      onCheck();
    },
    readSomeIn(env, namespaces) {
      if (access.enabled && !namespaces.some((ns) => access.canRead(principal, ns, env))) {
        deny(`any namespace in ${env}`);
      }
      onCheck();
    },
    readSomewhere(namespace, envs) {
      if (access.enabled && !['defaults', ...envs].some((e) => access.canRead(principal, namespace, e))) {
        deny(namespace);
      }
      onCheck();
    },
    readAny(namespaces, envs) {
      const some = namespaces.some((ns) =>
        ['defaults', ...envs].some((e) => access.canRead(principal, ns, e)),
      );
      if (!some && access.enabled) deny('any namespace');
      onCheck();
    },
    canReadSecrets: (namespace, env) => access.canReadSecrets(principal, namespace, env),
    canRead: (namespace, env) => access.canRead(principal, namespace, env),
  };
}

/** Turns a success written before any access check into a 500 (for `read-checked` routes). */
function failClosed(res: ServerResponse, logger: Logger, route: string): { checked(): void } {
  let checked = false;
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
  (res as { writeHead: unknown }).writeHead = (status: number, ...rest: unknown[]) => {
    if (!checked && status < 400) {
      logger.error({ route }, 'route answered without an access check');
      const body = Buffer.from(JSON.stringify({ error: { code: 'E_INTERNAL', message: 'internal error' } }));
      writeHead(500, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': String(body.length),
        'Cache-Control': 'no-store',
      });
      res.end(body);
      // Whatever the handler writes next is dropped.
      const drop = res as unknown as { write: unknown; end: unknown };
      drop.write = () => true;
      drop.end = () => res;
      return res;
    }
    return writeHead(status, ...rest);
  };
  return { checked: () => void (checked = true) };
}

/** Limits, then enforces `spec.access` for one request; returns the handler's context. */
function admit(spec: RouteSpec, deps: RouteTableDeps, req: Request, res: Response): RouteContext {
  const { access, logger } = deps;
  const a = spec.access;
  const signed = a.kind === 'public' || a.kind === 'signature';
  // Authenticate first so a token's requests count against the token; a failed login counts against the address.
  let principal: Principal | null = null;
  let failure: unknown = null;
  if (!signed) {
    try {
      principal = authenticate(access, req, spec.basicAuth === true);
    } catch (err) {
      failure = err;
    }
  }
  const who = deps.limits ? deps.limits.principal(req, principal) : null;
  if (who) applyLimit(deps, limitOf(spec, req), who, res);
  if (failure) throw failure;
  if (signed) return { guard: guardFor(access, null) };
  const bookkeeping = a.kind === 'read-checked' ? failClosed(res, logger, spec.path) : null;
  const guard = guardFor(access, principal, bookkeeping?.checked);
  switch (a.kind) {
    case 'token':
      access.authorizeAny(principal);
      break;
    case 'admin':
      access.authorizeAdmin(principal);
      break;
    case 'read':
    case 'write':
      access.authorize(
        principal,
        a.kind,
        String(req.params[a.namespaceParam]),
        String(req.params[a.envParam]),
      );
      break;
    case 'read-checked':
      // A tokens file means no anonymous answers at all, whatever the handler checks later.
      access.authorizeAny(principal);
      break;
  }
  return { guard };
}

/** A route table that has been mounted: what the route-table test and the docs enumerate. */
export interface MountedRoutes {
  readonly specs: readonly RouteSpec[];
}

const MOUNTED = Symbol('gitcfg.route');

/**
 * Mounts `specs` on `app` (which must route case-sensitively and strictly). Each route authenticates and
 * enforces its declared access before its handler; every failure is answered through the one status map.
 */
export function mountRoutes(app: Express, specs: readonly RouteSpec[], deps: RouteTableDeps): MountedRoutes {
  if (!app.get('case sensitive routing') || !app.get('strict routing')) {
    throw new InternalError('routes must be matched case-sensitively and strictly');
  }
  const seen = new Set<string>();
  for (const spec of specs) {
    const key = `${spec.method} ${spec.path}`;
    if (seen.has(key)) throw new InternalError(`route declared twice: ${key}`);
    seen.add(key);
    if (!spec.access) throw new InternalError(`route without declared access: ${key}`);
    const handler = async (req: Request, res: Response): Promise<void> => {
      try {
        const ctx = admit(spec, deps, req, res);
        if (deps.limits && limitOf(spec, req) === 'expensive') {
          // Expensive work also waits its turn globally, so a burst of it cannot starve cheap reads.
          await deps.limits.gate.run(async () => spec.handler(req, res, ctx));
        } else {
          await spec.handler(req, res, ctx);
        }
      } catch (err) {
        sendFailure(res, err, deps.logger);
      }
    };
    (handler as unknown as Record<symbol, RouteSpec>)[MOUNTED] = spec;
    app[spec.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'](spec.path, handler);
  }
  assertEveryRouteDeclared(app);
  return { specs };
}

interface RouterLayer {
  route?: { path: string; stack: { handle: unknown }[] };
}

/** The declared spec of every route layer of `app`; throws for a route mounted outside `mountRoutes`. */
export function assertEveryRouteDeclared(app: Express): RouteSpec[] {
  const stack = (app as unknown as { router: { stack: RouterLayer[] } }).router.stack;
  const found: RouteSpec[] = [];
  for (const layer of stack) {
    if (!layer.route) continue;
    for (const entry of layer.route.stack) {
      const spec = (entry.handle as Record<symbol, RouteSpec | undefined>)[MOUNTED];
      if (!spec) {
        throw new InternalError(`route without declared access: ${layer.route.path}`);
      }
      found.push(spec);
    }
  }
  return found;
}
