/** Thin wrappers over native git for tests: temp dirs, repos, commits. All async so in-process servers keep serving. */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { devNull, tmpdir } from 'node:os';
import * as path from 'node:path';

const created = new Set<string>();

/** Environment for native git that ignores the user's and the system's config (reproducible tests). */
export const gitEnv: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: devNull,
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
};

/** Runs native git with full control: `cwd`, stdin `input`, extra `env`. Resolves to stdout; rejects with stderr. */
export function runGit(opts: {
  cwd: string;
  args: string[];
  input?: string | Uint8Array;
  env?: NodeJS.ProcessEnv;
}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      opts.args,
      { cwd: opts.cwd, env: { ...gitEnv, ...opts.env }, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err)
          reject(
            Object.assign(new Error(`git ${opts.args.join(' ')} failed: ${stderr || err.message}`), {
              stderr,
            }),
          );
        else resolve(stdout);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** `git <args>` in `dir`; resolves to stdout without its trailing newline. */
export async function run(dir: string, ...args: string[]): Promise<string> {
  return (await runGit({ cwd: dir, args })).replace(/\n$/, '');
}

/** A fresh temp directory, removed by `cleanupTempDirs()`. */
export async function tempDir(prefix = 'gitcfg-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  created.add(dir);
  return dir;
}

/** Removes one directory made by `tempDir`/`createTempRepo` (or any path). */
export async function removeDir(dir: string): Promise<void> {
  created.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

/** Removes every directory made by `tempDir`/`createTempRepo`; call it in `after()`. */
export async function cleanupTempDirs(): Promise<void> {
  const dirs = [...created];
  created.clear();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}

/** Writes files (creating directories); `null` deletes the file (and directories it leaves empty). */
export async function writeFiles(
  dir: string,
  files: Record<string, string | Uint8Array | null>,
): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(dir, ...rel.split('/'));
    if (content === null) {
      await rm(abs, { force: true });
      // prune directories left empty, like git does on checkout
      for (let d = path.dirname(abs); d.startsWith(dir + path.sep); d = path.dirname(d)) {
        if (
          !(await rmdir(d).then(
            () => true,
            () => false,
          ))
        )
          break;
      }
      continue;
    }
    await mkdir(path.dirname(abs), { recursive: true });
    await writeFile(abs, content);
  }
}

/**
 * A new repository in a temp dir on branch `main` with user.name/email set. With `files`, they are committed
 * ("initial"). With `bare`, a bare repository (receive-pack enabled, so it can be served by `startGitHttpRemote`)
 * whose `main` holds `files` when given. Resolves to the directory.
 */
export async function createTempRepo(
  opts: { files?: Record<string, string | Uint8Array>; bare?: boolean; branch?: string; dir?: string } = {},
): Promise<string> {
  const branch = opts.branch ?? 'main';
  const dir = opts.dir ?? (await tempDir());
  await mkdir(dir, { recursive: true });
  if (opts.bare) {
    await runGit({
      cwd: dir,
      args: ['-c', `init.defaultBranch=${branch}`, 'init', '--bare', '--quiet', '.'],
    });
    await run(dir, 'config', 'http.receivepack', 'true');
    if (opts.files && Object.keys(opts.files).length > 0) {
      const work = await createTempRepo({ files: opts.files, branch });
      await run(work, 'push', '--quiet', dir, `${branch}:${branch}`);
      await removeDir(work);
    }
    return dir;
  }
  await runGit({ cwd: dir, args: ['-c', `init.defaultBranch=${branch}`, 'init', '--quiet', '.'] });
  await run(dir, 'config', 'user.name', 'Test User');
  await run(dir, 'config', 'user.email', 'test@example.com');
  await run(dir, 'config', 'commit.gpgsign', 'false');
  if (opts.files && Object.keys(opts.files).length > 0) await commitFiles(dir, opts.files, 'initial');
  return dir;
}

/** Writes (or with `null` deletes) files, stages everything and commits; resolves to the new commit oid. */
export async function commitFiles(
  dir: string,
  files: Record<string, string | Uint8Array | null>,
  message = 'update',
): Promise<string> {
  await writeFiles(dir, files);
  await run(dir, 'add', '-A');
  await run(dir, 'commit', '--quiet', '--allow-empty', '-m', message);
  return run(dir, 'rev-parse', 'HEAD');
}

/** `git clone` (native) of `url` into a new temp dir with user.name/email set; resolves to the directory. */
export async function cloneRepo(url: string, opts: { branch?: string } = {}): Promise<string> {
  const dir = await tempDir('gitcfg-clone-');
  await runGit({
    cwd: dir,
    args: ['clone', '--quiet', ...(opts.branch ? ['-b', opts.branch] : []), url, '.'],
  });
  await run(dir, 'config', 'user.name', 'Test User');
  await run(dir, 'config', 'user.email', 'test@example.com');
  return dir;
}

/** Publishes a work tree's branches as bare repository `<root>/<name>` (receive-pack enabled); resolves to it. */
export async function publishBare(workTree: string, root: string, name: string): Promise<string> {
  const bare = path.join(root, name);
  await runGit({ cwd: root, args: ['clone', '--quiet', '--bare', workTree, name] });
  await run(bare, 'config', 'http.receivepack', 'true');
  return bare;
}
