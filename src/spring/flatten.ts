/**
 * Spring's flat property keys: nested maps joined with `.`, list items as `key[0]`, `key[1].name`. Values keep
 * their JSON types. Empty maps and lists have no flat form (Spring drops them too) and are left out.
 */
import type { JsonObject, JsonPrimitive, JsonValue } from '../values/index.js';

/** A flat property map in document order. */
export type FlatProperties = Record<string, JsonPrimitive>;

/** A map key that would be read as structure (`.`, `[`, `]`) is written in Spring's bracket form `a[b.c]`. */
function childKey(prefix: string, key: string): string {
  if (/[.[\]]/.test(key)) return `${prefix}[${key}]`;
  return prefix === '' ? key : `${prefix}.${key}`;
}

function visit(out: FlatProperties, key: string, value: JsonValue): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => visit(out, `${key}[${i}]`, item));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) visit(out, childKey(key, k), v);
  } else {
    out[key] = value;
  }
}

/** Flattens a document into Spring's key syntax. */
export function flattenProperties(document: JsonObject): FlatProperties {
  const out: FlatProperties = {};
  for (const [k, v] of Object.entries(document)) visit(out, childKey('', k), v);
  return out;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Merges documents, lowest priority first, as gitcfg merges layers: maps merge, lists and scalars replace. */
export function mergeDocuments(documents: readonly JsonObject[]): JsonObject {
  const merge = (low: JsonObject, high: JsonObject): JsonObject => {
    const out: JsonObject = { ...low };
    for (const [k, v] of Object.entries(high)) {
      const prev = out[k];
      out[k] = isObject(prev) && isObject(v) ? merge(prev, v) : v;
    }
    return out;
  };
  return documents.reduce<JsonObject>((acc, doc) => merge(acc, doc), {});
}
