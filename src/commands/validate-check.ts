/** The part of `gitcfg validate` that loads git and the engine (after its evaluation worker was started). */
import { join } from 'node:path';
import { ENGINE_VERSION, formatIssues } from '../engine/index.js';
import type { Issue } from '../engine/index.js';
import type { EvaluationPool } from '../evaluation-pool/index.js';
import { commonGitDir } from '../git/index.js';
import type { CommandIo, CommandResult } from './command-io.js';
import { EXIT_CODES } from './command-io.js';
import { relocateIssues } from './config-location.js';
import { openConfigSource } from './config-source.js';
import type { ConfigSource, ConfigSourceOptions } from './config-source.js';
import { readPackageVersion } from './package-root.js';
import {
  ValidationCache,
  cleanNamespaces,
  codeFingerprint,
  namespaceKeys,
  validatorCacheIn,
} from './validation-cache.js';

/** Options of `gitcfg validate`. */
export interface ValidateOptions extends CommandIo, Omit<ConfigSourceOptions, 'cwd'> {
  format?: 'text' | 'json';
  /**
   * Reuse the results of namespaces whose inputs are unchanged since they were last found valid (kept in
   * `<gitdir>/gitcfg/`); default true. `--no-cache` sets it to false.
   */
  cache?: boolean;
}

/** Machine-readable result (`--format json` prints `{ok, issues, namespaces, environments, source}`). */
export interface ValidateReport {
  ok: boolean;
  issues: Issue[];
  namespaces: string[];
  environments: string[];
  source: { kind: string; label: string; root: string; commit?: string };
  /** Namespaces not re-checked because their inputs were found valid before. */
  reused: number;
}

/** Opens the configuration, evaluates it on `pool` and prints the issues and the summary. */
export async function checkAndReport(
  options: ValidateOptions,
  format: 'text' | 'json',
  pool: EvaluationPool,
): Promise<CommandResult & { report: ValidateReport }> {
  const opened = await openConfigSource({
    ...options,
    indexFile: options.indexFile ?? options.env?.GIT_INDEX_FILE,
  });
  // Shared by linked worktrees: what is kept there is keyed by content.
  const gitDir = opened.gitRoot ? commonGitDir(opened.gitRoot) : undefined;
  const remembered = await openValidationCache(opened, options.cache !== false ? gitDir : undefined);
  const toCheck = remembered
    ? [...remembered.keys].filter(([, key]) => !remembered.cache.has(key)).map(([ns]) => ns)
    : undefined;
  const reused = remembered && toCheck ? remembered.keys.size - toCheck.length : 0;
  const evaluation = await pool.evaluate(opened.source, {
    ...(reused > 0 ? { namespaces: toCheck } : {}),
    // Only issues are reported (located in the worker): the pairs, schemas and versions stay there.
    issuesOnly: true,
    // Compiled validators outlive `--no-cache`: they depend on the schema's bytes only, never on a verdict.
    ...(gitDir ? { validatorCache: validatorCacheIn(join(gitDir, 'gitcfg', 'validators')) } : {}),
  });
  if (remembered) {
    const clean = cleanNamespaces(toCheck ?? [], evaluation.issues);
    if (clean) await remembered.cache.add(clean.map((ns) => remembered.keys.get(ns) as string));
  }
  const issues = relocateIssues(evaluation.issues, opened.displayPrefix);
  const report: ValidateReport = {
    ok: issues.length === 0,
    issues,
    namespaces: evaluation.namespaces,
    environments: evaluation.environments,
    source: {
      kind: opened.kind,
      label: opened.label,
      root: opened.displayPrefix === '' ? '.' : opened.displayPrefix.slice(0, -1),
      ...(opened.commit ? { commit: opened.commit } : {}),
    },
    reused,
  };
  if (format === 'json') {
    options.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    for (const line of formatIssues(issues)) options.stdout.write(`${line}\n`);
  }
  options.stderr.write(`${summaryLine(report)}\n`);
  return { exitCode: report.ok ? EXIT_CODES.ok : EXIT_CODES.invalid, report };
}

/** The cache of the repository's git dir and the key of every namespace, unless disabled or outside git. */
async function openValidationCache(
  opened: ConfigSource,
  gitDir: string | undefined,
): Promise<{ cache: ValidationCache; keys: Map<string, string> } | undefined> {
  if (!gitDir) return undefined;
  const salt = [ENGINE_VERSION, readPackageVersion(), codeFingerprint(), opened.displayPrefix].join('\0');
  return { cache: await ValidationCache.open(gitDir), keys: namespaceKeys(opened.source.entries, salt) };
}

/** `✔ 6 namespaces x 4 environments valid (commit abc1234)` or `✖ 3 issues (staged)`. */
export function summaryLine(report: ValidateReport): string {
  const where =
    report.source.root === '.' ? report.source.label : `${report.source.label}, ${report.source.root}/`;
  if (report.ok) {
    const ns = plural(report.namespaces.length, 'namespace');
    const envs = plural(report.environments.length, 'environment');
    return `✔ ${ns} x ${envs} valid (${where})`;
  }
  // Counted as printed: an issue inherited by several environments is one line, one issue.
  return `✖ ${plural(formatIssues(report.issues).length, 'issue')} (${where})`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
