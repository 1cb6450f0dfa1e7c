/**
 * Secret fields: a schema marks them with `"x-gitcfg-secret": true`; the repository then holds only references
 * (`${env:NAME}`; anything else is a `secret-plaintext` issue), resolved by the server for callers allowed to
 * read secrets. Everywhere else they are masked. The one implementation shared by validation, the server,
 * history, diff and explain. Pure: the environment is passed in.
 */
import { escapeToken, parsePointer } from '../values/index.js';
import { SECRET_KEYWORD } from './schema-validator.js';
import type { ConfigChange, JsonObject, JsonValue } from './types.js';

/** What masked secret values are replaced with. */
export const SECRET_MASK = '***';

/** `${env:NAME}`: resolved by the server from its own environment. */
const ENV_REFERENCE_RE = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/;
/** Any reference: `${env:NAME}`, or `${<provider>:<path>}` (e.g. `${vault:db/password}`) served as is. */
const REFERENCE_RE = /^\$\{(?:env:[A-Za-z_][A-Za-z0-9_]*|(?!env:)[a-z][a-z0-9-]*:[^\s{}]+)\}$/;

/** Environment variable names the server never resolves (its own settings and credentials). */
const RESERVED_PREFIX = 'GITCFG_';

/** Whether `value` is a secret reference: `${env:DB_PASSWORD}`, or `${<provider>:<path>}` for other resolvers. */
export function isSecretReference(value: unknown): value is string {
  return typeof value === 'string' && REFERENCE_RE.test(value);
}

type Schema = JsonObject;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Follows `$ref` (local `#...` only) and combinators: every schema that applies at the same location. */
function expand(node: JsonValue | undefined, root: Schema, out: Schema[], depth = 0): Schema[] {
  if (!isObject(node) || depth > 32 || out.includes(node)) return out;
  out.push(node);
  const ref = node.$ref;
  if (typeof ref === 'string' && ref.startsWith('#')) {
    let target: JsonValue | undefined = root;
    try {
      for (const token of parsePointer(decodeURIComponent(ref.slice(1)))) {
        target = isObject(target) ? target[token] : Array.isArray(target) ? target[Number(token)] : undefined;
      }
    } catch {
      target = undefined; // `#anchor` refs and malformed pointers: nothing to follow
    }
    expand(target, root, out, depth + 1);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = node[key];
    if (Array.isArray(list)) for (const s of list) expand(s, root, out, depth + 1);
  }
  for (const key of ['then', 'else'] as const) expand(node[key], root, out, depth + 1);
  return out;
}

/** Subschemas of `node` that apply to the member `token` of an instance. */
function children(node: Schema, token: string): JsonValue[] {
  const out: JsonValue[] = [];
  let matched = false;
  if (isObject(node.properties) && Object.prototype.hasOwnProperty.call(node.properties, token)) {
    out.push(node.properties[token]!);
    matched = true;
  }
  if (isObject(node.patternProperties)) {
    for (const [pattern, s] of Object.entries(node.patternProperties)) {
      try {
        if (new RegExp(pattern, 'u').test(token)) {
          out.push(s);
          matched = true;
        }
      } catch {
        // an invalid pattern fails schema compilation elsewhere
      }
    }
  }
  if (!matched && node.additionalProperties !== undefined) out.push(node.additionalProperties);
  if (/^(0|[1-9][0-9]*)$/.test(token)) {
    const index = Number(token);
    const prefix = Array.isArray(node.prefixItems) ? node.prefixItems : [];
    if (index < prefix.length) out.push(prefix[index]!);
    else if (node.items !== undefined) out.push(node.items);
  }
  return out;
}

const isMarked = (s: Schema): boolean => s[SECRET_KEYWORD] === true;

/**
 * Whether a schema marks any field secret, by schema object: a matcher is made for every pair checked, and
 * serialising its schema each time cost a cold hook about 1% of its time.
 */
const schemasWithSecrets = new WeakMap<Schema, boolean>();

/** Decides, for JSON pointers into documents of one schema, whether they are (inside) a secret field. */
export class SecretMatcher {
  private readonly memo = new Map<string, boolean>();
  /** Whether the schema marks any field secret at all (fast path: nothing to mask). */
  readonly hasSecrets: boolean;

  constructor(private readonly schema: Schema) {
    let has = schemasWithSecrets.get(schema);
    if (has === undefined) {
      has = JSON.stringify(schema).includes(`"${SECRET_KEYWORD}":true`);
      schemasWithSecrets.set(schema, has);
    }
    this.hasSecrets = has;
  }

  /** Whether `pointer` is a secret field or lies inside one. */
  isSecret(pointer: string): boolean {
    if (!this.hasSecrets) return false;
    const known = this.memo.get(pointer);
    if (known !== undefined) return known;
    let current = expand(this.schema, this.schema, []);
    let secret = current.some(isMarked);
    for (const token of parsePointer(pointer)) {
      if (secret) break;
      current = current.flatMap((s) => children(s, token)).flatMap((c) => expand(c, this.schema, []));
      secret = current.some(isMarked);
    }
    if (this.memo.size < 10_000) this.memo.set(pointer, secret);
    return secret;
  }

  /** A copy of `value` (found at `pointer`) with every secret field replaced by `***`. */
  mask(value: JsonValue, pointer = ''): JsonValue {
    if (!this.hasSecrets) return value;
    return this.map(value, pointer, () => SECRET_MASK);
  }

  /** A copy of `value` with references in secret fields resolved through `lookup` (unresolved ones kept). */
  resolve(value: JsonValue, lookup: (name: string) => string | undefined, missing: Set<string>): JsonValue {
    if (!this.hasSecrets) return value;
    return this.map(value, '', (v) => {
      const m = typeof v === 'string' ? ENV_REFERENCE_RE.exec(v) : null;
      if (!m) return v;
      const name = m[1]!;
      // Case-blind: on Windows `process.env` ignores case, so `gitcfg_git_token` would reach GITCFG_GIT_TOKEN.
      const found = name.toUpperCase().startsWith(RESERVED_PREFIX) ? undefined : lookup(name);
      // A plain-object lookup answers inherited names (`toString`, `__proto__`) with non-strings.
      const resolved = typeof found === 'string' ? found : undefined;
      if (resolved === undefined) missing.add(name);
      return resolved ?? v;
    });
  }

  /** Every secret field present in `value`, as JSON pointers. */
  pointers(value: JsonValue, pointer = ''): string[] {
    const out: string[] = [];
    this.forEachSecret(value, pointer, (_v, p) => out.push(p));
    return out;
  }

  /** Calls `fn` with the value and pointer of every secret field present in `value`. */
  forEachSecret(value: JsonValue, pointer: string, fn: (value: JsonValue, pointer: string) => void): void {
    if (this.hasSecrets) this.map(value, pointer, (v, p) => (fn(v, p), v));
  }

  private map(
    value: JsonValue,
    pointer: string,
    at: (v: JsonValue, pointer: string) => JsonValue,
  ): JsonValue {
    if (this.isSecret(pointer)) return at(value, pointer);
    if (Array.isArray(value)) return value.map((v, i) => this.map(v, `${pointer}/${i}`, at));
    if (isObject(value)) {
      const out: JsonObject = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.map(v, `${pointer}/${escapeToken(k)}`, at);
      return out;
    }
    return value;
  }
}

/** `value` with every secret field (per `schema`) replaced by `***`; pass the namespace's JSON Schema. */
export function maskSecrets<T extends JsonValue>(value: T, schema: JsonObject | undefined): T {
  if (!schema) return value;
  return new SecretMatcher(schema).mask(value) as T;
}

/**
 * The value found at `pointer` of a document described by any of `schemas` (e.g. the schema before and after
 * a change), with its secret fields masked: a field is secret if one of the schemas says so.
 */
export function maskValueAt(
  value: JsonValue,
  pointer: string,
  schemas: readonly (JsonObject | undefined)[],
): JsonValue {
  let out = value;
  for (const schema of schemas) if (schema) out = new SecretMatcher(schema).mask(out, pointer);
  return out;
}

/**
 * Effective changes with the old and new values of secret fields masked (diffs, dry runs, history); pass the
 * namespace's schema, or the schemas in force on both sides.
 */
export function maskChanges(
  changes: readonly ConfigChange[],
  schemas: JsonObject | undefined | readonly (JsonObject | undefined)[],
): ConfigChange[] {
  const list = (Array.isArray(schemas) ? schemas : [schemas]) as readonly (JsonObject | undefined)[];
  const matchers = list.filter((s): s is JsonObject => s !== undefined).map((s) => new SecretMatcher(s));
  if (!matchers.some((m) => m.hasSecrets)) return [...changes];
  const mask = (v: JsonValue, p: string) => matchers.reduce((acc, m) => m.mask(acc, p), v);
  return changes.map((c) => {
    const out: ConfigChange = { op: c.op, path: c.path };
    if (c.from !== undefined) out.from = mask(c.from, c.path);
    if (c.to !== undefined) out.to = mask(c.to, c.path);
    return out;
  });
}

/** Every `${env:NAME}` reference held by a secret field of `value`: its JSON pointer and the variable name. */
export function envReferences(
  value: JsonValue,
  schema: JsonObject,
): Array<{ pointer: string; name: string }> {
  const out: Array<{ pointer: string; name: string }> = [];
  new SecretMatcher(schema).forEachSecret(value, '', (v, pointer) => {
    const m = typeof v === 'string' ? ENV_REFERENCE_RE.exec(v) : null;
    if (m) out.push({ pointer, name: m[1]! });
  });
  return out;
}

/** JSON pointers of the secret fields of `value` that hold anything but a reference (validation rejects them). */
export function plaintextSecrets(value: JsonValue, schema: JsonObject): string[] {
  const out: string[] = [];
  new SecretMatcher(schema).forEachSecret(value, '', (v, p) => {
    if (!isSecretReference(v)) out.push(p);
  });
  return out;
}
