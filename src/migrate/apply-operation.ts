/** Semantics of each operation over one document (a partial layer or a merged result), up or down. */
import type { JsonValue, Origin } from '../values/index.js';
import { convertValue, convertWithTable, describeValue } from './conversions.js';
import { WILDCARD, fillWildcards, formatPointer, parsePointer } from './json-pointer.js';
import type { LayerKind, MigrationTree, NodeKind, Operation } from './types.js';

/** A problem met while applying an operation, at a concrete path of the document. */
export interface OperationProblem {
  path: string;
  message: string;
}

interface Match {
  path: string[];
  captures: string[];
}

const KIND_NAMES: Record<NodeKind, string> = {
  object: 'a mapping',
  array: 'a list',
  scalar: 'a scalar',
  null: 'null',
};

/** Human description of an operation, for messages: `rename /a -> /b`, `convert /t/* seconds -> duration`. */
export function describeOperation(op: Operation): string {
  switch (op.kind) {
    case 'rename':
      return `rename ${op.from} -> ${op.to}`;
    case 'set':
    case 'remove':
      return `${op.kind} ${op.path}`;
    case 'convert':
      return 'table' in op ? `convert ${op.path} by table` : `convert ${op.path} ${op.from} -> ${op.to}`;
  }
}

/** The inverse of an operation, or a reason why it has none. */
export function invertOperation(op: Operation): { op: Operation } | { reason: string } {
  switch (op.kind) {
    case 'rename':
      return { op: { kind: 'rename', from: op.to, to: op.from } };
    case 'set':
      return { op: { kind: 'remove', path: op.path } };
    case 'remove':
      if (op.restore === undefined) return { reason: `${describeOperation(op)} has no \`restore\` value` };
      return { op: { kind: 'set', path: op.path, value: op.restore, origins: op.origins } };
    case 'convert':
      if ('table' in op) return { op: { ...op, reverse: !op.reverse } };
      return { op: { kind: 'convert', path: op.path, from: op.to, to: op.from } };
  }
}

/**
 * Applies one operation to `tree`.
 * Absent source paths are skipped (a partial layer need not mention them); `set` only fills defaults/merged docs.
 */
export function applyOperation(tree: MigrationTree, op: Operation, layer: LayerKind): OperationProblem[] {
  const problems: OperationProblem[] = [];
  switch (op.kind) {
    case 'rename':
      renameAll(tree, parsePointer(op.from), parsePointer(op.to), problems);
      break;
    case 'set':
      if (layer !== 'override') setAll(tree, parsePointer(op.path), op.value, op.origins, problems);
      break;
    case 'remove': {
      // Last match first, so removing list items does not shift the indices of the next ones.
      const emptied = new Map<string, string[]>();
      for (const match of matchPaths(tree, parsePointer(op.path), problems).reverse()) {
        tree.remove(match.path);
        emptied.set(formatPointer(match.path.slice(0, -1)), match.path.slice(0, -1));
      }
      pruneAll(tree, emptied);
      break;
    }
    case 'convert':
      for (const match of matchPaths(tree, parsePointer(op.path), problems)) {
        // null (or a `!delete`) in a layer stands for no value: nothing to convert.
        if (tree.kind(match.path) === 'null') continue;
        const value = tree.get(match.path) as JsonValue;
        const result =
          'table' in op
            ? convertWithTable(value, op.table, op.reverse === true)
            : convertValue(value, op.from, op.to);
        if (result.ok) tree.replace(match.path, result.value);
        else problems.push({ path: formatPointer(match.path), message: result.reason });
      }
      break;
  }
  return problems;
}

/** Concrete existing paths matching a pattern; descending through a scalar is a problem, through null a skip. */
function matchPaths(tree: MigrationTree, pattern: readonly string[], problems: OperationProblem[]): Match[] {
  const matches: Match[] = [];
  const walk = (path: string[], index: number, captures: string[]): void => {
    if (index === pattern.length) {
      matches.push({ path, captures });
      return;
    }
    const kind = tree.kind(path);
    if (kind === undefined || kind === 'null') return;
    const segment = pattern[index] as string;
    if (kind === 'scalar') {
      problems.push({
        path: formatPointer(path),
        message: `expected a mapping or list to descend into, found ${describeValue(tree.get(path))}`,
      });
      return;
    }
    if (segment === WILDCARD) {
      for (const key of tree.keys(path)) walk([...path, key], index + 1, [...captures, key]);
      return;
    }
    if (kind === 'array' && !/^(0|[1-9]\d*)$/.test(segment)) {
      problems.push({
        path: formatPointer(path),
        message: `expected a mapping, found a list (segment "${segment}")`,
      });
      return;
    }
    if (tree.kind([...path, segment]) !== undefined) walk([...path, segment], index + 1, captures);
  };
  walk([], 0, []);
  return matches;
}

function renameAll(tree: MigrationTree, from: string[], to: string[], problems: OperationProblem[]): void {
  const matches = matchPaths(tree, from, problems);
  // Moving list items out shifts later indices: then take them last first (mapping keys keep their order).
  const fromList = matches.some((match) => tree.kind(match.path.slice(0, -1)) === 'array');
  const emptied = new Map<string, string[]>();
  for (const match of fromList ? matches.reverse() : matches) {
    const target = fillWildcards(to, match.captures);
    if (tree.kind(target) !== undefined) {
      problems.push({
        path: formatPointer(match.path),
        message: `target ${formatPointer(target)} already exists (${describeValue(tree.get(target))})`,
      });
      continue;
    }
    const blocked = ensureMappings(tree, target.slice(0, -1), undefined, match.path);
    if (blocked) {
      problems.push({ path: formatPointer(match.path), message: blocked });
      continue;
    }
    tree.move(match.path, target);
    emptied.set(formatPointer(match.path.slice(0, -1)), match.path.slice(0, -1));
  }
  pruneAll(tree, emptied);
}

function setAll(
  tree: MigrationTree,
  pattern: string[],
  value: JsonValue,
  origins: ReadonlyMap<string, Origin> | undefined,
  problems: OperationProblem[],
): void {
  // Wildcards only range over keys that exist; literal segments after the last wildcard are created.
  const lastWildcard = pattern.lastIndexOf(WILDCARD);
  const bases = matchPaths(tree, pattern.slice(0, lastWildcard + 1), problems);
  for (const base of bases) {
    const path = [...base.path, ...pattern.slice(lastWildcard + 1)];
    if (tree.kind(path) !== undefined) continue;
    const blocked = ensureMappings(tree, path.slice(0, -1), origins?.get(''));
    if (blocked) {
      problems.push({ path: formatPointer(path), message: blocked });
      continue;
    }
    tree.put(path, structuredClone(value), origins);
  }
}

/**
 * Creates the missing mappings along `path`; returns a message when a non-mapping is in the way. A mapping
 * created next to an ancestor of `source` is placed right after it (the rename then keeps the key order).
 */
function ensureMappings(
  tree: MigrationTree,
  path: readonly string[],
  origin: Origin | undefined,
  source?: readonly string[],
): string | undefined {
  for (let depth = 1; depth <= path.length; depth++) {
    const prefix = path.slice(0, depth);
    const kind = tree.kind(prefix);
    if (kind === undefined) {
      tree.put(
        prefix,
        {},
        origin ? new Map([['', origin]]) : undefined,
        source && siblingKey(source, prefix),
      );
    } else if (kind !== 'object') {
      return `${formatPointer(prefix)} is ${KIND_NAMES[kind]}, not a mapping`;
    }
  }
  return undefined;
}

/** Key of the ancestor of `source` that lives in the same mapping as `target`, if any. */
function siblingKey(source: readonly string[], target: readonly string[]): string | undefined {
  if (target.length > source.length) return undefined;
  for (let i = 0; i < target.length - 1; i++) if (source[i] !== target[i]) return undefined;
  return source[target.length - 1];
}

/**
 * Removes the mappings an operation emptied (the parents it took values from, and their ancestors emptied in
 * turn), up to (not including) the root. Once per parent, deepest first: checking after every move is quadratic.
 */
function pruneAll(tree: MigrationTree, parents: ReadonlyMap<string, string[]>): void {
  const deepestFirst = [...parents.values()].sort((a, b) => b.length - a.length);
  for (const path of deepestFirst) prune(tree, path);
}

function prune(tree: MigrationTree, path: readonly string[]): void {
  for (let end = path.length; end > 0; end--) {
    const prefix = path.slice(0, end);
    if (tree.kind(prefix) !== 'object' || !tree.isEmpty(prefix)) return;
    tree.remove(prefix);
  }
}
