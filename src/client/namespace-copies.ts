/**
 * The copies the client keeps, one per namespace (and per older schema version asked for): revalidated with
 * ETags, one request at a time per copy, kept on disk when there is a `cacheDir`, and served stale from memory
 * or disk while the server cannot be reached.
 */
import { isJsonObject } from '../values/index.js';
import type { JsonObject, JsonValue } from '../values/index.js';
import type { CommitOrder } from './commit-order.js';
import { cacheFilePath, readCacheFile, writeCacheFile } from './disk-cache.js';
import type { CacheRecord } from './disk-cache.js';
import type { AppliedOverride } from './env-overrides.js';
import { GitcfgClientError } from './errors.js';
import { AbortedError, closedError, describe, serverMessage } from './transport.js';
import type { HttpAnswer, Transport } from './transport.js';
import type { ClientLogger, ConfigMetadata } from './types.js';

/** Names of environments and namespaces. */
export const NAME = /^[a-z][a-z0-9-]*$/;

/** A copy of one namespace's document as served (before overrides). */
export interface Entry {
  value: JsonObject;
  commit?: string;
  etag?: string;
  fetchedAt: string;
  schemaVersion?: string;
  source: 'network' | 'memory' | 'disk';
  /** The server reported `Gitcfg-Stale: true`. */
  serverStale: boolean;
  /** The last try to reach the server failed (message without credentials). */
  lastError?: string;
}

/** A document with the environment overrides applied. */
export interface Rendered {
  key: string;
  value: JsonObject;
  applied: AppliedOverride[];
}

/** One copy the client keeps: a namespace at the current schema version, or at an older one asked for. */
export interface CopyState {
  namespace: string;
  /** Schema version asked for (`?version=N`); undefined: the current one. */
  version?: number;
  entry?: Entry;
  loading?: Promise<Entry>;
  /** Schema for override coercion: undefined = not fetched yet, null = unavailable. */
  schema?: JsonObject | null;
  schemaLoading?: Promise<JsonObject | null>;
  rendered?: Rendered;
  applied: AppliedOverride[];
  diskWrite: Promise<void>;
  /** Watch: what was last delivered (or the baseline the watch started from). */
  delivered?: { commit?: string; etag?: string };
  /** Watch: order of the newest commit seen for this copy (delivered or not). */
  newest?: number;
  baseline?: Promise<void>;
}

/** Key of a copy: the namespace, plus `@N` for an older schema version. */
export function copyKey(namespace: string, version: number | undefined): string {
  return version === undefined ? namespace : `${namespace}@${version}`;
}

/** Freezes a document shared between callers. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A schema version given by the caller: a positive integer, else a usage error naming where it came from. */
export function checkVersion(version: unknown, where: string): number {
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new GitcfgClientError(
      'E_USAGE',
      `${where} must be a positive integer, got ${JSON.stringify(version)}`,
    );
  }
  return version;
}

export interface NamespaceCopiesOptions {
  transport: Transport;
  commits: CommitOrder;
  environment: string;
  /** How long a copy is used without asking the server again, in ms (0: always revalidate). */
  maxAgeMs: number;
  cacheDir?: string;
  /** Schema version per namespace from `createClient({ versions })`. */
  versions?: Readonly<Record<string, number>>;
  logger?: ClientLogger;
}

export class NamespaceCopies {
  readonly #transport: Transport;
  readonly #commits: CommitOrder;
  readonly #environment: string;
  readonly #maxAgeMs: number;
  readonly #cacheDir?: string;
  readonly #logger?: ClientLogger;
  readonly #versions = new Map<string, number>();
  readonly #states = new Map<string, CopyState>();

  constructor(options: NamespaceCopiesOptions) {
    this.#transport = options.transport;
    this.#commits = options.commits;
    this.#environment = options.environment;
    this.#maxAgeMs = options.maxAgeMs;
    this.#cacheDir = options.cacheDir;
    this.#logger = options.logger;
    for (const [namespace, version] of Object.entries(options.versions ?? {})) {
      this.#versions.set(namespace, checkVersion(version, `createClient: versions.${namespace}`));
    }
  }

  /** The copy of `namespace` at `version` (created on first use); throws on a closed client or a bad name. */
  state(namespace: string, version?: number): CopyState {
    if (this.#transport.closed) throw closedError();
    if (typeof namespace !== 'string' || !NAME.test(namespace)) {
      throw new GitcfgClientError(
        'E_USAGE',
        `namespace must match ${NAME.source}, got ${JSON.stringify(namespace)}`,
      );
    }
    const wanted = this.#versionOf(namespace, version);
    const key = copyKey(namespace, wanted);
    let state = this.#states.get(key);
    if (!state) {
      state = { namespace, applied: [], diskWrite: Promise.resolve() };
      if (wanted !== undefined) state.version = wanted;
      this.#states.set(key, state);
    }
    return state;
  }

  /** The copy of `namespace` at `version` if there is one, without creating it. */
  find(namespace: string, version: number | undefined): CopyState | undefined {
    return this.#states.get(copyKey(namespace, this.#versionOf(namespace, version)));
  }

  /** The copy under `key` (see `copyKey`). */
  byKey(key: string): CopyState | undefined {
    return this.#states.get(key);
  }

  /** The schema version to ask for: the call's, else the client's for this namespace, else the current one. */
  #versionOf(namespace: string, version: number | undefined): number | undefined {
    return version !== undefined ? checkVersion(version, 'version') : this.#versions.get(namespace);
  }

  metadata(namespace: string, entry: Entry): ConfigMetadata {
    const meta: ConfigMetadata = {
      namespace,
      environment: this.#environment,
      fetchedAt: entry.fetchedAt,
      stale: entry.serverStale || entry.lastError !== undefined,
      source: entry.source,
    };
    if (entry.commit !== undefined) meta.commit = entry.commit;
    if (entry.etag !== undefined) meta.etag = entry.etag;
    if (entry.schemaVersion !== undefined) meta.schemaVersion = entry.schemaVersion;
    if (entry.lastError !== undefined) meta.lastError = entry.lastError;
    return meta;
  }

  /** The current copy: from memory when young enough, else revalidated (one request at a time per copy). */
  load(state: CopyState, force: boolean): Promise<Entry> {
    const entry = state.entry;
    if (
      !force &&
      entry &&
      this.#maxAgeMs > 0 &&
      entry.lastError === undefined &&
      Date.now() - Date.parse(entry.fetchedAt) < this.#maxAgeMs
    ) {
      return Promise.resolve({ ...entry, source: 'memory' });
    }
    if (!state.loading) {
      state.loading = this.#revalidate(state).finally(() => {
        state.loading = undefined;
      });
    }
    return state.loading;
  }

  /** Flags the copies under `keys` stale: the server could not be reached (`reason`, without credentials). */
  markUnreachable(keys: Iterable<string>, reason: string): void {
    for (const key of keys) {
      const state = this.#states.get(key);
      if (state?.entry) state.entry = { ...state.entry, lastError: reason };
    }
  }

  /** Resolves once every disk write started so far has landed. */
  async flush(): Promise<void> {
    await Promise.all([...this.#states.values()].map((s) => s.diskWrite));
  }

  #configPath(state: CopyState): string {
    const path = `/v1/config/${encodeURIComponent(state.namespace)}/${encodeURIComponent(this.#environment)}`;
    return state.version === undefined ? path : `${path}?version=${state.version}`;
  }

  /** The disk copy of `state` (a copy at an older version has a file of its own). */
  #cachePath(state: CopyState): string | undefined {
    if (!this.#cacheDir) return undefined;
    const name = state.version === undefined ? state.namespace : `${state.namespace}.v${state.version}`;
    return cacheFilePath(this.#cacheDir, this.#environment, name);
  }

  async #revalidate(state: CopyState): Promise<Entry> {
    const namespace = state.namespace;
    let known = state.entry;
    let diskProblem: string | undefined;
    const cachePath = this.#cachePath(state);
    if (!known && cachePath) {
      // The disk copy's ETag lets a restarted service get a 304 instead of the whole document.
      const { record, problem } = await readCacheFile(cachePath);
      const sameVersion = state.version === undefined || record?.schemaVersion === String(state.version);
      if (
        record &&
        record.namespace === namespace &&
        record.environment === this.#environment &&
        sameVersion
      ) {
        known = entryFromRecord(record);
        if (state.schema === undefined && record.schema) state.schema = record.schema;
      } else diskProblem = problem ?? 'written for another namespace/environment';
    }
    let answer: HttpAnswer;
    try {
      answer = await this.#transport.request(this.#configPath(state), { etag: known?.etag });
    } catch (error) {
      if (error instanceof AbortedError || this.#transport.closed) throw closedError();
      return this.#fallback(state, known, describe(error), cachePath, diskProblem, error);
    }
    if (answer.status >= 500) {
      const reason = `HTTP ${answer.status}${serverMessage(answer)}`;
      return this.#fallback(state, known, reason, cachePath, diskProblem);
    }
    const now = new Date().toISOString();
    const serverStale = answer.headers.get('gitcfg-stale') === 'true';
    // A pinned answer comes from an older commit on purpose: it says nothing about what the server has.
    if (answer.status < 400 && !answer.headers.get('gitcfg-pinned')) {
      this.#commits.observe(answer.headers.get('gitcfg-commit') ?? undefined);
    }
    if (answer.status === 304 && known) {
      const entry: Entry = { ...known, fetchedAt: now, source: 'network', serverStale };
      delete entry.lastError;
      // Same bytes, but possibly from a newer commit that did not touch this namespace.
      const commit = answer.headers.get('gitcfg-commit');
      if (commit) entry.commit = commit;
      state.entry = entry;
      if (known.source === 'disk' && cachePath) this.persist(state);
      return entry;
    }
    if (answer.status === 200) {
      let value: JsonValue;
      try {
        value = JSON.parse(answer.body) as JsonValue;
      } catch {
        throw this.#httpError('E_HTTP', state, answer, 'the body is not JSON');
      }
      if (!isJsonObject(value))
        throw this.#httpError('E_HTTP', state, answer, 'the document is not a JSON object');
      const entry: Entry = {
        value: deepFreeze(value),
        fetchedAt: now,
        source: 'network',
        serverStale,
      };
      const commit = answer.headers.get('gitcfg-commit');
      const etag = answer.headers.get('etag');
      const schemaVersion = answer.headers.get('gitcfg-schema-version');
      if (commit) entry.commit = commit;
      if (etag) entry.etag = etag;
      if (schemaVersion) entry.schemaVersion = schemaVersion;
      state.entry = entry;
      if (cachePath) this.persist(state);
      return entry;
    }
    if (answer.status === 404) throw this.#httpError('E_NOT_FOUND', state, answer);
    if (answer.status === 401 || answer.status === 403)
      throw this.#httpError('E_UNAUTHORIZED', state, answer);
    throw this.#httpError('E_HTTP', state, answer);
  }

  /** Server unreachable: serve the kept copy flagged stale, or say everything that was tried. */
  #fallback(
    state: CopyState,
    known: Entry | undefined,
    reason: string,
    cachePath: string | undefined,
    diskProblem: string | undefined,
    cause?: unknown,
  ): Entry {
    const url = this.#transport.url(this.#configPath(state));
    if (known) {
      const source = known.source === 'disk' ? 'disk' : 'memory';
      const entry: Entry = { ...known, source, lastError: `GET ${url} failed: ${reason}` };
      state.entry = entry;
      return entry;
    }
    const namespace = state.namespace;
    const disk = cachePath ? `disk copy ${cachePath}: ${diskProblem ?? 'absent'}` : 'no cacheDir configured';
    throw new GitcfgClientError(
      'E_UNAVAILABLE',
      `cannot load ${namespace}/${this.#environment}: GET ${url} failed: ${reason}; no copy in memory; ${disk}`,
      { namespace, environment: this.#environment, url, cachePath, reason },
      cause,
    );
  }

  #httpError(
    code: 'E_NOT_FOUND' | 'E_UNAUTHORIZED' | 'E_HTTP',
    state: CopyState,
    answer: HttpAnswer,
    problem?: string,
  ): GitcfgClientError {
    const url = this.#transport.url(this.#configPath(state));
    const detail = problem ? `: ${problem}` : serverMessage(answer);
    return new GitcfgClientError(code, `GET ${url} -> HTTP ${answer.status}${detail}`, {
      namespace: state.namespace,
      environment: this.#environment,
      url,
      status: answer.status,
    });
  }

  /** Writes the disk copy in the background; writes of one copy are serialised so the newest lands last. */
  persist(state: CopyState): void {
    const entry = state.entry;
    const path = this.#cachePath(state);
    if (path === undefined || !entry || this.#transport.closed) return;
    const record: CacheRecord = {
      namespace: state.namespace,
      environment: this.#environment,
      fetchedAt: entry.fetchedAt,
      value: entry.value,
    };
    if (entry.commit !== undefined) record.commit = entry.commit;
    if (entry.etag !== undefined) record.etag = entry.etag;
    if (entry.schemaVersion !== undefined) record.schemaVersion = entry.schemaVersion;
    if (state.schema) record.schema = state.schema;
    state.diskWrite = state.diskWrite
      .then(() => writeCacheFile(path, record))
      .catch((error: unknown) =>
        this.#logger?.warn(`gitcfg client: cannot write ${path}: ${describe(error)}`),
      );
  }
}

function entryFromRecord(record: CacheRecord): Entry {
  const entry: Entry = {
    value: deepFreeze(record.value),
    fetchedAt: record.fetchedAt,
    source: 'disk',
    serverStale: false,
  };
  if (record.commit !== undefined) entry.commit = record.commit;
  if (record.etag !== undefined) entry.etag = record.etag;
  if (record.schemaVersion !== undefined) entry.schemaVersion = record.schemaVersion;
  return entry;
}
