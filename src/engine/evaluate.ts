/** `evaluateRepo`: reads a repository through a `RepoSource`, merges every namespace x environment and validates it. */
import { EngineCache } from './engine-cache.js';
import { createEvaluationContext } from './evaluation-context.js';
import type { EvaluateOptions } from './evaluation-context.js';
import {
  checkFlagNamespacesStep,
  checkOverridesStep,
  checkSchemasStep,
  parseFilesStep,
  readManifestStep,
  readMigrationsStep,
  resolvePairsStep,
} from './evaluation-steps.js';
import { compareIssues } from './format-issue.js';
import { classifyEntries } from './layout.js';
import type { Evaluation, RepoSource, TreeEntry } from './types.js';

export type { EvaluateOptions, EvaluationProgress } from './evaluation-context.js';
export { ENGINE_VERSION } from './evaluation-steps.js';

/** Top-level key of a configuration document that declares its schema version (stripped before merging). */
export const SCHEMA_VERSION_KEY = '$schemaVersion';

/**
 * The port through which services evaluate untrusted content: `evaluateRepo` itself (in process) or an
 * isolated, bounded evaluator (worker threads). `cache` is only used in process.
 */
export type RepoEvaluator = (
  source: RepoSource,
  options?: Pick<EvaluateOptions, 'cache' | 'limits' | 'namespaces' | 'secretScopes' | 'origins'>,
) => Promise<Evaluation>;

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
  const ctx = createEvaluationContext(source, cache, options, listNamespaces(source.entries));
  await readManifestStep(ctx);
  await parseFilesStep(ctx);
  await checkSchemasStep(ctx);
  readMigrationsStep(ctx);
  checkFlagNamespacesStep(ctx);
  checkOverridesStep(ctx);
  await resolvePairsStep(ctx);

  const { issues, manifest } = ctx;
  issues.sort(compareIssues);
  return {
    ok: issues.length === 0,
    issues,
    ...(manifest ? { manifest } : {}),
    namespaces: ctx.allNamespaces,
    environments: ctx.environments,
    schemas: ctx.schemas,
    configs: ctx.configs,
    versions: ctx.versions,
    limits: ctx.limits,
  };
}
