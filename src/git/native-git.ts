/**
 * The few operations that need the `git` program itself: creating a repository exactly as the user's git would
 * (its templates, its probed `core.*` settings), reading config with the user's global and system files, and
 * updating a work tree. Everything else reads objects directly (see `LocalRepository`).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GitOperationError, redactCredentials } from '../errors/index.js';

const execGit = promisify(execFile);

/** Environment for the `git` program (default: this process's). */
export type GitEnv = Record<string, string | undefined>;

async function runGit(cwd: string, args: string[], operation: string, env?: GitEnv): Promise<string> {
  try {
    const { stdout } = await execGit('git', args, {
      cwd,
      ...(env ? { env: env as NodeJS.ProcessEnv } : {}),
    });
    return stdout;
  } catch (error) {
    const failure = error as { code?: unknown; stderr?: string; message?: string };
    const detail =
      failure.code === 'ENOENT'
        ? 'the git program was not found on the PATH'
        : failure.stderr?.trim() || failure.message || String(error);
    throw new GitOperationError(operation, redactCredentials(detail), { cwd });
  }
}

/** `git init` of `dir` (which must exist) with `defaultBranch` as its first branch. */
export async function initRepository(dir: string, opts: { defaultBranch: string }): Promise<void> {
  await runGit(dir, ['-c', `init.defaultBranch=${opts.defaultBranch}`, 'init', '--quiet'], 'init');
}

/**
 * A config value as git sees it from `dir` (repository, global and system files, `GIT_CONFIG_*` variables of
 * `env`); undefined when unset or empty, or when it cannot be read.
 */
export async function readConfigValue(dir: string, key: string, env?: GitEnv): Promise<string | undefined> {
  try {
    return (await runGit(dir, ['config', '--get', key], 'config', env)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Moves the index and files of a work tree from commit `from` to commit `to` (`git read-tree -m -u`): only the
 * paths that differ are touched, and git refuses when one of them has local changes.
 */
export async function updateWorkTree(
  workTree: string,
  from: string,
  to: string,
  env?: GitEnv,
): Promise<void> {
  await runGit(workTree, ['read-tree', '-m', '-u', from, to], 'read-tree', env);
}
