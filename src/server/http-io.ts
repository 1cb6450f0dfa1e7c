/**
 * Request and response plumbing shared by every route and the pre-routed fast path: query parameters, format
 * negotiation, bounded body reading, JSON answers, pre-rendered bodies with ETags, and the one error -> status map.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import accepts from 'accepts';
import fresh from 'fresh';
import {
  ConflictError,
  FlagEvaluationError,
  GitcfgError,
  InvalidConfigError,
  PayloadTooLargeError,
  PreconditionFailedError,
  PreconditionRequiredError,
  UnauthorizedError,
  UsageError,
} from '../errors/index.js';
import { nestsDeeperThan } from '../engine/index.js';
import type { ErrorCode } from '../errors/index.js';
import type { JsonValue } from '../values/index.js';
import type { Logger } from '../log/index.js';
import type { RenderedBody } from '../snapshot/index.js';

export type Format = 'json' | 'yaml';

const CONTENT_TYPE: Record<Format, string> = {
  json: 'application/json; charset=utf-8',
  yaml: 'application/yaml; charset=utf-8',
};

/**
 * The HTTP status of every error code any route answers with. One table for every route and the fast path: a
 * code missing here is a bug, answered 500 and logged.
 */
export const ERROR_STATUS = {
  E_USAGE: 400,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  E_NOT_FOUND: 404,
  E_CONFLICT: 409,
  E_REF_MOVED: 409,
  E_PUSH_REJECTED: 409,
  E_PRECONDITION_FAILED: 412,
  E_PAYLOAD_TOO_LARGE: 413,
  E_UNSUPPORTED_MEDIA_TYPE: 415,
  E_INVALID_CONFIG: 422,
  E_PRECONDITION_REQUIRED: 428,
  E_RATE_LIMITED: 429,
  E_INTERNAL: 500,
  // The server's upstream (the git remote) failed or could not be reached.
  E_GIT: 502,
  E_AUTH_FAILED: 502,
  E_REMOTE_UNREACHABLE: 503,
  E_NOT_READY: 503,
  E_BUSY: 503,
  // Read-your-writes: the asked commit is not promoted here yet; Redis (shared pins) unreachable.
  E_COMMIT_NOT_SERVED: 503,
  E_FLEET_UNAVAILABLE: 503,
  // The push may or may not have reached the remote: the answer names the commit to check.
  E_PUSH_OUTCOME_UNKNOWN: 504,
  // OFREP evaluation failures (answered in the protocol's own body, see sendFailure).
  E_FLAG_NOT_FOUND: 404,
  E_FLAG_PARSE_ERROR: 400,
  E_FLAG_INVALID_CONTEXT: 400,
  E_FLAG_TARGETING_KEY_MISSING: 400,
  E_FLAG_GENERAL: 400,
} as const satisfies Partial<Record<ErrorCode, number>>;

/** Every error code the HTTP API answers with (documented in docs/openapi.yaml). */
export type HttpErrorCode = keyof typeof ERROR_STATUS;

/** The status of an error code, or undefined when the code is not an HTTP answer. */
export function statusOf(code: ErrorCode): number | undefined {
  return Object.hasOwn(ERROR_STATUS, code) ? ERROR_STATUS[code as HttpErrorCode] : undefined;
}

/** Sends a JSON body (`Cache-Control: no-store` unless given). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    'Content-Type': CONTENT_TYPE.json,
    'Content-Length': String(bytes.length),
    'Cache-Control': 'no-store',
    ...extra,
  });
  res.end(bytes);
}

/**
 * Answers `err` with its status from `ERROR_STATUS` and `{error: {code, message, ...details}}`. Anything that is
 * not a known `GitcfgError` is logged (never sent) and answered 500.
 */
export function sendFailure(res: ServerResponse, err: unknown, logger: Logger): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const status = err instanceof GitcfgError ? statusOf(err.code) : undefined;
  if (!(err instanceof GitcfgError) || status === undefined || status === 500) {
    logger.error({ err }, 'request failed');
    sendJson(res, 500, { error: { code: 'E_INTERNAL', message: 'internal error' } });
    return;
  }
  if (err instanceof FlagEvaluationError) {
    // OFREP clients read `errorCode` from the protocol's failure body, not gitcfg's `{error}` envelope.
    const key = err.flagKey === undefined ? {} : { key: err.flagKey };
    sendJson(res, status, { ...key, errorCode: err.ofrepCode, errorDetails: err.message });
    return;
  }
  const headers: Record<string, string> = {};
  if (err instanceof UnauthorizedError) {
    headers['WWW-Authenticate'] = err.data.invalid ? 'Bearer error="invalid_token"' : 'Bearer';
  }
  const body: Record<string, unknown> = { code: err.code, message: err.message };
  if (err instanceof InvalidConfigError) body.issues = err.issues;
  if (err instanceof UsageError && Array.isArray(err.data.issues)) body.issues = err.data.issues;
  if (err instanceof ConflictError && Array.isArray(err.data.paths)) body.paths = err.data.paths;
  if (err instanceof PreconditionFailedError || err instanceof PreconditionRequiredError) {
    body.etag = err.data.etag ?? null;
    if (typeof err.data.etag === 'string') headers['Gitcfg-File-ETag'] = err.data.etag;
  }
  if (typeof err.data.commit === 'string') body.commit = err.data.commit;
  // Limits carry their Retry-After and RateLimit headers.
  const extra = err.data.headers;
  if (extra && typeof extra === 'object') Object.assign(headers, extra as Record<string, string>);
  sendJson(res, status, { error: body }, headers);
}

/** The query string of a request URL, parsed once per request. */
const parsedQueries = new WeakMap<IncomingMessage, URLSearchParams>();

function queryOf(req: IncomingMessage): URLSearchParams {
  let params = parsedQueries.get(req);
  if (!params) {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    parsedQueries.set(req, params);
  }
  return params;
}

/** A single-valued query parameter (400 when repeated). */
export function queryParam(req: IncomingMessage, name: string): string | undefined {
  const values = queryOf(req).getAll(name);
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new UsageError(`query parameter ${name} must be given once`);
  return values[0];
}

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** YAML when the client accepts (q > 0) a YAML type and not JSON; JSON otherwise (also for any type). */
export function formatFromAccept(req: IncomingMessage): Format {
  // Without arguments, the client's acceptable types (q > 0), best first.
  const listed = accepts(req).types();
  const accepted = Array.isArray(listed) ? listed : [];
  return YAML_TYPES.some((t) => accepted.includes(t)) && !accepted.includes('application/json')
    ? 'yaml'
    : 'json';
}

/** `?format=` first, then `Accept`. */
export function formatOf(req: IncomingMessage): Format {
  const format = queryParam(req, 'format');
  if (format === 'yaml' || format === 'yml') return 'yaml';
  if (format === 'json') return 'json';
  if (format !== undefined) throw new UsageError(`unknown format: ${format} (json or yaml)`);
  return formatFromAccept(req);
}

/** Whether `If-None-Match` matches `etag` (weak comparison, as RFC 9110 prescribes for GET). */
export function notModified(headers: IncomingHttpHeaders, etag: string): boolean {
  // Only If-None-Match decides: fetch() adds `Cache-Control: no-cache` to every conditional request, which
  // `fresh` would take as a reload (always 200), and we send no dates for If-Modified-Since.
  const ifNoneMatch = headers['if-none-match'];
  return ifNoneMatch !== undefined && fresh({ 'if-none-match': ifNoneMatch }, { etag });
}

/** Writes a pre-rendered body with its caching headers, or 304 when the client has it. */
export function writeRendered(
  req: IncomingMessage,
  res: ServerResponse,
  rendered: RenderedBody,
  format: Format,
  headers: Record<string, string>,
): void {
  const all: Record<string, string> = { ETag: rendered.etag, 'Cache-Control': 'no-cache', ...headers };
  if (notModified(req.headers, rendered.etag)) {
    res.writeHead(304, all);
    res.end();
    return;
  }
  all['Content-Type'] = CONTENT_TYPE[format];
  all['Content-Length'] = String(rendered.body.length);
  res.writeHead(200, all);
  res.end(req.method === 'HEAD' ? undefined : rendered.body);
}

/** Reads the raw body, refusing more than `limit` bytes (413). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new PayloadTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Deepest nesting of arrays and objects a JSON body may have (configuration files are far shallower). */
export const MAX_BODY_DEPTH = 100;

/** Parses a JSON body: 400 when it is not JSON or nests deeper than `MAX_BODY_DEPTH`. */
export function parseJsonBody(body: Buffer): unknown {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new UsageError('the body is not valid JSON');
  }
  if (nestsDeeperThan(value as JsonValue, MAX_BODY_DEPTH)) {
    throw new UsageError(`the body nests arrays and objects deeper than ${MAX_BODY_DEPTH} levels`);
  }
  return value;
}
