/**
 * gitcfg client SDK (`gitcfg/client`): typed, cached, watchable access to config served by a gitcfg server.
 * No server code is imported from here: only global `fetch` and node:fs.
 */
export { createClient } from './client.js';
export { defaultClientId } from './transport.js';
/** The subtree at a path (`a.b.1` or `/a/b/1`): the syntax of the server's `?path=` too. */
export { valueAtPath } from '../values/index.js';
export type {
  ClientLogger,
  ClientOptions,
  ConfigChange,
  ConfigMetadata,
  ConfigResult,
  ConfigSource,
  GetOptions,
  GitcfgClient,
  NamespaceName,
  UntypedNamespaces,
  WatchOptions,
} from './types.js';
export { GitcfgClientError } from './errors.js';
export type { ClientErrorCode } from './errors.js';
export {
  ENV_OVERRIDE_PREFIX,
  applyEnvOverrides,
  coerceEnvValue,
  envKey,
  parseEnvOverrides,
} from './env-overrides.js';
export type { AppliedOverride, EnvOverride, OverrideIssue } from './env-overrides.js';
export { backoffDelay } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export {
  CACHE_FORMAT,
  CACHE_FORMAT_VERSION,
  cacheFilePath,
  parseCacheRecord,
  readCacheFile,
  serializeCacheRecord,
  writeCacheFile,
} from './disk-cache.js';
export type { CacheRecord } from './disk-cache.js';
export type { JsonObject, JsonValue } from '../values/index.js';
