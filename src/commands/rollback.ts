/**
 * `gitcfg rollback <namespace> --to REV [--env E]` and `gitcfg rollback --revert REV`: the API's rollback and
 * revert in a local repository, as one new commit on the current branch (validated first). In a work tree the
 * changed files are then checked out too, so `git status` stays clean; local changes to them are refused first.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EditService, localWriteTarget } from '../edits/index.js';
import type { Author, EditResult } from '../edits/index.js';
import { EngineCache, formatIssue } from '../engine/index.js';
import type { Issue } from '../engine/index.js';
import { ConflictError, InvalidConfigError, UsageError } from '../errors/index.js';
import { blobOid, openLocalRepository, readConfigValue, stagedSource, updateWorkTree } from '../git/index.js';
import type { CommandIo, CommandResult } from './command-io.js';
import { EXIT_CODES, errorLine } from './command-io.js';
import { chooseConfigPrefix, locateRepo } from './config-location.js';
import { formatPairDiff } from './diff.js';

/** Options of `gitcfg rollback`. */
export interface RollbackOptions extends CommandIo {
  /** Namespace to roll back (required with `to`; with `revert`, limits the revert to it). */
  namespace?: string;
  /** `--to REV`: restore the namespace's files to their content at this revision. */
  to?: string;
  /** `--revert REV`: revert this one commit instead. */
  revert?: string;
  /** `--env E`: only this environment's override file (with `to`). */
  environment?: string;
  repo?: string;
  subdir?: string;
  dryRun?: boolean;
  message?: string;
  format?: 'text' | 'json';
}

/** Author from GIT_AUTHOR_NAME/EMAIL, else git's user.name/user.email. */
async function identity(
  dir: string,
  env: Record<string, string | undefined>,
  who: 'AUTHOR' | 'COMMITTER',
): Promise<Author> {
  const name = env[`GIT_${who}_NAME`] ?? (await readConfigValue(dir, 'user.name', env));
  const email = env[`GIT_${who}_EMAIL`] ?? (await readConfigValue(dir, 'user.email', env));
  if (!name || !email) throw new UsageError('no git identity: set user.name and user.email (git config)');
  return { name, email };
}

/** Rolls back or reverts; exit 0 on success (and for a dry run), 1 when the result would be invalid. */
export async function rollbackCommand(
  options: RollbackOptions,
): Promise<CommandResult & { result?: EditResult }> {
  const { stdout, stderr } = options;
  const env = { ...(options.env ?? process.env) };
  if ((options.to === undefined) === (options.revert === undefined)) {
    throw new UsageError('give exactly one of --to REV (with a namespace) or --revert REV');
  }
  if (options.to !== undefined && !options.namespace) throw new UsageError('--to needs a namespace');
  if (options.revert !== undefined && options.environment !== undefined)
    throw new UsageError('--env goes with --to only');
  const location = locateRepo(options.cwd, options.repo);
  if (!location.gitRoot) throw new UsageError(`not a git repository: ${options.repo ?? location.dir}`);
  const repository = await openLocalRepository(location.gitRoot);
  if (repository.branch === 'HEAD' || /^[0-9a-f]{40}$/.test(repository.branch)) {
    throw new UsageError('HEAD is detached: check out the branch to commit on first');
  }
  const head = repository.head;
  if (!head) throw new UsageError(`branch ${repository.branch} has no commit yet`);
  const paths = new Set((await repository.listTree(head)).map((e) => e.path));
  const prefix = chooseConfigPrefix(paths, location.prefix, options.subdir);
  const author = await identity(location.gitRoot, env, 'AUTHOR');
  const committer = env.GIT_COMMITTER_NAME ? await identity(location.gitRoot, env, 'COMMITTER') : author;
  const service = new EditService({
    target: localWriteTarget(async () => repository),
    subdir: prefix,
    committer,
    cache: new EngineCache(),
  });
  const run = (dryRun: boolean) =>
    options.revert !== undefined
      ? service.revert({
          commit: options.revert,
          dryRun,
          author,
          ...(options.namespace ? { namespace: options.namespace } : {}),
          ...(options.message !== undefined ? { message: options.message } : {}),
        })
      : service.rollback({
          namespace: options.namespace!,
          to: options.to!,
          dryRun,
          author,
          ...(options.environment !== undefined ? { env: options.environment } : {}),
          ...(options.message !== undefined ? { message: options.message } : {}),
        });

  const workTree = repository.location.workTree;
  let result: EditResult;
  try {
    result = await run(true);
    if (!options.dryRun && result.files.length > 0) {
      if (workTree) await refuseLocalChanges(workTree, result.files, head, repository);
      result = await run(false);
    }
  } catch (error) {
    if (!(error instanceof InvalidConfigError)) throw error;
    // The result would be invalid: show every issue, like `gitcfg validate`, and commit nothing.
    for (const issue of error.issues) stderr.write(`${formatIssue(relocate(issue, prefix))}\n`);
    stderr.write(
      errorLine(`the ${describe(options)} would leave the configuration invalid: nothing committed`),
    );
    return { exitCode: EXIT_CODES.invalid };
  }
  if (!options.dryRun && result.committed) {
    // The branch moved under the work tree: bring the index and files of the changed paths along.
    if (workTree) await updateWorkTree(workTree, result.parent, result.commit, env);
  }
  if (options.format === 'json') {
    stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    for (const pair of result.diff) for (const line of formatPairDiff(pair)) stdout.write(`${line}\n`);
  }
  const what = describe(options);
  if (result.files.length === 0) stderr.write(`nothing to do: the ${what} changes no file\n`);
  else if (options.dryRun) stderr.write(`dry run: the ${what} would change ${result.files.join(', ')}\n`);
  else
    stderr.write(
      `committed ${result.commit.slice(0, 12)} on ${repository.branch}: ${what} (${result.files.join(', ')})\n`,
    );
  return { exitCode: EXIT_CODES.ok, result };
}

function describe(options: RollbackOptions): string {
  return options.revert !== undefined
    ? `revert of ${options.revert}`
    : `rollback of ${options.namespace}${options.environment ? ` (${options.environment})` : ''} to ${options.to}`;
}

/** Issue paths relative to the git root, like the other commands show them. */
function relocate(issue: Issue, prefix: string): Issue {
  return issue.file !== undefined ? { ...issue, file: prefix + issue.file } : issue;
}

/** Refuses when a path to change differs from the branch head in the index or on disk. */
async function refuseLocalChanges(
  workTree: string,
  files: readonly string[],
  head: string,
  repository: { listTree(commit: string): Promise<{ path: string; oid: string }[]> },
): Promise<void> {
  const atHead = new Map((await repository.listTree(head)).map((e) => [e.path, e.oid]));
  const staged = new Map((await stagedSource(workTree)).entries.map((e) => [e.path, e.oid]));
  const dirty: string[] = [];
  for (const file of files) {
    const onDisk = await readFile(join(workTree, ...file.split('/'))).then(
      (bytes) => blobOid(bytes),
      () => undefined,
    );
    if (staged.get(file) !== atHead.get(file) || onDisk !== atHead.get(file)) dirty.push(file);
  }
  if (dirty.length > 0) {
    throw new ConflictError(`local changes to ${dirty.join(', ')}: commit or stash them first`, {
      paths: dirty,
    });
  }
}
