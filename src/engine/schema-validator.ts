/** JSON Schema compilation (Ajv, draft 2020-12, strict) and mapping of validation errors back to source positions. */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Script } from 'node:vm';
import type Ajv2020 from 'ajv/dist/2020.js';
import type * as StandaloneCode from 'ajv/dist/standalone/index.js';
import type * as AddFormats from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { RE2JS } from 're2js';
import { escapeToken, isJsonObject, parentPointer, valueAtPointer } from '../values/index.js';
import { didYouMean } from './suggest.js';
import type { Issue, IssueCode, JsonObject, JsonValue, Origin, StoredValidator } from './types.js';

/** Keyword declaring the schema version of a namespace (absent = 1). */
export const VERSION_KEYWORD = 'x-gitcfg-version';
/** Annotation marking a field that holds a secret reference (never a secret itself). */
export const SECRET_KEYWORD = 'x-gitcfg-secret';

type AjvInstance = InstanceType<typeof Ajv2020.default>;

const requireFromHere = createRequire(import.meta.url);

/**
 * Ajv's compiler, required on first compile rather than imported: a run whose validators all come from a
 * `ValidatorCodeStore` never loads it (with its meta-schema compile, about 120 ms of a worker's start).
 */
let ajvCompiler:
  | { Ajv2020: typeof Ajv2020; standaloneCode: typeof StandaloneCode; addFormats: typeof AddFormats }
  | undefined;

function loadAjvCompiler(): NonNullable<typeof ajvCompiler> {
  ajvCompiler ??= {
    Ajv2020: requireFromHere('ajv/dist/2020.js') as typeof Ajv2020,
    standaloneCode: requireFromHere('ajv/dist/standalone/index.js') as typeof StandaloneCode,
    addFormats: requireFromHere('ajv-formats') as typeof AddFormats,
  };
  return ajvCompiler;
}

/** A `pattern` (or `patternProperties` key) the linear-time engine cannot express (backreference, lookaround). */
class UnsupportedPatternError extends Error {
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(
      `pattern ${JSON.stringify(pattern)} is not supported (${reason}); use RE2 syntax: no backreferences or lookaround`,
    );
  }
}

type LinearRegExp = { test: (s: string) => boolean; toString: () => string };

/**
 * Compiled patterns by flags and source: each loaded validator compiles its patterns again, and compiling costs
 * about as much as loading the rest of a small validator; most schemas of a repository share a few patterns.
 */
const compiledPatterns = new Map<string, LinearRegExp>();
const MAX_COMPILED_PATTERNS = 2_000;

/**
 * Ajv's regular-expression engine: RE2 semantics (re2js, pure JS), linear in the input, so a schema from the
 * repository cannot make validation backtrack for ever (`^(a+)+$`).
 */
const linearRegExp = Object.assign(
  (pattern: string, flags: string): LinearRegExp => {
    // Ajv shares compiled patterns by `toString()`: it must be unique per pattern and flags.
    const key = `re2:${flags}:${pattern}`;
    const known = compiledPatterns.get(key);
    if (known) return known;
    let re: ReturnType<typeof RE2JS.compile>;
    try {
      re = RE2JS.compile(pattern, flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0);
    } catch (err) {
      throw new UnsupportedPatternError(
        pattern,
        (err as Error).message.replace(/^error parsing regexp: /, ''),
      );
    }
    const compiled = { test: (s: string) => re.test(s), toString: () => key };
    if (compiledPatterns.size >= MAX_COMPILED_PATTERNS) compiledPatterns.clear();
    compiledPatterns.set(key, compiled);
    return compiled;
  },
  // How standalone code (the compiled-validator cache) refers to this engine: see `loadValidatorCode`.
  { code: 'require("gitcfg:linear-regexp")' },
);

const AJV_OPTIONS = {
  allErrors: true,
  strict: true,
  allowUnionTypes: true,
  $data: true,
  // Compile time dominates a cold evaluation of many namespaces; the optimiser saves little at validation time.
  // `source` keeps what standalone code generation needs.
  code: { optimize: false, regExp: linearRegExp, source: true },
  logger: false, // the engine reports through issues only
} as const;

/** Creates the Ajv instance every schema is compiled with (strict, all errors, `$data`, formats, gitcfg keywords). */
export function createAjv(): AjvInstance {
  const { Ajv2020, addFormats } = loadAjvCompiler();
  const ajv = new Ajv2020.default(AJV_OPTIONS);
  addFormats.default(ajv);
  ajv.addKeyword({ keyword: VERSION_KEYWORD, metaSchema: { type: 'integer', minimum: 1 } });
  ajv.addKeyword({ keyword: SECRET_KEYWORD, metaSchema: { type: 'boolean' } });
  return ajv;
}

/** A compiled schema, or why it did not compile. */
export interface CompiledSchema {
  schema?: JsonObject;
  validate?: ValidateFunction;
  /** `x-gitcfg-version` of the root (1 when absent). */
  version: number;
  /** Message of the compile failure (the caller names the file); `code` when it is not `schema-invalid`. */
  error?: { message: string; line?: number; column?: number; code?: IssueCode };
}

/** Line and column of the first occurrence of `needle` in `text` (1-based), if any. */
function positionOf(text: string, needle: string): { line: number; column: number } | undefined {
  const at = text.indexOf(needle);
  if (at < 0) return undefined;
  const before = text.slice(0, at);
  return { line: before.split('\n').length, column: at - before.lastIndexOf('\n') };
}

/** Options of `compileSchema`. */
export interface CompileOptions {
  /**
   * Standalone code from an earlier compile of the same schema bytes (`validatorCodeKey`): loaded, not
   * compiled; with V8's code cache of it when one was stored (`loadValidatorCode`).
   */
  code?: StoredValidator;
  /** Also return the standalone code of a fresh compile, or a new code cache of loaded code (to store them). */
  emitCode?: boolean;
}

/**
 * Compiles one schema document; never throws. `text` (the file's source) locates unsupported patterns.
 * The shared Ajv registry is restored afterwards, so no schema can remove or shadow another (or a meta-schema).
 * `ajvOf` is called only when Ajv is needed: to compile, or to check a declared `$id`.
 */
export function compileSchema(
  ajvOf: () => AjvInstance,
  value: JsonValue,
  text?: string,
  options: CompileOptions = {},
): CompiledSchema & { code?: string; codeCache?: Uint8Array; loaded?: boolean } {
  if (!isJsonObject(value)) return { version: 1, error: { message: 'a schema must be a JSON object' } };
  const declared = value.$schema;
  if (declared !== undefined && declared !== 'https://json-schema.org/draft/2020-12/schema') {
    return {
      version: 1,
      error: { message: `unsupported $schema ${JSON.stringify(declared)} (use draft 2020-12)` },
    };
  }
  const v = value[VERSION_KEYWORD];
  const version = v === undefined ? 1 : v;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return { version: 1, error: { message: `${VERSION_KEYWORD} must be an integer >= 1` } };
  }
  const id = value.$id;
  const normalizedId = typeof id === 'string' ? id.replace(/#$/, '') : undefined;
  if (normalizedId !== undefined && (normalizedId in ajvOf().schemas || normalizedId in ajvOf().refs)) {
    const pos = text !== undefined ? positionOf(text, JSON.stringify(id)) : undefined;
    return {
      version,
      error: {
        message: `$id ${JSON.stringify(normalizedId)} is already taken (a meta-schema or a built-in schema)`,
        ...pos,
      },
    };
  }
  const loaded =
    options.code !== undefined ? loadValidatorCode(options.code, { makeCache: options.emitCode }) : undefined;
  if (loaded) {
    const { validate, codeCache } = loaded;
    return { schema: value, validate, version, loaded: true, ...(codeCache ? { codeCache } : {}) };
  }
  const ajv = ajvOf();
  const schemasBefore = { ...ajv.schemas };
  const refsBefore = { ...ajv.refs };
  try {
    const validate = ajv.compile(value);
    const code = options.emitCode ? loadAjvCompiler().standaloneCode.default(ajv, validate) : undefined;
    // The generated source is only needed for the standalone code: do not keep it alive with the validator.
    delete (validate as { source?: unknown }).source;
    return { schema: value, validate, version, ...(code !== undefined ? { code } : {}) };
  } catch (err) {
    if (err instanceof UnsupportedPatternError) {
      const pos = text !== undefined ? positionOf(text, JSON.stringify(err.pattern)) : undefined;
      return { version, error: { message: err.message, ...pos } };
    }
    return { version, error: { message: (err as Error).message } };
  } finally {
    // Free the `$id` slots this schema took (so it can be recompiled) and put back anything it displaced.
    try {
      ajv.removeSchema(value);
    } catch {
      /* not registered */
    }
    restoreRegistry(ajv.schemas, schemasBefore);
    restoreRegistry(ajv.refs, refsBefore);
  }
}

const packageVersion = (name: string): string =>
  (requireFromHere(`${name}/package.json`) as { version: string }).version;

/**
 * Everything the standalone code of a schema depends on besides the schema's bytes: its layout, the Ajv and
 * ajv-formats versions, the Ajv options and gitcfg's keywords. Part of every `validatorCodeKey`.
 */
const VALIDATOR_CODE_SALT = [
  'gitcfg-validator-code/1',
  `ajv@${packageVersion('ajv')}`,
  `ajv-formats@${packageVersion('ajv-formats')}`,
  JSON.stringify(AJV_OPTIONS),
  linearRegExp.code,
  VERSION_KEYWORD,
  SECRET_KEYWORD,
].join('\0');

/** Key of the compiled validator of a schema file's bytes (hex sha256 of the bytes and `VALIDATOR_CODE_SALT`). */
export function validatorCodeKey(schemaBytes: Uint8Array, salt = ''): string {
  return createHash('sha256').update(`${VALIDATOR_CODE_SALT}\0${salt}\0`).update(schemaBytes).digest('hex');
}

/** Modules standalone code may `require`: Ajv's runtime helpers, the formats and the linear regexp engine. */
function standaloneRequire(id: string): unknown {
  if (id === 'gitcfg:linear-regexp') return linearRegExp;
  if (/^ajv\/dist\/runtime\/[a-z0-9_]+$/.test(id) || id === 'ajv-formats/dist/formats') {
    return requireFromHere(id);
  }
  throw new Error(`standalone validator code may not require ${JSON.stringify(id)}`);
}

/**
 * Turns stored standalone code back into a validator without compiling it with Ajv; undefined when it does not
 * load (the caller compiles instead). The code must come from a checked store: it runs as JavaScript.
 * With `codeCache` (V8's compiled form of this very code) V8 skips parsing it; without one, or when V8 rejects
 * it (another V8), `makeCache` returns a new one, made after a first call so that it holds the validator's
 * compiled body: loading 1,000 validators then took a fifth of the time of compiling their source.
 */
export function loadValidatorCode(
  stored: StoredValidator,
  options: { makeCache?: boolean } = {},
): { validate: ValidateFunction; codeCache?: Uint8Array } | undefined {
  try {
    const { code, codeCache } = stored;
    const script = new Script(`(function (require, module, exports) {${code}\n})`, {
      filename: 'gitcfg-validator.js',
      ...(codeCache ? { cachedData: codeCache } : {}),
    });
    const module: { exports: unknown } = { exports: {} };
    (script.runInThisContext() as (...args: unknown[]) => void)(standaloneRequire, module, module.exports);
    if (typeof module.exports !== 'function') return undefined;
    const validate = module.exports as ValidateFunction;
    if (!options.makeCache || (codeCache && !script.cachedDataRejected)) return { validate };
    validate({});
    return { validate, codeCache: script.createCachedData() };
  } catch {
    return undefined;
  }
}

function restoreRegistry<T>(
  registry: { [id: string]: T | undefined },
  before: { [id: string]: T | undefined },
): void {
  for (const id of Object.keys(registry)) if (!(id in before)) delete registry[id];
  for (const [id, entry] of Object.entries(before)) registry[id] = entry;
}

/** Finds the origin of a pointer, or of its nearest ancestor that has one. */
export function nearestOrigin(origins: Map<string, Origin>, pointer: string): Origin | undefined {
  let p = pointer;
  for (;;) {
    const o = origins.get(p);
    if (o || p === '') return o;
    p = parentPointer(p);
  }
}

/** Turns Ajv errors into issues located where the offending value (or key) was written. */
export function mapSchemaErrors(
  errors: readonly ErrorObject[],
  origins: Map<string, Origin>,
  context: {
    namespace?: string;
    environment?: string;
    fallbackFile: string;
    deleted?: Map<string, Origin>;
    /** The validated schema: unknown keys close to a declared property name it (`did you mean`). */
    schema?: JsonObject;
  },
): Issue[] {
  const issues: Issue[] = [];
  // Errors raised inside `propertyNames` carry the offending key; the summary error after them adds nothing.
  const namedKeys = new Set(
    errors.filter((e) => e.propertyName !== undefined).map((e) => `${e.instancePath}\0${e.propertyName}`),
  );
  for (const e of errors) {
    if (e.keyword === 'if') continue; // the failing `then`/`else` error carries the detail
    let path = e.instancePath;
    let message: string;
    let origin: Origin | undefined;
    let atKey = false;
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'propertyNames' && namedKeys.has(`${path}\0${String(params.propertyName)}`)) continue;
    if (e.propertyName !== undefined || e.keyword === 'propertyNames') {
      // A bad key: point at the key's own line, not at the mapping that holds it.
      const key = e.propertyName ?? String(params.propertyName);
      path = `${path}/${escapeToken(key)}`;
      message = `invalid key "${key}": ${e.keyword === 'propertyNames' ? 'not allowed by propertyNames' : (e.message ?? `fails "${e.keyword}"`)}`;
      atKey = true;
    } else if (e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties') {
      const key = String(params.additionalProperty ?? params.unevaluatedProperty);
      path = `${path}/${escapeToken(key)}`;
      message = `unknown property "${key}" (not allowed by the schema)${didYouMean(key, declaredProperties(context.schema, e.schemaPath))}`;
      atKey = true;
    } else if (e.keyword === 'required' || e.keyword === 'dependentRequired') {
      const key = String(params.missingProperty);
      path = `${path}/${escapeToken(key)}`;
      message =
        e.keyword === 'required'
          ? `missing required property "${key}"`
          : `missing property "${key}" (required when "${String(params.property)}" is present)`;
      // Removed by a `!delete`: the deletion is what to fix.
      origin = context.deleted?.get(path);
      if (origin) message += ' (removed by !delete)';
    } else {
      message = e.message ?? `fails "${e.keyword}"`;
      if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
        message += `: ${params.allowedValues.map((a) => JSON.stringify(a)).join(', ')}`;
      } else if (e.keyword === 'const') {
        message += ` ${JSON.stringify(params.allowedValue)}`;
      }
    }
    origin ??= nearestOrigin(origins, path);
    const line = atKey ? (origin?.keyLine ?? origin?.line) : origin?.line;
    const column = atKey ? (origin?.keyColumn ?? origin?.column) : origin?.column;
    issues.push({
      code: 'schema-violation',
      message,
      file: origin?.file ?? context.fallbackFile,
      ...(line !== undefined ? { line, column: column ?? 1 } : {}),
      ...(context.namespace !== undefined ? { namespace: context.namespace } : {}),
      ...(context.environment !== undefined ? { environment: context.environment } : {}),
      path,
    });
  }
  return issues;
}

/**
 * Property names declared beside the keyword at `schemaPath` (`#/properties/retry/additionalProperties` ->
 * the keys of `#/properties/retry/properties`); none when the path leaves the root schema (a remote `$ref`).
 */
function declaredProperties(schema: JsonObject | undefined, schemaPath: string): string[] {
  if (!schema || !schemaPath.startsWith('#')) return [];
  const holder = valueAtPointer(schema, parentPointer(schemaPath.slice(1)));
  const properties = isJsonObject(holder) ? holder.properties : undefined;
  return isJsonObject(properties) ? Object.keys(properties) : [];
}

let standaloneAjv: AjvInstance | undefined;
const standaloneValidators = new WeakMap<JsonObject, CompiledSchema>();

/**
 * Validates a document outside an evaluation, e.g. a configuration migrated down to an older schema version.
 * Each schema object is compiled once and memoised; issues carry `file` (the schema's file) and the context.
 */
export function validateAgainstSchema(
  schema: JsonObject,
  value: JsonValue,
  context: { file: string; namespace?: string; environment?: string },
): Issue[] {
  let compiled = standaloneValidators.get(schema);
  if (!compiled) {
    compiled = compileSchema(() => (standaloneAjv ??= createAjv()), schema);
    standaloneValidators.set(schema, compiled);
  }
  if (!compiled.validate) {
    return [
      {
        code: 'schema-invalid',
        file: context.file,
        message: compiled.error?.message ?? 'schema does not compile',
      },
    ];
  }
  if (compiled.validate(value)) return [];
  return mapSchemaErrors(compiled.validate.errors ?? [], new Map(), {
    ...context,
    fallbackFile: context.file,
  });
}
