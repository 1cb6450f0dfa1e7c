/** Errors raised by the client SDK; `code` is stable so services can branch on it. */
import { GitcfgError } from '../errors/index.js';

/** Stable codes of client errors. */
export type ClientErrorCode =
  | 'E_UNAVAILABLE' // server unreachable (or 5xx) and nothing cached
  | 'E_NOT_FOUND' // unknown namespace / environment, or `path` missing in the document
  | 'E_UNAUTHORIZED' // 401 / 403 from the server
  | 'E_HTTP' // any other unexpected HTTP answer
  | 'E_OVERRIDE' // an environment-variable override that cannot be applied
  | 'E_USAGE' // bad arguments
  | 'E_CLOSED'; // the client was closed

/** A failure of the client SDK; `data` carries the details (status, url without credentials, cache path...). */
export class GitcfgClientError extends GitcfgError {
  declare readonly code: ClientErrorCode;
  constructor(code: ClientErrorCode, message: string, data: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, data, cause === undefined ? undefined : { cause });
  }
}
