/**
 * Environment-variable overrides (pure): `GITCFG__<NAMESPACE>__<PATH>__<WITH>__<SEGMENTS>=value`, coerced by the
 * namespace's JSON Schema. Used for local runs and emergencies, so every override is reported by the client.
 */
import { isJsonObject } from '../values/index.js';
import type { JsonObject, JsonValue } from '../values/index.js';
import { GitcfgClientError } from './errors.js';

/** The prefix every override variable starts with. */
export const ENV_OVERRIDE_PREFIX = 'GITCFG__';

/** One override variable, parsed but not yet matched against a document. */
export interface EnvOverride {
  variable: string;
  /** Normalised namespace segment, e.g. `SPACED_REPETITION`. */
  namespaceKey: string;
  /** Raw path segments as written in the variable name. */
  segments: string[];
  value: string;
}

/** An override that was applied: the variable and the dotted path (actual keys) it set. */
export interface AppliedOverride {
  variable: string;
  path: string;
}

/** A problem with one override variable. */
export interface OverrideIssue {
  variable: string;
  message: string;
}

/** Upper-cases and maps `-` to `_`: how namespaces and keys are written in variable names. */
export function envKey(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/** Collects the override variables of an environment, grouped by normalised namespace. */
export function parseEnvOverrides(
  env: Readonly<Record<string, string | undefined>>,
): Map<string, EnvOverride[]> {
  const byNamespace = new Map<string, EnvOverride[]>();
  for (const [variable, value] of Object.entries(env)) {
    if (value === undefined || !variable.startsWith(ENV_OVERRIDE_PREFIX)) continue;
    const [namespace = '', ...segments] = variable.slice(ENV_OVERRIDE_PREFIX.length).split('__');
    const override: EnvOverride = { variable, namespaceKey: envKey(namespace), segments, value };
    const list = byNamespace.get(override.namespaceKey) ?? [];
    list.push(override);
    byNamespace.set(override.namespaceKey, list);
  }
  // Shallow paths first so a deeper variable wins over a JSON object set above it; then by name for stability.
  for (const list of byNamespace.values()) {
    list.sort((a, b) => a.segments.length - b.segments.length || (a.variable < b.variable ? -1 : 1));
  }
  return byNamespace;
}

type Schema = JsonObject;

/** Follows a local `$ref` (`#/...`) against the root schema; other refs are left unresolved. */
function deref(schema: unknown, root: Schema, depth = 0): Schema | undefined {
  if (!isJsonObject(schema)) return undefined;
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#') || depth > 32) return schema;
  let target: unknown = root;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    target = isJsonObject(target) ? target[key] : undefined;
  }
  return deref(target, root, depth + 1) ?? schema;
}

/** The schema itself plus every branch of its allOf/anyOf/oneOf (dereferenced), depth-first. */
function branches(schema: Schema | undefined, root: Schema, out: Schema[] = [], depth = 0): Schema[] {
  const resolved = deref(schema, root);
  if (!resolved || depth > 16) return out;
  out.push(resolved);
  for (const keyword of ['allOf', 'anyOf', 'oneOf']) {
    const list = resolved[keyword];
    if (Array.isArray(list)) for (const branch of list) branches(deref(branch, root), root, out, depth + 1);
  }
  return out;
}

/** The declared JSON types of a schema (from `type`, else from `const`/`enum` values). */
function declaredTypes(schema: Schema | undefined, root: Schema): string[] {
  const types: string[] = [];
  for (const branch of branches(schema, root)) {
    const type = branch.type;
    if (typeof type === 'string') types.push(type);
    else if (Array.isArray(type)) for (const t of type) if (typeof t === 'string') types.push(t);
    const values = 'const' in branch ? [branch.const] : Array.isArray(branch.enum) ? branch.enum : [];
    for (const v of values) types.push(jsonType(v));
  }
  return [...new Set(types)];
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** Keys a mapping level may have: its schema's `properties` (all branches). */
function schemaProperties(schema: Schema | undefined, root: Schema): Set<string> {
  const keys = new Set<string>();
  for (const branch of branches(schema, root))
    if (isJsonObject(branch.properties)) for (const k in branch.properties) keys.add(k);
  return keys;
}

/** Whether a mapping level accepts keys its schema does not list. */
function allowsOtherKeys(schema: Schema | undefined, root: Schema): boolean {
  const all = branches(schema, root);
  if (all.length === 0) return true;
  if (all.some((b) => b.additionalProperties === false || b.unevaluatedProperties === false)) {
    return all.some((b) => isJsonObject(b.patternProperties));
  }
  return true;
}

/** The schema of `key` inside an object schema (properties, patternProperties, additionalProperties). */
function propertySchema(schema: Schema | undefined, key: string, root: Schema): Schema | undefined {
  const all = branches(schema, root);
  for (const b of all)
    if (isJsonObject(b.properties) && isJsonObject(b.properties[key])) return deref(b.properties[key], root);
  for (const b of all) {
    if (!isJsonObject(b.patternProperties)) continue;
    for (const [pattern, sub] of Object.entries(b.patternProperties)) {
      try {
        if (new RegExp(pattern, 'u').test(key)) return deref(sub, root);
      } catch {
        // An exotic pattern is the server's business; it validated the document already.
      }
    }
  }
  for (const b of all) if (isJsonObject(b.additionalProperties)) return deref(b.additionalProperties, root);
  return undefined;
}

/** The schema of item `index` inside an array schema. */
function itemSchema(schema: Schema | undefined, index: number, root: Schema): Schema | undefined {
  for (const b of branches(schema, root)) {
    if (Array.isArray(b.prefixItems) && index < b.prefixItems.length)
      return deref(b.prefixItems[index], root);
    if (isJsonObject(b.items)) return deref(b.items, root);
  }
  return undefined;
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Tries to read `raw` as one JSON type; returns undefined when it does not fit. */
function coerceAs(
  type: string,
  raw: string,
  schema: Schema | undefined,
  root: Schema,
): { value: JsonValue } | undefined {
  const text = raw.trim();
  switch (type) {
    case 'null':
      return text === 'null' ? { value: null } : undefined;
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower === 'true' || lower === '1') return { value: true };
      if (lower === 'false' || lower === '0') return { value: false };
      return undefined;
    }
    case 'integer': {
      const n = Number(text);
      return INTEGER.test(text) && Number.isSafeInteger(n) ? { value: n } : undefined;
    }
    case 'number': {
      const n = Number(text);
      return NUMBER.test(text) && Number.isFinite(n) ? { value: n } : undefined;
    }
    case 'string':
      return { value: raw };
    case 'object': {
      const parsed = parseJson(text);
      return isJsonObject(parsed) ? { value: parsed } : undefined;
    }
    case 'array': {
      let items: JsonValue[];
      if (text.startsWith('[')) {
        const parsed = parseJson(text);
        if (!Array.isArray(parsed)) return undefined;
        items = parsed;
      } else {
        items = text === '' ? [] : text.split(',').map((s) => s.trim());
      }
      const out: JsonValue[] = [];
      for (const [i, item] of items.entries()) {
        if (typeof item !== 'string') {
          out.push(item);
          continue;
        }
        const sub = itemSchema(schema, i, root);
        const coerced = coerceByTypes(item, sub ? declaredTypes(sub, root) : [], sub, root);
        if (!coerced) return undefined;
        out.push(coerced.value);
      }
      return { value: out };
    }
    default:
      return undefined;
  }
}

function coerceByTypes(raw: string, types: string[], schema: Schema | undefined, root: Schema) {
  // `string` accepts anything, so it is tried last; `number` after `integer` keeps integers integral.
  const order = ['null', 'boolean', 'integer', 'number', 'array', 'object', 'string'];
  const candidates = types.length > 0 ? order.filter((t) => types.includes(t)) : ['string'];
  for (const type of candidates) {
    const result = coerceAs(type, raw, schema, root);
    if (result) return result;
  }
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Coerces one variable's text by the types its schema declares (or, without a schema type, the type of the
 * value it replaces). Throws `E_OVERRIDE` naming the variable; the value itself is never put in the message.
 */
export function coerceEnvValue(
  variable: string,
  raw: string,
  schema: Schema | undefined,
  root: Schema = {},
  current?: JsonValue,
): JsonValue {
  let types = declaredTypes(schema, root);
  if (types.length === 0 && current !== undefined) types = [jsonType(current)];
  const result = coerceByTypes(raw, types, schema, root);
  if (!result) {
    const expected = types.length > 0 ? types.join(' or ') : 'string';
    const hint = types.includes('array') ? ' (a JSON array or comma-separated items)' : '';
    const bool = types.includes('boolean') ? ' (true/false/1/0)' : '';
    throw new GitcfgClientError('E_OVERRIDE', `${variable}: value is not a valid ${expected}${hint}${bool}`, {
      variable,
      expected: types,
    });
  }
  return result.value;
}

/**
 * Applies the overrides of one namespace to a copy of `doc`. Path segments match the document's keys and the
 * schema's properties case-insensitively (`-` written as `_`). Returns the new document and what was applied;
 * throws one `E_OVERRIDE` error listing every bad variable (`data.issues`).
 */
export function applyEnvOverrides(
  namespace: string,
  doc: JsonObject,
  schema: JsonObject | undefined,
  overrides: readonly EnvOverride[],
): { value: JsonObject; applied: AppliedOverride[] } {
  if (overrides.length === 0) return { value: doc, applied: [] };
  const root: Schema = schema ?? {};
  const value = structuredClone(doc);
  const applied: AppliedOverride[] = [];
  const issues: OverrideIssue[] = [];
  for (const override of overrides) {
    try {
      applied.push({ variable: override.variable, path: applyOne(namespace, value, schema, root, override) });
    } catch (error) {
      issues.push({
        variable: override.variable,
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
  if (issues.length > 0) {
    throw new GitcfgClientError(
      'E_OVERRIDE',
      `invalid environment override(s) for namespace ${namespace}:\n  ${issues.map((i) => i.message).join('\n  ')}`,
      { namespace, issues },
    );
  }
  return { value, applied };
}

function applyOne(
  namespace: string,
  doc: JsonObject,
  schema: Schema | undefined,
  root: Schema,
  override: EnvOverride,
): string {
  const { variable, segments } = override;
  if (segments.length === 0 || segments.some((s) => s === '')) {
    throw new Error(`${variable}: expected GITCFG__<NAMESPACE>__<KEY>[__<KEY>...] with no empty segment`);
  }
  let container: JsonObject | JsonValue[] = doc;
  let containerSchema: Schema | undefined = schema;
  const path: string[] = [];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    let key: string | number;
    let sub: Schema | undefined;
    if (Array.isArray(container)) {
      if (!/^\d+$/.test(segment) || Number(segment) > container.length) {
        throw new Error(
          `${variable}: ${segment} is not an index of the array at ${path.join('.') || '(root)'}`,
        );
      }
      key = Number(segment);
      sub = itemSchema(containerSchema, key, root);
    } else {
      key = matchKey(variable, namespace, container, containerSchema, root, segment, path);
      sub = propertySchema(containerSchema, key, root);
    }
    path.push(String(key));
    const current: JsonValue | undefined = (container as Record<string | number, JsonValue>)[key];
    if (last) {
      (container as Record<string | number, JsonValue>)[key] = coerceEnvValue(
        variable,
        override.value,
        sub,
        root,
        current,
      );
      break;
    }
    let next: JsonValue | undefined = current;
    if (next === undefined || next === null || typeof next !== 'object') {
      if (next !== undefined && next !== null) {
        throw new Error(`${variable}: ${path.join('.')} is a ${jsonType(next)}, not a mapping`);
      }
      next = declaredTypes(sub, root).includes('array') ? [] : {};
      (container as Record<string | number, JsonValue>)[key] = next;
    }
    container = next;
    containerSchema = sub;
  }
  return path.join('.');
}

function matchKey(
  variable: string,
  namespace: string,
  container: JsonObject,
  schema: Schema | undefined,
  root: Schema,
  segment: string,
  path: string[],
): string {
  const wanted = envKey(segment);
  const keys = new Set([...Object.keys(container), ...schemaProperties(schema, root)]);
  const matches = [...keys].filter((k) => envKey(k) === wanted);
  if (matches.length === 1) return matches[0]!;
  const where = path.length > 0 ? `${namespace}.${path.join('.')}` : namespace;
  if (matches.length > 1)
    throw new Error(`${variable}: ${segment} is ambiguous in ${where} (${matches.join(', ')})`);
  if (schema !== undefined && !allowsOtherKeys(schema, root)) {
    throw new Error(`${variable}: ${where} has no key matching ${segment}`);
  }
  // A free-form mapping (or no schema here): the key is written in lower case.
  return segment.toLowerCase();
}
