/**
 * The client SDK: reads merged config from a gitcfg server with ETag revalidation, keeps the last good copy in
 * memory and (optionally) on disk, follows changes with long-polls, and applies environment-variable overrides.
 * Only global `fetch` and node:fs: services import this, so it stays small.
 */
import type { JsonObject, JsonValue } from '../values/index.js';
import { hostname } from 'node:os';
import { redactUrl } from '../errors/index.js';
import { backoffDelay } from './backoff.js';
import { cacheFilePath, readCacheFile, writeCacheFile } from './disk-cache.js';
import type { CacheRecord } from './disk-cache.js';
import { applyEnvOverrides, envKey, parseEnvOverrides } from './env-overrides.js';
import type { AppliedOverride, EnvOverride } from './env-overrides.js';
import { GitcfgClientError } from './errors.js';
import type {
  ClientOptions,
  ConfigChange,
  ConfigMetadata,
  ConfigResult,
  GetOptions,
  GitcfgClient,
  UntypedNamespaces,
  WatchOptions,
} from './types.js';

const NAME = /^[a-z][a-z0-9-]*$/;
/** How many commits the watch remembers the order of. */
const MAX_REMEMBERED_COMMITS = 1000;

/** A copy of one namespace's document as served (before overrides). */
interface Entry {
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

/** One copy the client keeps: a namespace at the current schema version, or at an older one asked for. */
interface NamespaceState {
  namespace: string;
  /** Schema version asked for (`?version=N`); undefined: the current one. */
  version?: number;
  entry?: Entry;
  loading?: Promise<Entry>;
  /** Schema for override coercion: undefined = not fetched yet, null = unavailable. */
  schema?: JsonObject | null;
  schemaLoading?: Promise<JsonObject | null>;
  rendered?: { key: string; value: JsonObject; applied: AppliedOverride[] };
  applied: AppliedOverride[];
  diskWrite: Promise<void>;
  /** Watch: what was last delivered (or the baseline the watch started from). */
  delivered?: { commit?: string; etag?: string };
  /** Watch: order of the newest commit seen for this namespace (delivered or not). */
  newest?: number;
  baseline?: Promise<void>;
}

interface Subscription {
  namespace: string;
  /** Key of the copy it watches (see `copyKey`). */
  key: string;
  callback: (doc: JsonObject, change: ConfigChange) => void | Promise<void>;
  onError?: (error: Error) => void;
}

interface HttpAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** Key of a copy in the client's state: the namespace, plus `@N` for an older schema version. */
function copyKey(namespace: string, version: number | undefined): string {
  return version === undefined ? namespace : `${namespace}@${version}`;
}

/** Raised inside the client when a request is aborted by `close()` or an unsubscribe. */
class AbortedError extends Error {}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  const detail = cause?.code ?? cause?.message;
  return detail && !error.message.includes(detail) ? `${error.message} (${detail})` : error.message;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The subtree at a dotted path (`a.b.0.c`), or undefined when some segment is missing. */
export function valueAtPath(doc: JsonValue, path: string): JsonValue | undefined {
  let current: JsonValue | undefined = doc;
  for (const segment of path.split('.')) {
    if (segment === '') continue;
    if (Array.isArray(current)) current = /^\d+$/.test(segment) ? current[Number(segment)] : undefined;
    else if (isObject(current)) current = Object.hasOwn(current, segment) ? current[segment] : undefined;
    else return undefined;
    if (current === undefined) return undefined;
  }
  return current;
}

class ConfigClient {
  readonly environment: string;
  readonly #base: string;
  readonly #shownUrl: string;
  readonly #authorization?: string;
  readonly #clientId?: string;
  readonly #fetch: typeof globalThis.fetch;
  readonly #timeoutMs: number;
  readonly #maxAgeMs: number;
  readonly #cacheDir?: string;
  readonly #overrides: Map<string, EnvOverride[]>;
  readonly #logger?: ClientOptions['logger'];
  readonly #watchTimeoutSeconds: number;
  readonly #backoff: NonNullable<ClientOptions['backoff']>;
  readonly #states = new Map<string, NamespaceState>();
  readonly #inflight = new Set<AbortController>();
  readonly #sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  readonly #subscriptions = new Set<Subscription>();
  /** Schema version per namespace from `createClient({ versions })`. */
  readonly #versions = new Map<string, number>();
  readonly #loggedOverrides = new Set<string>();
  #closed = false;
  // Watch loop state.
  #loop?: Promise<void>;
  #pollController?: AbortController;
  #since?: string;
  /** Order in which commits were first seen; a commit seen earlier than another is never delivered after it. */
  readonly #commitOrder = new Map<string, number>();
  #nextOrder = 0;
  /** Newest commit seen: sent as `Gitcfg-Min-Commit`, so another replica never answers with an older one. */
  #newestCommit?: string;

  constructor(options: ClientOptions) {
    if (!options || typeof options.url !== 'string')
      throw new GitcfgClientError('E_USAGE', 'createClient: url is required');
    if (typeof options.env !== 'string' || !NAME.test(options.env)) {
      throw new GitcfgClientError(
        'E_USAGE',
        `createClient: env must match ${NAME.source}, got ${JSON.stringify(options.env)}`,
      );
    }
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new GitcfgClientError('E_USAGE', `createClient: not a URL: ${redactUrl(options.url)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new GitcfgClientError(
        'E_USAGE',
        `createClient: only http(s) URLs are supported: ${redactUrl(options.url)}`,
      );
    }
    // fetch refuses URLs with credentials: move them to a header, and never show them.
    if (options.token) this.#authorization = `Bearer ${options.token}`;
    else if (url.username || url.password) {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      this.#authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    }
    url.username = '';
    url.password = '';
    url.search = '';
    const clientId =
      options.clientId === false ? undefined : (options.clientId ?? defaultClientId(process.env));
    if (clientId !== undefined) {
      if (!CLIENT_ID.test(clientId)) {
        throw new GitcfgClientError(
          'E_USAGE',
          `createClient: clientId must be 1 to 128 printable ASCII characters without spaces, got ${JSON.stringify(clientId)}`,
        );
      }
      this.#clientId = clientId;
    }
    url.hash = '';
    this.#base = url.toString().replace(/\/+$/, '');
    this.#shownUrl = this.#base;
    this.environment = options.env;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function')
      throw new GitcfgClientError('E_USAGE', 'createClient: no fetch available');
    this.#fetch = fetchImpl;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxAgeMs = options.maxAgeMs ?? 0;
    if (options.cacheDir !== undefined) this.#cacheDir = options.cacheDir;
    this.#overrides =
      options.envOverrides === false ? new Map() : parseEnvOverrides(options.envOverrides ?? process.env);
    if (options.logger) this.#logger = options.logger;
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds ?? 30;
    for (const [namespace, version] of Object.entries(options.versions ?? {})) {
      this.#versions.set(namespace, checkVersion(version, `createClient: versions.${namespace}`));
    }
    this.#backoff = options.backoff ?? {};
  }

  // ---------------------------------------------------------------- reading

  async get(namespace: string, options: GetOptions = {}): Promise<JsonValue> {
    return (await this.getWithMetadata(namespace, options)).value;
  }

  async getWithMetadata(namespace: string, options: GetOptions = {}): Promise<ConfigResult<JsonValue>> {
    const state = this.#state(namespace, options.version);
    const entry = await this.#load(namespace, state, false);
    const rendered = await this.#render(namespace, state, entry);
    let value: JsonValue = rendered.value;
    if (options.path !== undefined && options.path !== '') {
      const sub = valueAtPath(rendered.value, options.path);
      if (sub === undefined) {
        throw new GitcfgClientError(
          'E_NOT_FOUND',
          `path not found: ${options.path} in ${namespace}/${this.environment}`,
          { namespace, environment: this.environment, path: options.path },
        );
      }
      value = sub;
    }
    return { value, metadata: this.#metadata(namespace, entry), overrides: [...rendered.applied] };
  }

  status(namespace: string, options: { version?: number } = {}): ConfigMetadata | undefined {
    const entry = this.#states.get(copyKey(namespace, this.#versionOf(namespace, options.version)))?.entry;
    return entry ? this.#metadata(namespace, entry) : undefined;
  }

  overrides(namespace: string, options: { version?: number } = {}): AppliedOverride[] {
    const key = copyKey(namespace, this.#versionOf(namespace, options.version));
    return [...(this.#states.get(key)?.applied ?? [])];
  }

  /** The schema version to ask for: the call's, else the client's for this namespace, else the current one. */
  #versionOf(namespace: string, version: number | undefined): number | undefined {
    return version !== undefined ? checkVersion(version, 'version') : this.#versions.get(namespace);
  }

  #metadata(namespace: string, entry: Entry): ConfigMetadata {
    const meta: ConfigMetadata = {
      namespace,
      environment: this.environment,
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

  #state(namespace: string, version?: number): NamespaceState {
    if (this.#closed) throw new GitcfgClientError('E_CLOSED', 'the gitcfg client is closed');
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

  /** The current copy: from memory when young enough, else revalidated (one request at a time per namespace). */
  #load(namespace: string, state: NamespaceState, force: boolean): Promise<Entry> {
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
      state.loading = this.#revalidate(namespace, state).finally(() => {
        state.loading = undefined;
      });
    }
    return state.loading;
  }

  #configPath(state: NamespaceState): string {
    const path = `/v1/config/${encodeURIComponent(state.namespace)}/${encodeURIComponent(this.environment)}`;
    return state.version === undefined ? path : `${path}?version=${state.version}`;
  }

  /** The disk copy of `state` (a copy at an older version has a file of its own). */
  #cachePath(state: NamespaceState): string | undefined {
    if (!this.#cacheDir) return undefined;
    const name = state.version === undefined ? state.namespace : `${state.namespace}.v${state.version}`;
    return cacheFilePath(this.#cacheDir, this.environment, name);
  }

  async #revalidate(namespace: string, state: NamespaceState): Promise<Entry> {
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
        record.environment === this.environment &&
        sameVersion
      ) {
        known = this.#entryFromRecord(record);
        if (state.schema === undefined && record.schema) state.schema = record.schema;
      } else diskProblem = problem ?? 'written for another namespace/environment';
    }
    const path = this.#configPath(state);
    let answer: HttpAnswer;
    try {
      answer = await this.#request(path, known?.etag);
    } catch (error) {
      if (error instanceof AbortedError || this.#closed) throw this.#closedError();
      return this.#fallback(namespace, state, known, describe(error), cachePath, diskProblem, error);
    }
    if (answer.status >= 500) {
      const reason = `HTTP ${answer.status}${this.#serverMessage(answer)}`;
      return this.#fallback(namespace, state, known, reason, cachePath, diskProblem);
    }
    const now = new Date().toISOString();
    const serverStale = answer.headers.get('gitcfg-stale') === 'true';
    // A pinned answer comes from an older commit on purpose: it says nothing about what the server has.
    if (answer.status < 400 && !answer.headers.get('gitcfg-pinned')) {
      this.#observe(answer.headers.get('gitcfg-commit') ?? undefined);
    }
    if (answer.status === 304 && known) {
      const entry: Entry = { ...known, fetchedAt: now, source: 'network', serverStale };
      delete entry.lastError;
      // Same bytes, but possibly from a newer commit that did not touch this namespace.
      const commit = answer.headers.get('gitcfg-commit');
      if (commit) entry.commit = commit;
      state.entry = entry;
      if (known.source === 'disk' && cachePath) this.#persist(namespace, state);
      return entry;
    }
    if (answer.status === 200) {
      let value: unknown;
      try {
        value = JSON.parse(answer.body);
      } catch {
        throw this.#httpError('E_HTTP', state, answer, 'the body is not JSON');
      }
      if (!isObject(value))
        throw this.#httpError('E_HTTP', state, answer, 'the document is not a JSON object');
      const entry: Entry = { value: deepFreeze(value), fetchedAt: now, source: 'network', serverStale };
      const commit = answer.headers.get('gitcfg-commit');
      const etag = answer.headers.get('etag');
      const schemaVersion = answer.headers.get('gitcfg-schema-version');
      if (commit) entry.commit = commit;
      if (etag) entry.etag = etag;
      if (schemaVersion) entry.schemaVersion = schemaVersion;
      state.entry = entry;
      if (cachePath) this.#persist(namespace, state);
      return entry;
    }
    if (answer.status === 404) throw this.#httpError('E_NOT_FOUND', state, answer);
    if (answer.status === 401 || answer.status === 403)
      throw this.#httpError('E_UNAUTHORIZED', state, answer);
    throw this.#httpError('E_HTTP', state, answer);
  }

  #entryFromRecord(record: CacheRecord): Entry {
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

  /** Server unreachable: serve the kept copy flagged stale, or say everything that was tried. */
  #fallback(
    namespace: string,
    state: NamespaceState,
    known: Entry | undefined,
    reason: string,
    cachePath: string | undefined,
    diskProblem: string | undefined,
    cause?: unknown,
  ): Entry {
    const url = `${this.#shownUrl}${this.#configPath(state)}`;
    if (known) {
      const source = known.source === 'disk' ? 'disk' : 'memory';
      const entry: Entry = { ...known, source, lastError: `GET ${url} failed: ${reason}` };
      state.entry = entry;
      return entry;
    }
    const disk = cachePath ? `disk copy ${cachePath}: ${diskProblem ?? 'absent'}` : 'no cacheDir configured';
    throw new GitcfgClientError(
      'E_UNAVAILABLE',
      `cannot load ${namespace}/${this.environment}: GET ${url} failed: ${reason}; no copy in memory; ${disk}`,
      { namespace, environment: this.environment, url, cachePath, reason },
      cause,
    );
  }

  #serverMessage(answer: HttpAnswer): string {
    try {
      const body = JSON.parse(answer.body) as { error?: { code?: unknown; message?: unknown } };
      const message = body.error?.message;
      return typeof message === 'string' ? `: ${message}` : '';
    } catch {
      return '';
    }
  }

  #httpError(
    code: 'E_NOT_FOUND' | 'E_UNAUTHORIZED' | 'E_HTTP',
    state: NamespaceState,
    answer: HttpAnswer,
    problem?: string,
  ): GitcfgClientError {
    const namespace = state.namespace;
    const url = `${this.#shownUrl}${this.#configPath(state)}`;
    const detail = problem ? `: ${problem}` : this.#serverMessage(answer);
    return new GitcfgClientError(code, `GET ${url} -> HTTP ${answer.status}${detail}`, {
      namespace,
      environment: this.environment,
      url,
      status: answer.status,
    });
  }

  #closedError(): GitcfgClientError {
    return new GitcfgClientError('E_CLOSED', 'the gitcfg client is closed');
  }

  /** Writes the disk copy in the background; writes of one namespace are serialised so the newest lands last. */
  #persist(namespace: string, state: NamespaceState): void {
    const entry = state.entry;
    if (!this.#cacheDir || !entry || this.#closed) return;
    const record: CacheRecord = {
      namespace,
      environment: this.environment,
      fetchedAt: entry.fetchedAt,
      value: entry.value,
    };
    if (entry.commit !== undefined) record.commit = entry.commit;
    if (entry.etag !== undefined) record.etag = entry.etag;
    if (entry.schemaVersion !== undefined) record.schemaVersion = entry.schemaVersion;
    if (state.schema) record.schema = state.schema;
    const path = this.#cachePath(state)!;
    state.diskWrite = state.diskWrite
      .then(() => writeCacheFile(path, record))
      .catch((error: unknown) =>
        this.#logger?.warn(`gitcfg client: cannot write ${path}: ${describe(error)}`),
      );
  }

  /** Applies the environment overrides of the namespace (memoised per served copy and schema). */
  async #render(
    namespace: string,
    state: NamespaceState,
    entry: Entry,
  ): Promise<NonNullable<NamespaceState['rendered']>> {
    const overrides = this.#overrides.get(envKey(namespace)) ?? [];
    if (overrides.length === 0) {
      state.applied = [];
      return { key: '', value: entry.value, applied: [] };
    }
    const schema = await this.#schema(namespace, state);
    const key =
      entry.commit !== undefined || entry.etag !== undefined
        ? `${entry.commit ?? ''}|${entry.etag ?? ''}|${schema ? 'schema' : 'values'}`
        : undefined;
    if (key !== undefined && state.rendered?.key === key) {
      state.applied = state.rendered.applied;
      return state.rendered;
    }
    const { value, applied } = applyEnvOverrides(namespace, entry.value, schema ?? undefined, overrides);
    for (const a of applied) {
      if (this.#loggedOverrides.has(a.variable)) continue;
      this.#loggedOverrides.add(a.variable);
      this.#logger?.warn(
        `gitcfg client: ${a.variable} overrides ${namespace}.${a.path} (${this.environment})`,
      );
    }
    const rendered = { key: key ?? '', value: deepFreeze(value), applied };
    if (key !== undefined) state.rendered = rendered;
    state.applied = applied;
    return rendered;
  }

  /** The namespace's JSON Schema, fetched once; null when it cannot be had (overrides then follow value types). */
  #schema(namespace: string, state: NamespaceState): Promise<JsonObject | null> {
    if (state.schema !== undefined) return Promise.resolve(state.schema);
    if (!state.schemaLoading) {
      state.schemaLoading = (async () => {
        try {
          const version = state.version === undefined ? '' : `?version=${state.version}`;
          const answer = await this.#request(`/v1/schemas/${encodeURIComponent(namespace)}${version}`);
          const schema: unknown = answer.status === 200 ? JSON.parse(answer.body) : undefined;
          if (isObject(schema)) {
            state.schema = schema;
            if (state.entry) this.#persist(namespace, state);
            return schema;
          }
          this.#logger?.warn(
            `gitcfg client: no schema for ${namespace} (HTTP ${answer.status}); overrides follow value types`,
          );
        } catch (error) {
          if (error instanceof AbortedError || this.#closed) throw this.#closedError();
          this.#logger?.warn(`gitcfg client: cannot fetch the schema of ${namespace}: ${describe(error)}`);
        }
        // Not remembered as final: the next load tries again.
        return null;
      })().finally(() => {
        state.schemaLoading = undefined;
      });
    }
    return state.schemaLoading;
  }

  // ---------------------------------------------------------------- HTTP

  /** One GET with timeout and abort-on-close; the body is read inside the same deadline. */
  async #request(
    path: string,
    etag?: string,
    timeoutMs = this.#timeoutMs,
    onController?: (controller: AbortController) => void,
  ): Promise<HttpAnswer> {
    if (this.#closed) throw new AbortedError('closed');
    const controller = new AbortController();
    this.#inflight.add(controller);
    onController?.(controller);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.#authorization) headers.authorization = this.#authorization;
      if (this.#clientId) headers['gitcfg-client-id'] = this.#clientId;
      if (etag) headers['if-none-match'] = etag;
      if (this.#newestCommit) headers['gitcfg-min-commit'] = this.#newestCommit;
      const response = await this.#fetch(`${this.#base}${path}`, { headers, signal: controller.signal });
      const body = await response.text();
      this.#noteRetryAfter(response.status, response.headers.get('retry-after'));
      return { status: response.status, headers: response.headers, body };
    } catch (error) {
      if (timedOut) throw new Error(`timed out after ${timeoutMs} ms`);
      if (controller.signal.aborted) throw new AbortedError('aborted');
      throw error;
    } finally {
      clearTimeout(timer);
      this.#inflight.delete(controller);
    }
  }

  /** When a 429/503 said `Retry-After`: no retry before this time (ms since the epoch). */
  #retryNotBefore = 0;

  #noteRetryAfter(status: number, header: string | null): void {
    if ((status !== 429 && status !== 503) || header === null) return;
    const seconds = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
    // Bounded: a server (or a proxy) cannot park the client for longer than its own backoff ceiling.
    if (Number.isFinite(seconds) && seconds > 0) {
      const ms = Math.min(seconds * 1000, this.#backoff.maxMs ?? 30_000);
      this.#retryNotBefore = Math.max(this.#retryNotBefore, Date.now() + ms);
    }
  }

  /** The backoff before retry `attempt`, and never earlier than the server's `Retry-After`. */
  #retrySleep(attempt: number): Promise<void> {
    const wait = Math.max(backoffDelay(attempt, this.#backoff), this.#retryNotBefore - Date.now());
    return this.#sleep(wait);
  }

  /** A delay that `close()` cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.#sleeps.delete(sleeper);
          resolve();
        }, ms),
        resolve,
      };
      this.#sleeps.add(sleeper);
    });
  }

  // ---------------------------------------------------------------- watching

  watch(
    namespace: string,
    callback: (doc: JsonObject, change: ConfigChange) => void | Promise<void>,
    options: WatchOptions = {},
  ): () => void {
    const state = this.#state(namespace, options.version);
    if (typeof callback !== 'function')
      throw new GitcfgClientError('E_USAGE', 'watch: callback must be a function');
    const subscription: Subscription = { namespace, key: copyKey(namespace, state.version), callback };
    if (options.onError) subscription.onError = options.onError;
    this.#subscriptions.add(subscription);
    if (!state.delivered && !state.baseline) {
      // The watch reports changes from here on: what is known now is the baseline, not a change.
      if (state.entry) this.#setBaseline(state, state.entry);
      else {
        state.baseline = this.#load(namespace, state, false)
          .then((entry) => {
            if (!state.delivered) this.#setBaseline(state, entry);
          })
          .catch(() => undefined)
          .finally(() => {
            state.baseline = undefined;
          });
      }
    }
    this.#ensureLoop();
    return () => {
      if (!this.#subscriptions.delete(subscription)) return;
      if (this.#subscriptions.size === 0) this.#pollController?.abort();
    };
  }

  #setBaseline(state: NamespaceState, entry: Entry): void {
    state.newest = this.#observe(entry.commit);
    state.delivered = { commit: entry.commit, etag: entry.etag };
  }

  #observe(commit: string | undefined): number {
    if (commit === undefined) return -1;
    let order = this.#commitOrder.get(commit);
    if (order === undefined) {
      order = this.#nextOrder++;
      this.#commitOrder.set(commit, order);
      if (/^[0-9a-f]{40}$/.test(commit)) this.#newestCommit = commit;
      // Bounded memory for long-lived services: forget the oldest commits (a Map iterates in insertion order).
      if (this.#commitOrder.size > MAX_REMEMBERED_COMMITS) {
        this.#commitOrder.delete(this.#commitOrder.keys().next().value as string);
      }
    }
    return order;
  }

  #ensureLoop(): void {
    if (this.#loop || this.#closed) return;
    this.#loop = this.#watchLoop()
      .catch((error: unknown) => this.#logger?.warn(`gitcfg client: watch stopped: ${describe(error)}`))
      .finally(() => {
        this.#loop = undefined;
        if (this.#subscriptions.size > 0 && !this.#closed) this.#ensureLoop();
      });
  }

  /** Keys of the watched copies. */
  #watchedNamespaces(): string[] {
    return [...new Set([...this.#subscriptions].map((s) => s.key))];
  }

  async #watchLoop(): Promise<void> {
    let failures = 0;
    while (this.#subscriptions.size > 0 && !this.#closed) {
      await Promise.all(this.#watchedNamespaces().map((ns) => this.#states.get(ns)?.baseline));
      if (this.#since === undefined) {
        // Start from the newest commit any watched copy came from.
        let best = -1;
        for (const ns of this.#watchedNamespaces()) {
          const commit = this.#states.get(ns)?.entry?.commit;
          const order = this.#observe(commit);
          if (commit !== undefined && order > best) {
            best = order;
            this.#since = commit;
          }
        }
      }
      if (failures > 0) {
        // Back after an outage: catch up at once instead of waiting for the next promotion. Only a poll that
        // works resets the backoff (a draining server may still answer on an old connection).
        try {
          await this.#refreshWatched(undefined);
        } catch (error) {
          if (this.#closed) return;
          this.#markUnreachable(describe(error));
          await this.#retrySleep(failures++);
          continue;
        }
      }
      const query = new URLSearchParams({ timeout: String(this.#watchTimeoutSeconds) });
      if (this.#since !== undefined) query.set('since', this.#since);
      const path = `/v1/watch/${encodeURIComponent(this.environment)}?${query}`;
      try {
        const answer = await this.#request(
          path,
          undefined,
          this.#watchTimeoutSeconds * 1000 + this.#timeoutMs,
          (c) => (this.#pollController = c),
        );
        if (answer.status === 304) {
          failures = 0;
          continue;
        }
        if (answer.status !== 200) {
          const code =
            answer.status === 404
              ? 'E_NOT_FOUND'
              : answer.status === 401 || answer.status === 403
                ? 'E_UNAUTHORIZED'
                : 'E_HTTP';
          throw new GitcfgClientError(
            code,
            `GET ${this.#shownUrl}${path} -> HTTP ${answer.status}${this.#serverMessage(answer)}`,
            { environment: this.environment, url: `${this.#shownUrl}${path}`, status: answer.status },
          );
        }
        const body = JSON.parse(answer.body) as { commit?: unknown; changed?: unknown };
        const commit = typeof body.commit === 'string' ? body.commit : undefined;
        this.#observe(commit);
        await this.#refreshWatched(commit, this.#changedNamespaces(body.changed));
        this.#since = commit;
        failures = 0;
      } catch (error) {
        if (this.#closed) return;
        if (error instanceof AbortedError) continue; // an unsubscribe cut the poll short
        this.#markUnreachable(describe(error));
        this.#reportWatchError(this.#watchError(path, error), failures === 0);
        await this.#retrySleep(failures++);
      }
    }
  }

  /** The namespaces of this environment a notification lists as changed; undefined when it does not say. */
  #changedNamespaces(changed: unknown): Set<string> | undefined {
    if (!Array.isArray(changed)) return undefined;
    const names = new Set<string>();
    for (const pair of changed) {
      if (!isObject(pair) || typeof pair.namespace !== 'string') return undefined;
      if (pair.environment === undefined || pair.environment === this.environment) names.add(pair.namespace);
    }
    return names;
  }

  /** After a change notification: revalidate the watched namespaces (those it lists) and deliver what is newer. */
  async #refreshWatched(notified: string | undefined, only?: Set<string>): Promise<void> {
    const notifiedOrder = this.#observe(notified);
    for (const key of this.#watchedNamespaces()) {
      const state = this.#states.get(key);
      if (!state || this.#closed || (only && !only.has(state.namespace))) continue;
      const namespace = state.namespace;
      let entry: Entry | undefined;
      // A replica behind the one that notified us may still answer with the older commit: ask again briefly.
      for (let attempt = 0; attempt < 4; attempt++) {
        entry = await this.#load(namespace, state, true);
        if (entry.lastError !== undefined) throw new Error(entry.lastError);
        if (notified === undefined || this.#observe(entry.commit) >= notifiedOrder) break;
        await this.#retrySleep(attempt);
        if (this.#closed) return;
      }
      if (entry) await this.#deliver(namespace, state, entry);
    }
  }

  async #deliver(namespace: string, state: NamespaceState, entry: Entry): Promise<void> {
    const order = this.#observe(entry.commit);
    // Never go back to a commit already superseded (lagging replica, server restored from an older snapshot).
    if (state.newest !== undefined && order < state.newest) return;
    state.newest = Math.max(order, state.newest ?? -1);
    const previous = state.delivered;
    // A newer commit that left this document as it was is not a change for its watchers.
    const same = entry.etag !== undefined ? previous?.etag === entry.etag : previous?.commit === entry.commit;
    if (previous && same) return;
    const key = copyKey(namespace, state.version);
    const subscribers = [...this.#subscriptions].filter((s) => s.key === key);
    if (subscribers.length === 0) return;
    let rendered: NonNullable<NamespaceState['rendered']>;
    try {
      rendered = await this.#render(namespace, state, entry);
    } catch (error) {
      for (const s of subscribers) this.#tell(s, error);
      return;
    }
    state.delivered = { commit: entry.commit, etag: entry.etag };
    const change: ConfigChange = { namespace, environment: this.environment };
    if (entry.commit !== undefined) change.commit = entry.commit;
    if (previous?.commit !== undefined) change.previousCommit = previous.commit;
    if (entry.etag !== undefined) change.etag = entry.etag;
    for (const s of subscribers) {
      if (!this.#subscriptions.has(s) || this.#closed) continue;
      try {
        await s.callback(rendered.value, { ...change });
      } catch (error) {
        this.#tell(s, error);
      }
    }
  }

  /** Typed error for watch failures: client errors as they are, anything else as E_UNAVAILABLE with its cause. */
  #watchError(path: string, error: unknown): GitcfgClientError {
    if (error instanceof GitcfgClientError) return error;
    const url = `${this.#shownUrl}${path}`;
    return new GitcfgClientError(
      'E_UNAVAILABLE',
      `watch of ${this.environment}: GET ${url} failed: ${describe(error)}`,
      { environment: this.environment, url },
      error,
    );
  }

  #markUnreachable(reason: string): void {
    for (const ns of this.#watchedNamespaces()) {
      const state = this.#states.get(ns);
      if (state?.entry) state.entry = { ...state.entry, lastError: reason };
    }
  }

  #reportWatchError(error: Error, firstOfOutage: boolean): void {
    let handled = false;
    for (const s of this.#subscriptions) {
      if (s.onError) {
        handled = true;
        this.#tell(s, error);
      }
    }
    // Without handlers, say it once per outage rather than on every retry.
    if (!handled && firstOfOutage)
      this.#logger?.warn(`gitcfg client: watch failed, retrying: ${error.message}`);
  }

  #tell(subscription: Subscription, error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    try {
      if (subscription.onError) subscription.onError(err);
      else this.#logger?.warn(`gitcfg client: watch of ${subscription.namespace}: ${err.message}`);
    } catch {
      // An error handler that throws must not stop the watch.
    }
  }

  // ---------------------------------------------------------------- closing

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscriptions.clear();
    for (const controller of this.#inflight) controller.abort();
    this.#inflight.clear();
    for (const sleeper of this.#sleeps) {
      clearTimeout(sleeper.timer);
      sleeper.resolve();
    }
    this.#sleeps.clear();
    // The watch loop ends by itself now that its request is aborted; not awaited, so a watch callback may call
    // close() without waiting on itself.
    await Promise.all([...this.#states.values()].map((s) => s.diskWrite));
  }
}

/** A schema version given by the caller: a positive integer, else a usage error naming where it came from. */
function checkVersion(version: unknown, where: string): number {
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new GitcfgClientError(
      'E_USAGE',
      `${where} must be a positive integer, got ${JSON.stringify(version)}`,
    );
  }
  return version;
}

/**
 * Creates a client for one environment of a gitcfg server. Pass the generated `GitcfgNamespaces` interface
 * (`gitcfg types`) as `N` for typed documents; without it every namespace is a plain JSON object.
 */
export function createClient<N extends object = UntypedNamespaces>(options: ClientOptions): GitcfgClient<N> {
  return new ConfigClient(options) as unknown as GitcfgClient<N>;
}

const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

/** `GITCFG_CLIENT_ID`, else `POD_NAME` (Kubernetes downward API), else `<hostname>-<pid>`. */
export function defaultClientId(env: Readonly<Record<string, string | undefined>>): string {
  const given = env.GITCFG_CLIENT_ID || env.POD_NAME;
  if (given) return given;
  return `${hostname()}-${process.pid}`.replace(/[^\x21-\x7e]/g, '_').slice(0, 128);
}
