/**
 * The history index: the first-parent chain of a branch, each commit with the paths it changed against its first
 * parent and their blob before and after (so a query can rewind the files it needs without reading trees). Built once with one pass (`readCommit` + `diffCommits` per commit), then extended per fetched commit and
 * persisted, so history queries never walk per-file logs. A head whose chain does not contain the indexed head
 * (force-push) truncates the index at the last common commit and re-indexes from there.
 */
import { createYielder } from '../engine/index.js';
import type { CommitPair, GitRepository, TreeChange } from '../git/index.js';
import type { BlobRef, HistoryIndexData, HistoryIndexStore } from './index-file.js';

/** One changed path of an indexed commit. */
export interface IndexedChange {
  readonly pathId: number;
  /** Blob before the commit (null: the path did not exist). */
  readonly before: BlobRef | null;
  /** Blob after the commit (null: the commit deleted the path). */
  readonly after: BlobRef | null;
}

/** One indexed commit. */
export interface IndexedCommit {
  readonly oid: string;
  /** First parent (null for a root commit). */
  readonly parent: string | null;
  /** Repository paths changed against the first parent (ids into the path table). */
  readonly pathIds: readonly number[];
  /** The same changes with their blobs. */
  readonly changes: readonly IndexedChange[];
}

/** `oid` for a regular file, `<mode> <oid>` otherwise (symlinks, executables, submodules). */
export function blobRef(oid: string, mode: string | undefined): BlobRef {
  return mode === undefined || mode === '100644' ? oid : `${mode} ${oid}`;
}

/** Splits a `BlobRef` into mode and oid. */
export function parseBlobRef(ref: BlobRef): { mode: string; oid: string } {
  const space = ref.indexOf(' ');
  return space < 0 ? { mode: '100644', oid: ref } : { mode: ref.slice(0, space), oid: ref.slice(space + 1) };
}

function fromTreeChange(change: TreeChange): { path: string; before: BlobRef | null; after: BlobRef | null } {
  return {
    path: change.path,
    before: change.kind === 'add' ? null : blobRef(change.oldOid!, change.oldMode ?? change.mode),
    after: change.kind === 'delete' ? null : blobRef(change.newOid!, change.mode),
  };
}

/** What `extend` did. */
export interface ExtendResult {
  head: string;
  /** Commits diffed and appended. */
  added: number;
  /** Indexed commits dropped because the branch no longer contains them (history rewritten). */
  dropped: number;
  /** Why the index was (re)built: 'empty' (nothing usable loaded) or 'rewritten' (force-push). */
  rebuilt?: 'empty' | 'rewritten';
}

/** Counters for metrics and tests. */
export interface HistoryIndexStats {
  /** Commits diffed since creation (a full build diffs every commit, an extension only the new ones). */
  diffed: number;
  /** Builds from an empty index (first start, damaged or missing file). */
  builds: number;
  /** Times a rewritten history (force-push) made the index drop commits and re-index from the fork point. */
  rewrites: number;
  /** Outcome of loading the persisted index. */
  loaded: 'loaded' | 'missing' | 'corrupt' | 'not-loaded';
  /** Why a persisted index was discarded (damaged file, other branch). */
  loadProblem?: string;
  /** Saves that failed (the index stays usable in memory). */
  saveFailures: number;
  /** Commits diffed by `bulkDiff` (elsewhere), counted in `diffed` too. */
  bulkDiffed: number;
  /** Times `bulkDiff` failed and the rest of its commits were diffed in process. */
  bulkFailures: number;
}

/**
 * Diffs many commits elsewhere (e.g. `diffCommitsInChildProcess`), handing the changes over in order:
 * `changes[i]` belongs to `commits[start + i]`. May fail part-way; the batches handed over stand.
 */
export type BulkDiff = (
  repository: GitRepository,
  commits: readonly CommitPair[],
  options: { onBatch(start: number, changes: TreeChange[][]): void },
) => Promise<void>;

/** A consistent, read-only view of the index at one moment (later extensions do not move its positions). */
export interface HistoryView {
  /** Number of commits, oldest at position 0. */
  readonly length: number;
  /** Commit at a position. */
  at(position: number): IndexedCommit;
  /** Position of a commit, or undefined when it is not on the indexed chain. */
  positionOf(oid: string): number | undefined;
  /** Path of a path id. */
  path(id: number): string;
  /** Id of a repository path, or undefined when no indexed commit changed it. */
  pathId(path: string): number | undefined;
}

/** Options of a `HistoryIndex`. */
export interface HistoryIndexOptions {
  /** The branch the index follows (a stored index of another branch is discarded). */
  branch: string;
  /** Persistence; omit to keep the index in memory only (e.g. the CLI). */
  store?: HistoryIndexStore;
  /** Parallel `diffCommits` calls while indexing (default 2: the work is CPU-bound, more only adds contention). */
  concurrency?: number;
  /** Told when saving fails (the index keeps working in memory). */
  onSaveError?: (error: unknown) => void;
  /**
   * Indexing more commits than this at once reads through `GitRepository.scratch` readers (default 64), each
   * used for `scratchBatch` commits (default 50) and then dropped, so memory stays bounded: a reader's cache
   * keeps the trees it decompressed, so its batch sets the peak (each new reader only re-opens the pack).
   */
  scratchAbove?: number;
  scratchBatch?: number;
  /**
   * Diffs of more than `scratchAbove` commits (a first build) are made here instead, off this process's heap;
   * whatever it does not deliver is then diffed in process as above.
   */
  bulkDiff?: BulkDiff;
  /** Told when `bulkDiff` failed, with how many commits it had delivered (the rest are diffed in process). */
  onBulkDiffError?: (error: unknown, progress: { delivered: number; remaining: number }) => void;
}

/** The commit -> changed paths index of one branch. */
export class HistoryIndex {
  readonly branch: string;
  private commits: IndexedCommit[] = [];
  private positions = new Map<string, number>();
  private readonly paths: string[] = [];
  private readonly pathIds = new Map<string, number>();
  private readonly store: HistoryIndexStore | undefined;
  private readonly concurrency: number;
  private readonly onSaveError: (error: unknown) => void;
  private readonly scratchAbove: number;
  private readonly scratchBatch: number;
  private readonly bulkDiff: BulkDiff | undefined;
  private readonly onBulkDiffError: NonNullable<HistoryIndexOptions['onBulkDiffError']>;
  private queue: Promise<unknown> = Promise.resolve();
  private loading: Promise<void> | null = null;
  private readonly counters: HistoryIndexStats = {
    diffed: 0,
    builds: 0,
    rewrites: 0,
    loaded: 'not-loaded',
    saveFailures: 0,
    bulkDiffed: 0,
    bulkFailures: 0,
  };

  constructor(options: HistoryIndexOptions) {
    this.branch = options.branch;
    this.store = options.store;
    this.concurrency = Math.max(1, options.concurrency ?? 2);
    this.onSaveError = options.onSaveError ?? (() => {});
    this.scratchAbove = Math.max(0, options.scratchAbove ?? 64);
    this.scratchBatch = Math.max(1, options.scratchBatch ?? 50);
    this.bulkDiff = options.bulkDiff;
    this.onBulkDiffError = options.onBulkDiffError ?? (() => {});
  }

  /** Newest indexed commit, or null when empty. */
  get head(): string | null {
    return this.commits[this.commits.length - 1]?.oid ?? null;
  }

  /** Number of indexed commits. */
  get size(): number {
    return this.commits.length;
  }

  /** Counters since creation. */
  stats(): HistoryIndexStats {
    return { ...this.counters };
  }

  /** A view that later extensions do not disturb. */
  view(): HistoryView {
    return this.makeView(this.commits, this.positions);
  }

  private makeView(commits: readonly IndexedCommit[], positions: ReadonlyMap<string, number>): HistoryView {
    const length = commits.length;
    const paths = this.paths;
    return {
      length,
      at: (position) => {
        const c = position >= 0 && position < length ? commits[position] : undefined;
        if (!c) throw new RangeError(`no indexed commit at ${position}`);
        return c;
      },
      positionOf: (oid) => {
        const p = positions.get(oid);
        return p !== undefined && p < length && commits[p]?.oid === oid ? p : undefined;
      },
      path: (id) => paths[id]!,
      pathId: (path) => this.pathIds.get(path),
    };
  }

  /**
   * Brings the index to `head` (usually the fetched branch head): appends the new commits, or, when `head`'s
   * first-parent chain does not contain the indexed head, drops the rewritten part and re-indexes from the last
   * common commit. Calls run one at a time; the result is saved when a store is set.
   */
  extend(repository: GitRepository, head: string): Promise<ExtendResult> {
    const run = this.queue.then(() => this.doExtend(repository, head));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Loads the persisted index once (later calls wait for the same load); `extend` does this itself. */
  load(): Promise<void> {
    return this.ensureLoaded();
  }

  private async ensureLoaded(): Promise<void> {
    this.loading ??= (async () => {
      if (!this.store) return;
      const loaded = await this.store.load();
      this.counters.loaded = loaded.status;
      if (loaded.status === 'corrupt') {
        this.counters.loadProblem = loaded.reason;
        return;
      }
      if (loaded.status !== 'loaded') return;
      if (loaded.data.branch !== this.branch) {
        this.counters.loaded = 'corrupt';
        this.counters.loadProblem = `index of branch ${loaded.data.branch}`;
        return;
      }
      this.restore(loaded.data);
    })();
    return this.loading;
  }

  private restore(data: HistoryIndexData): void {
    const remap = data.paths.map((p) => this.internPath(p));
    for (const [oid, parent, changes] of data.commits) {
      this.positions.set(oid, this.commits.length);
      this.commits.push(
        this.entry(
          oid,
          parent,
          changes.map(([i, before, after]) => ({ pathId: remap[i]!, before, after })),
        ),
      );
    }
  }

  private entry(oid: string, parent: string | null, changes: IndexedChange[]): IndexedCommit {
    return { oid, parent, pathIds: changes.map((c) => c.pathId), changes };
  }

  /** An entry from the tree changes of a commit. */
  private fromChanges(oid: string, parent: string | null, changes: readonly TreeChange[]): IndexedCommit {
    return this.entry(
      oid,
      parent,
      changes.map((tc) => {
        const c = fromTreeChange(tc);
        return { pathId: this.internPath(c.path), before: c.before, after: c.after };
      }),
    );
  }

  private internPath(path: string): number {
    let id = this.pathIds.get(path);
    if (id === undefined) {
      id = this.paths.length;
      this.paths.push(path);
      this.pathIds.set(path, id);
    }
    return id;
  }

  /**
   * A view whose chain contains `commit`. When `commit` is on the indexed chain or descends from the indexed
   * head, that is the index itself (extended and saved as by `extend`). Otherwise (another branch, a commit
   * dropped by a force-push) it is a temporary view, the indexed chain up to the fork point plus `commit`'s own
   * commits, and the index is left as it is: a query must not rewind what the sync service follows.
   */
  viewAt(repository: GitRepository, commit: string): Promise<HistoryView> {
    const run = this.queue.then(() => this.doViewAt(repository, commit));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async doViewAt(repository: GitRepository, commit: string): Promise<HistoryView> {
    await this.ensureLoaded();
    if (this.positions.has(commit)) return this.view();
    const { fresh, fork } = await this.walkBack(repository, commit);
    if (this.commits.length === 0 || fork === this.head) {
      await this.apply(repository, commit, fresh, fork);
      return this.view();
    }
    const changed = await this.diffAll(repository, fresh);
    const keep = fork === null ? 0 : this.positions.get(fork)! + 1;
    const commits = this.commits.slice(0, keep);
    for (const [i, c] of fresh.entries()) commits.push(this.fromChanges(c.oid, c.parent, changed[i]!));
    return this.makeView(commits, new Map(commits.map((c, i) => [c.oid, i])));
  }

  /** First-parent commits from `head` back to the first indexed one (`fork`, null at the root), oldest first. */
  private async walkBack(
    repository: GitRepository,
    head: string,
  ): Promise<{ fresh: CommitPair[]; fork: string | null }> {
    const fresh: CommitPair[] = [];
    let oid: string | null = head;
    while (oid !== null && !this.positions.has(oid)) {
      const commit = await repository.readCommit(oid);
      const parent = commit.parents[0] ?? null;
      fresh.push({ oid, parent });
      oid = parent;
    }
    return { fresh: fresh.reverse(), fork: oid };
  }

  /**
   * Changed paths of each commit against its first parent. Many commits (a first build) go to `bulkDiff` when
   * set; what it does not deliver, or all of them without it, is diffed here, `concurrency` diffs at a time, in
   * batches, each on a scratch reader with its own object cache: the decompressed trees of a long history would
   * otherwise stay in the serving repository's cache (~250 MB for 2,000 commits of a 10k-file repository). A
   * few commits (a sync) use the repository itself, whose cache is warm.
   */
  private async diffAll(repository: GitRepository, fresh: readonly CommitPair[]): Promise<TreeChange[][]> {
    const changed = new Array<TreeChange[]>(fresh.length);
    let done = 0;
    if (this.bulkDiff && fresh.length > this.scratchAbove) {
      try {
        await this.bulkDiff(repository, fresh, {
          onBatch: (start, changes) => {
            if (start !== done || done + changes.length > fresh.length)
              throw new RangeError('batch out of order');
            for (const list of changes) changed[done++] = list;
            this.counters.diffed += changes.length;
            this.counters.bulkDiffed += changes.length;
          },
        });
        if (done < fresh.length) throw new RangeError(`${fresh.length - done} commits not delivered`);
      } catch (error) {
        this.counters.bulkFailures++;
        this.onBulkDiffError(error, { delivered: done, remaining: fresh.length - done });
      }
    }
    const pause = createYielder();
    const left = fresh.length - done;
    const scratch = left > this.scratchAbove ? repository.scratch?.bind(repository) : undefined;
    const batch = scratch ? this.scratchBatch : left;
    for (let start = done; start < fresh.length; start += batch) {
      const reader = scratch ? scratch() : repository;
      const end = Math.min(fresh.length, start + batch);
      let next = start;
      const worker = async () => {
        while (next < end) {
          const i = next++;
          const c = fresh[i]!;
          changed[i] = await reader.diffCommits(c.parent, c.oid);
          this.counters.diffed++;
          await pause(); // CPU-bound once the pack is in memory: let requests in
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, end - start) }, worker));
    }
    return changed;
  }

  private async doExtend(repository: GitRepository, head: string): Promise<ExtendResult> {
    await this.ensureLoaded();
    if (this.head === head) return { head, added: 0, dropped: 0 };
    const { fresh, fork } = await this.walkBack(repository, head);
    return this.apply(repository, head, fresh, fork);
  }

  /** Drops the indexed commits after `fork`, appends `fresh` and saves. */
  private async apply(
    repository: GitRepository,
    head: string,
    fresh: readonly CommitPair[],
    fork: string | null,
  ): Promise<ExtendResult> {
    const result: ExtendResult = { head, added: 0, dropped: 0 };
    const keep = fork === null ? 0 : this.positions.get(fork)! + 1;
    if (this.commits.length === 0) {
      result.rebuilt = 'empty';
      this.counters.builds++;
    } else if (keep < this.commits.length) {
      result.dropped = this.commits.length - keep;
      result.rebuilt = 'rewritten';
      this.counters.rewrites++;
      // New array and map: views handed out earlier keep seeing the old chain.
      this.commits = this.commits.slice(0, keep);
      this.positions = new Map(this.commits.map((c, i) => [c.oid, i]));
    }
    const changed = await this.diffAll(repository, fresh);
    for (const [i, c] of fresh.entries()) {
      this.positions.set(c.oid, this.commits.length);
      this.commits.push(this.fromChanges(c.oid, c.parent, changed[i]!));
    }
    result.added = fresh.length;
    if (this.store && (result.added > 0 || result.dropped > 0)) {
      try {
        await this.store.save(this.toData());
      } catch (error) {
        this.counters.saveFailures++;
        this.onSaveError(error);
      }
    }
    return result;
  }

  /** The persisted form (only paths still referenced are kept). */
  toData(): HistoryIndexData {
    const used = new Map<number, number>();
    const paths: string[] = [];
    const commits: HistoryIndexData['commits'] = this.commits.map((c) => [
      c.oid,
      c.parent,
      c.changes.map(({ pathId, before, after }) => {
        let n = used.get(pathId);
        if (n === undefined) {
          n = paths.length;
          paths.push(this.paths[pathId]!);
          used.set(pathId, n);
        }
        return [n, before, after];
      }),
    ]);
    return { branch: this.branch, paths, commits };
  }
}
