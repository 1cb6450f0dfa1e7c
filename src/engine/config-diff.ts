/** Effective differences between two evaluations, and value lookup by path. */
import { stringify } from 'yaml';
import { escapeToken, isJsonObject, valueAtPointer } from '../values/index.js';
import type { ConfigChange, ConfigDiff, Evaluation, JsonValue } from './types.js';

function deepEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]!));
  }
  if (isJsonObject(a) && isJsonObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k]!, b[k]!));
  }
  return false;
}

/** Changes from `before` to `after`: maps are compared key by key, arrays and scalars as whole values. */
export function diffValues(before: JsonValue, after: JsonValue, path = ''): ConfigChange[] {
  if (deepEqual(before, after)) return [];
  if (!isJsonObject(before) || !isJsonObject(after))
    return [{ op: 'replace', path, from: before, to: after }];
  const changes: ConfigChange[] = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const k of keys) {
    const p = `${path}/${escapeToken(k)}`;
    const inBefore = Object.prototype.hasOwnProperty.call(before, k);
    const inAfter = Object.prototype.hasOwnProperty.call(after, k);
    if (!inAfter) changes.push({ op: 'remove', path: p, from: before[k]! });
    else if (!inBefore) changes.push({ op: 'add', path: p, to: after[k]! });
    else changes.push(...diffValues(before[k]!, after[k]!, p));
  }
  return changes;
}

/**
 * Effective change of every namespace x environment (pairs with issues are absent from `configs`, so they
 * count as removed or added); unchanged pairs are omitted. Paths are JSON pointers.
 */
export function diffConfigs(
  before: Evaluation,
  after: Evaluation,
  filter: { env?: string } = {},
): ConfigDiff[] {
  const keys = [...new Set([...before.configs.keys(), ...after.configs.keys()])].sort();
  const out: ConfigDiff[] = [];
  for (const key of keys) {
    const b = before.configs.get(key);
    const a = after.configs.get(key);
    const pair = (a ?? b)!;
    if (filter.env !== undefined && pair.environment !== filter.env) continue;
    const base = { namespace: pair.namespace, environment: pair.environment };
    if (!b) out.push({ ...base, status: 'added', changes: diffValues({}, a!.value) });
    else if (!a) out.push({ ...base, status: 'removed', changes: diffValues(b.value, {}) });
    else if (a.inputKey !== b.inputKey || a.value !== b.value) {
      const changes = diffValues(b.value, a.value);
      if (changes.length > 0) out.push({ ...base, status: 'changed', changes });
    }
  }
  return out;
}

/** Converts `a.b.0` (or a JSON pointer starting with `/`) into a JSON pointer. */
export function toPointer(path: string): string {
  if (path === '' || path === '.') return '';
  if (path.startsWith('/')) return path;
  return path
    .split('.')
    .map((t) => `/${escapeToken(t)}`)
    .join('');
}

/** Value at a dotted path (`retry.http.max_retries`, array indexes as numbers) or JSON pointer; undefined if absent. */
export function valueAtPath(value: JsonValue, path: string): JsonValue | undefined {
  return valueAtPointer(value, toPointer(path));
}

/** Renders the value at a dotted path as JSON (default) or YAML text; undefined if absent. */
export function renderValueAtPath(
  value: JsonValue,
  path: string,
  format: 'json' | 'yaml' = 'json',
): string | undefined {
  const v = valueAtPath(value, path);
  if (v === undefined) return undefined;
  return format === 'json' ? `${JSON.stringify(v, null, 2)}\n` : stringify(v);
}
