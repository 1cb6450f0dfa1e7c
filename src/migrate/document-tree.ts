/** Comment-preserving rewrite of a YAML document: the operations edit the yaml Document in place. */
import {
  LineCounter,
  Pair,
  Scalar,
  YAMLMap,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseDocument,
  visit,
} from 'yaml';
import type { Document, Node, ScalarTag, YAMLSeq } from 'yaml';
import type { Issue, JsonObject, JsonValue } from '../values/index.js';
import { parsePointer } from './json-pointer.js';
import { migrateUp, runStepsForIssues, stepsBetween } from './migrate-document.js';
import type { MigrateContext } from './migrate-document.js';
import type { MigrationStep } from './parse-migration.js';
import type { MigrationTree, NodeKind } from './types.js';

/** The top-level key holding a document's schema version (absent = 1). */
export const VERSION_KEY = '$schemaVersion';

/** `key: !delete` in overrides (the engine's tag): kept as is, a null value for the operations. */
const deleteTag: ScalarTag = {
  tag: '!delete',
  identify: () => false,
  resolve: () => null,
  stringify: () => '',
};

type Parent = { node: YAMLMap | YAMLSeq; key: string };

/** {@link MigrationTree} over a yaml Document: edits nodes in place so comments and key order survive. */
export class DocumentTree implements MigrationTree {
  /** Wraps a document whose contents is a mapping (without its `$schemaVersion` pair). */
  /** Entries this rewrite added: a removed entry's comment moves to the one that took its place. */
  private readonly added = new WeakSet<Pair>();
  private readonly indexes = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(
    private readonly doc: Document,
    private readonly root: YAMLMap,
  ) {}

  kind(path: readonly string[]): NodeKind | undefined {
    const node = this.node(path);
    if (node === undefined) return undefined;
    if (node === null) return 'null';
    if (isMap(node)) return 'object';
    if (isSeq(node)) return 'array';
    return isScalar(node) && node.value === null ? 'null' : 'scalar';
  }

  keys(path: readonly string[]): string[] {
    const node = this.node(path);
    if (isMap(node)) return node.items.map((pair) => keyText(pair.key));
    if (isSeq(node)) return node.items.map((_, i) => String(i));
    return [];
  }

  isEmpty(path: readonly string[]): boolean {
    const node = this.node(path);
    return !(isMap(node) || isSeq(node)) || node.items.length === 0;
  }

  get(path: readonly string[]): JsonValue | undefined {
    const node = this.node(path);
    if (node === undefined || node === null) return node ?? undefined;
    return node.toJS(this.doc) as JsonValue;
  }

  put(path: readonly string[], value: JsonValue, _origins?: unknown, after?: string): void {
    const parent = this.parent(path).node as YAMLMap;
    const pair = new Pair(new Scalar(path[path.length - 1]), this.doc.createNode(value));
    this.added.add(pair);
    this.insert(parent, pair, after);
  }

  replace(path: readonly string[], value: JsonValue): void {
    const { node: parent, key } = this.parent(path);
    const old = this.node(path);
    const next = this.doc.createNode(value) as Node;
    if (isNode(old)) {
      // Comments stay with the value: on the new scalar, or on the single item a scalar was wrapped into.
      const holder = isScalar(next) ? next : isSeq(next) && isScalar(next.items[0]) ? next.items[0] : next;
      if (old.comment) holder.comment = old.comment;
      if (old.commentBefore) next.commentBefore = old.commentBefore;
      if (old.spaceBefore) next.spaceBefore = true;
    }
    if (isMap(parent)) (this.pairOf(parent, key) as Pair).value = next;
    else parent.items[Number(key)] = next;
  }

  remove(path: readonly string[]): void {
    const { node: parent, key } = this.parent(path);
    if (isSeq(parent)) {
      parent.items.splice(Number(key), 1);
      return;
    }
    const removed = this.pairOf(parent, key) as Pair;
    const index = parent.items.indexOf(removed);
    parent.items.splice(index, 1);
    this.keyIndex(parent).delete(key);
    const comment = isScalar(removed.key) ? removed.key.commentBefore : undefined;
    if (!comment || !isScalar(removed.key)) return;
    const next = parent.items[index];
    if (next && this.added.has(next) && isScalar(next.key) && !next.key.commentBefore) {
      next.key.commentBefore = comment;
      next.key.spaceBefore = removed.key.spaceBefore;
    } else if (parent === this.root && index === 0 && !this.doc.commentBefore) {
      this.doc.commentBefore = comment; // a comment atop the file is its header
    }
  }

  move(from: readonly string[], to: readonly string[]): void {
    const source = this.parent(from);
    const target = this.parent(to);
    const newKey = to[to.length - 1] as string;
    let pair: Pair;
    if (isMap(source.node)) {
      pair = this.pairOf(source.node, source.key) as Pair;
      this.keyIndex(source.node).delete(source.key);
      pair.key = isScalar(pair.key) ? Object.assign(pair.key, { value: newKey }) : new Scalar(newKey);
      if (source.node === target.node) {
        // Same mapping: the key is renamed in place, so the entry keeps its position and comments.
        this.keyIndex(source.node).set(newKey, pair);
        return;
      }
      source.node.items.splice(source.node.items.indexOf(pair), 1);
    } else {
      const [item] = source.node.items.splice(Number(source.key), 1);
      pair = new Pair(new Scalar(newKey), item);
    }
    this.insert(target.node as YAMLMap, pair, siblingOf(from, to));
  }

  /** The node at `path`: undefined when absent, null for an empty value; aliases are followed. */
  node(path: readonly string[]): Node | null | undefined {
    let current: unknown = this.root;
    for (const segment of path) {
      if (isAlias(current)) current = current.resolve(this.doc);
      if (isMap(current)) {
        const pair = this.pairOf(current, segment);
        if (!pair) return undefined;
        current = pair.value ?? null;
      } else if (isSeq(current)) {
        if (!/^(0|[1-9]\d*)$/.test(segment) || Number(segment) >= current.items.length) return undefined;
        current = current.items[Number(segment)] ?? null;
      } else {
        return undefined;
      }
    }
    if (isAlias(current)) current = current.resolve(this.doc);
    return current as Node | null;
  }

  private parent(path: readonly string[]): Parent {
    return { node: this.node(path.slice(0, -1)) as Parent['node'], key: path[path.length - 1] as string };
  }

  /** Adds a pair after the key `after` when the mapping has it, else at the end. */
  private insert(map: YAMLMap, pair: Pair, after: string | undefined): void {
    const sibling = after === undefined ? undefined : this.pairOf(map, after);
    if (sibling) map.items.splice(map.items.indexOf(sibling) + 1, 0, pair);
    else map.items.push(pair);
    this.keyIndex(map).set(keyText(pair.key), pair);
  }

  private pairOf(map: YAMLMap, key: string): Pair | undefined {
    return this.keyIndex(map).get(key);
  }

  /** Key -> entry of a mapping, built on first use and kept up to date by the edits above (lookups are hot). */
  private keyIndex(map: YAMLMap): Map<string, Pair> {
    let index = this.indexes.get(map);
    if (!index) {
      index = new Map(map.items.map((pair) => [keyText(pair.key), pair as Pair]));
      this.indexes.set(map, index);
    }
    return index;
  }
}

/**
 * When `target` lands in a mapping that also holds an ancestor of `source`, the key of that ancestor: the
 * moved or created entry goes right after it, so it takes the place of what it replaces.
 */
function siblingOf(source: readonly string[], target: readonly string[]): string | undefined {
  const depth = target.length;
  if (depth > source.length) return undefined;
  for (let i = 0; i < depth - 1; i++) if (source[i] !== target[i]) return undefined;
  return source[depth - 1];
}

/** JSON with mapping keys sorted (key order is presentation, not meaning). */
function canonicalJson(value: JsonValue): string {
  return JSON.stringify(value, (_key, item: JsonValue) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

/** The first key node that repeats a key of the same mapping, if any (linear, unlike yaml's `uniqueKeys`). */
function duplicateKey(doc: Document): Scalar | undefined {
  let found: Scalar | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = keyText(pair.key);
        if (seen.has(key)) {
          found = isScalar(pair.key) ? pair.key : new Scalar(key);
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
}

function keyText(key: unknown): string {
  return String(isScalar(key) ? key.value : key);
}

/** Result of rewriting one file: the new text (undefined when already current) and the version it was at. */
export interface RewriteResult {
  text?: string;
  fromVersion?: number;
  issues: Issue[];
}

/**
 * Rewrites the text of a document below `current` to `current`, editing the YAML in place (comments, key order
 * and untouched formatting survive) and updating `$schemaVersion`. The result is checked against `migrateUp`.
 */
export function rewriteDocument(
  source: string,
  steps: readonly MigrationStep[],
  current: number,
  ctx: MigrateContext,
): RewriteResult {
  const base = { file: ctx.file, namespace: ctx.namespace };
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, {
    lineCounter,
    uniqueKeys: false, // yaml's own check is quadratic in the size of a mapping; see duplicateKey()
    prettyErrors: false,
    customTags: [deleteTag],
  });
  if (doc.errors.length > 0) {
    const error = doc.errors[0];
    const pos = error?.linePos?.[0];
    return {
      issues: [
        {
          code: 'yaml-syntax',
          ...base,
          ...(pos ? { line: pos.line, column: pos.col } : {}),
          message: error?.message ?? '',
        },
      ],
    };
  }
  const duplicate = duplicateKey(doc);
  if (duplicate) {
    const pos = duplicate.range ? lineCounter.linePos(duplicate.range[0]) : undefined;
    return {
      issues: [
        {
          code: 'yaml-duplicate-key',
          ...base,
          ...(pos ? { line: pos.line, column: pos.col } : {}),
          message: `duplicate key "${keyText(duplicate)}"`,
        },
      ],
    };
  }
  if (doc.contents === null) doc.contents = new YAMLMap() as unknown as typeof doc.contents;
  const root = doc.contents;
  if (!isMap(root))
    return { issues: [{ code: 'yaml-not-mapping', ...base, message: 'the document is not a mapping' }] };
  const versionIndex = root.items.findIndex((pair) => keyText(pair.key) === VERSION_KEY);
  const versionPair = versionIndex === -1 ? undefined : root.items[versionIndex];
  const version = versionPair ? (versionPair.value as Node | null)?.toJS(doc) : 1;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1 || version > current) {
    const why =
      typeof version === 'number' && version > current ? `above the current version ${current}` : 'invalid';
    return {
      issues: [
        { code: 'version-unsupported', ...base, message: `${VERSION_KEY} ${String(version)} is ${why}` },
      ],
    };
  }
  if (version === current) return { fromVersion: version, issues: [] };
  const chain = stepsBetween(steps, version, current);
  if ('missing' in chain) {
    return {
      issues: [{ code: 'migration-failed', ...base, message: `no migration to version ${chain.missing}` }],
    };
  }
  if (versionPair) root.items.splice(versionIndex, 1);
  keepHeaderComment(doc, root);
  const before = (root.toJS(doc) ?? {}) as JsonObject;
  const tree = new DocumentTree(doc, root);
  const failures = runStepsForIssues(tree, chain.steps, ctx, (pointer) =>
    positionIn(tree, lineCounter, pointer),
  );
  if (failures.length > 0) return { issues: failures };
  // Both implementations of the operations must agree (they can differ with anchors/aliases shared by values).
  const expected = migrateUp({ value: before, origins: new Map(), version }, steps, current, ctx);
  const after = root.toJS(doc) as JsonObject;
  if (!expected.doc || canonicalJson(expected.doc.value) !== canonicalJson(after)) {
    return {
      issues: [
        {
          code: 'migration-failed',
          ...base,
          message:
            'cannot rewrite this file in place (values shared through YAML anchors/aliases?): edit it by hand',
        },
      ],
    };
  }
  setVersion(doc, root, versionPair, versionIndex, current);
  // yaml prints an empty tagged scalar as `!delete ` (trailing space): drop the space.
  const text = doc.toString(stringifyOptions(source)).replace(/(: |- )!delete +$/gm, '$1!delete');
  return { text, fromVersion: version, issues: [] };
}

/** Puts `$schemaVersion: current` back where it was, or first (below the comment that opens the file). */
function setVersion(
  doc: Document,
  root: YAMLMap,
  existing: Pair | undefined,
  index: number,
  current: number,
): void {
  if (existing) {
    const old = existing.value;
    const value = new Scalar(current);
    if (isScalar(old) && old.comment) value.comment = old.comment;
    existing.value = value;
    root.items.splice(Math.min(index, root.items.length), 0, existing);
    return;
  }
  const key = new Scalar(VERSION_KEY);
  const first = root.items[0];
  if (!doc.commentBefore && first && isScalar(first.key) && first.key.commentBefore) {
    // A comment that opens the file describes the file: it stays first.
    key.commentBefore = first.key.commentBefore;
    first.key.commentBefore = undefined;
  }
  root.items.unshift(new Pair(key, new Scalar(current)));
}

/**
 * yaml attaches a file's header comment to the first key when more comments follow the blank line after it;
 * move it to the document so it stays at the top whatever happens to that key.
 */
function keepHeaderComment(doc: Document, root: YAMLMap): void {
  const first = root.items[0];
  if (doc.commentBefore || !first || !isScalar(first.key)) return;
  const comment = first.key.commentBefore;
  const split = comment?.lastIndexOf('\n\n') ?? -1;
  if (comment === undefined || comment === null || split === -1) return;
  doc.commentBefore = comment.slice(0, split);
  first.key.commentBefore = comment.slice(split + 2);
  first.key.spaceBefore = true;
}

/** Output options matching the source's indentation and list/flow style; never folds long lines. */
function stringifyOptions(source: string): {
  indent: number;
  indentSeq: boolean;
  lineWidth: number;
  flowCollectionPadding: boolean;
} {
  const indents = [...source.matchAll(/^( +)[^\s#]/gm)].map((match) => (match[1] as string).length);
  const indent = indents.length > 0 ? Math.min(...indents) : 2;
  return {
    indent: Math.min(Math.max(indent, 1), 8),
    // `key:` followed by `- item` at the same indentation: lists are not indented below their key.
    indentSeq: !/^( *)[^\s#-][^\n]*:[ \t]*(#[^\n]*)?\n\1- /m.test(source),
    lineWidth: 0,
    flowCollectionPadding: /[[{] [^\s\]}]/.test(source),
  };
}

function positionIn(
  tree: DocumentTree,
  lineCounter: LineCounter,
  pointer: string,
): { line?: number; column?: number } {
  const path = parsePointer(pointer);
  for (let depth = path.length; depth >= 0; depth--) {
    const node = tree.node(path.slice(0, depth));
    if (isNode(node) && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return {};
}
