/**
 * Declarative schema migrations (pure). CONTRACT ONLY for now: the migrations work replaces the bodies.
 * A migration file `migrations/<namespace>/<N>.yaml` is the step from version N-1 to N.
 */
import type { Issue, JsonObject, JsonValue, Origin } from '../engine/types.js';

/** One parsed migration step (from `version - 1` to `version`). */
export interface MigrationStep {
  version: number;
  file: string;
  operations: readonly unknown[];
}

/** A document with its schema version and the origin of every leaf (JSON pointer -> where it was written). */
export interface VersionedDoc {
  value: JsonObject;
  origins: Map<string, Origin>;
  version: number;
}

/** Checks a parsed migration file (its YAML value) and returns the step, or every issue found in it. */
export function parseMigration(
  _value: JsonValue,
  file: string,
  version: number,
  _origins?: Map<string, Origin>,
): { step?: MigrationStep; issues: Issue[] } {
  return {
    issues: [{ code: 'migration-invalid', file, message: `migrations are not supported yet (version ${version})` }],
  };
}

/** Issues for a chain that cannot take documents from version 1 to `current` (gaps, steps above current). */
export function checkChain(_steps: readonly MigrationStep[], _current: number, _namespace: string): Issue[] {
  return [];
}

/** Migrates a document up to `target`, keeping origins of moved values; issues name file, migration and op. */
export function migrateUp(
  doc: VersionedDoc,
  _steps: readonly MigrationStep[],
  target: number,
  ctx: { file: string; namespace: string },
): { doc?: VersionedDoc; issues: Issue[] } {
  if (doc.version === target) return { doc, issues: [] };
  return {
    issues: [{ code: 'migration-failed', file: ctx.file, namespace: ctx.namespace, message: 'not implemented' }],
  };
}

/** Migrates a merged document down from `from` to `to` (for clients that ask for an older version). */
export function migrateDown(
  value: JsonObject,
  from: number,
  to: number,
  _steps: readonly MigrationStep[],
): { value?: JsonObject; issues: Issue[] } {
  if (from === to) return { value, issues: [] };
  return { issues: [{ code: 'version-unsupported', message: `cannot migrate from ${from} down to ${to}` }] };
}
