/** `gitcfg diff`: the effective change of every namespace x environment between two commits. */
import { EngineCache, diffConfigs, evaluateRepo } from '../engine/index.js';
import type { Evaluation, JsonValue } from '../engine/index.js';
import { UsageError } from '../errors/index.js';
import { openLocalRepository, subtreeSource } from '../git/index.js';
import { maskChanges } from '../engine/index.js';
import type { CommandIo, CommandResult } from './command-io.js';
import { EXIT_CODES, errorLine } from './command-io.js';
import { chooseConfigPrefix, locateRepo } from './config-location.js';

/** Options of `gitcfg diff <from> <to>`. */
export interface DiffOptions extends CommandIo {
  from: string;
  to: string;
  repo?: string;
  subdir?: string;
  /** `--env`: only this environment. */
  environment?: string;
  format?: 'text' | 'json';
}

/** One pair's effective change, as computed by the engine's `diffConfigs`. */
export type PairDiff = ReturnType<typeof diffConfigs>[number];

/**
 * Prints the effective changes (stdout) and a summary (stderr). Exit 0 whether or not something changed; pairs
 * that are invalid at either commit cannot be compared: they are left out of `pairs`, listed under `invalid`
 * (JSON) and named in a warning on stderr.
 */
export async function diffCommand(options: DiffOptions): Promise<CommandResult & { pairs: PairDiff[] }> {
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`unknown format: ${String(format)}`);
  const location = locateRepo(options.cwd, options.repo);
  if (!location.gitRoot) throw new UsageError(`not a git repository: ${options.repo ?? location.dir}`);
  const repository = await openLocalRepository(location.gitRoot);
  const fromCommit = await repository.resolveRef(options.from);
  const toCommit = await repository.resolveRef(options.to);
  const cache = new EngineCache();
  // One cache for both sides: the unchanged files are parsed and merged once.
  const evaluate = async (commit: string): Promise<Evaluation> => {
    const whole = await repository.source(commit);
    const prefix = chooseConfigPrefix(
      new Set(whole.entries.map((e) => e.path)),
      location.prefix,
      options.subdir,
    );
    return evaluateRepo(subtreeSource(whole, prefix), { cache });
  };
  const before = await evaluate(fromCommit);
  const after = await evaluate(toCommit);
  const { stdout, stderr, environment: env } = options;
  if (env !== undefined && !before.environments.includes(env) && !after.environments.includes(env)) {
    const knownEnvs = [...new Set([...before.environments, ...after.environments])].sort();
    stderr.write(errorLine(`environment not found: ${env} (known: ${knownEnvs.join(', ') || 'none'})`));
    return { exitCode: EXIT_CODES.invalid, pairs: [] };
  }
  // A pair that exists but does not validate at one side cannot be compared: list it apart instead of
  // calling it added or removed.
  const invalid = { from: invalidPairs(before, env), to: invalidPairs(after, env) };
  const incomparable = new Set(
    [...invalid.from, ...invalid.to].map((p) => `${p.namespace}/${p.environment}`),
  );
  // Fields marked "x-gitcfg-secret" are masked, as in the HTTP diff and history.
  const pairs = diffConfigs(before, after, env !== undefined ? { env } : undefined)
    .filter((pair) => !incomparable.has(`${pair.namespace}/${pair.environment}`))
    .map((pair) => ({
      ...pair,
      changes: maskChanges(pair.changes, [
        before.schemas.get(pair.namespace),
        after.schemas.get(pair.namespace),
      ]),
    }))
    .sort((a, b) => compare(a.environment, b.environment) || compare(a.namespace, b.namespace));
  const range = `${fromCommit.slice(0, 7)}..${toCommit.slice(0, 7)}`;
  if (format === 'json') {
    stdout.write(`${JSON.stringify({ from: fromCommit, to: toCommit, pairs, invalid }, null, 2)}\n`);
  } else {
    for (const pair of pairs) for (const line of formatPairDiff(pair)) stdout.write(`${line}\n`);
  }
  for (const [label, evaluation, bad] of [
    [options.from, before, invalid.from],
    [options.to, after, invalid.to],
  ] as const) {
    if (!evaluation.ok) {
      const names = bad.map((p) => `${p.environment}/${p.namespace}`).join(', ');
      stderr.write(
        `warning: ${label} has ${evaluation.issues.length} issue(s)` +
          (bad.length ? `; not compared: ${names}\n` : '\n'),
      );
    }
  }
  const changeCount = pairs.reduce((sum, pair) => sum + Math.max(pair.changes.length, 1), 0);
  stderr.write(
    pairs.length === 0
      ? `no effective changes (${range})\n`
      : `${changeCount} change(s) in ${pairs.length} namespace x environment pair(s) (${range})\n`,
  );
  return { exitCode: EXIT_CODES.ok, pairs };
}

/** Pairs (namespace x environment) of an evaluation that did not validate, optionally for one environment. */
export function invalidPairs(
  evaluation: Evaluation,
  env?: string,
): Array<{ namespace: string; environment: string }> {
  const out: Array<{ namespace: string; environment: string }> = [];
  for (const environment of evaluation.environments) {
    if (env !== undefined && environment !== env) continue;
    for (const namespace of evaluation.namespaces) {
      if (!evaluation.configs.has(`${namespace}/${environment}`)) out.push({ namespace, environment });
    }
  }
  return out;
}

/** Text lines of one pair: `production/retry: ~ /http/max_delay_ms 2000 -> 5000`. */
export function formatPairDiff(pair: PairDiff): string[] {
  const head = `${pair.environment}/${pair.namespace}:`;
  if (pair.changes.length === 0) return [`${head} ${pair.status === 'removed' ? '-' : '+'} (${pair.status})`];
  return pair.changes.map((change) => {
    const path = change.path === '' ? '/' : change.path;
    switch (change.op) {
      case 'add':
        return `${head} + ${path} ${show(change.to)}`;
      case 'remove':
        return `${head} - ${path} ${show(change.from)}`;
      default:
        return `${head} ~ ${path} ${show(change.from)} -> ${show(change.to)}`;
    }
  });
}

function show(value: JsonValue | undefined): string {
  return value === undefined ? '' : JSON.stringify(value);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
