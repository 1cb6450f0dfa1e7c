/**
 * Typed errors of gitcfg. Every failure a caller may want to branch on has its own class with a stable `code`
 * (isomorphic-git style): callers test `instanceof <Class>`, and every code is a member of `ErrorCode`. Codes are
 * given here only (the base constructor is protected), so the union and the classes stay the one list. Messages
 * must never contain secrets (tokens, passwords, webhook secrets, URLs with credentials): use `redactUrl` before
 * putting a remote URL into a message, `redactCredentials` on foreign text.
 */
import type { Issue } from '../values/index.js';
import type { ErrorCode, FlagErrorCode } from './codes.js';

export type { ErrorCode, FlagErrorCode } from './codes.js';

/** Base class: `code` is stable and documented; `data` carries machine-readable details. */
export class GitcfgError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown>;
  protected constructor(
    code: ErrorCode,
    message: string,
    data: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.data = data;
  }

  /** The same failure (same code and data) with `note` added to its message; this error is the cause. */
  withNote(note: string): GitcfgError {
    return new GitcfgError(this.code, `${this.message}; ${note}`, this.data, { cause: this });
  }
}

/** A bug or a broken invariant of gitcfg itself (HTTP 500: logged, never detailed to the client). */
export class InternalError extends GitcfgError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('E_INTERNAL', message, data);
  }
}

/** Bad command-line or API arguments (CLI exit code 2, HTTP 400). */
export class UsageError extends GitcfgError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('E_USAGE', message, data);
  }
}

/** A namespace, environment, ref, commit or file that does not exist (HTTP 404). */
export class NotFoundError extends GitcfgError {
  constructor(what: string, name: string, data: Record<string, unknown> = {}) {
    super('E_NOT_FOUND', `${what} not found: ${name}`, { what, name, ...data });
  }
}

/** The configuration repository is invalid; `issues` lists every problem found (never just the first). */
export class InvalidConfigError extends GitcfgError {
  readonly issues: readonly Issue[];
  constructor(issues: readonly Issue[], context = 'configuration') {
    super('E_INVALID_CONFIG', `${context} is invalid: ${issues.length} issue(s)`, { count: issues.length });
    this.issues = issues;
  }
}

/** A git operation failed (remote down, missing object, rejected push...). */
export class GitOperationError extends GitcfgError {
  constructor(operation: string, message: string, data: Record<string, unknown> = {}, cause?: unknown) {
    super('E_GIT', `git ${operation} failed: ${message}`, { operation, ...data }, { cause });
  }
}

/** A request body is not of a media type the route accepts (HTTP 415). */
export class UnsupportedMediaTypeError extends GitcfgError {
  constructor(type: string, expected: string) {
    super('E_UNSUPPORTED_MEDIA_TYPE', `unsupported Content-Type ${JSON.stringify(type)}: use ${expected}`);
  }
}

/** A request body over the route's limit (HTTP 413). */
export class PayloadTooLargeError extends GitcfgError {
  constructor(limit: number) {
    super('E_PAYLOAD_TOO_LARGE', `request body larger than ${limit} bytes`, { limit });
  }
}

/** No snapshot loaded yet (HTTP 503). */
export class NotReadyError extends GitcfgError {
  constructor() {
    super('E_NOT_READY', 'no snapshot loaded yet');
  }
}

/** Over a rate limit of a route class (`cheap`, `expensive`...): HTTP 429 with `Retry-After`. */
export class RateLimitedError extends GitcfgError {
  constructor(routeClass: string, retryAfterSeconds: number, headers: Record<string, string>) {
    super('E_RATE_LIMITED', `too many ${routeClass} requests: retry after ${retryAfterSeconds} s`, {
      routeClass,
      retryAfter: retryAfterSeconds,
      headers: { ...headers, 'Retry-After': String(retryAfterSeconds) },
    });
  }
}

/** The expensive-work queue is full or waited too long: HTTP 503 with `Retry-After`. */
export class BusyError extends GitcfgError {
  constructor(retryAfterSeconds: number) {
    super('E_BUSY', `the server is busy with expensive requests: retry after ${retryAfterSeconds} s`, {
      retryAfter: retryAfterSeconds,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
  }
}

/** URL userinfo (`//user:password@`) anywhere in a text; it ends at the first `/`, `@` or line break. */
const USERINFO = /\/\/[^/@\r\n]*@/g;

/** Removes credentials from a URL so it can be logged or shown. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = u.password ? '***' : '';
    }
    return u.toString();
  } catch {
    return redactCredentials(url);
  }
}

/**
 * Removes credentials from any text (a message, a log line, a URL that does not parse): every URL userinfo
 * becomes `***`, and so does every occurrence of `secrets` (known passwords and tokens, 3 characters or more).
 */
export function redactCredentials(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(USERINFO, '//***@');
  for (const secret of secrets) {
    if (secret && secret.length >= 3) out = out.split(secret).join('***');
  }
  return out;
}

/** A URL with its user and password removed (to record or compare it; credentials are never an identity). */
export function stripUrlCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(USERINFO, '//');
  }
}

/** The git remote could not be reached (connection refused, DNS failure, timeout, HTTP 5xx). */
export class RemoteUnreachableError extends GitOperationError {
  override readonly code: ErrorCode = 'E_REMOTE_UNREACHABLE';
}

/**
 * A push whose answer was lost, and the remote could not be asked afterwards whether it took the commit (HTTP
 * 504): the commit may be live or not. `data.commit` names it, so the caller can check before retrying.
 */
export class PushOutcomeUnknownError extends GitcfgError {
  constructor(commit: string, branch: string, cause?: unknown) {
    super(
      'E_PUSH_OUTCOME_UNKNOWN',
      `outcome unknown: commit ${commit} may or may not be on branch ${branch} (the remote's answer to the push was lost and it cannot be asked now); check the branch before retrying`,
      { commit, branch },
      { cause },
    );
  }
}

/** The git remote refused the credentials (HTTP 401/403). */
export class AuthFailedError extends GitOperationError {
  override readonly code: ErrorCode = 'E_AUTH_FAILED';
}

/** The remote refused a push (it moved: not a fast-forward, or a hook declined it). */
export class PushRejectedError extends GitOperationError {
  override readonly code: ErrorCode = 'E_PUSH_REJECTED';
}

/** A branch no longer points at the commit a change was built on (compare-and-swap lost). */
export class RefMovedError extends GitOperationError {
  override readonly code: ErrorCode = 'E_REF_MOVED';
}

/** No valid bearer token was presented (HTTP 401 with `WWW-Authenticate: Bearer`). */
export class UnauthorizedError extends GitcfgError {
  constructor(message = 'a valid bearer token is required', data: Record<string, unknown> = {}) {
    super('E_UNAUTHORIZED', message, data);
  }
}

/** The token is valid but its scopes do not allow the request (HTTP 403). */
export class ForbiddenError extends GitcfgError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('E_FORBIDDEN', message, data);
  }
}

/** The tokens file is missing, unreadable or invalid (fails the server at start; never echoes hashes). */
export class TokensFileError extends GitcfgError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('E_TOKENS_FILE', message, data);
  }
}

/** `If-Match` does not match the current version of what is edited (HTTP 412). */
export class PreconditionFailedError extends GitcfgError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('E_PRECONDITION_FAILED', message, data);
  }
}

/** An edit came without `If-Match` / `If-None-Match` (HTTP 428). */
export class PreconditionRequiredError extends GitcfgError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('E_PRECONDITION_REQUIRED', message, data);
  }
}

/** A change cannot be applied cleanly: a conflicting revert, or the branch kept moving (HTTP 409). */
export class ConflictError extends GitcfgError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('E_CONFLICT', message, data);
  }
}

/**
 * A read asked for a commit (`Gitcfg-Min-Commit`) this replica has not promoted within the bounded wait (HTTP 503
 * with `Retry-After`): answering an older value would break read-your-writes.
 */
export class CommitNotServedError extends GitcfgError {
  constructor(commit: string, waitedMs: number, retryAfterSeconds: number) {
    super(
      'E_COMMIT_NOT_SERVED',
      `commit ${commit} is not served by this replica yet: retry after ${retryAfterSeconds} s`,
      { minCommit: commit, waitedMs, headers: { 'Retry-After': String(retryAfterSeconds) } },
    );
  }
}

/** Shared fleet state (Redis) is unreachable and the operation must not diverge from the fleet (HTTP 503). */
export class FleetUnavailableError extends GitcfgError {
  constructor(message: string, retryAfterSeconds = 5) {
    super('E_FLEET_UNAVAILABLE', message, { headers: { 'Retry-After': String(retryAfterSeconds) } });
  }
}

/**
 * The data dir holds the mirror, snapshot, history index and pins of another repository, branch or config root
 * (or a record that cannot be read): the server refuses to start rather than serve or discard them.
 */
export class DataDirMismatchError extends GitcfgError {
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('E_DATA_DIR_MISMATCH', message, data);
  }
}

/** The pins file could not be read or is damaged (the server refuses to start rather than serve unpinned). */
export class PinsFileError extends GitcfgError {
  constructor(message: string) {
    super('E_PINS_FILE', message);
  }
}

/** The rollouts file cannot be read (the server refuses to start rather than serve the candidate to all). */
export class RolloutsFileError extends GitcfgError {
  constructor(message: string) {
    super('E_ROLLOUTS_FILE', message);
  }
}

/** Error codes of the OpenFeature Remote Evaluation Protocol (OFREP) that gitcfg answers with. */
export type OfrepErrorCode =
  'FLAG_NOT_FOUND' | 'PARSE_ERROR' | 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'GENERAL';

/** A flag evaluation failed; OFREP routes answer `{key, errorCode, errorDetails}` as the protocol requires. */
export class FlagEvaluationError extends GitcfgError {
  readonly ofrepCode: OfrepErrorCode;
  readonly flagKey: string | undefined;
  constructor(code: FlagErrorCode, ofrepCode: OfrepErrorCode, message: string, flagKey?: string) {
    super(code, message, flagKey === undefined ? {} : { key: flagKey });
    this.ofrepCode = ofrepCode;
    this.flagKey = flagKey;
  }
}

/** No flag of that key in the environment, or the flag is disabled (HTTP 404). */
export class FlagNotFoundError extends FlagEvaluationError {
  constructor(key: string, disabled = false) {
    super(
      'E_FLAG_NOT_FOUND',
      'FLAG_NOT_FOUND',
      `flag ${disabled ? 'is disabled' : 'not found'}: ${key}`,
      key,
    );
  }
}

/** The request body is not JSON (HTTP 400). */
export class FlagRequestParseError extends FlagEvaluationError {
  constructor(message: string, key?: string) {
    super('E_FLAG_PARSE_ERROR', 'PARSE_ERROR', message, key);
  }
}

/** The request's `context` is not an evaluation context (HTTP 400). */
export class FlagContextInvalidError extends FlagEvaluationError {
  constructor(message: string, key?: string) {
    super('E_FLAG_INVALID_CONTEXT', 'INVALID_CONTEXT', message, key);
  }
}

/** A percentage rollout (`fractional`) needs `context.targetingKey` and none was given (HTTP 400). */
export class FlagTargetingKeyMissingError extends FlagEvaluationError {
  constructor(key: string) {
    super(
      'E_FLAG_TARGETING_KEY_MISSING',
      'TARGETING_KEY_MISSING',
      `flag ${key} splits by targetingKey: the context needs one`,
      key,
    );
  }
}

/** The flag's targeting failed at evaluation time, or chose no variant (HTTP 400, OFREP `GENERAL`). */
export class FlagTargetingError extends FlagEvaluationError {
  constructor(key: string, message: string) {
    super('E_FLAG_GENERAL', 'GENERAL', message, key);
  }
}
