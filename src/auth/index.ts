/**
 * Access control of the HTTP API (bearer tokens from a server-side tokens file, scopes per namespace x
 * environment, admin). Secret fields (references, masking) live in the engine, which validation needs them for.
 */
export { AccessControl, ENABLE_WRITES_HINT, hashToken } from './access-control.js';
export type { Principal } from './access-control.js';
export { DEFAULTS_ENV, SCOPE_PATTERN, allows, globToRegExp, isAdmin, parseScope } from './scopes.js';
export type { Access, Scope } from './scopes.js';
export { loadTokensFile, parseTokensFile } from './tokens-file.js';
export type { TokenEntry } from './tokens-file.js';
export { TOKENS_FILE_SCHEMA } from './tokens-schema.js';
export { SecretResolver, secretResolverFromEnv } from './secret-resolver.js';
