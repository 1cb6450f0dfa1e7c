/**
 * Typed errors of gitcfg. Every failure a caller may want to branch on has its own class with a stable `code`
 * (isomorphic-git style). Messages must never contain secrets (tokens, passwords, webhook secrets, URLs with
 * credentials): use `redactUrl` before putting a remote URL into a message.
 */

/** Base class: `code` is stable and documented; `data` carries machine-readable details. */
export class GitcfgError extends Error {
  readonly code: string;
  readonly data: Record<string, unknown>;
  constructor(code: string, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.data = data;
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
  readonly issues: readonly import('../engine/types.js').Issue[];
  constructor(issues: readonly import('../engine/types.js').Issue[], context = 'configuration') {
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
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}
