/** Public surface of the validation engine (pure: it only reads through a `RepoSource`). */
export { evaluateRepo, listNamespaces, ENGINE_VERSION, SCHEMA_VERSION_KEY } from './evaluate.js';
export { changedNamespaces, listingDistance, listingSplice } from './layout.js';
export type { ListingSplice } from './layout.js';
export { countOverrides, withoutOrigins } from './resolve-pair.js';
export type { EvaluateOptions, EvaluationProgress, RepoEvaluator } from './evaluate.js';
export { EngineCache } from './engine-cache.js';
export { DEFAULT_YIELD_SLICE_MS, createYielder } from './event-loop-yield.js';
export type { Yielder } from './event-loop-yield.js';
export type { EngineCacheStats } from './engine-cache.js';
export { compareIssues, formatIssue, formatIssues } from './format-issue.js';
export { diffConfigs, diffValues, renderValueAtPath, valueAtPath, toPointer } from './config-diff.js';
export { memorySource } from './memory-source.js';
export { closestName, didYouMean } from './suggest.js';
export { DEFAULT_LIMITS, LIMIT_CAPS, MANIFEST_FILE, MANIFEST_SCHEMA, NAME_PATTERN } from './manifest.js';
export { DELETE_TAG, deepFreeze, nestsDeeperThan, parseYamlBytes } from './yaml-document.js';
export { VERSION_KEYWORD, SECRET_KEYWORD, validateAgainstSchema } from './schema-validator.js';
export {
  SECRET_MASK,
  SecretMatcher,
  envReferences,
  isSecretReference,
  maskChanges,
  maskSecrets,
  maskValueAt,
  plaintextSecrets,
} from './secret-fields.js';
export { SecretScopes } from './secret-scopes.js';
export type { SecretScopeEntry } from './secret-scopes.js';
export { escapeToken, parsePointer, valueAtPointer } from '../values/index.js';
export type {
  ConfigChange,
  ConfigDiff,
  Evaluation,
  Issue,
  IssueCode,
  JsonObject,
  JsonPrimitive,
  JsonValue,
  Limits,
  Manifest,
  ManifestEnvironment,
  RolloutSpec,
  NamespaceVersions,
  Origin,
  RepoSource,
  ResolvedConfig,
  TreeEntry,
  StoredValidator,
  ValidatorCodeStore,
} from './types.js';
export { editorSchema } from './editor-schema.js';
export type { EditorSchemaTarget } from './editor-schema.js';
