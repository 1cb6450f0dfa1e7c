/** A repository on local disk (work tree or bare), read through its objects directly: no clone, no fetch. */
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { NotFoundError } from '../errors/index.js';
import { ObjectStore } from './object-store.js';
import type { FsPort } from './types.js';

/** Where a repository's parts live on disk. */
export interface RepoLocation {
  /** The `.git` directory (per-worktree for linked worktrees): HEAD and index live here. */
  gitdir: string;
  /** Where objects and refs live (differs from `gitdir` only for linked worktrees). */
  commonDir: string;
  /** Work tree root, or null for a bare repository. */
  workTree: string | null;
  /** `dir` relative to the work tree root, `/`-separated, '' or ending in `/`. */
  prefix: string;
}

async function isDir(fs: FsPort, p: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function isFile(fs: FsPort, p: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(p)).isFile();
  } catch {
    return false;
  }
}

async function looksBare(fs: FsPort, dir: string): Promise<boolean> {
  return (
    (await isFile(fs, path.join(dir, 'HEAD'))) &&
    (await isDir(fs, path.join(dir, 'objects'))) &&
    (await isDir(fs, path.join(dir, 'refs')))
  );
}

/** Finds the repository containing `dir` (walking up like git does); throws NotFoundError when there is none. */
export async function locateRepository(dir: string, fs: FsPort = nodeFs): Promise<RepoLocation> {
  const start = path.resolve(dir);
  if (await looksBare(fs, start))
    return withCommonDir(fs, { gitdir: start, commonDir: start, workTree: null, prefix: '' });
  let cur = start;
  for (;;) {
    const dotGit = path.join(cur, '.git');
    let gitdir: string | null = null;
    if (await isDir(fs, dotGit)) gitdir = dotGit;
    else if (await isFile(fs, dotGit))
      gitdir = gitFileTarget(cur, await fs.promises.readFile(dotGit, 'utf8'));
    if (gitdir) {
      const rel = path.relative(cur, start).split(path.sep).join('/');
      return withCommonDir(fs, { gitdir, commonDir: gitdir, workTree: cur, prefix: rel ? rel + '/' : '' });
    }
    const parent = path.dirname(cur);
    if (parent === cur) throw new NotFoundError('git repository', path.basename(start));
    cur = parent;
  }
}

/** The git dir a `.git` file in `workTree` points at (linked worktrees, submodules), or null. */
function gitFileTarget(workTree: string, text: string): string | null {
  const m = /^gitdir:\s*(.+?)\s*$/m.exec(text);
  return m?.[1] ? path.resolve(workTree, m[1]) : null;
}

/**
 * The work tree root around `dir`: the first directory, from `dir` up, that holds a `.git` (a directory, or a
 * file for linked worktrees); undefined outside any repository. Synchronous, for command-line set-up.
 */
export function findRepositoryRoot(dir: string): string | undefined {
  let current = path.resolve(dir);
  for (;;) {
    if (nodeFs.existsSync(path.join(current, '.git'))) return current;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/** The git dir of a work tree root (`.git`, or the target of a `.git` file); undefined when unreadable. */
function gitDir(workTree: string): string | undefined {
  const dotGit = path.join(workTree, '.git');
  try {
    if (nodeFs.statSync(dotGit).isDirectory()) return dotGit;
    return gitFileTarget(workTree, nodeFs.readFileSync(dotGit, 'utf8')) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * The git dir all worktrees of the repository share (a linked worktree's common dir, else its own), for what is
 * keyed by content and so serves every worktree alike; undefined when unreadable.
 */
export function commonGitDir(workTree: string): string | undefined {
  const own = gitDir(workTree);
  if (!own) return undefined;
  try {
    return commonDirIn(own, nodeFs.readFileSync(path.join(own, 'commondir'), 'utf8')) ?? own;
  } catch {
    return own; // not a linked worktree
  }
}

/** The common dir a linked worktree's `commondir` file (`text`, relative to its `gitdir`) names, if any. */
function commonDirIn(gitdir: string, text: string): string | undefined {
  const common = text.trim();
  return common ? path.resolve(gitdir, common) : undefined;
}

async function withCommonDir(fs: FsPort, loc: RepoLocation): Promise<RepoLocation> {
  try {
    const common = commonDirIn(
      loc.gitdir,
      await fs.promises.readFile(path.join(loc.gitdir, 'commondir'), 'utf8'),
    );
    if (common) return { ...loc, commonDir: common };
  } catch {
    // not a linked worktree
  }
  return loc;
}

/** Options of `openLocalRepository`. */
export interface LocalRepositoryOptions {
  /** Branch to follow; default: the branch HEAD points at (or HEAD itself when detached). */
  branch?: string;
  fs?: FsPort;
}

/** A local repository: `head` is the followed branch's commit as of the last `refresh()` (null if unborn). */
export class LocalRepository extends ObjectStore {
  readonly location: RepoLocation;
  readonly branch: string;
  head: string | null = null;
  private packs = '';

  constructor(location: RepoLocation, branch: string, fs: FsPort) {
    super({ fs, gitdir: location.commonDir });
    this.location = location;
    this.branch = branch;
  }

  /** Re-resolves the branch; replaces the cache when packs were removed (e.g. after `git gc`). */
  async refresh(): Promise<{ head: string | null }> {
    this.objectFs.invalidate();
    const packs = await listPacks(this.fs, this.gitdir);
    if (this.packs && [...this.packs.split('\n')].some((p) => p && !packs.includes(p))) this.replaceCache();
    this.packs = packs;
    try {
      this.head = await this.resolveRef(this.branch);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      this.head = null;
    }
    return { head: this.head };
  }
}

async function listPacks(fs: FsPort, gitdir: string): Promise<string> {
  try {
    return (await fs.promises.readdir(path.join(gitdir, 'objects', 'pack')))
      .filter((f) => f.endsWith('.pack'))
      .join('\n');
  } catch {
    return '';
  }
}

/** Opens a work tree or bare repository on disk (objects read directly) and resolves its branch. */
export async function openLocalRepository(
  dir: string,
  opts: LocalRepositoryOptions = {},
): Promise<LocalRepository> {
  const fs = opts.fs ?? nodeFs;
  const location = await locateRepository(dir, fs);
  let branch = opts.branch;
  if (!branch) {
    // HEAD is per worktree: read it from the worktree's gitdir, not the common dir
    const head = await fs.promises.readFile(path.join(location.gitdir, 'HEAD'), 'utf8').catch(() => '');
    const m = /^ref:\s*refs\/heads\/(.+?)\s*$/.exec(head);
    branch = m?.[1] ?? head.trim() ?? 'HEAD';
    if (!branch) branch = 'HEAD';
  }
  const repo = new LocalRepository(location, branch, fs);
  await repo.refresh();
  return repo;
}
