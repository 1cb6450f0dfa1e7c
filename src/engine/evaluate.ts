/** `evaluateRepo`: reads a repository through a `RepoSource`, merges every namespace x environment and validates it. */
import { createHash } from 'node:crypto';
import { checkChain, parseMigration } from '../migrate/index.js';
import type { MigrationStep } from '../migrate/index.js';
import { EngineCache } from './engine-cache.js';
import { createYielder } from './event-loop-yield.js';
import type { Yielder } from './event-loop-yield.js';
import type { PairResult } from './engine-cache.js';
import { classifyEntries } from './layout.js';
import type { Layout } from './layout.js';
import { DEFAULT_LIMITS, LIMIT_CAPS, MANIFEST_FILE, readManifest, resolveChains } from './manifest.js';
import { compileSchema, validatorCodeKey } from './schema-validator.js';
import type { CompiledSchema } from './schema-validator.js';
import { deepFreeze, originsFor, parseJsonBytes, parseYamlBytes } from './yaml-document.js';
import { outOfScopeSecrets, prepareDoc, resolvePair } from './resolve-pair.js';
import type { SecretScopes } from './secret-scopes.js';
import type { PreparedDoc, SchemaInfo } from './resolve-pair.js';
import { compareIssues } from './format-issue.js';
import { didYouMean } from './suggest.js';
import type { LocalIssue, ParsedYaml } from './yaml-document.js';
import type {
  Evaluation,
  Issue,
  JsonObject,
  Limits,
  Manifest,
  NamespaceVersions,
  RepoSource,
  ResolvedConfig,
  TreeEntry,
  ValidatorCodeStore,
} from './types.js';

/** Bumped when the engine's output for the same inputs changes (part of every `inputKey`). */
export const ENGINE_VERSION = 'gitcfg-engine/5';

/** Top-level key of a configuration document that declares its schema version (stripped before merging). */
export const SCHEMA_VERSION_KEY = '$schemaVersion';

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
}

/**
 * The port through which services evaluate untrusted content: `evaluateRepo` itself (in process) or an
 * isolated, bounded evaluator (worker threads). `cache` is only used in process.
 */
export type RepoEvaluator = (
  source: RepoSource,
  options?: Pick<EvaluateOptions, 'cache' | 'limits' | 'namespaces' | 'secretScopes'>,
) => Promise<Evaluation>;

/** What an evaluation is working on. */
export interface EvaluationProgress {
  file: string;
  namespace?: string;
  environment?: string;
}

/** The manifest's options, each lowered to its cap. */
function capped(options: Partial<Limits>, caps: Readonly<Limits>): Partial<Limits> {
  const out: Partial<Limits> = {};
  for (const key of Object.keys(options) as (keyof Limits)[]) {
    const value = options[key];
    if (value !== undefined) out[key] = Math.min(value, caps[key]);
  }
  return out;
}

/** Drops every file of namespaces outside `keep` from the layout. */
function restrictLayout(layout: Layout, keep: ReadonlySet<string>): void {
  for (const map of [layout.schemas, layout.oldSchemas, layout.defaults, layout.migrations] as Map<
    string,
    unknown
  >[]) {
    for (const ns of [...map.keys()]) if (!keep.has(ns)) map.delete(ns);
  }
  for (const files of layout.overrides.values()) {
    for (const ns of [...files.keys()]) if (!keep.has(ns)) files.delete(ns);
  }
}

const located = (file: string, issues: readonly LocalIssue[]): Issue[] => issues.map((i) => ({ ...i, file }));

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  pause: Yielder,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      await fn(items[next++]!);
      await pause();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Every namespace of a tree (those with a schema, old schemas or defaults), sorted; with `referenced`, also
 * those only named by overrides or migrations (how to split an evaluation without losing their issues).
 */
export function listNamespaces(
  entries: readonly TreeEntry[],
  options: { referenced?: boolean } = {},
): string[] {
  const layout = classifyEntries(entries);
  const names = new Set([...layout.schemas.keys(), ...layout.defaults.keys(), ...layout.oldSchemas.keys()]);
  if (options.referenced) {
    for (const files of layout.overrides.values()) for (const ns of files.keys()) names.add(ns);
    for (const ns of layout.migrations.keys()) names.add(ns);
  }
  return [...names].sort();
}

/** Evaluates a whole repository; never throws for content problems (they are issues), only for I/O failures. */
export async function evaluateRepo(source: RepoSource, options: EvaluateOptions = {}): Promise<Evaluation> {
  const cache = options.cache ?? new EngineCache({ keepGenerations: 1 });
  cache.begin();
  try {
    return await evaluate(source, cache, options);
  } finally {
    cache.end();
  }
}

async function evaluate(
  source: RepoSource,
  cache: EngineCache,
  options: EvaluateOptions,
): Promise<Evaluation> {
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const pause = createYielder(options.yieldEveryMs);
  const apiLimits = options.limits ?? {};
  const issues: Issue[] = [];
  const layout = classifyEntries(source.entries);
  issues.push(...layout.issues);
  const allNamespaces = listNamespaces(source.entries);
  if (options.namespaces) restrictLayout(layout, new Set(options.namespaces));

  const readBytes = async (entry: TreeEntry) => {
    cache.count('blobReads');
    return source.readBlob(entry.oid, entry.path);
  };
  const yamlOf = (entry: TreeEntry, limits: Limits) =>
    cache.getOrLoad<ParsedYaml>(
      'yaml',
      `${entry.oid}|${limits.maxFileBytes}|${limits.maxAliasCount}|${limits.maxNodes}`,
      async () => {
        const bytes = await readBytes(entry);
        cache.count('parses');
        options.onProgress?.({ file: entry.path });
        const parsed = parseYamlBytes(bytes, limits);
        deepFreeze(parsed.value);
        return parsed;
      },
    );
  const schemaOf = (entry: TreeEntry, limits: Limits) =>
    cache.getOrLoad<CompiledSchema>('schema', `${entry.oid}|${limits.maxFileBytes}`, async () => {
      const bytes = await readBytes(entry);
      cache.count('parses');
      options.onProgress?.({ file: entry.path });
      const parsed = parseJsonBytes(bytes, limits);
      if (parsed.value === undefined) {
        const { code, message, ...pos } = parsed.issue!;
        // Size and encoding problems keep their own codes, as for every other file.
        return { version: 1, error: { message, ...pos, ...(code !== 'schema-invalid' ? { code } : {}) } };
      }
      deepFreeze(parsed.value);
      const store = options.validatorCode;
      const key = store ? validatorCodeKey(bytes) : undefined;
      const code = key !== undefined ? await store!.get(key).catch(() => undefined) : undefined;
      const result = compileSchema(cache.ajv(), parsed.value, new TextDecoder().decode(bytes), {
        ...(code !== undefined ? { code } : {}),
        emitCode: store !== undefined,
      });
      cache.count(result.loaded ? 'codeLoads' : 'compiles');
      if (key !== undefined && result.code !== undefined) await store!.put(key, result.code).catch(() => {});
      const { code: _code, loaded: _loaded, ...compiledSchema } = result;
      return compiledSchema;
    });

  // Manifest first: its options set the limits for every other file.
  const baseLimits: Limits = { ...DEFAULT_LIMITS, ...apiLimits };
  let manifest: Manifest | undefined;
  let chains = new Map<string, string[]>();
  if (!layout.manifest) {
    issues.push({
      code: 'manifest-missing',
      file: MANIFEST_FILE,
      message: `no ${MANIFEST_FILE} at the repository root (it declares the environments)`,
    });
  } else {
    const parsed = await yamlOf(layout.manifest, baseLimits);
    const read = readManifest(parsed);
    issues.push(...read.issues);
    manifest = read.manifest;
    if (manifest) {
      const resolved = resolveChains(manifest, parsed);
      issues.push(...resolved.issues);
      chains = resolved.chains;
    }
  }
  const caps: Limits = { ...LIMIT_CAPS, ...(options.caps ?? {}) };
  const limits: Limits = { ...DEFAULT_LIMITS, ...capped(manifest?.options ?? {}, caps), ...apiLimits };
  const flagNamespaces = new Set(manifest?.flags ?? []);
  const limitsKey = `${limits.maxFileBytes}|${limits.maxAliasCount}|${limits.maxNodes}`;

  // Read and parse everything not cached yet, in parallel.
  const yamlEntries: TreeEntry[] = [...layout.defaults.values()];
  for (const m of layout.overrides.values()) yamlEntries.push(...m.values());
  for (const m of layout.migrations.values()) yamlEntries.push(...m.values());
  const schemaEntries: TreeEntry[] = [...layout.schemas.values()];
  for (const m of layout.oldSchemas.values()) schemaEntries.push(...m.values());
  const parsedYaml = new Map<string, ParsedYaml>();
  const compiled = new Map<string, CompiledSchema>();
  await Promise.all([
    mapLimit(
      yamlEntries,
      concurrency,
      async (e) => void parsedYaml.set(e.path, await yamlOf(e, limits)),
      pause,
    ),
    mapLimit(
      schemaEntries,
      concurrency,
      async (e) => void compiled.set(e.path, await schemaOf(e, limits)),
      pause,
    ),
  ]);

  const namespaces = [
    ...new Set([...layout.schemas.keys(), ...layout.defaults.keys(), ...layout.oldSchemas.keys()]),
  ].sort();
  const environments = manifest ? Object.keys(manifest.environments).sort() : [];
  const envSet = new Set(environments);
  const schemas = new Map<string, JsonObject>();
  const schemaInfo = new Map<string, SchemaInfo>();
  const versions = new Map<string, NamespaceVersions>();

  const schemaIssue = (file: string, c: CompiledSchema, namespace: string): Issue => ({
    code: c.error!.code ?? 'schema-invalid',
    file,
    message: c.error!.code ? c.error!.message : `schema does not compile: ${c.error!.message}`,
    ...(c.error!.line !== undefined ? { line: c.error!.line, column: c.error!.column ?? 1 } : {}),
    namespace,
  });

  for (const ns of namespaces) {
    await pause();
    const schemaEntry = layout.schemas.get(ns);
    const defaultsEntry = layout.defaults.get(ns);
    if (!schemaEntry) {
      const file = defaultsEntry?.path ?? layout.oldSchemas.get(ns)?.values().next().value?.path;
      issues.push({
        code: 'schema-missing',
        ...(file ? { file } : {}),
        namespace: ns,
        message: `namespace "${ns}" has no schema: add schemas/${ns}.schema.json`,
      });
    }
    if (!defaultsEntry && schemaEntry) {
      issues.push({
        code: 'defaults-missing',
        file: schemaEntry.path,
        namespace: ns,
        message: `namespace "${ns}" has no defaults: add defaults/${ns}.yaml (it may be empty)`,
      });
    }
    let current: CompiledSchema | undefined;
    if (schemaEntry) {
      current = compiled.get(schemaEntry.path)!;
      if (current.error) issues.push(schemaIssue(schemaEntry.path, current, ns));
      else {
        schemas.set(ns, current.schema!);
        schemaInfo.set(ns, { entry: schemaEntry, compiled: current });
      }
    }
    const oldSchemas = new Map<number, JsonObject>();
    for (const [n, entry] of [...(layout.oldSchemas.get(ns) ?? new Map<number, TreeEntry>())].sort(
      (a, b) => a[0] - b[0],
    )) {
      const c = compiled.get(entry.path)!;
      if (c.error) issues.push(schemaIssue(entry.path, c, ns));
      else if (current?.validate && n >= current.version) {
        issues.push({
          code: 'schema-invalid',
          file: entry.path,
          namespace: ns,
          message: `old schema version ${n} must be below the current version ${current.version}`,
        });
      } else if (c.schema![`x-gitcfg-version`] !== undefined && c.schema!['x-gitcfg-version'] !== n) {
        issues.push({
          code: 'schema-invalid',
          file: entry.path,
          namespace: ns,
          message: `declares x-gitcfg-version ${String(c.schema!['x-gitcfg-version'])} but its file name says ${n}`,
        });
      } else oldSchemas.set(n, c.schema!);
    }
    if (current?.validate) versions.set(ns, { current: current.version, steps: [], oldSchemas });
  }

  // Migrations.
  const migrationKeys = new Map<string, string>();
  for (const [ns, files] of [...layout.migrations].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const steps: MigrationStep[] = [];
    const keyParts: string[] = [];
    for (const [n, entry] of [...files].sort((a, b) => a[0] - b[0])) {
      keyParts.push(`${n}:${entry.oid}`);
      const parsed = parsedYaml.get(entry.path)!;
      issues.push(...located(entry.path, parsed.issues));
      if (!parsed.ok) continue;
      const r = parseMigration(parsed.value, entry.path, n, originsFor(parsed.positions, entry.path));
      issues.push(
        ...r.issues.map((i) => ({ ...i, file: i.file ?? entry.path, namespace: i.namespace ?? ns })),
      );
      if (r.step) steps.push(r.step);
    }
    const v = versions.get(ns);
    if (!layout.schemas.has(ns) && !layout.defaults.has(ns)) {
      for (const entry of files.values()) {
        issues.push({
          code: 'migration-invalid',
          file: entry.path,
          namespace: ns,
          message: `migration for namespace "${ns}", which has no schema and no defaults`,
        });
      }
    } else if (v) {
      v.steps = steps;
      issues.push(...checkChain(steps, v.current, ns, new Set(files.keys())));
    }
    migrationKeys.set(ns, keyParts.join(','));
  }

  // Flag namespaces the manifest names must exist.
  for (const ns of flagNamespaces) {
    if (!allNamespaces.includes(ns)) {
      issues.push({
        code: 'manifest-invalid',
        file: MANIFEST_FILE,
        path: '/flags',
        namespace: ns,
        message: `flags names namespace "${ns}", which has no schema and no defaults${didYouMean(ns, allNamespaces)}`,
      });
    }
  }

  // Overrides that name unknown environments or namespaces.
  for (const [env, files] of layout.overrides) {
    for (const [ns, entry] of files) {
      if (manifest && !envSet.has(env)) {
        issues.push({
          code: 'override-unknown-environment',
          file: entry.path,
          environment: env,
          namespace: ns,
          message: `environment "${env}" is not declared in ${MANIFEST_FILE}${didYouMean(env, envSet)}`,
        });
      }
      const orphan = !envSet.has(env) || !layout.schemas.has(ns) || !layout.defaults.has(ns);
      if (orphan) issues.push(...located(entry.path, parsedYaml.get(entry.path)!.issues));
      if (!layout.schemas.has(ns) || !layout.defaults.has(ns)) {
        issues.push({
          code: 'override-unknown-namespace',
          file: entry.path,
          environment: env,
          namespace: ns,
          message: `override for namespace "${ns}", which has no ${layout.schemas.has(ns) ? 'defaults' : 'schema'}${didYouMean(ns, servedNamespaces(layout))}`,
        });
      }
    }
  }

  // Per-file checks (reported once per file), then per-pair merge + validation.
  const configs = new Map<string, ResolvedConfig>();
  const prepare = (entry: TreeEntry, ns: string, isDefaults: boolean): PreparedDoc => {
    const info = schemaInfo.get(ns);
    const current = info?.compiled.version ?? 1;
    const migKey = migrationKeys.get(ns) ?? '';
    const key = `${entry.oid}|${entry.path}|${limitsKey}|${current}|${migKey}|${info ? 1 : 0}`;
    const hit = cache.get<PreparedDoc>('prepared', key);
    if (hit) return hit;
    return cache.set(
      'prepared',
      key,
      prepareDoc(entry, ns, isDefaults, parsedYaml.get(entry.path)!, info, versions.get(ns)),
    );
  };

  for (const ns of namespaces) {
    await pause();
    const info = schemaInfo.get(ns);
    const defaultsEntry = layout.defaults.get(ns);
    const docFiles: Array<[TreeEntry, boolean]> = defaultsEntry ? [[defaultsEntry, true]] : [];
    for (const [env, files] of layout.overrides) {
      const e = files.get(ns);
      if (e && envSet.has(env) && defaultsEntry && layout.schemas.has(ns)) docFiles.push([e, false]);
    }
    const prepared = new Map<string, PreparedDoc>();
    for (const [entry, isDefaults] of docFiles) {
      options.onProgress?.({ file: entry.path, namespace: ns });
      const doc = prepare(entry, ns, isDefaults);
      prepared.set(entry.path, doc);
      issues.push(...doc.issues);
    }
    if (!info || !defaultsEntry) continue;
    const migKey = migrationKeys.get(ns) ?? '';
    for (const env of environments) {
      await pause();
      const chain = chains.get(env);
      if (!chain) continue;
      const layerEntries: TreeEntry[] = [defaultsEntry];
      for (const e of chain) {
        const o = layout.overrides.get(e)?.get(ns);
        if (o) layerEntries.push(o);
      }
      if (layerEntries.some((e) => !prepared.get(e.path)!.ok)) continue;
      const inputKey = createHash('sha1')
        .update(
          [
            ENGINE_VERSION,
            limitsKey,
            info.entry.oid,
            migKey,
            chain.join('>'),
            flagNamespaces.has(ns) ? 'flags' : 'config',
            ...layerEntries.map((e) => `${e.path}:${e.oid}`),
          ].join('\0'),
        )
        .digest('hex');
      let result = cache.get<PairResult>('pair', inputKey);
      if (result) cache.count('reused');
      else {
        cache.count('merges');
        // The data is where runaway validation (uniqueItems over huge arrays) comes from: name the top layer.
        options.onProgress?.({ file: layerEntries.at(-1)!.path, namespace: ns, environment: env });
        result = cache.set(
          'pair',
          inputKey,
          resolvePair(
            ns,
            env,
            inputKey,
            info,
            layerEntries.map((e) => [e.path, prepared.get(e.path)!]),
            flagNamespaces.has(ns),
          ),
        );
      }
      issues.push(...result.issues);
      const outOfScope =
        result.config && options.secretScopes && info.compiled.schema
          ? outOfScopeSecrets(result.config, info.compiled.schema, options.secretScopes)
          : [];
      issues.push(...outOfScope);
      if (result.config && outOfScope.length === 0) configs.set(`${ns}/${env}`, result.config);
    }
  }

  issues.sort(compareIssues);
  return {
    ok: issues.length === 0,
    issues,
    ...(manifest ? { manifest } : {}),
    namespaces: allNamespaces,
    environments,
    schemas,
    configs,
    versions,
    limits,
  };
}

/** Namespaces an override may name: those with both a schema and defaults. */
function servedNamespaces(layout: Layout): string[] {
  return [...layout.schemas.keys()].filter((ns) => layout.defaults.has(ns));
}
