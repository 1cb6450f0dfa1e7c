/**
 * Reading one file: size and UTF-8 checks, YAML parsing with positions, limits and the `!delete` tag, JSON parsing.
 * Results are path-free (positions only) so they can be cached by blob oid and shared by identical files.
 */
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Document, Node as YamlNode, ScalarTag } from 'yaml';
import { escapeToken, setKey } from '../values/index.js';
import type { IssueCode, JsonObject, JsonValue, Limits, Origin } from './types.js';

/** The YAML tag that deletes an inherited key in an environment override (`key: !delete`). */
export const DELETE_TAG = '!delete';

/** Nesting deeper than this is refused (protects the recursive walk and later consumers). */
export const MAX_DEPTH = 128;

/** At most this many distinct YAML errors are reported per file. */
const MAX_SYNTAX_ISSUES = 20;

/** An issue found inside one file; the caller adds the file name. */
export interface LocalIssue {
  code: IssueCode;
  message: string;
  line?: number;
  column?: number;
  path?: string;
}

/** 1-based position of a node. */
export interface Position {
  line: number;
  column: number;
  /** Where the key of a scalar value starts, when it is not at the value (messages about the key point here). */
  keyLine?: number;
  keyColumn?: number;
}

/** A parsed YAML mapping with the position of every key/value, independent of the file's path. */
export interface ParsedYaml {
  /** False when the file has issues that make its value unusable. */
  ok: boolean;
  value: JsonObject;
  /** JSON pointer -> position (leaves: the value; containers: the key; root: the document start). */
  positions: Map<string, Position>;
  /** Keys marked `!delete`: parent pointer -> keys. */
  deletes: Map<string, string[]>;
  /** Position of each `!delete` (by pointer of the deleted key), for error messages. */
  deletePositions: Map<string, Position>;
  /** Mappings that contain nothing but `!delete` keys (recursively): they set nothing. */
  deleteOnly: Set<string>;
  issues: LocalIssue[];
}

const deleteTag: ScalarTag = {
  tag: DELETE_TAG,
  identify: () => false,
  resolve: () => null,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Checks the size limit and decodes strict UTF-8; returns the text or the issue. */
export function decodeText(bytes: Uint8Array, limits: Limits): { text?: string; issue?: LocalIssue } {
  if (bytes.byteLength > limits.maxFileBytes) {
    return {
      issue: {
        code: 'file-too-large',
        message: `file is ${bytes.byteLength} bytes, above the limit of ${limits.maxFileBytes} bytes (maxFileBytes)`,
      },
    };
  }
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    return { issue: { code: 'file-not-utf8', message: 'file is not valid UTF-8' } };
  }
}

function failed(issue: LocalIssue): ParsedYaml {
  return {
    ok: false,
    value: {},
    positions: new Map(),
    deletes: new Map(),
    deletePositions: new Map(),
    deleteOnly: new Set(),
    issues: [issue],
  };
}

/** Parses a YAML file whose top level must be a mapping (empty or comment-only file = `{}`). */
export function parseYamlBytes(bytes: Uint8Array, limits: Limits): ParsedYaml {
  const decoded = decodeText(bytes, limits);
  if (decoded.text === undefined) return failed(decoded.issue!);
  return parseYamlText(decoded.text, limits);
}

/** Parses YAML text (see `parseYamlBytes`). */
export function parseYamlText(text: string, limits: Limits): ParsedYaml {
  const lc = new LineCounter();
  const at = (offset: number | undefined): Position => {
    const p = lc.linePos(offset ?? 0);
    return { line: p.line, column: p.col };
  };
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, {
      lineCounter: lc,
      // yaml's own duplicate-key check is quadratic in the keys of a mapping (seconds for a 1 MiB file);
      // the conversion to JSON below reports them in linear time instead.
      uniqueKeys: false,
      prettyErrors: false,
      customTags: [deleteTag],
    });
  } catch (err) {
    // The parser is recursive: absurd nesting may overflow the stack.
    return failed({ code: 'yaml-syntax', message: `cannot parse YAML: ${(err as Error).message}` });
  }
  const issues: LocalIssue[] = [];
  const seen = new Set<string>();
  for (const e of doc.errors) {
    // One broken construct can cascade (e.g. a stack overflow per nesting level): keep distinct messages only.
    if (seen.has(e.message) || seen.size >= MAX_SYNTAX_ISSUES) continue;
    seen.add(e.message);
    const opening = e.code === 'MISSING_CHAR' ? unclosedQuoteStart(doc, e.pos[0]) : undefined;
    issues.push({
      code: e.code === 'DUPLICATE_KEY' ? 'yaml-duplicate-key' : 'yaml-syntax',
      message:
        e.code === 'DUPLICATE_KEY'
          ? 'duplicate key (map keys must be unique)'
          : opening !== undefined
            ? 'quoted string is never closed (it runs to the end of the file)'
            : firstLine(e.message),
      ...at(opening ?? e.pos[0]),
    });
  }
  for (const w of doc.warnings) {
    // `!delete` on a collection is reported by yaml as an unresolved tag.
    const misplacedDelete = w.code === 'TAG_RESOLVE_FAILED' && w.message.includes(DELETE_TAG);
    issues.push({
      code: misplacedDelete
        ? 'delete-misplaced'
        : w.code === 'TAG_RESOLVE_FAILED'
          ? 'yaml-unsupported'
          : 'yaml-syntax',
      message: misplacedDelete ? `${DELETE_TAG} takes no value` : firstLine(w.message),
      ...at(w.pos[0]),
    });
  }
  if (doc.errors.length > 0) return { ...failed(issues[0]!), issues };

  if (limits.maxAliasCount >= 0 && text.includes('*')) {
    try {
      if (hasAlias(doc)) doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (err) {
      const aliasLimit = err instanceof ReferenceError;
      issues.push({
        code: aliasLimit ? 'yaml-alias-limit' : 'yaml-unsupported',
        message: aliasLimit
          ? `too many alias expansions (maxAliasCount ${limits.maxAliasCount})`
          : `cannot expand aliases: ${(err as Error).message}`,
        line: 1,
        column: 1,
      });
      return { ...failed(issues[0]!), issues };
    }
  }

  // Before the conversion below, which copies every alias target: aliases within maxAliasCount can still
  // expand a small file to gigabytes.
  if (expandedNodeCount(doc, limits.maxNodes) > limits.maxNodes) {
    issues.push({
      code: 'yaml-node-limit',
      message: `expands to more than ${limits.maxNodes} YAML nodes, an alias counting as its target (maxNodes)`,
      line: 1,
      column: 1,
    });
    return { ...failed(issues[0]!), issues };
  }
  const positions = new Map<string, Position>();
  const deletes = new Map<string, string[]>();
  const deletePositions = new Map<string, Position>();
  const deleteOnly = new Set<string>();
  const root = doc.contents as YamlNode | null;
  positions.set('', root ? at(root.range?.[0]) : { line: 1, column: 1 });

  const build = (node: unknown, ptr: string, depth: number): JsonValue | undefined => {
    if (node === null || node === undefined) return null;
    if (depth > MAX_DEPTH) {
      issues.push({
        code: 'yaml-unsupported',
        message: `nesting deeper than ${MAX_DEPTH} levels`,
        path: ptr,
      });
      return undefined;
    }
    if (isAlias(node)) {
      const target = node.resolve(doc);
      return target ? build(target, ptr, depth + 1) : undefined;
    }
    if (isScalar(node)) {
      if (node.tag === DELETE_TAG) {
        issues.push({
          code: 'delete-misplaced',
          message: `${DELETE_TAG} is only allowed as the value of a mapping key`,
          path: ptr,
          ...at(node.range?.[0]),
        });
        return undefined;
      }
      const v = node.value;
      if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      issues.push({
        code: 'yaml-unsupported',
        message: `value is not representable in JSON (${typeof v === 'number' ? String(v) : typeof v})`,
        path: ptr,
        ...at(node.range?.[0]),
      });
      return undefined;
    }
    if (isSeq(node)) {
      const arr: JsonValue[] = [];
      node.items.forEach((item, i) => {
        const p = `${ptr}/${i}`;
        positions.set(p, at((item as YamlNode | null)?.range?.[0] ?? node.range?.[0]));
        const v = build(item, p, depth + 1);
        arr.push(v === undefined ? null : v);
      });
      return arr;
    }
    if (isMap(node)) {
      const obj: JsonObject = {};
      let onlyDeletes = true;
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const key = keyString(keyNode);
        const keyPos = at(keyNode?.range?.[0] ?? node.range?.[0]);
        if (key === undefined) {
          issues.push({
            code: 'yaml-unsupported',
            message: 'keys must be plain scalars',
            path: ptr,
            ...keyPos,
          });
          continue;
        }
        const p = `${ptr}/${escapeToken(key)}`;
        if (Object.prototype.hasOwnProperty.call(obj, key) || deletePositions.has(p)) {
          issues.push({ code: 'yaml-duplicate-key', message: `duplicate key "${key}"`, path: p, ...keyPos });
          continue;
        }
        const valueNode = pair.value as YamlNode | null;
        if (isScalar(valueNode) && valueNode.tag === DELETE_TAG) {
          if (valueNode.source) {
            issues.push({
              code: 'delete-misplaced',
              message: `${DELETE_TAG} takes no value`,
              path: p,
              ...at(valueNode.range?.[0]),
            });
          }
          const list = deletes.get(ptr);
          if (list) list.push(key);
          else deletes.set(ptr, [key]);
          deletePositions.set(p, keyPos);
          continue;
        }
        const target = isAlias(valueNode) ? valueNode.resolve(doc) : valueNode;
        const container = isMap(target) || isSeq(target);
        const pos =
          container || !valueNode
            ? keyPos
            : { ...at(valueNode.range?.[0]), keyLine: keyPos.line, keyColumn: keyPos.column };
        positions.set(p, pos);
        const v = build(valueNode, p, depth + 1);
        if (v !== undefined) setKey(obj, key, v);
        if (!deleteOnly.has(p)) onlyDeletes = false;
      }
      if (onlyDeletes && (deletes.has(ptr) || Object.keys(obj).length > 0)) deleteOnly.add(ptr);
      return obj;
    }
    issues.push({ code: 'yaml-unsupported', message: 'unsupported YAML node', path: ptr });
    return undefined;
  };

  if (root === null || (isScalar(root) && root.value === null && root.source === '' && !root.tag)) {
    return { ok: issues.length === 0, value: {}, positions, deletes, deletePositions, deleteOnly, issues };
  }
  if (!isMap(root)) {
    issues.push({
      code: 'yaml-not-mapping',
      message: `top level must be a mapping, not ${isSeq(root) ? 'a sequence' : 'a scalar'}`,
      ...at(root.range?.[0]),
    });
    return { ...failed(issues[0]!), issues };
  }
  const value = build(root, '', 0) as JsonObject;
  return { ok: issues.length === 0, value, positions, deletes, deletePositions, deleteOnly, issues };
}

/**
 * Where a quoted scalar that the parser ran to `errorOffset` (its missing closing quote) opens: the error itself
 * is reported at the end of the file, far from the quote a person has to close.
 */
function unclosedQuoteStart(doc: Document.Parsed, errorOffset: number): number | undefined {
  let start: number | undefined;
  visit(doc, {
    Scalar(_key, node) {
      const range = node.range;
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      if (quoted && range && range[0] < errorOffset && range[1] >= errorOffset) {
        start = range[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return start;
}

/**
 * Nodes the document expands to, an alias counting as the size of its target (memoised, so linear in the
 * document); stops counting once above `max`. A self-referencing alias counts as unbounded.
 */
export function expandedNodeCount(doc: Document.Parsed, max: number): number {
  const sizes = new Map<unknown, number>();
  const open = new Set<unknown>();
  const size = (node: unknown, depth: number): number => {
    if (node === null || node === undefined) return 1;
    if (isAlias(node)) return size(node.resolve(doc), depth);
    if (!isMap(node) && !isSeq(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (open.has(node)) return Infinity;
    // Deeper nesting is refused later on its own; count it as one node here.
    if (depth > MAX_DEPTH) return 1;
    open.add(node);
    let n = 1;
    for (const item of node.items) {
      n += isPair(item) ? size(item.key, depth + 1) + size(item.value, depth + 1) : size(item, depth + 1);
      if (n > max) break;
    }
    open.delete(node);
    sizes.set(node, n);
    return n;
  };
  return size(doc.contents, 0);
}

function hasAlias(doc: Document.Parsed): boolean {
  let found = false;
  visit(doc, {
    Alias: () => {
      found = true;
      return visit.BREAK;
    },
  });
  return found;
}

function keyString(node: YamlNode | null): string | undefined {
  if (!isScalar(node)) return undefined;
  const v = node.value;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return node.source ?? String(v);
  if (v === null) return node.source || undefined;
  return undefined;
}

function firstLine(message: string): string {
  const i = message.indexOf('\n');
  return i < 0 ? message : message.slice(0, i);
}

/** Freezes a parsed JSON value and everything in it (cached values are shared between evaluations). */
export function deepFreeze<T extends JsonValue>(value: T): T {
  // Iterative: values are depth-checked, but a frozen walk must never overflow the stack.
  const stack: JsonValue[] = [value];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
      Object.freeze(v);
      for (const child of Object.values(v)) stack.push(child);
    }
  }
  return value;
}

/** True when a JSON value nests deeper than `max` containers (checked without recursion). */
export function nestsDeeperThan(value: JsonValue, max: number): boolean {
  const stack: Array<[JsonValue, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Parses a JSON file (size, UTF-8 and syntax checks); line/column of syntax errors when known. */
export function parseJsonBytes(bytes: Uint8Array, limits: Limits): { value?: JsonValue; issue?: LocalIssue } {
  const decoded = decodeText(bytes, limits);
  if (decoded.text === undefined) return { issue: decoded.issue! };
  const text = decoded.text;
  try {
    const value = JSON.parse(text) as JsonValue;
    if (nestsDeeperThan(value, MAX_DEPTH)) {
      return { issue: { code: 'schema-invalid', message: `nesting deeper than ${MAX_DEPTH} levels` } };
    }
    return { value };
  } catch (err) {
    const message = (err as Error).message;
    const m = /position (\d+)/.exec(message);
    let pos: Partial<Position> = {};
    if (m) {
      const offset = Number(m[1]);
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      pos = { line, column: offset - before.lastIndexOf('\n') };
    }
    return { issue: { code: 'schema-invalid', message: `invalid JSON: ${firstLine(message)}`, ...pos } };
  }
}

/** Origins of a parsed document for one file path. */
export function originsFor(positions: Map<string, Position>, file: string): Map<string, Origin> {
  const out = new Map<string, Origin>();
  for (const [p, pos] of positions) {
    out.set(
      p,
      pos.keyLine === undefined
        ? { file, line: pos.line, column: pos.column }
        : { file, line: pos.line, column: pos.column, keyLine: pos.keyLine, keyColumn: pos.keyColumn! },
    );
  }
  return out;
}
