/**
 * Every error code gitcfg answers, throws or prints. The strings are documented API (docs/, docs/openapi.yaml):
 * add a code here, never change one.
 */
export type ErrorCode =
  // Requests and arguments.
  | 'E_USAGE'
  | 'E_NOT_FOUND'
  | 'E_UNAUTHORIZED'
  | 'E_FORBIDDEN'
  | 'E_PAYLOAD_TOO_LARGE'
  | 'E_UNSUPPORTED_MEDIA_TYPE'
  | 'E_RATE_LIMITED'
  | 'E_BUSY'
  | 'E_NOT_READY'
  | 'E_COMMIT_NOT_SERVED'
  | 'E_INTERNAL'
  // Configuration and edits.
  | 'E_INVALID_CONFIG'
  | 'E_CONFLICT'
  | 'E_PRECONDITION_FAILED'
  | 'E_PRECONDITION_REQUIRED'
  // The git remote.
  | 'E_GIT'
  | 'E_AUTH_FAILED'
  | 'E_REMOTE_UNREACHABLE'
  | 'E_PUSH_REJECTED'
  | 'E_REF_MOVED'
  | 'E_PUSH_OUTCOME_UNKNOWN'
  // State the server refuses to start with, or cannot share.
  | 'E_TOKENS_FILE'
  | 'E_PINS_FILE'
  | 'E_ROLLOUTS_FILE'
  | 'E_DATA_DIR_MISMATCH'
  | 'E_FLEET_UNAVAILABLE'
  // Webhook answers.
  | 'E_WEBHOOK_TOO_LARGE'
  | 'E_WEBHOOK_DISABLED'
  | 'E_WEBHOOK_SIGNATURE'
  | 'E_WEBHOOK_PAYLOAD'
  // Flag evaluation (OFREP).
  | 'E_FLAG_NOT_FOUND'
  | 'E_FLAG_PARSE_ERROR'
  | 'E_FLAG_INVALID_CONTEXT'
  | 'E_FLAG_TARGETING_KEY_MISSING'
  | 'E_FLAG_GENERAL'
  // The client SDK only (its `ClientErrorCode` is a subset of this union).
  | 'E_UNAVAILABLE'
  | 'E_HTTP'
  | 'E_OVERRIDE'
  | 'E_CLOSED';

/** The codes of flag evaluation failures. */
export type FlagErrorCode = Extract<ErrorCode, `E_FLAG_${string}`>;
