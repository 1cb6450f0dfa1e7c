/** Creating commits without a work tree: rewrite only the touched paths' trees, then compare-and-swap the ref. */
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { isomorphicGit } from './isomorphic-git.js';
import { GitOperationError, RefMovedError, UsageError } from '../errors/index.js';
import type { ObjectStore } from './object-store.js';
import { isGitError } from './object-store.js';
import type { IdentityInput } from './types.js';

/** One path to write (`content`) or delete (`content: null`). */
export interface FileChange {
  path: string;
  content: Uint8Array | null;
  /** Default: the existing entry's mode, or `100644` for a new file. */
  mode?: '100644' | '100755' | '120000';
}

/** What `commitChanges` commits. */
export interface CommitChangesOptions {
  branch: string;
  /** The commit the change was built on; null for the first commit of a new branch. */
  parent: string | null;
  changes: FileChange[];
  author: IdentityInput;
  /** Default: the author (with the same time). */
  committer?: IdentityInput;
  message: string;
}

type Entry = { mode: string; path: string; oid: string; type: 'blob' | 'tree' | 'commit' };
type Pending = { rest: string; change: FileChange };

const ZERO = '0'.repeat(40);

function checkPath(p: string): void {
  const parts = p.split('/');
  if (
    !p ||
    p.startsWith('/') ||
    parts.some((s) => s === '' || s === '.' || s === '..' || s.toLowerCase() === '.git')
  ) {
    throw new UsageError(`invalid path in change: ${JSON.stringify(p)}`, { path: p });
  }
}

function identity(who: IdentityInput, now: number) {
  return {
    name: who.name,
    email: who.email,
    timestamp: who.timestamp ?? now,
    timezoneOffset: who.timezoneOffset ?? new Date(now * 1000).getTimezoneOffset(),
  };
}

/**
 * Commits `changes` on top of `parent` and moves `branch` to the new commit, only if it still points at
 * `parent` (else RefMovedError, code E_REF_MOVED). Uses git's own `<ref>.lock` protocol, so it is safe against
 * native git and other processes too. Returns the new commit oid.
 */
export async function commitChanges(repo: ObjectStore, opts: CommitChangesOptions): Promise<string> {
  for (const c of opts.changes) checkPath(c.path);
  if (new Set(opts.changes.map((c) => c.path)).size !== opts.changes.length) {
    throw new UsageError('a path appears twice in the changes');
  }
  repo.objectFs.invalidate(); // see objects other writers added since our last call
  const fs = repo.objectFs.port;
  const { gitdir } = repo;
  const parentTree = opts.parent === null ? null : (await repo.readCommit(opts.parent)).tree;
  const tree =
    (await rewriteTree(
      repo,
      parentTree,
      opts.changes.map((change) => ({ rest: change.path, change })),
    )) ?? (await isomorphicGit().writeTree({ fs, gitdir, tree: [] }));
  const now = Math.floor(Date.now() / 1000);
  const author = identity(opts.author, now);
  const message = opts.message.endsWith('\n') ? opts.message : opts.message + '\n';
  const oid = await isomorphicGit().writeCommit({
    fs,
    gitdir,
    commit: {
      message,
      tree,
      parent: opts.parent === null ? [] : [opts.parent],
      author,
      committer: opts.committer ? identity(opts.committer, now) : author,
    },
  });
  await compareAndSwapRef(repo, `refs/heads/${opts.branch}`, opts.parent, oid);
  return oid;
}

/** Writes the new version of one tree; returns null when it ends up empty (git stores no empty trees). */
async function rewriteTree(
  repo: ObjectStore,
  treeOid: string | null,
  pending: Pending[],
): Promise<string | null> {
  const { fs, gitdir } = repo;
  const entries = new Map<string, Entry>();
  if (treeOid) for (const e of await repo.readTreeEntries(treeOid)) entries.set(e.path, e);
  const byChild = new Map<string, Pending[]>();
  for (const p of pending) {
    const slash = p.rest.indexOf('/');
    if (slash < 0) {
      const existing = entries.get(p.rest);
      if (p.change.content === null) {
        entries.delete(p.rest);
        continue;
      }
      const oid = await isomorphicGit().writeBlob({ fs, gitdir, blob: p.change.content });
      const keep = existing && existing.type === 'blob' ? existing.mode : '100644';
      entries.set(p.rest, { mode: p.change.mode ?? keep, path: p.rest, oid, type: 'blob' });
    } else {
      const child = p.rest.slice(0, slash);
      const list = byChild.get(child) ?? [];
      list.push({ rest: p.rest.slice(slash + 1), change: p.change });
      byChild.set(child, list);
    }
  }
  for (const [child, list] of byChild) {
    const existing = entries.get(child);
    const sub = await rewriteTree(repo, existing?.type === 'tree' ? existing.oid : null, list);
    if (sub === null) {
      if (existing?.type === 'tree') entries.delete(child);
    } else {
      entries.set(child, { mode: '040000', path: child, oid: sub, type: 'tree' });
    }
  }
  if (entries.size === 0) return null;
  return isomorphicGit().writeTree({ fs, gitdir, tree: [...entries.values()] });
}

/**
 * Moves `branch` from `expected` to `next` (null or the zero oid deletes it) only if it still points at
 * `expected`; RefMovedError otherwise. E.g. to take back a local commit whose push failed.
 */
export async function moveBranch(
  repo: ObjectStore,
  branch: string,
  expected: string | null,
  next: string | null,
): Promise<void> {
  const norm = (oid: string | null) => (oid === null || oid === ZERO ? null : oid);
  await compareAndSwapRef(repo, `refs/heads/${branch}`, norm(expected), norm(next));
}

/** Moves `ref` from `expected` to `next` (null deletes) under git's lock-file protocol; RefMovedError when it moved. */
async function compareAndSwapRef(
  repo: ObjectStore,
  ref: string,
  expected: string | null,
  next: string | null,
): Promise<void> {
  const { fs, gitdir } = repo;
  const refFile = path.join(gitdir, ...ref.split('/'));
  const lock = `${refFile}.lock`;
  await fs.promises.mkdir(path.dirname(refFile), { recursive: true });
  let handle: FileHandle;
  try {
    handle = await fs.promises.open(lock, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new RefMovedError('update-ref', `${ref} is being updated by someone else`, { ref, expected });
    }
    throw new GitOperationError('update-ref', `cannot lock ${ref}`, { ref }, err);
  }
  let done = false;
  try {
    let current: string | null = null;
    try {
      current = await isomorphicGit().resolveRef({ fs: repo.objectFs.port, gitdir, ref, depth: 1 });
    } catch (err) {
      if (!isGitError(err, 'NotFoundError')) throw err;
    }
    if ((current ?? ZERO) !== (expected ?? ZERO)) {
      throw new RefMovedError(
        'update-ref',
        `${ref} moved: expected ${expected ?? 'no branch'}, found ${current}`,
        {
          ref,
          expected,
          actual: current,
        },
      );
    }
    if (next === null) {
      await fs.promises.rm(refFile, { force: true });
      await handle.close();
      await fs.promises.rm(lock, { force: true });
      done = true;
      const still = await isomorphicGit()
        .resolveRef({ fs: repo.objectFs.port, gitdir, ref, depth: 1 })
        .catch(() => null);
      if (still)
        throw new GitOperationError('update-ref', `${ref} is also in packed-refs; not deleted`, { ref });
      return;
    }
    await handle.writeFile(`${next}\n`);
    await handle.sync();
    await handle.close();
    await fs.promises.rename(lock, refFile);
    done = true;
  } finally {
    if (!done) {
      await handle.close().catch(() => {});
      await fs.promises.rm(lock, { force: true });
    }
  }
}
