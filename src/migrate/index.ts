/**
 * Declarative schema migrations (pure): `migrations/<namespace>/<N>.yaml` is the step from version N-1 to N.
 * Operations run over plain values (with origins) when loading, over merged values (inverses) when serving an
 * older version, and over yaml Documents (comments kept) when `gitcfg migrate --write` rewrites files.
 */
export { checkChain, parseMigration } from './parse-migration.js';
export type { MigrationStep } from './parse-migration.js';
export { layerOfFile, migrateDown, migrateUp } from './migrate-document.js';
export type { MigrateContext, VersionedDoc } from './migrate-document.js';
export { VERSION_KEY, rewriteDocument } from './document-tree.js';
export type { RewriteResult } from './document-tree.js';
export { describeOperation, invertOperation } from './apply-operation.js';
export { CONVERSION_NAMES, conversionPairs } from './conversions.js';
export type { ConversionName } from './conversions.js';
export { formatDuration, parseDuration } from './duration.js';
export { MIGRATION_FILE_SCHEMA } from './migration-schema.js';
export { unifiedDiff } from './line-diff.js';
export type {
  LayerKind,
  NamedConvertOperation,
  Operation,
  RemoveOperation,
  RenameOperation,
  SetOperation,
  TableConvertOperation,
} from './types.js';
