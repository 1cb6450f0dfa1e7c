/**
 * `gitcfg blame <namespace> --env E`: every leaf of the merged document with the file and line that set it and
 * the commit that last changed it there (the same data as `GET /v1/config/:ns/:env?explain=1`).
 */
import { InvalidConfigError, NotFoundError, UsageError } from '../errors/index.js';
import type { Explanation } from '../history/index.js';
import type { CommandIo, CommandResult } from './command-io.js';
import { EXIT_CODES, errorLine } from './command-io.js';
import { openLocalHistory } from './history.js';

/** Options of `gitcfg blame`. */
export interface BlameOptions extends CommandIo {
  namespace: string;
  /** `--env`. */
  environment: string;
  repo?: string;
  subdir?: string;
  /** `--ref`: explain this commit (default: the checked-out branch's head). */
  ref?: string;
  format?: 'text' | 'json';
}

/** Text lines: `/retry/max  3  defaults/app.yaml:3  abc1234 2026-01-02 Jane Doe`, columns aligned. */
export function formatExplanation(explanation: Explanation): string[] {
  const rows = explanation.values.map((v) => [
    v.path,
    JSON.stringify(v.value),
    v.file === null ? '?' : `${v.file}:${v.line ?? '?'}`,
    v.commit
      ? `${v.commit.commit.slice(0, 7)}${v.exact ? '' : '?'} ${v.commit.time.slice(0, 10)} ${v.commit.author.name}`
      : '-',
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(0, ...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  '));
}

/** Runs `gitcfg blame`: exit 0 printed, 1 unknown or invalid namespace/environment, 2 bad arguments. */
export async function blameCommand(options: BlameOptions): Promise<CommandResult> {
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`unknown format: ${String(format)}`);
  if (!options.environment) throw new UsageError('--env is required');
  const { service, at } = await openLocalHistory(options);
  let explanation: Explanation;
  try {
    explanation = await service.explain(options.namespace, options.environment, { at });
  } catch (error) {
    const unknown =
      error instanceof NotFoundError &&
      ['namespace', 'environment', 'config'].includes(String(error.data.what));
    if (unknown || error instanceof InvalidConfigError) {
      options.stderr.write(errorLine(error.message));
      return { exitCode: EXIT_CODES.invalid };
    }
    throw error;
  }
  if (format === 'json') options.stdout.write(`${JSON.stringify(explanation, null, 2)}\n`);
  else for (const line of formatExplanation(explanation)) options.stdout.write(`${line}\n`);
  return { exitCode: EXIT_CODES.ok };
}
