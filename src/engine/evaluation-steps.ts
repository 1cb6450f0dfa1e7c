/**
 * The steps of `evaluateRepo`, in the order it runs them: each reads and fills an `EvaluationContext` and only
 * appends issues, so the order of issues that sort equal stays the order of the steps.
 */
import { createHash } from 'node:crypto';
import { checkChain, parseMigration } from '../migrate/index.js';
import type { MigrationStep } from '../migrate/index.js';
import { originsEstimate } from './engine-cache.js';
import type { PairResult } from './engine-cache.js';
import type { Yielder } from './event-loop-yield.js';
import type { EvaluationContext } from './evaluation-context.js';
import { limitsKeyOf, manifestValidatorOf, schemaOf, yamlOf } from './evaluation-context.js';
import type { Layout } from './layout.js';
import { DEFAULT_LIMITS, LIMIT_CAPS, MANIFEST_FILE, readManifest, resolveChains } from './manifest.js';
import type { CompiledSchema } from './schema-validator.js';
import { outOfScopeSecrets, prepareDoc, resolvePair } from './resolve-pair.js';
import type { PreparedDoc, SchemaInfo } from './resolve-pair.js';
import { didYouMean } from './suggest.js';
import { originsFor } from './yaml-document.js';
import type { LocalIssue } from './yaml-document.js';
import type { Issue, JsonObject, Limits, TreeEntry } from './types.js';

/** Bumped when the engine's output for the same inputs changes (part of every `inputKey`). */
export const ENGINE_VERSION = 'gitcfg-engine/5';

const located = (file: string, issues: readonly LocalIssue[]): Issue[] => issues.map((i) => ({ ...i, file }));

/** The manifest's options, each lowered to its cap. */
function capped(options: Partial<Limits>, caps: Readonly<Limits>): Partial<Limits> {
  const out: Partial<Limits> = {};
  for (const key of Object.keys(options) as (keyof Limits)[]) {
    const value = options[key];
    if (value !== undefined) out[key] = Math.min(value, caps[key]);
  }
  return out;
}

/**
 * Reads `gitcfg.yaml` first: its options set the limits for every other file. Fills `manifest`, `chains`,
 * `limits`, `limitsKey`, `flagNamespaces`, `environments` and `envSet`.
 */
export async function readManifestStep(ctx: EvaluationContext): Promise<void> {
  const { layout, issues, options } = ctx;
  if (!layout.manifest) {
    issues.push({
      code: 'manifest-missing',
      file: MANIFEST_FILE,
      message: `no ${MANIFEST_FILE} at the repository root (it declares the environments)`,
    });
  } else {
    // Parsed under the limits before the manifest's own options.
    const parsed = await yamlOf(ctx, layout.manifest, ctx.limits);
    const read = readManifest(parsed, await manifestValidatorOf(ctx));
    issues.push(...read.issues);
    ctx.manifest = read.manifest;
    if (ctx.manifest) {
      const resolved = resolveChains(ctx.manifest, parsed);
      issues.push(...resolved.issues);
      ctx.chains = resolved.chains;
    }
  }
  const { manifest } = ctx;
  const caps: Limits = { ...LIMIT_CAPS, ...(options.caps ?? {}) };
  ctx.limits = { ...DEFAULT_LIMITS, ...capped(manifest?.options ?? {}, caps), ...(options.limits ?? {}) };
  ctx.limitsKey = limitsKeyOf(ctx.limits);
  ctx.flagNamespaces = new Set(manifest?.flags ?? []);
  ctx.environments = manifest ? Object.keys(manifest.environments).sort() : [];
  ctx.envSet = new Set(ctx.environments);
}

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

/** Reads and parses every YAML file and compiles every schema not cached yet, in parallel. */
export async function parseFilesStep(ctx: EvaluationContext): Promise<void> {
  const { layout, limits, concurrency, pause } = ctx;
  const yamlEntries: TreeEntry[] = [...layout.defaults.values()];
  for (const m of layout.overrides.values()) yamlEntries.push(...m.values());
  for (const m of layout.migrations.values()) yamlEntries.push(...m.values());
  const schemaEntries: TreeEntry[] = [...layout.schemas.values()];
  for (const m of layout.oldSchemas.values()) schemaEntries.push(...m.values());
  await Promise.all([
    mapLimit(
      yamlEntries,
      concurrency,
      async (e) => void ctx.parsedYaml.set(e.path, await yamlOf(ctx, e, limits)),
      pause,
    ),
    mapLimit(
      schemaEntries,
      concurrency,
      async (e) => void ctx.compiled.set(e.path, await schemaOf(ctx, e, limits)),
      pause,
    ),
  ]);
}

function schemaIssue(file: string, c: CompiledSchema, namespace: string): Issue {
  return {
    code: c.error!.code ?? 'schema-invalid',
    file,
    message: c.error!.code ? c.error!.message : `schema does not compile: ${c.error!.message}`,
    ...(c.error!.line !== undefined ? { line: c.error!.line, column: c.error!.column ?? 1 } : {}),
    namespace,
  };
}

/**
 * Per namespace: a schema and defaults must exist, the schema and old schemas must compile and be numbered
 * consistently. Fills `schemas`, `schemaInfo` and `versions` (without migration steps).
 */
export async function checkSchemasStep(ctx: EvaluationContext): Promise<void> {
  const { layout, issues, compiled } = ctx;
  for (const ns of ctx.namespaces) {
    await ctx.pause();
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
        ctx.schemas.set(ns, current.schema!);
        ctx.schemaInfo.set(ns, { entry: schemaEntry, compiled: current });
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
    if (current?.validate) ctx.versions.set(ns, { current: current.version, steps: [], oldSchemas });
  }
}

/** Parses each namespace's migrations and checks their chain. Fills `versions[ns].steps` and `migrationKeys`. */
export function readMigrationsStep(ctx: EvaluationContext): void {
  const { layout, issues } = ctx;
  for (const [ns, files] of [...layout.migrations].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const steps: MigrationStep[] = [];
    const keyParts: string[] = [];
    for (const [n, entry] of [...files].sort((a, b) => a[0] - b[0])) {
      keyParts.push(`${n}:${entry.oid}`);
      const parsed = ctx.parsedYaml.get(entry.path)!;
      issues.push(...located(entry.path, parsed.issues));
      if (!parsed.ok) continue;
      const r = parseMigration(parsed.value, entry.path, n, originsFor(parsed.positions, entry.path));
      issues.push(
        ...r.issues.map((i) => ({ ...i, file: i.file ?? entry.path, namespace: i.namespace ?? ns })),
      );
      if (r.step) steps.push(r.step);
    }
    const v = ctx.versions.get(ns);
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
    ctx.migrationKeys.set(ns, keyParts.join(','));
  }
}

/** Flag namespaces the manifest names must exist. */
export function checkFlagNamespacesStep(ctx: EvaluationContext): void {
  const { allNamespaces } = ctx;
  for (const ns of ctx.flagNamespaces) {
    if (!allNamespaces.includes(ns)) {
      ctx.issues.push({
        code: 'manifest-invalid',
        file: MANIFEST_FILE,
        path: '/flags',
        namespace: ns,
        message: `flags names namespace "${ns}", which has no schema and no defaults${didYouMean(ns, allNamespaces)}`,
      });
    }
  }
}

/** Namespaces an override may name: those with both a schema and defaults. */
function servedNamespaces(layout: Layout): string[] {
  return [...layout.schemas.keys()].filter((ns) => layout.defaults.has(ns));
}

/** Overrides that name unknown environments or namespaces (their parse issues are reported here too). */
export function checkOverridesStep(ctx: EvaluationContext): void {
  const { layout, issues, envSet } = ctx;
  for (const [env, files] of layout.overrides) {
    for (const [ns, entry] of files) {
      if (ctx.manifest && !envSet.has(env)) {
        issues.push({
          code: 'override-unknown-environment',
          file: entry.path,
          environment: env,
          namespace: ns,
          message: `environment "${env}" is not declared in ${MANIFEST_FILE}${didYouMean(env, envSet)}`,
        });
      }
      const orphan = !envSet.has(env) || !layout.schemas.has(ns) || !layout.defaults.has(ns);
      if (orphan) issues.push(...located(entry.path, ctx.parsedYaml.get(entry.path)!.issues));
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
}

/** One document checked on its own (parse issues, version, migration), memoised across evaluations. */
function prepare(ctx: EvaluationContext, entry: TreeEntry, ns: string, isDefaults: boolean): PreparedDoc {
  const info = ctx.schemaInfo.get(ns);
  const current = info?.compiled.version ?? 1;
  const migKey = ctx.migrationKeys.get(ns) ?? '';
  const key = `${entry.oid}|${entry.path}|${ctx.limitsKey}|${current}|${migKey}|${info ? 1 : 0}`;
  const hit = ctx.cache.get<PreparedDoc>('prepared', key);
  if (hit) return hit;
  const doc = prepareDoc(entry, ns, isDefaults, ctx.parsedYaml.get(entry.path)!, info, ctx.versions.get(ns));
  const origins = doc.origins.size + doc.deleteOrigins.size;
  return ctx.cache.set('prepared', key, doc, originsEstimate(origins, doc.issues.length));
}

/**
 * Per namespace: each document checked once, then per environment the chain merged and validated (memoised by
 * `inputKey`) and, with `secretScopes`, its secret references checked. Fills `configs` with the clean pairs (unless `issuesOnly`).
 */
export async function resolvePairsStep(ctx: EvaluationContext): Promise<void> {
  const { layout, issues, options, envSet } = ctx;
  for (const ns of ctx.namespaces) {
    await ctx.pause();
    const info = ctx.schemaInfo.get(ns);
    const defaultsEntry = layout.defaults.get(ns);
    const docFiles: Array<[TreeEntry, boolean]> = defaultsEntry ? [[defaultsEntry, true]] : [];
    for (const [env, files] of layout.overrides) {
      const e = files.get(ns);
      if (e && envSet.has(env) && defaultsEntry && layout.schemas.has(ns)) docFiles.push([e, false]);
    }
    const prepared = new Map<string, PreparedDoc>();
    for (const [entry, isDefaults] of docFiles) {
      options.onProgress?.({ file: entry.path, namespace: ns });
      const doc = prepare(ctx, entry, ns, isDefaults);
      prepared.set(entry.path, doc);
      issues.push(...doc.issues);
    }
    if (!info || !defaultsEntry) continue;
    for (const env of ctx.environments) {
      await ctx.pause();
      const chain = ctx.chains.get(env);
      if (!chain) continue;
      const layerEntries: TreeEntry[] = [defaultsEntry];
      for (const e of chain) {
        const o = layout.overrides.get(e)?.get(ns);
        if (o) layerEntries.push(o);
      }
      if (layerEntries.some((e) => !prepared.get(e.path)!.ok)) continue;
      const result = resolvePairOnce(ctx, ns, env, chain, info, layerEntries, prepared);
      issues.push(...result.issues);
      const outOfScope =
        result.config && options.secretScopes && info.compiled.schema
          ? outOfScopeSecrets(result.config, info.compiled.schema, options.secretScopes)
          : [];
      issues.push(...outOfScope);
      if (result.config && outOfScope.length === 0 && !options.issuesOnly) {
        ctx.configs.set(`${ns}/${env}`, result.config);
      }
    }
  }
}

/** Merges and validates one namespace x environment, or reuses the result of the same inputs. */
function resolvePairOnce(
  ctx: EvaluationContext,
  ns: string,
  env: string,
  chain: readonly string[],
  info: SchemaInfo,
  layerEntries: readonly TreeEntry[],
  prepared: ReadonlyMap<string, PreparedDoc>,
): PairResult {
  const { cache, options } = ctx;
  const isFlags = ctx.flagNamespaces.has(ns);
  const inputKey = createHash('sha1')
    .update(
      [
        ENGINE_VERSION,
        ctx.limitsKey,
        info.entry.oid,
        ctx.migrationKeys.get(ns) ?? '',
        chain.join('>'),
        isFlags ? 'flags' : 'config',
        ...layerEntries.map((e) => `${e.path}:${e.oid}`),
      ].join('\0'),
    )
    .digest('hex');
  const hit = cache.get<PairResult>('pair', inputKey);
  if (hit) {
    cache.count('reused');
    return hit;
  }
  cache.count('merges');
  // The data is where runaway validation (uniqueItems over huge arrays) comes from: name the top layer.
  options.onProgress?.({ file: layerEntries.at(-1)!.path, namespace: ns, environment: env });
  const result = resolvePair(
    ns,
    env,
    inputKey,
    info,
    layerEntries.map((e) => [e.path, prepared.get(e.path)!]),
    isFlags,
  );
  const origins = result.config?.origins.size ?? 0;
  return cache.set('pair', inputKey, result, originsEstimate(origins, result.issues.length));
}
