/** Read access to a repository's objects with isomorphic-git: refs, commits, trees, diffs, blobs, log. */
import { isomorphicGit } from './isomorphic-git.js';
import type { TreeEntry } from '../engine/index.js';
import { GitOperationError, NotFoundError, UsageError } from '../errors/index.js';
import { ObjectFs } from './object-fs.js';
import type { CommitInfo, CommitSource, FsPort, GitRepository, TreeChange } from './types.js';
import { createObjectCache, dropDecompressedObjects } from './object-cache.js';

const FULL_OID = /^[0-9a-f]{40}$/;
const SHORT_OID = /^[0-9a-f]{4,40}$/;
// isomorphic-git reads `<gitdir>/<ref>` as given: a name git itself refuses (`..`, a leading `/` or `.`
// component, control characters) would read files outside the repository, so it never reaches it.
const UNSAFE_REF = /\.\.|^\/|\/\/|(^|\/)\.|[\p{Cc}\s~^:?*[\\]/u;

type RawEntry = { mode: string; path: string; oid: string; type: 'blob' | 'tree' | 'commit' };

/** Options shared by every repository reader. */
export interface ObjectStoreOptions {
  fs: FsPort;
  /** Directory holding `objects/` and `refs/` (the `.git` dir, or the repository itself when bare). */
  gitdir: string;
  /**
   * Bytes of objects read (blobs, and trees at ~100 bytes an entry) after which the object cache drops the
   * objects it keeps decompressed (default 16 MiB): isomorphic-git keeps every object it read, so reads of many
   * different old commits would otherwise grow it without bound. 64 MiB held ~80 MB more at the peak of reads
   * of old commits of a 10k-file repository for 4% less CPU per read.
   */
  cacheBudgetBytes?: number;
}

export const DEFAULT_OBJECT_CACHE_BUDGET = 16 * 1024 * 1024;

/** Code-unit order, so listings and diffs are deterministic. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * `list` (sorted by path) with `changes` applied, still sorted. Unchanged entries stay the same objects, and a
 * few changes cost a binary search and a copy each instead of sorting every path again (a one-file sync of a
 * 10,000-file tree).
 */
export function applyChanges(
  list: readonly TreeEntry[],
  changes: readonly TreeChange[],
): readonly TreeEntry[] {
  if (changes.length === 0) return list;
  if (changes.length > 64) {
    const byPath = new Map(list.map((e) => [e.path, e]));
    for (const c of changes) {
      if (c.kind === 'delete') byPath.delete(c.path);
      else byPath.set(c.path, entryOf(c));
    }
    return Object.freeze([...byPath.values()].sort((a, b) => comparePaths(a.path, b.path)));
  }
  const out = [...list];
  for (const c of changes) {
    let low = 0;
    let high = out.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (comparePaths(out[mid]!.path, c.path) < 0) low = mid + 1;
      else high = mid;
    }
    const present = out[low]?.path === c.path;
    if (c.kind === 'delete') {
      if (present) out.splice(low, 1);
    } else out.splice(low, present ? 1 : 0, entryOf(c));
  }
  return Object.freeze(out);
}

function entryOf(change: TreeChange): TreeEntry {
  return { path: change.path, oid: change.newOid!, type: typeOfMode(change.mode!), mode: change.mode! };
}

/** Whether an isomorphic-git error is of the given `code`. */
export function isGitError(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/**
 * Implements `GitRepository` over one gitdir. One long-lived `cache` object is passed to every isomorphic-git
 * call (it holds parsed pack indexes and decompressed objects); owners replace it with `replaceCache()` when
 * the packs change under it or memory matters.
 */
export class ObjectStore implements GitRepository {
  /** The fs port given by the caller (used as is for everything but isomorphic-git's object reads). */
  readonly fs: FsPort;
  readonly gitdir: string;
  /** What isomorphic-git gets as `fs`: memoises its repeated probes (see ObjectFs). */
  readonly objectFs: ObjectFs;
  /**
   * Passed to every isomorphic-git call; replace it via `replaceCache`. Only `spend` changes what it holds (drops
   * the decompressed objects, see `dropDecompressedObjects`).
   */
  cache: object = createObjectCache();
  /** The last listing handed out (sorted by `comparePaths`, frozen), the base of the next one. */
  private lastListing: { commit: string; list: readonly TreeEntry[] } | null = null;
  private readonly cacheBudgetBytes: number;
  private readSinceReplace = 0;
  /** Times the read budget was spent and the decompressed objects dropped (for tests and metrics). */
  budgetReplacements = 0;

  constructor(opts: ObjectStoreOptions) {
    this.fs = opts.fs;
    this.gitdir = opts.gitdir;
    this.objectFs = new ObjectFs(opts.fs, opts.gitdir);
    this.cacheBudgetBytes = opts.cacheBudgetBytes ?? DEFAULT_OBJECT_CACHE_BUDGET;
  }

  /** Drops every cached pack and object (memory goes back to zero; next reads re-load packs). */
  replaceCache(): void {
    this.cache = createObjectCache();
    this.objectFs.invalidate();
    this.readSinceReplace = 0;
  }

  /**
   * Counts bytes read through the cache; past the budget, the cache drops its decompressed objects (or, with an
   * isomorphic-git that keeps them elsewhere, the next reads start from a fresh cache).
   */
  private spend(bytes: number): void {
    this.readSinceReplace += bytes;
    if (this.readSinceReplace <= this.cacheBudgetBytes) return;
    this.budgetReplacements++;
    if (dropDecompressedObjects(this.cache)) this.readSinceReplace = 0;
    else this.replaceCache();
  }

  /** A reader of the same gitdir with a fresh cache of its own (see `GitRepository.scratch`). */
  scratch(): GitRepository {
    return new ObjectStore({ fs: this.fs, gitdir: this.gitdir });
  }

  /** Common isomorphic-git arguments. */
  protected get args(): { fs: FsPort; gitdir: string; cache: object } {
    return { fs: this.objectFs.port, gitdir: this.gitdir, cache: this.cache };
  }

  /** Runs an isomorphic-git read; on failure forgets memoised fs answers and tries once more. */
  protected async read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch {
      this.objectFs.invalidate();
      return fn();
    }
  }

  /** Resolves a revision: ref or oid (full or abbreviated), then `~N` / `^N` suffixes; always a commit oid. */
  async resolveRef(ref: string): Promise<string> {
    const m = /^(.*?)((?:[~^]\d*)*)$/.exec(ref.trim());
    const base = m?.[1] ?? '';
    const suffix = m?.[2] ?? '';
    if (base === '') throw new NotFoundError('ref', ref);
    let oid = await this.peelToCommit(await this.resolveBase(base, ref), ref);
    for (const step of suffix.match(/[~^]\d*/g) ?? []) {
      const n = step.length > 1 ? Number(step.slice(1)) : 1;
      if (step[0] === '~') {
        for (let i = 0; i < n; i++) oid = await this.parentOf(oid, 0, ref);
      } else if (n > 0) {
        oid = await this.parentOf(oid, n - 1, ref);
      }
    }
    return oid;
  }

  private async parentOf(oid: string, index: number, ref: string): Promise<string> {
    const parent = (await this.readCommit(oid)).parents[index];
    if (!parent) throw new NotFoundError('ref', ref);
    return parent;
  }

  private async resolveBase(base: string, ref: string): Promise<string> {
    if (FULL_OID.test(base)) {
      if (await this.hasObject(base)) return base;
      throw new NotFoundError('ref', ref);
    }
    if (UNSAFE_REF.test(base)) throw new NotFoundError('ref', ref);
    try {
      return await isomorphicGit().resolveRef({ fs: this.objectFs.port, gitdir: this.gitdir, ref: base });
    } catch (err) {
      if (!isGitError(err, 'NotFoundError')) throw this.wrap('resolve-ref', err);
    }
    // A mirror that fetches every branch keeps the others as remote-tracking refs: `feature/x` is found there.
    if (!base.startsWith('refs/')) {
      try {
        const remote = `refs/remotes/origin/${base}`;
        return await isomorphicGit().resolveRef({ fs: this.objectFs.port, gitdir: this.gitdir, ref: remote });
      } catch (err) {
        if (!isGitError(err, 'NotFoundError')) throw this.wrap('resolve-ref', err);
      }
    }
    if (SHORT_OID.test(base)) {
      try {
        return await this.read(() => isomorphicGit().expandOid({ ...this.args, oid: base }));
      } catch (err) {
        if (isGitError(err, 'AmbiguousError'))
          throw new UsageError(`ambiguous abbreviated oid: ${base}`, { ref });
        if (!isGitError(err, 'NotFoundError')) throw this.wrap('resolve-ref', err);
      }
    }
    throw new NotFoundError('ref', ref);
  }

  private async hasObject(oid: string): Promise<boolean> {
    try {
      await this.read(() => isomorphicGit().readObject({ ...this.args, oid, format: 'deflated' }));
      return true;
    } catch (err) {
      if (isGitError(err, 'NotFoundError')) return false;
      throw this.wrap('read-object', err);
    }
  }

  /** Follows annotated tags down to a commit. */
  private async peelToCommit(oid: string, ref: string): Promise<string> {
    for (let i = 0; i < 16; i++) {
      let obj: { type: string; object: unknown };
      try {
        obj = (await this.read(() =>
          isomorphicGit().readObject({ ...this.args, oid, format: 'parsed' }),
        )) as {
          type: string;
          object: unknown;
        };
      } catch (err) {
        if (isGitError(err, 'NotFoundError')) throw new NotFoundError('ref', ref);
        throw this.wrap('read-object', err);
      }
      if (obj.type === 'commit') return oid;
      if (obj.type !== 'tag') throw new UsageError(`${ref} is a ${obj.type}, not a commit`, { ref });
      oid = (obj.object as { object: string }).object;
    }
    throw new UsageError(`${ref}: tag chain too long`, { ref });
  }

  /** A full commit oid as is; anything else through `resolveRef`. */
  private async toOid(rev: string): Promise<string> {
    return FULL_OID.test(rev) ? rev : this.resolveRef(rev);
  }

  /** Reads one commit (an oid; other revisions are resolved first). */
  async readCommit(rev: string): Promise<CommitInfo> {
    const oid = await this.toOid(rev);
    try {
      const { commit } = await this.read(() => isomorphicGit().readCommit({ ...this.args, oid }));
      return {
        oid,
        tree: commit.tree,
        parents: [...commit.parent],
        message: commit.message,
        author: { ...commit.author },
        committer: { ...commit.committer },
      };
    } catch (err) {
      if (isGitError(err, 'NotFoundError')) throw new NotFoundError('commit', oid);
      if (isGitError(err, 'ObjectTypeError'))
        throw new NotFoundError('commit', oid, { reason: 'not a commit' });
      throw this.wrap('read-commit', err);
    }
  }

  /** Entries of one tree object (accepts a commit oid too: its root tree). */
  async readTreeEntries(oid: string): Promise<RawEntry[]> {
    try {
      const { tree } = await this.read(() => isomorphicGit().readTree({ ...this.args, oid }));
      this.spend(tree.length * 100);
      return tree as RawEntry[];
    } catch (err) {
      if (isGitError(err, 'NotFoundError')) throw new NotFoundError('tree', oid);
      throw this.wrap('read-tree', err);
    }
  }

  /** Recursive listing of non-tree entries at a commit, sorted by path. */
  async listTree(commit: string): Promise<TreeEntry[]> {
    const out: TreeEntry[] = [];
    await this.collect(await this.toOid(commit), '', out);
    return out.sort((a, b) => comparePaths(a.path, b.path));
  }

  private async collect(treeOid: string, prefix: string, out: TreeEntry[]): Promise<void> {
    const entries = await this.readTreeEntries(treeOid);
    const subtrees: Promise<void>[] = [];
    for (const e of entries) {
      const path = prefix + e.path;
      if (e.type === 'tree') subtrees.push(this.collect(e.oid, path + '/', out));
      else out.push({ path, oid: e.oid, type: e.type, mode: e.mode });
    }
    await Promise.all(subtrees);
  }

  /** Changed paths between two commits, recursing only into subtrees whose oids differ. */
  async diffCommits(from: string | null, to: string): Promise<TreeChange[]> {
    const out: TreeChange[] = [];
    const toTree = (await this.readCommit(to)).tree;
    const fromTree = from === null ? null : (await this.readCommit(from)).tree;
    if (fromTree !== toTree) await this.diffTrees(fromTree, toTree, '', out);
    return out.sort((a, b) => comparePaths(a.path, b.path));
  }

  /** Diffs two tree oids (null = empty tree), appending to `out`. */
  async diffTrees(a: string | null, b: string | null, prefix: string, out: TreeChange[]): Promise<void> {
    const [left, right] = await Promise.all([
      a === null ? [] : this.readTreeEntries(a),
      b === null ? [] : this.readTreeEntries(b),
    ]);
    const byName = new Map<string, { l?: RawEntry; r?: RawEntry }>();
    for (const l of left) byName.set(l.path, { l });
    for (const r of right) {
      const slot = byName.get(r.path);
      if (slot) slot.r = r;
      else byName.set(r.path, { r });
    }
    const pending: Promise<void>[] = [];
    for (const [name, { l, r }] of byName) {
      if (l && r && l.oid === r.oid && l.mode === r.mode) continue;
      const path = prefix + name;
      const lTree = l?.type === 'tree' ? l : undefined;
      const rTree = r?.type === 'tree' ? r : undefined;
      const lLeaf = l && !lTree ? l : undefined;
      const rLeaf = r && !rTree ? r : undefined;
      if (lTree || rTree)
        pending.push(this.diffTrees(lTree?.oid ?? null, rTree?.oid ?? null, path + '/', out));
      if (lLeaf && rLeaf) {
        out.push({
          path,
          kind: 'modify',
          oldOid: lLeaf.oid,
          newOid: rLeaf.oid,
          mode: rLeaf.mode,
          oldMode: lLeaf.mode,
        });
      } else if (lLeaf) {
        out.push({ path, kind: 'delete', oldOid: lLeaf.oid, mode: lLeaf.mode });
      } else if (rLeaf) {
        out.push({ path, kind: 'add', newOid: rLeaf.oid, mode: rLeaf.mode });
      }
    }
    await Promise.all(pending);
  }

  /** Bytes of one blob. */
  async readBlob(oid: string): Promise<Uint8Array> {
    try {
      const { blob } = await this.read(() => isomorphicGit().readBlob({ ...this.args, oid }));
      this.spend(blob.byteLength);
      return blob;
    } catch (err) {
      if (isGitError(err, 'NotFoundError')) throw new NotFoundError('blob', oid);
      throw this.wrap('read-blob', err);
    }
  }

  /**
   * Engine source at a commit (oid or any revision). Keeps the previous listing and derives the new one from
   * `diffCommits`, so a sync touching one file does not re-read every tree.
   */
  async source(commit: string): Promise<CommitSource> {
    const oid = await this.toOid(commit);
    const last = this.lastListing;
    let list: readonly TreeEntry[];
    if (last && last.commit === oid) {
      list = last.list;
    } else if (last && (await this.hasObject(last.commit))) {
      const lastTree = (await this.readCommit(last.commit)).tree;
      const changes: TreeChange[] = [];
      await this.diffTrees(lastTree, (await this.readCommit(oid)).tree, '', changes);
      list = applyChanges(last.list, changes);
    } else {
      // First listing, or the last listed commit is gone (a re-mirror after a force-push drops it).
      list = Object.freeze(await this.listTree(oid));
    }
    this.lastListing = { commit: oid, list };
    return {
      commit: oid,
      entries: list,
      readBlob: async (blobOid: string, path: string) => {
        try {
          return await this.readBlob(blobOid);
        } catch (err) {
          if (err instanceof NotFoundError)
            throw new NotFoundError('blob', path, { oid: blobOid, commit: oid });
          throw err;
        }
      },
    };
  }

  /** First-parent history from `ref`, newest first. */
  async log(ref: string, opts: { depth?: number } = {}): Promise<CommitInfo[]> {
    const depth = opts.depth ?? 100;
    const out: CommitInfo[] = [];
    let oid: string | undefined = await this.resolveRef(ref);
    while (oid && out.length < depth) {
      const c = await this.readCommit(oid);
      out.push(c);
      oid = c.parents[0];
    }
    return out;
  }

  /** Wraps an unexpected isomorphic-git failure in a typed error (messages of reads carry no secrets). */
  protected wrap(operation: string, err: unknown): GitOperationError {
    const message = err instanceof Error ? err.message : String(err);
    return new GitOperationError(operation, message, { code: (err as { code?: string })?.code }, err);
  }
}

/** Entry type from a git mode. */
export function typeOfMode(mode: string): TreeEntry['type'] {
  if (mode === '160000') return 'commit';
  if (mode === '040000' || mode === '40000') return 'tree';
  return 'blob';
}
