/** The state one `evaluateRepo` call shares between its steps (`evaluation-steps.ts`), and its file loaders. */
import { COMPILED_SCHEMA_PER_BYTE, PARSED_YAML_PER_BYTE, heapEstimate } from './engine-cache.js';
import type { EngineCache } from './engine-cache.js';
import { createYielder } from './event-loop-yield.js';
import type { Yielder } from './event-loop-yield.js';
import { classifyEntries } from './layout.js';
import type { Layout } from './layout.js';
import { DEFAULT_LIMITS, MANIFEST_SCHEMA } from './manifest.js';
import { compileSchema, validatorCodeKey } from './schema-validator.js';
import type { CompiledSchema } from './schema-validator.js';
import type { SchemaInfo } from './resolve-pair.js';
import type { SecretScopes } from './secret-scopes.js';
import { deepFreeze, parseJsonBytes, parseYamlBytes } from './yaml-document.js';
import type { ParsedYaml } from './yaml-document.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type {
  Issue,
  JsonObject,
  JsonValue,
  Limits,
  Manifest,
  NamespaceVersions,
  RepoSource,
  ResolvedConfig,
  TreeEntry,
  ValidatorCodeStore,
} from './types.js';

/** Options of `evaluateRepo`. */
export interface EvaluateOptions {
  /** Reuse across calls to re-read only changed blobs and re-merge only affected pairs. */
  cache?: EngineCache;
  /** Overrides the defaults and the manifest's `options`. */
  limits?: Partial<Limits>;
  /** Parallel `readBlob` calls (default 16). */
  concurrency?: number;
  /**
   * Only read, compile and validate these namespaces (e.g. those a commit touches); the layout and the manifest
   * are always checked. `namespaces` of the result still lists every namespace.
   */
  namespaces?: readonly string[];
  /**
   * Longest stretch of uninterrupted work in ms before the evaluation gives the event loop a turn (default 10;
   * 0 never yields), so a server keeps answering while it evaluates a big repository.
   */
  yieldEveryMs?: number;
  /** Ceilings for what the manifest's `options` may raise (default `LIMIT_CAPS`); `limits` is not capped. */
  caps?: Partial<Limits>;
  /**
   * Called before each stretch of synchronous work on a file (parse, compile) or a pair (merge, validate), so
   * a supervisor that must stop a runaway evaluation can say which input caused it.
   */
  onProgress?: (at: EvaluationProgress) => void;
  /**
   * Which `${env:NAME}` references each namespace x environment may hold (the server's GITCFG_SECRET_ENV); a
   * reference outside them is a `secret-out-of-scope` issue. Absent: not checked (the CLI and the hook).
   */
  secretScopes?: SecretScopes;
  /** Compiled validators kept between processes (the hook's git dir, the server's data dir). */
  validatorCode?: ValidatorCodeStore;
  /**
   * false: the caller reads no pair's `origins` (it serves values), so an isolated evaluator leaves them out
   * of what it sends back and sets `overrides` instead. In process they are kept: the cache shares them.
   */
  origins?: boolean;
  /** true: the caller reads the issues only, so `configs` stays empty (the pairs are not kept). */
  issuesOnly?: boolean;
}

/** What an evaluation is working on. */
export interface EvaluationProgress {
  file: string;
  namespace?: string;
  environment?: string;
}

/**
 * Everything the steps of one evaluation read and write. Each step fills its own fields (named on the step);
 * issues are only appended, in step order, and sorted once at the end.
 */
export interface EvaluationContext {
  readonly source: RepoSource;
  readonly cache: EngineCache;
  readonly options: EvaluateOptions;
  readonly concurrency: number;
  readonly pause: Yielder;
  readonly issues: Issue[];
  /** The tree's files by role, restricted to `options.namespaces`. */
  readonly layout: Layout;
  /** Every namespace of the tree (also outside `options.namespaces`). */
  readonly allNamespaces: string[];
  /** The namespaces evaluated: those of `layout` with a schema, old schemas or defaults, sorted. */
  readonly namespaces: string[];
  // Set by the manifest step.
  manifest?: Manifest;
  chains: Map<string, string[]>;
  limits: Limits;
  limitsKey: string;
  flagNamespaces: Set<string>;
  environments: string[];
  envSet: Set<string>;
  // Set by the parse step: by path.
  readonly parsedYaml: Map<string, ParsedYaml>;
  readonly compiled: Map<string, CompiledSchema>;
  // Set by the schema step: by namespace.
  readonly schemas: Map<string, JsonObject>;
  readonly schemaInfo: Map<string, SchemaInfo>;
  readonly versions: Map<string, NamespaceVersions>;
  // Set by the migration step: namespace -> `version:oid,...` of its migrations.
  readonly migrationKeys: Map<string, string>;
  // Set by the pair step: `${namespace}/${environment}` -> resolved configuration.
  readonly configs: Map<string, ResolvedConfig>;
}

/**
 * The layout's files of the namespaces in `keep` only (a new layout: the classified one is shared). Costs in
 * proportion to `keep`, not to the repository.
 */
function restrictLayout(layout: Layout, keep: ReadonlySet<string>): Layout {
  const names = [...keep].sort();
  const only = <V>(map: ReadonlyMap<string, V>): Map<string, V> => {
    const out = new Map<string, V>();
    for (const ns of names) {
      const value = map.get(ns);
      if (value !== undefined) out.set(ns, value);
    }
    return out;
  };
  const overrides = new Map<string, ReadonlyMap<string, TreeEntry>>();
  for (const [env, files] of layout.overrides) overrides.set(env, only(files));
  return {
    ...(layout.manifest ? { manifest: layout.manifest } : {}),
    schemas: only(layout.schemas),
    oldSchemas: only(layout.oldSchemas),
    defaults: only(layout.defaults),
    overrides,
    migrations: only(layout.migrations),
    issues: layout.issues,
  };
}

export function createEvaluationContext(
  source: RepoSource,
  cache: EngineCache,
  options: EvaluateOptions,
  allNamespaces: string[],
): EvaluationContext {
  const classified = classifyEntries(source.entries);
  const issues: Issue[] = [...classified.issues];
  const layout = options.namespaces ? restrictLayout(classified, new Set(options.namespaces)) : classified;
  const limits: Limits = { ...DEFAULT_LIMITS, ...(options.limits ?? {}) };
  return {
    source,
    cache,
    options,
    concurrency: Math.max(1, options.concurrency ?? 16),
    pause: createYielder(options.yieldEveryMs),
    issues,
    layout,
    allNamespaces,
    namespaces: [
      ...new Set([...layout.schemas.keys(), ...layout.defaults.keys(), ...layout.oldSchemas.keys()]),
    ].sort(),
    chains: new Map(),
    limits,
    limitsKey: limitsKeyOf(limits),
    flagNamespaces: new Set(),
    environments: [],
    envSet: new Set(),
    parsedYaml: new Map(),
    compiled: new Map(),
    schemas: new Map(),
    schemaInfo: new Map(),
    versions: new Map(),
    migrationKeys: new Map(),
    configs: new Map(),
  };
}

/** The limits that change how a YAML file parses (part of its cache key). */
export function limitsKeyOf(limits: Limits): string {
  return `${limits.maxFileBytes}|${limits.maxAliasCount}|${limits.maxNodes}`;
}

async function readBytes(ctx: EvaluationContext, entry: TreeEntry): Promise<Uint8Array> {
  ctx.cache.count('blobReads');
  return ctx.source.readBlob(entry.oid, entry.path);
}

/** A YAML file parsed under `limits`, from the cache when its blob was parsed before. */
export function yamlOf(ctx: EvaluationContext, entry: TreeEntry, limits: Limits): Promise<ParsedYaml> {
  const { cache, options } = ctx;
  let size = 0;
  const load = async () => {
    const bytes = await readBytes(ctx, entry);
    size = bytes.byteLength;
    cache.count('parses');
    options.onProgress?.({ file: entry.path });
    const parsed = parseYamlBytes(bytes, limits);
    deepFreeze(parsed.value);
    return parsed;
  };
  return cache.getOrLoad('yaml', `${entry.oid}|${limitsKeyOf(limits)}`, load, () =>
    heapEstimate(size, PARSED_YAML_PER_BYTE),
  );
}

/**
 * A schema compiled, or its validator loaded from the `validatorCode` store by the key of its `bytes`. A fresh
 * compile stores its code; a load that had no usable V8 code cache stores the one it made.
 */
async function compileStored(
  ctx: EvaluationContext,
  value: JsonValue,
  bytes: Uint8Array,
): Promise<{ compiled: CompiledSchema; loaded: boolean }> {
  const store = ctx.options.validatorCode;
  const key = store ? validatorCodeKey(bytes) : undefined;
  const stored = key !== undefined ? await store!.get(key).catch(() => undefined) : undefined;
  const result = compileSchema(() => ctx.cache.ajv(), value, new TextDecoder().decode(bytes), {
    ...(stored !== undefined ? { code: stored } : {}),
    emitCode: store !== undefined,
  });
  const toStore =
    result.code !== undefined
      ? { code: result.code }
      : stored && result.codeCache
        ? { code: stored.code, codeCache: result.codeCache }
        : undefined;
  if (key !== undefined && toStore) await store!.put(key, toStore).catch(() => {});
  const { code: _code, codeCache: _codeCache, loaded, ...compiled } = result;
  return { compiled, loaded: loaded === true };
}

const MANIFEST_SCHEMA_BYTES = new TextEncoder().encode(JSON.stringify(MANIFEST_SCHEMA));

/**
 * The validator of `gitcfg.yaml`, kept in the cache like a schema file's, and loaded from the `validatorCode`
 * store like one: a worker whose validators all load from the store then never loads Ajv's compiler.
 */
export async function manifestValidatorOf(ctx: EvaluationContext): Promise<ValidateFunction> {
  const load = async () => (await compileStored(ctx, MANIFEST_SCHEMA, MANIFEST_SCHEMA_BYTES)).compiled;
  const compiled = await ctx.cache.getOrLoad('schema', 'gitcfg.yaml schema', load, () =>
    heapEstimate(MANIFEST_SCHEMA_BYTES.byteLength, COMPILED_SCHEMA_PER_BYTE),
  );
  if (!compiled.validate) throw new Error(`the manifest schema does not compile: ${compiled.error?.message}`);
  return compiled.validate;
}

/** A JSON Schema file compiled (or its compiled code loaded from `validatorCode`), from the cache when it can. */
export function schemaOf(ctx: EvaluationContext, entry: TreeEntry, limits: Limits): Promise<CompiledSchema> {
  const { cache, options } = ctx;
  let size = 0;
  const load = async (): Promise<CompiledSchema> => {
    const bytes = await readBytes(ctx, entry);
    size = bytes.byteLength;
    cache.count('parses');
    options.onProgress?.({ file: entry.path });
    const parsed = parseJsonBytes(bytes, limits);
    if (parsed.value === undefined) {
      const { code, message, ...pos } = parsed.issue!;
      // Size and encoding problems keep their own codes, as for every other file.
      return { version: 1, error: { message, ...pos, ...(code !== 'schema-invalid' ? { code } : {}) } };
    }
    deepFreeze(parsed.value);
    const { compiled, loaded } = await compileStored(ctx, parsed.value, bytes);
    cache.count(loaded ? 'codeLoads' : 'compiles');
    return compiled;
  };
  return cache.getOrLoad('schema', `${entry.oid}|${limits.maxFileBytes}`, load, () =>
    heapEstimate(size, COMPILED_SCHEMA_PER_BYTE),
  );
}
