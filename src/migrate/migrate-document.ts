/** Up-migration of one document layer (with origins) and down-migration of a merged document. */
import type { Issue, JsonObject, Origin } from '../values/index.js';
import { parsePointer } from './json-pointer.js';
import { applyOperation, describeOperation, invertOperation } from './apply-operation.js';
import type { OperationProblem } from './apply-operation.js';
import type { MigrationStep } from './parse-migration.js';
import { PlainTree } from './plain-tree.js';
import type { LayerKind, MigrationTree, Operation } from './types.js';

/** A document with its schema version and the origin of every leaf (JSON pointer -> where it was written). */
export interface VersionedDoc {
  value: JsonObject;
  origins: Map<string, Origin>;
  version: number;
  /** Keys an override deletes (`key: !delete`), parent pointer -> keys; migrated like values (renames move them). */
  deletes?: Map<string, string[]>;
}

/** Which document is migrated: its file, namespace, and layer (inferred from the file when absent). */
export interface MigrateContext {
  file: string;
  namespace: string;
  /** `defaults` documents receive `set` values; `override` documents do not. */
  layer?: LayerKind;
}

/** Layer of a repository file: `defaults/<ns>.yaml` is the defaults document, anything else an override. */
export function layerOfFile(file: string): LayerKind {
  return /(^|\/)defaults\/[^/]+$/.test(file) ? 'defaults' : 'override';
}

/** Steps from `from` (exclusive) up to `to` (inclusive), or the first missing version. */
export function stepsBetween(
  steps: readonly MigrationStep[],
  from: number,
  to: number,
): { steps: MigrationStep[] } | { missing: number } {
  const byVersion = new Map(steps.map((step) => [step.version, step]));
  const chain: MigrationStep[] = [];
  for (let version = from + 1; version <= to; version++) {
    const step = byVersion.get(version);
    if (!step) return { missing: version };
    chain.push(step);
  }
  return { steps: chain };
}

/**
 * Runs the steps of a chain over `tree` (already checked against versions); returns problems as issue bodies.
 * Shared by the in-memory migration and the comment-preserving rewrite.
 */
export function runSteps(
  tree: MigrationTree,
  chain: readonly MigrationStep[],
  layer: LayerKind,
): Array<OperationProblem & { step: MigrationStep; index: number; op: Operation }> {
  const failures: Array<OperationProblem & { step: MigrationStep; index: number; op: Operation }> = [];
  for (const step of chain) {
    step.operations.forEach((op, index) => {
      for (const problem of applyOperation(tree, op, layer)) failures.push({ ...problem, step, index, op });
    });
    if (failures.length > 0) break; // later steps would only report consequences of this one
  }
  return failures;
}

/**
 * Runs the steps on `tree` for the file of `ctx`; resolves to an issue per failed operation, placed by `locate`
 * (none: every step applied).
 */
export function runStepsForIssues(
  tree: MigrationTree,
  chain: readonly MigrationStep[],
  ctx: MigrateContext,
  locate: (pointer: string) => object | undefined,
): Issue[] {
  return runSteps(tree, chain, ctx.layer ?? layerOfFile(ctx.file)).map((failure) => ({
    code: 'migration-failed',
    file: ctx.file,
    namespace: ctx.namespace,
    ...locate(failure.path),
    path: failure.path,
    message: failureMessage(failure),
  }));
}

/** Message of a failed operation: names the migration file, the operation number and kind. */
export function failureMessage(failure: {
  step: MigrationStep;
  index: number;
  op: Operation;
  message: string;
}): string {
  return `migration ${failure.step.file} operation #${failure.index + 1} (${describeOperation(failure.op)}): ${failure.message}`;
}

/** Migrates a document up to `target`, keeping origins of moved values; issues name file, migration and op. */
export function migrateUp(
  doc: VersionedDoc,
  steps: readonly MigrationStep[],
  target: number,
  ctx: MigrateContext,
): { doc?: VersionedDoc; issues: Issue[] } {
  const base = { file: ctx.file, namespace: ctx.namespace };
  if (!Number.isInteger(doc.version) || doc.version < 1 || doc.version > target) {
    const why =
      doc.version > target ? `above the current version ${target}` : 'not a version (integers from 1)';
    return {
      issues: [{ code: 'version-unsupported', ...base, message: `$schemaVersion ${doc.version} is ${why}` }],
    };
  }
  if (doc.version === target) return { doc, issues: [] };
  const chain = stepsBetween(steps, doc.version, target);
  if ('missing' in chain) {
    return {
      issues: [
        {
          code: 'migration-failed',
          ...base,
          message: `cannot migrate from version ${doc.version} to ${target}: no migration to version ${chain.missing}`,
        },
      ],
    };
  }
  const tree = new PlainTree(structuredClone(doc.value), doc.origins);
  if (doc.deletes) tree.markDeletes(doc.deletes);
  const failures = runStepsForIssues(tree, chain.steps, ctx, (pointer) =>
    tree.origins.nearest(parsePointer(pointer)),
  );
  if (failures.length > 0) return { issues: failures };
  const deletes = doc.deletes ? { deletes: tree.takeDeletes() } : {};
  return {
    doc: { value: tree.root, origins: tree.origins.toMap(), version: target, ...deletes },
    issues: [],
  };
}

/** Migrates a merged document down from `from` to `to` (for clients that ask for an older version). */
export function migrateDown(
  value: JsonObject,
  from: number,
  to: number,
  steps: readonly MigrationStep[],
): { value?: JsonObject; issues: Issue[] } {
  const unsupported = (message: string): { issues: Issue[] } => ({
    issues: [
      {
        code: 'version-unsupported',
        message: `cannot migrate from version ${from} down to ${to}: ${message}`,
      },
    ],
  });
  if (!Number.isInteger(to) || to < 1) return unsupported('versions start at 1');
  if (to > from) return unsupported(`${to} is above the current version`);
  if (to === from) return { value, issues: [] };
  const chain = stepsBetween(steps, to, from);
  if ('missing' in chain) return unsupported(`no migration to version ${chain.missing}`);
  const inverses: Array<{ op: Operation; original: Operation; index: number; step: MigrationStep }> = [];
  const reasons: string[] = [];
  for (const step of [...chain.steps].reverse()) {
    for (let index = step.operations.length - 1; index >= 0; index--) {
      const original = step.operations[index] as Operation;
      const inverse = invertOperation(original);
      if ('reason' in inverse) reasons.push(`${step.file} operation #${index + 1}: ${inverse.reason}`);
      else inverses.push({ op: inverse.op, original, index, step });
    }
  }
  if (reasons.length > 0) return unsupported(`not reversible: ${reasons.join('; ')}`);
  const tree = new PlainTree(structuredClone(value));
  const issues: Issue[] = [];
  for (const inverse of inverses) {
    for (const problem of applyOperation(tree, inverse.op, 'merged')) {
      issues.push({
        code: 'migration-failed',
        path: problem.path,
        message: `reverting ${failureMessage({ ...inverse, op: inverse.original, message: problem.message })}`,
      });
    }
  }
  return issues.length > 0 ? { issues } : { value: tree.root, issues };
}
