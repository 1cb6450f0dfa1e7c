/** Turns isomorphic-git and network failures into typed errors whose messages carry no credentials. */
import {
  AuthFailedError,
  GitOperationError,
  PushRejectedError,
  RemoteUnreachableError,
  redactCredentials,
  redactUrl,
} from '../errors/index.js';
import { isGitError } from './object-store.js';
import type { RemoteAuth } from './types.js';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/** Removes every credential (URL userinfo, the auth values) from a message. */
export function scrub(text: string, url: string, auth?: RemoteAuth): string {
  return redactCredentials(text.split(url).join(redactUrl(url)), [
    auth?.password,
    auth?.token,
    safeDecode(userinfoPassword(url)),
  ]);
}

function userinfoPassword(url: string): string | undefined {
  try {
    return new URL(url).password || undefined;
  } catch {
    return undefined;
  }
}

function safeDecode(s: string | undefined): string | undefined {
  if (!s) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Whether an error comes from the network or the remote rather than from local data. */
export function isRemoteFailure(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  if (code && NETWORK_CODES.has(code)) return true;
  return [
    'HttpError',
    'SmartHttpError',
    'UserCanceledError',
    'GitPushError',
    'PushRejectedError',
    'UrlParseError',
    'UnknownTransportError',
    'RemoteCapabilityError',
    'EmptyServerResponseError',
  ].includes(code ?? '');
}

/** Maps a fetch/clone/push failure to a typed error. */
export function remoteError(
  operation: string,
  err: unknown,
  url: string,
  auth?: RemoteAuth,
): GitOperationError {
  const safeUrl = redactUrl(url);
  const raw = err instanceof Error ? err.message : String(err);
  const detail = scrub(raw, url, auth);
  const code = (err as { code?: string } | null)?.code;
  const status = (err as { data?: { statusCode?: number } } | null)?.data?.statusCode;
  // The cause is rebuilt from the scrubbed message: the original may quote the URL with its credentials.
  const cause = Object.assign(new Error(detail), { code });
  const data = { url: safeUrl, cause: code };
  if (code && NETWORK_CODES.has(code)) {
    return new RemoteUnreachableError(operation, `remote ${safeUrl} unreachable (${code})`, data, cause);
  }
  if (isGitError(err, 'HttpError') || isGitError(err, 'UserCanceledError')) {
    if (status === 401 || status === 403 || isGitError(err, 'UserCanceledError')) {
      return new AuthFailedError(
        operation,
        `remote ${safeUrl} refused the credentials (HTTP ${status ?? 401})`,
        data,
        cause,
      );
    }
    if (status !== undefined && (status >= 500 || status === 408 || status === 429)) {
      return new RemoteUnreachableError(
        operation,
        `remote ${safeUrl} unavailable (HTTP ${status})`,
        data,
        cause,
      );
    }
    return new GitOperationError(operation, `remote ${safeUrl} answered HTTP ${status ?? '?'}`, data, cause);
  }
  if (isGitError(err, 'PushRejectedError') || isGitError(err, 'GitPushError')) {
    return new PushRejectedError(operation, `remote ${safeUrl} rejected the push: ${detail}`, data, cause);
  }
  return new GitOperationError(operation, `${detail} (remote ${safeUrl})`, data, cause);
}

/** Headers that send `auth` up front (isomorphic-git's onAuth alone would cost a 401 round trip). */
export function authHeaders(auth: RemoteAuth | undefined): Record<string, string> {
  if (!auth || (!auth.password && !auth.token && !auth.username)) return {};
  const username = auth.username ?? (auth.token ? 'x-access-token' : '');
  const password = auth.token ?? auth.password ?? '';
  return { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}
