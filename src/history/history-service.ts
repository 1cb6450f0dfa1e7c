/**
 * Audit queries over the history index: the commits that changed a pair's effective configuration, the
 * effective diff between two commits, and the provenance (file, line, last commit) of every leaf.
 */
import {
  DEFAULT_LIMITS,
  diffConfigs,
  diffValues,
  escapeToken,
  parseYamlBytes,
  valueAtPointer,
} from '../engine/index.js';
import { BoundedCache } from '../bounded-cache/index.js';
import type { EngineCache, JsonObject, JsonValue, RepoEvaluator } from '../engine/index.js';
import { InvalidConfigError, NotFoundError, UsageError } from '../errors/index.js';
import type { CommitInfo, GitRepository } from '../git/index.js';
import { CommitEvaluator, isNamespaceInput, pairState } from './commit-evaluator.js';
import type { NamespaceFiles, PairState } from './commit-evaluator.js';
import { parseBlobRef } from './history-index.js';
import type { ExtendResult, HistoryIndex, HistoryView, IndexedCommit } from './history-index.js';
import { maskChanges, maskValueAt } from '../engine/index.js';
import type {
  AuditQueries,
  CommitSummary,
  EffectiveDiff,
  ExplainedValue,
  Explanation,
  HistoryEntry,
  PairHistory,
} from './types.js';

/** Page size of `history` when none is given, and the largest accepted. */
export const HISTORY_LIMITS = { default: 20, max: 100 } as const;

/** Options of a `HistoryService`. */
export interface HistoryServiceOptions {
  index: HistoryIndex;
  /** The repository, or how to open it (a server's mirror exists only after the first sync opened it). */
  repository: GitRepository | (() => Promise<GitRepository>);
  /** Config root inside the repository ('' for the root). */
  subdir?: string;
  /** Engine cache for audit evaluations; default: a private one (do not share the serving cache). */
  cache?: EngineCache;
  /** Evaluates commits (default: in process); the server passes an isolated, bounded evaluator. */
  evaluate?: RepoEvaluator;
  /** Most pair evaluations one query may run (default 1000); beyond it a page ends early with `next` set. */
  maxEvaluations?: number;
  /** Told about hits, misses and evictions of the byte-bounded caches of old commits (for metrics). */
  onCacheEvent?: (cache: string, event: 'hit' | 'miss' | 'eviction') => void;
}

/** Options of `history`. */
export interface HistoryQuery {
  /** Commit or ref the history ends at (the server passes its served commit). */
  at: string;
  /** Page size (default 20, at most 100). */
  limit?: number;
  /** Only commits strictly older than this one (the `next` of the previous page). */
  before?: string;
}

const same = (a: JsonValue | undefined, b: JsonValue | undefined): boolean =>
  a === undefined || b === undefined ? a === b : diffValues(a, b).length === 0;

const valueOf = (state: PairState): JsonObject | undefined =>
  state.kind === 'value' ? state.config.value : undefined;

/** Leaves of a merged document: scalars, arrays (replaced whole by merges) and empty maps. */
function leaves(value: JsonValue, pointer = '', out: string[] = []): string[] {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0 && pointer !== '') out.push(pointer);
    for (const k of keys) leaves(value[k]!, `${pointer}/${escapeToken(k)}`, out);
  } else {
    out.push(pointer);
  }
  return out;
}

/** Whether a commit altered a leaf; `unknown` when a version of the file cannot be read as YAML. */
type LeafChange = 'changed' | 'unchanged' | 'unknown';

/** Compares the leaf `ptr` as written in one layer file at blob `before` (undefined: no file) and `after`. */
async function rawLeafChange(
  repository: GitRepository,
  before: string | undefined,
  after: string | undefined,
  ptr: string,
): Promise<LeafChange> {
  if (before === undefined) return 'changed';
  if (after === undefined || before === after) return after === undefined ? 'unknown' : 'unchanged';
  const [old, now] = await Promise.all(
    [before, after].map(async (oid) => parseYamlBytes(await repository.readBlob(oid), DEFAULT_LIMITS)),
  );
  if (!old!.ok || !now!.ok) return 'unknown';
  const value = valueAtPointer(now!.value, ptr);
  // A leaf the file does not write verbatim (renamed by a migration) cannot be compared.
  if (value === undefined) return 'unknown';
  return same(valueAtPointer(old!.value, ptr), value) ? 'unchanged' : 'changed';
}

/** Rewinds a namespace's input files across indexed commits, using the blobs recorded in the index. */
class Rewinder {
  private readonly relevant = new Map<number, string | null>();
  constructor(
    private readonly view: HistoryView,
    private readonly evaluator: CommitEvaluator,
    private readonly namespace: string,
  ) {}

  /** Config-root path of a path id when it is an input of the namespace, else null. */
  private input(id: number): string | null {
    let r = this.relevant.get(id);
    if (r === undefined) {
      const path = this.evaluator.fromRepoPath(this.view.path(id));
      r = path !== undefined && isNamespaceInput(path, this.namespace) ? path : null;
      this.relevant.set(id, r);
    }
    return r;
  }

  /** Whether `commit` changed one of the namespace's inputs. */
  touches(commit: IndexedCommit): boolean {
    return commit.pathIds.some((id) => this.input(id) !== null);
  }

  /** Turns `files` (as at `commit`) into the files of its parent; returns the input paths it changed. */
  rewind(files: NamespaceFiles, commit: IndexedCommit): string[] {
    const changed: string[] = [];
    for (const change of commit.changes) {
      const path = this.input(change.pathId);
      if (path === null) continue;
      changed.push(path);
      if (change.before === null) files.delete(path);
      else files.set(path, parseBlobRef(change.before));
    }
    return changed;
  }
}

/** History, diff and explain for one branch of one repository. */
export class HistoryService implements AuditQueries {
  readonly index: HistoryIndex;
  private readonly openRepository: () => Promise<GitRepository>;
  private readonly subdir: string;
  private readonly cache: EngineCache | undefined;
  private readonly evaluate: RepoEvaluator | undefined;
  private readonly maxEvaluations: number;
  private evaluator: CommitEvaluator | null = null;
  private readonly commits: BoundedCache<Promise<CommitInfo>>;
  private readonly onCacheEvent: HistoryServiceOptions['onCacheEvent'];

  constructor(options: HistoryServiceOptions) {
    this.index = options.index;
    const repo = options.repository;
    this.openRepository = typeof repo === 'function' ? repo : async () => repo;
    this.subdir = options.subdir ?? '';
    this.cache = options.cache;
    this.evaluate = options.evaluate;
    this.maxEvaluations = Math.max(2, options.maxEvaluations ?? 1000);
    this.onCacheEvent = options.onCacheEvent;
    // Commit messages come from the repository: bounded in bytes, not only in count.
    this.commits = new BoundedCache({
      maxEntries: 4096,
      maxBytes: 8 * 1024 * 1024,
      ...(options.onCacheEvent ? { onEvent: (e) => options.onCacheEvent!('commit-summaries', e) } : {}),
    });
  }

  /** Extends the index to `head` (the sync service calls this after every fetch). */
  async extend(head: string): Promise<ExtendResult> {
    return this.index.extend(await this.openRepository(), head);
  }

  /** Namespace evaluations run so far (memoised ones not counted). */
  get evaluations(): number {
    return this.evaluator?.evaluations ?? 0;
  }

  private async tools(): Promise<CommitEvaluator> {
    const repository = await this.openRepository();
    if (this.evaluator?.repository !== repository) {
      this.evaluator = new CommitEvaluator({
        repository,
        subdir: this.subdir,
        ...(this.cache ? { cache: this.cache } : {}),
        ...(this.evaluate ? { evaluate: this.evaluate } : {}),
        ...(this.onCacheEvent ? { onCacheEvent: this.onCacheEvent } : {}),
      });
    }
    return this.evaluator;
  }

  private async resolve(evaluator: CommitEvaluator, ref: string, what = 'commit'): Promise<string> {
    try {
      return await evaluator.repository.resolveRef(ref);
    } catch (error) {
      if (error instanceof NotFoundError) throw new NotFoundError(what, ref);
      throw error;
    }
  }

  /** Index view whose chain contains `commit` (see `HistoryIndex.viewAt`). */
  private viewWith(evaluator: CommitEvaluator, commit: string): Promise<HistoryView> {
    return this.index.viewAt(evaluator.repository, commit);
  }

  private summary(repository: GitRepository, oid: string): Promise<CommitSummary> {
    let info = this.commits.get(oid);
    if (!info) {
      info = repository.readCommit(oid);
      this.commits.set(oid, info, 256);
      info.then(
        (c) => this.commits.resize(oid, 256 + c.message.length * 2 + c.author.name.length * 2),
        () => this.commits.delete(oid),
      );
    }
    return info.then((c) => ({
      commit: c.oid,
      parent: c.parents[0] ?? null,
      author: { name: c.author.name, email: c.author.email },
      time: new Date(c.author.timestamp * 1000).toISOString(),
      message: c.message.replace(/\s+$/, ''),
    }));
  }

  /**
   * The commits at or before `at` that changed the effective (merged, validated) configuration of the pair,
   * newest first. Candidates are the commits touching one of the namespace's inputs; each is kept only when
   * the pair's value differs from the one before it. Commits where the pair does not validate are skipped
   * (they are never served): the next valid commit is compared with the last valid state before them.
   */
  async history(namespace: string, environment: string, query: HistoryQuery): Promise<PairHistory> {
    const limit = query.limit ?? HISTORY_LIMITS.default;
    if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_LIMITS.max)
      throw new UsageError(`limit must be an integer from 1 to ${HISTORY_LIMITS.max}`, { limit });
    const evaluator = await this.tools();
    const at = await this.resolve(evaluator, query.at);
    // The namespace's input files at `at`, rewound commit by commit with the blobs the index recorded.
    const files = await evaluator.filesAt(at, namespace);
    const atEvaluation = await evaluator.namespaceFrom(files, namespace);
    if (pairState(atEvaluation, namespace, environment).kind === 'absent')
      throw missing(atEvaluation, namespace, environment);
    const view = await this.viewWith(evaluator, at);
    const rewinder = new Rewinder(view, evaluator, namespace);
    const top = view.positionOf(at)!;
    let start = top;
    if (query.before !== undefined) {
      const before = await this.resolve(evaluator, query.before);
      const p = view.positionOf(before);
      if (p === undefined) throw new NotFoundError('commit on the history of the branch', query.before);
      start = Math.min(start, p - 1);
    }
    for (let p = top; p > start; p--) rewinder.rewind(files, view.at(p));

    const entries: HistoryEntry[] = [];
    // The newest not-yet-compared valid (or absent) state, waiting for the next older one.
    let newer: { position: number; state: PairState } | null = null;
    let lastExamined = start + 1;
    let evaluations = 0;
    let exhausted = true;
    for (let p = start; p >= -1 && entries.length < limit; p--) {
      let state: PairState;
      if (p === -1) {
        state = { kind: 'absent' }; // before the first commit nothing exists
      } else {
        const c = view.at(p);
        if (!rewinder.touches(c)) continue;
        // Over budget, stop, but only once the page moved past `start` (a cursor cannot carry a state).
        if (evaluations++ >= this.maxEvaluations && newer?.position !== start) {
          exhausted = false;
          break;
        }
        state = pairState(await evaluator.namespaceFrom(files, namespace), namespace, environment);
        rewinder.rewind(files, c); // now the files of c's parent
      }
      lastExamined = p;
      if (state.kind === 'invalid') continue;
      if (newer) {
        const entry = await this.entry(evaluator, view.at(newer.position).oid, state, newer.state);
        if (entry) entries.push(entry);
      }
      newer = p >= 0 ? { position: p, state } : null;
    }
    let next: string | null = null;
    if (entries.length === limit) next = entries[entries.length - 1]!.commit;
    else if (!exhausted) {
      const resume = newer ? newer.position + 1 : lastExamined;
      next = resume < view.length && resume > 0 ? view.at(resume).oid : null;
    }
    return { namespace, environment, at, commits: entries, next };
  }

  private async entry(
    evaluator: CommitEvaluator,
    commit: string,
    older: PairState,
    newer: PairState,
  ): Promise<HistoryEntry | null> {
    const before = valueOf(older);
    const after = valueOf(newer);
    if (before === undefined && after === undefined) return null;
    const changes = diffValues(before ?? {}, after ?? {});
    if (before !== undefined && after !== undefined && changes.length === 0) return null;
    const schemas = [older, newer].map((s) => (s.kind === 'value' ? s.schema : undefined));
    return {
      ...(await this.summary(evaluator.repository, commit)),
      status: before === undefined ? 'added' : after === undefined ? 'removed' : 'changed',
      changes: maskChanges(changes, schemas),
    };
  }

  /** Effective change of every namespace x environment from `from` to `to` (optionally one environment). */
  async diff(from: string, to: string, options: { environment?: string } = {}): Promise<EffectiveDiff> {
    const evaluator = await this.tools();
    const fromCommit = await this.resolve(evaluator, from);
    const toCommit = await this.resolve(evaluator, to);
    const before = await evaluator.wholeAt(fromCommit);
    const after = await evaluator.wholeAt(toCommit);
    const env = options.environment;
    if (env !== undefined && !before.environments.includes(env) && !after.environments.includes(env))
      throw new NotFoundError('environment', env);
    const invalid = { from: [] as string[], to: [] as string[] };
    const pairs = [];
    for (const pair of diffConfigs(before, after, env !== undefined ? { env } : {})) {
      const key = `${pair.namespace}/${pair.environment}`;
      const bad = (side: 'from' | 'to') => {
        const ev = side === 'from' ? before : after;
        if (pairState(ev, pair.namespace, pair.environment).kind !== 'invalid') return false;
        invalid[side].push(key);
        return true;
      };
      const badFrom = bad('from');
      if (bad('to') || badFrom) continue;
      const schemas = [before.schemas.get(pair.namespace), after.schemas.get(pair.namespace)];
      pairs.push({ ...pair, changes: maskChanges(pair.changes, schemas) });
    }
    return { from: fromCommit, to: toCommit, pairs, invalid };
  }

  /**
   * Every leaf of the pair at `at`: the file and line that set it and the newest commit whose change to that
   * file altered it (found by walking the commits touching the file and comparing the leaf at each parent).
   */
  async explain(namespace: string, environment: string, options: { at: string }): Promise<Explanation> {
    const evaluator = await this.tools();
    const at = await this.resolve(evaluator, options.at);
    const files = await evaluator.filesAt(at, namespace);
    const atEvaluation = await evaluator.namespaceFrom(files, namespace);
    const state = pairState(atEvaluation, namespace, environment);
    if (state.kind === 'absent') throw missing(atEvaluation, namespace, environment);
    if (state.kind === 'invalid')
      throw new InvalidConfigError(state.issues, `${namespace}/${environment} at ${at}`);
    const { config, schema } = state;
    const view = await this.viewWith(evaluator, at);
    const top = view.positionOf(at)!;
    const pointers = leaves(config.value);
    // Leaves not attributed yet, by the file that set them.
    const byFile = new Map<string, Set<string>>();
    for (const ptr of pointers) {
      const file = config.origins.get(ptr)?.file;
      if (file !== undefined) byFile.set(file, (byFile.get(file) ?? new Set()).add(ptr));
    }
    const found = new Map<string, { commit: string; exact: boolean }>();
    const newest = new Map<string, string>();
    const rewinder = new Rewinder(view, evaluator, namespace);
    let evaluations = 0;
    // One walk over the namespace's commits, newest first: at each commit touching a file that still has
    // unattributed leaves, compare those leaves at the parent.
    for (let p = top; p >= 0 && byFile.size > 0; p--) {
      const c = view.at(p);
      if (!rewinder.touches(c)) continue;
      const blobsAtCommit = new Map([...byFile.keys()].map((f) => [f, files.get(f)?.oid]));
      const touched = rewinder.rewind(files, c).filter((f) => byFile.has(f));
      if (touched.length === 0) continue;
      for (const f of touched) if (!newest.has(f)) newest.set(f, c.oid);
      if (evaluations++ >= this.maxEvaluations) break;
      const parent: PairState =
        c.parent === null
          ? { kind: 'absent' }
          : pairState(await evaluator.namespaceFrom(files, namespace), namespace, environment);
      for (const file of touched) {
        const open = byFile.get(file)!;
        for (const ptr of [...open]) {
          let verdict: LeafChange;
          if (parent.kind === 'invalid') {
            // A parent that was never served (a rejected commit, or before the config root existed) has no
            // merged value: compare what this file itself writes at the leaf, before and after the commit.
            verdict = await rawLeafChange(
              evaluator.repository,
              files.get(file)?.oid,
              blobsAtCommit.get(file),
              ptr,
            );
          } else {
            const unchanged =
              parent.kind === 'value' &&
              parent.config.origins.get(ptr)?.file === file &&
              same(valueAtPointer(parent.config.value, ptr), valueAtPointer(config.value, ptr));
            verdict = unchanged ? 'unchanged' : 'changed';
          }
          if (verdict === 'unchanged') continue;
          found.set(ptr, { commit: c.oid, exact: verdict === 'changed' });
          open.delete(ptr);
        }
        if (open.size === 0) byFile.delete(file);
      }
    }
    for (const [file, open] of byFile) {
      const last = newest.get(file);
      if (last) for (const ptr of open) found.set(ptr, { commit: last, exact: false });
    }
    const values: ExplainedValue[] = [];
    for (const ptr of pointers) {
      const origin = config.origins.get(ptr);
      const last = found.get(ptr);
      values.push({
        path: ptr,
        value: maskValueAt(valueAtPointer(config.value, ptr)!, ptr, [schema]),
        file: origin?.file ?? null,
        line: origin?.line ?? null,
        column: origin?.column ?? null,
        commit: last ? await this.summary(evaluator.repository, last.commit) : null,
        exact: last?.exact ?? false,
      });
    }
    return { namespace, environment, commit: at, files: [...config.files], values };
  }
}

function missing(
  evaluation: { namespaces: string[]; environments: string[] },
  namespace: string,
  environment: string,
): NotFoundError {
  if (!evaluation.namespaces.includes(namespace)) return new NotFoundError('namespace', namespace);
  if (!evaluation.environments.includes(environment)) return new NotFoundError('environment', environment);
  return new NotFoundError('config', `${namespace}/${environment}`);
}
