/**
 * `gitcfg history <namespace> --env E`: the commits that changed the effective configuration of a namespace in
 * an environment (through defaults, ancestor environments, schemas or migrations), newest first, from a local
 * repository. The history index is built in memory with one pass over the branch.
 */
import type { ConfigChange, JsonValue } from '../engine/index.js';
import { NotFoundError, UsageError } from '../errors/index.js';
import { openLocalRepository } from '../git/index.js';
import { HISTORY_LIMITS, HistoryIndex, HistoryService } from '../history/index.js';
import type { CommitSummary, HistoryEntry } from '../history/index.js';
import type { CommandIo, CommandResult } from './command-io.js';
import { EXIT_CODES, errorLine } from './command-io.js';
import { chooseConfigPrefix, locateRepo } from './config-location.js';

/** Options of `gitcfg history`. */
export interface HistoryOptions extends CommandIo {
  namespace: string;
  /** `--env`. */
  environment: string;
  /** `--repo`: a directory inside the git work tree (default cwd). */
  repo?: string;
  /** `--subdir`: config root inside `--repo` (default: `--repo`, or its `config-repo/`). */
  subdir?: string;
  /** `--ref`: where the history ends (default: the checked-out branch's head). */
  ref?: string;
  /** `--limit` (default 20, at most 100). */
  limit?: number | string;
  /** `--before`: only commits older than this one (the `next` of a previous page). */
  before?: string;
  format?: 'text' | 'json';
}

/** A history service over a local repository, its index built up to `at`. */
export interface LocalHistory {
  service: HistoryService;
  /** The commit queries end at. */
  at: string;
}

/** Opens the repository around `repo`, finds the config root and indexes the branch up to `ref` (or HEAD). */
export async function openLocalHistory(options: {
  cwd: string;
  repo?: string;
  subdir?: string;
  ref?: string;
}): Promise<LocalHistory> {
  const location = locateRepo(options.cwd, options.repo);
  if (!location.gitRoot) throw new UsageError(`not a git repository: ${options.repo ?? location.dir}`);
  const repository = await openLocalRepository(location.gitRoot);
  let at: string;
  if (options.ref !== undefined) at = await repository.resolveRef(options.ref);
  else if (repository.head) at = repository.head;
  else throw new UsageError('the repository has no commits yet');
  const source = await repository.source(at);
  const prefix = chooseConfigPrefix(
    new Set(source.entries.map((e) => e.path)),
    location.prefix,
    options.subdir,
  );
  const service = new HistoryService({
    index: new HistoryIndex({ branch: repository.branch }),
    repository,
    subdir: prefix.replace(/\/$/, ''),
  });
  await service.extend(at);
  return { service, at };
}

/** Parses `--limit`. */
export function parseLimit(limit: number | string | undefined): number {
  if (limit === undefined) return HISTORY_LIMITS.default;
  const n = typeof limit === 'number' ? limit : /^[0-9]+$/.test(limit) ? Number(limit) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > HISTORY_LIMITS.max)
    throw new UsageError(`--limit must be an integer from 1 to ${HISTORY_LIMITS.max}: ${String(limit)}`);
  return n;
}

/** `abc1234 2026-01-02 Jane Doe <jane@example.com>` */
export function commitLine(c: CommitSummary): string {
  return `${c.commit.slice(0, 7)} ${c.time.slice(0, 10)} ${c.author.name} <${c.author.email}>`;
}

function show(value: JsonValue | undefined): string {
  return value === undefined ? '' : JSON.stringify(value);
}

/** `~ /retry/max 3 -> 5`, `+ /new "x"`, `- /old 1` */
export function changeLine(change: ConfigChange): string {
  const path = change.path === '' ? '/' : change.path;
  if (change.op === 'add') return `+ ${path} ${show(change.to)}`;
  if (change.op === 'remove') return `- ${path} ${show(change.from)}`;
  return `~ ${path} ${show(change.from)} -> ${show(change.to)}`;
}

/** Text form of one history entry. */
export function formatHistoryEntry(entry: HistoryEntry): string[] {
  const subject = entry.message.split('\n')[0] ?? '';
  return [
    `commit ${entry.commit}`,
    `Author: ${entry.author.name} <${entry.author.email}>`,
    `Date:   ${entry.time}`,
    '',
    `    ${subject}`,
    '',
    ...entry.changes.map((c) => `    ${changeLine(c)}`),
    '',
  ];
}

/** Runs `gitcfg history`: exit 0 printed, 1 unknown namespace/environment, 2 bad arguments. */
export async function historyCommand(options: HistoryOptions): Promise<CommandResult> {
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`unknown format: ${String(format)}`);
  if (!options.environment) throw new UsageError('--env is required');
  const limit = parseLimit(options.limit);
  const { service, at } = await openLocalHistory(options);
  let page;
  try {
    page = await service.history(options.namespace, options.environment, {
      at,
      limit,
      ...(options.before !== undefined ? { before: options.before } : {}),
    });
  } catch (error) {
    if (
      error instanceof NotFoundError &&
      ['namespace', 'environment', 'config'].includes(String(error.data.what))
    ) {
      options.stderr.write(errorLine(error.message));
      return { exitCode: EXIT_CODES.invalid };
    }
    throw error;
  }
  if (format === 'json') {
    options.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
    return { exitCode: EXIT_CODES.ok };
  }
  for (const entry of page.commits)
    for (const line of formatHistoryEntry(entry)) options.stdout.write(`${line}\n`);
  if (page.commits.length === 0)
    options.stderr.write(`no effective changes of ${options.namespace}/${options.environment}\n`);
  if (page.next) options.stderr.write(`more: --before ${page.next}\n`);
  return { exitCode: EXIT_CODES.ok };
}
