/**
 * Masking of fields marked `"x-gitcfg-secret": true` in a namespace's JSON Schema. Audit output (history, diff,
 * explain) passes every value through here, so a secret reference never leaves the server unmasked.
 */
import { SECRET_KEYWORD, parsePointer } from '../engine/index.js';
import type { ConfigChange, JsonObject, JsonValue } from '../engine/index.js';

/** What a masked value is replaced with. */
export const MASK = '***';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Resolves a local `$ref` (`#/...`) against the root schema; other refs are left unresolved. */
function deref(schema: JsonObject, root: JsonObject, seen: Set<JsonObject>): JsonObject[] {
  if (seen.has(schema)) return [];
  seen.add(schema);
  const out: JsonObject[] = [schema];
  const ref = schema.$ref;
  if (typeof ref === 'string' && ref.startsWith('#')) {
    let target: JsonValue | undefined = root;
    try {
      for (const token of parsePointer(decodeURIComponent(ref.slice(1)))) {
        target = isObject(target) ? target[token] : Array.isArray(target) ? target[Number(token)] : undefined;
      }
    } catch {
      target = undefined;
    }
    if (isObject(target)) out.push(...deref(target, root, seen));
  }
  // Combinators: a field is secret if any branch says so.
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const branches = schema[key];
    if (Array.isArray(branches)) for (const b of branches) if (isObject(b)) out.push(...deref(b, root, seen));
  }
  for (const key of ['then', 'else']) {
    const b = schema[key];
    if (isObject(b)) out.push(...deref(b, root, seen));
  }
  return out;
}

/** The set of subschemas that apply to `schemas`' child `token` (object key or array index). */
function childSchemas(schemas: readonly JsonObject[], token: string, root: JsonObject): JsonObject[] {
  const out: JsonObject[] = [];
  const add = (s: JsonValue | undefined) => {
    if (isObject(s)) out.push(...deref(s, root, new Set()));
  };
  for (const s of schemas) {
    const props = s.properties;
    let matched = false;
    if (isObject(props) && Object.prototype.hasOwnProperty.call(props, token)) {
      add(props[token]);
      matched = true;
    }
    const patterns = s.patternProperties;
    if (isObject(patterns)) {
      for (const [pattern, sub] of Object.entries(patterns)) {
        try {
          if (new RegExp(pattern, 'u').test(token)) {
            add(sub);
            matched = true;
          }
        } catch {
          // an invalid pattern never compiled; ignore it here
        }
      }
    }
    if (!matched) add(s.additionalProperties);
    if (/^(0|[1-9][0-9]*)$/.test(token)) {
      const index = Number(token);
      const prefix = s.prefixItems;
      if (Array.isArray(prefix) && index < prefix.length) add(prefix[index]);
      else if (Array.isArray(s.items) && index < s.items.length) add(s.items[index]);
      else if (!Array.isArray(s.items)) add(s.items);
    }
  }
  return out;
}

const isSecret = (schemas: readonly JsonObject[]): boolean => schemas.some((s) => s[SECRET_KEYWORD] === true);

function maskWith(value: JsonValue, schemas: readonly JsonObject[], root: JsonObject): JsonValue {
  if (schemas.length === 0) return value;
  if (isSecret(schemas)) return MASK;
  if (Array.isArray(value))
    return value.map((item, i) => maskWith(item, childSchemas(schemas, String(i), root), root));
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      // defineProperty: a `__proto__` key must stay a plain key, not become the prototype
      Object.defineProperty(out, k, {
        value: maskWith(v, childSchemas(schemas, k, root), root),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

function schemasAt(schema: JsonObject, pointer: string): { schemas: JsonObject[]; secret: boolean } {
  let schemas = deref(schema, schema, new Set());
  if (isSecret(schemas)) return { schemas, secret: true };
  for (const token of parsePointer(pointer)) {
    schemas = childSchemas(schemas, token, schema);
    if (isSecret(schemas)) return { schemas, secret: true };
  }
  return { schemas, secret: false };
}

/** Copy of `value` with every field the schema marks `"x-gitcfg-secret": true` replaced by `"***"`. */
export function maskSecrets(value: JsonValue, schema: JsonObject | undefined): JsonValue {
  if (!schema) return value;
  return maskWith(value, deref(schema, schema, new Set()), schema);
}

/**
 * Masks the value found at JSON pointer `pointer` of a document described by any of `schemas` (a field is
 * secret if one of them says so, e.g. the schema before and after a change).
 */
export function maskValueAt(
  value: JsonValue,
  pointer: string,
  schemas: readonly (JsonObject | undefined)[],
): JsonValue {
  let out = value;
  for (const schema of schemas) {
    if (!schema) continue;
    const at = schemasAt(schema, pointer);
    if (at.secret) return MASK;
    out = maskWith(out, at.schemas, schema);
  }
  return out;
}

/** Masks `from`/`to` of effective changes. */
export function maskChanges(
  changes: readonly ConfigChange[],
  schemas: readonly (JsonObject | undefined)[],
): ConfigChange[] {
  return changes.map((c) => ({
    ...c,
    ...(c.from !== undefined ? { from: maskValueAt(c.from, c.path, schemas) } : {}),
    ...(c.to !== undefined ? { to: maskValueAt(c.to, c.path, schemas) } : {}),
  }));
}
