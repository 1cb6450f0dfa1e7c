/**
 * Evaluations of older commits for audit queries. A namespace is evaluated from its own input files only
 * (manifest, its schemas, defaults, overrides and migrations), memoised by the oids of those files, so the
 * commit and its parent of a change elsewhere share one evaluation, and the engine cache re-merges only what changed.
 */
import { BoundedCache, approximateBytes } from '../bounded-cache/index.js';
import type { CacheObserver } from '../bounded-cache/index.js';
import { EngineCache, evaluateRepo } from '../engine/index.js';
import type {
  Evaluation,
  Issue,
  JsonObject,
  RepoEvaluator,
  RepoSource,
  ResolvedConfig,
} from '../engine/index.js';
import type { GitRepository } from '../git/index.js';

/** The effective state of one namespace x environment at a commit. */
export type PairState =
  | { kind: 'value'; config: ResolvedConfig; schema: JsonObject | undefined }
  /** The namespace or the environment does not exist there. */
  | { kind: 'absent' }
  /** It exists but does not validate (such a commit is never served). */
  | { kind: 'invalid'; issues: Issue[] };

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const matchers = new Map<string, (path: string) => boolean>();

/** True for a config-root path that is an input of `namespace` in some environment. */
export function isNamespaceInput(path: string, namespace: string): boolean {
  let match = matchers.get(namespace);
  if (!match) {
    const ns = escapeRe(namespace);
    const schema = new RegExp(`^schemas/${ns}(\\.v[0-9]+)?\\.schema\\.json$`);
    const override = new RegExp(`^environments/[^/]+/${ns}\\.yaml$`);
    const defaults = `defaults/${namespace}.yaml`;
    const migrations = `migrations/${namespace}/`;
    match = (p) =>
      p === 'gitcfg.yaml' ||
      p === defaults ||
      p.startsWith(migrations) ||
      (p.startsWith('schemas/') && schema.test(p)) ||
      (p.startsWith('environments/') && override.test(p));
    if (matchers.size > 1000) matchers.clear();
    matchers.set(namespace, match);
  }
  return match(path);
}

/** Input files of one namespace: config-root path -> blob oid and mode. */
export type NamespaceFiles = Map<string, { oid: string; mode: string }>;

/** Byte-bounded LRU of evaluation promises: sized once they resolve, failures dropped. */
class Lru<T> {
  private readonly cache: BoundedCache<Promise<T>>;
  constructor(maxEntries: number, maxBytes: number, onEvent?: CacheObserver) {
    this.cache = new BoundedCache({ maxEntries, maxBytes, ...(onEvent ? { onEvent } : {}) });
  }
  get(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit) return hit;
    const p = load();
    this.cache.set(key, p, 0);
    p.then(
      (value) => this.cache.resize(key, approximateBytes(value)),
      () => this.cache.delete(key),
    );
    return p;
  }
}

/** Options of a `CommitEvaluator`. */
export interface CommitEvaluatorOptions {
  repository: GitRepository;
  /** Config root inside the repository ('' for the root). */
  subdir?: string;
  /** Engine cache for audit evaluations (keep it apart from the serving cache, whose entries it would age out). */
  cache?: EngineCache;
  /** Namespace evaluations kept (default 256). */
  maxEvaluations?: number;
  /** Evaluates commits (default: in process); the server passes an isolated, bounded evaluator. */
  evaluate?: RepoEvaluator;
  /** Estimated bytes of the evaluations kept, per kind (namespace, whole repository); default 32 MiB each. */
  maxBytes?: number;
  /** Told about hits, misses and evictions of those caches (`history-namespaces`, `history-commits`). */
  onCacheEvent?: (cache: string, event: 'hit' | 'miss' | 'eviction') => void;
}

/** Evaluates namespaces and whole repositories at arbitrary commits. */
export class CommitEvaluator {
  readonly repository: GitRepository;
  /** Config root as a prefix of repository paths ('' or ending in `/`). */
  readonly prefix: string;
  private readonly cache: EngineCache;
  private readonly evaluate: RepoEvaluator;
  private readonly byInputs: Lru<Evaluation>;
  private readonly whole: Lru<Evaluation>;
  /** Namespace evaluations actually run (not memoised), for tests and metrics. */
  evaluations = 0;

  constructor(options: CommitEvaluatorOptions) {
    this.repository = options.repository;
    const subdir = (options.subdir ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = subdir ? `${subdir}/` : '';
    this.cache = options.cache ?? new EngineCache({ keepGenerations: 4 });
    this.evaluate = options.evaluate ?? evaluateRepo;
    const maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    const observe = (cache: string) =>
      options.onCacheEvent && ((e: 'hit' | 'miss' | 'eviction') => options.onCacheEvent!(cache, e));
    this.byInputs = new Lru(options.maxEvaluations ?? 256, maxBytes, observe('history-namespaces'));
    this.whole = new Lru(4, maxBytes, observe('history-commits'));
  }

  /** Repository path of a config-root path. */
  toRepoPath(path: string): string {
    return this.prefix + path;
  }

  /** Config-root path of a repository path, or undefined when it lies outside the config root. */
  fromRepoPath(path: string): string | undefined {
    return path.startsWith(this.prefix) ? path.slice(this.prefix.length) : undefined;
  }

  private async configSource(commit: string, keep: (path: string) => boolean): Promise<RepoSource> {
    const source = await this.repository.source(commit);
    const entries = [];
    for (const e of source.entries) {
      const path = this.fromRepoPath(e.path);
      if (path !== undefined && path !== '' && keep(path)) entries.push({ ...e, path });
    }
    return { entries, readBlob: (oid, path) => source.readBlob(oid, this.prefix + path) };
  }

  /** The input files of `namespace` at `commit` (config-root path -> blob), to rewind with the index. */
  async filesAt(commit: string, namespace: string): Promise<NamespaceFiles> {
    const source = await this.repository.source(commit);
    const files: NamespaceFiles = new Map();
    for (const e of source.entries) {
      const path = this.fromRepoPath(e.path);
      if (path !== undefined && path !== '' && isNamespaceInput(path, namespace))
        files.set(path, { oid: e.oid, mode: e.mode });
    }
    return files;
  }

  /** Evaluation of `namespace` from exactly these input files (memoised by their blobs). */
  namespaceFrom(files: NamespaceFiles, namespace: string): Promise<Evaluation> {
    const entries = [...files]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(
        ([path, { oid, mode }]) =>
          ({ path, oid, mode, type: mode === '160000' ? 'commit' : 'blob' }) as const,
      );
    const key = `${namespace}\n${entries.map((e) => `${e.path}\0${e.oid}\0${e.mode}`).join('\n')}`;
    return this.byInputs.get(key, () => {
      this.evaluations++;
      const source: RepoSource = { entries, readBlob: (oid) => this.repository.readBlob(oid) };
      return this.evaluate(source, { cache: this.cache });
    });
  }

  /** Evaluation of `namespace`'s inputs at `commit` (other namespaces are absent from it). */
  async namespaceAt(commit: string, namespace: string): Promise<Evaluation> {
    return this.namespaceFrom(await this.filesAt(commit, namespace), namespace);
  }

  /** Evaluation of the whole config root at `commit`. */
  wholeAt(commit: string): Promise<Evaluation> {
    return this.whole.get(commit, async () =>
      this.evaluate(await this.configSource(commit, () => true), { cache: this.cache }),
    );
  }

  /** State of one pair at `commit`. */
  async pairAt(commit: string, namespace: string, environment: string): Promise<PairState> {
    return pairState(await this.namespaceAt(commit, namespace), namespace, environment);
  }
}

/** State of a pair in an evaluation: its config, absent (no such namespace or environment), or invalid. */
export function pairState(evaluation: Evaluation, namespace: string, environment: string): PairState {
  const config = evaluation.configs.get(`${namespace}/${environment}`);
  if (config) return { kind: 'value', config, schema: evaluation.schemas.get(namespace) };
  const relevant = evaluation.issues.filter(
    (i) =>
      (i.namespace === undefined || i.namespace === namespace) &&
      (i.environment === undefined || i.environment === environment),
  );
  // Without a readable manifest nothing exists, but the repository is broken rather than empty.
  if (!evaluation.manifest && relevant.length > 0) return { kind: 'invalid', issues: relevant };
  if (!evaluation.namespaces.includes(namespace) || !evaluation.environments.includes(environment))
    return { kind: 'absent' };
  return { kind: 'invalid', issues: relevant };
}
