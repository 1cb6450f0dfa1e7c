/** Public types of the client SDK. */
import type { JsonObject, JsonValue } from '../values/index.js';
import type { BackoffOptions } from './backoff.js';
import type { AppliedOverride } from './env-overrides.js';

/** Namespace name -> document type. Untyped clients use this default: any name, a JSON object. */
export type UntypedNamespaces = Record<string, JsonObject>;

/** The namespace names of a namespace map (its string keys). */
export type NamespaceName<N extends object> = Extract<keyof N, string>;

/** Something to log to; `console` and pino loggers both fit. */
export interface ClientLogger {
  warn(message: string): void;
}

/** Options of `createClient`. */
export interface ClientOptions {
  /** Base URL of the gitcfg server, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  url: string;
  /** Environment to read (`production`, `staging`...). */
  env: string;
  /** Sent as `Authorization: Bearer <token>`; never logged. */
  token?: string;
  /** Folder for the last good copy of each namespace; without it the copy is kept in memory only. */
  cacheDir?: string;
  /** `fetch` implementation (default: the global one). */
  fetch?: typeof globalThis.fetch;
  /** Timeout of one request in ms (default 10,000); long-polls get this on top of their wait. */
  timeoutMs?: number;
  /** How long a copy is used without asking the server again, in ms (default 0: every `get` revalidates). */
  maxAgeMs?: number;
  /** Where `GITCFG__<NAMESPACE>__<PATH>` overrides are read from (default `process.env`); `false` disables them. */
  envOverrides?: NodeJS.ProcessEnv | Readonly<Record<string, string | undefined>> | false;
  /** Told once per overridden variable, and about watch errors nobody else handles. Silent by default. */
  logger?: ClientLogger;
  /** How long one long-poll waits on the server, in seconds (default 30). */
  watchTimeoutSeconds?: number;
  /** Reconnect backoff of `watch` (exponential with full jitter). */
  backoff?: BackoffOptions;
  /**
   * Schema version to read per namespace (`{ ml: 1 }` sends `?version=1`): a service written against an older
   * schema keeps its shape while the repository moves on. Namespaces not listed are read at the current version.
   */
  versions?: Readonly<Record<string, number>>;
  /**
   * Sent as `Gitcfg-Client-Id` so that during a rollout this client sticks to one commit (docs/rollouts.md).
   * Default: `GITCFG_CLIENT_ID`, else `POD_NAME`, else `<hostname>-<pid>`; `false` sends none (the stable).
   */
  clientId?: string | false;
}

/** Where a document came from. */
export type ConfigSource = 'network' | 'memory' | 'disk';

/** What the client knows about the copy it serves of one namespace. */
export interface ConfigMetadata {
  namespace: string;
  environment: string;
  /** Commit the document was built from (`Gitcfg-Commit`), when the server said. */
  commit?: string;
  etag?: string;
  /** When the server last sent or confirmed this copy (ISO 8601). */
  fetchedAt: string;
  /** `Gitcfg-Schema-Version` of the document, when the server said. */
  schemaVersion?: string;
  /** True when the server could not be reached on the last try, or the server itself reports being stale. */
  stale: boolean;
  /** `network`: confirmed by the server on the last try; `memory`/`disk`: a kept copy served instead. */
  source: ConfigSource;
  /** The last failure to reach the server (no credentials), while stale. */
  lastError?: string;
}

/** A document and what the client knows about it. */
export interface ConfigResult<T> {
  value: T;
  metadata: ConfigMetadata;
  /** Environment-variable overrides applied to `value`. */
  overrides: AppliedOverride[];
}

/** Options of `get`. */
export interface GetOptions {
  /** Path of a subtree (`feature_mapping.user_id` or `/feature_mapping/user_id`), applied to the cached document. */
  path?: string;
  /** Schema version of the document (overrides `versions` of `createClient`); each version is a separate copy. */
  version?: number;
}

/** Told to a watch callback along with the new document. */
export interface ConfigChange {
  namespace: string;
  environment: string;
  /** Commit of the delivered document. */
  commit?: string;
  /** Commit of the document delivered (or known) before, if any. */
  previousCommit?: string;
  etag?: string;
}

/** Options of `watch`. */
export interface WatchOptions {
  /** Called with errors of this subscription (server unreachable, callback threw, bad override). */
  onError?: (error: Error) => void;
  /** Schema version of the delivered documents (overrides `versions` of `createClient`). */
  version?: number;
}

/** A client for one environment; `N` maps namespace names to document types (see `gitcfg types`). */
export interface GitcfgClient<N extends object = UntypedNamespaces> {
  /** The environment this client reads. */
  readonly environment: string;
  /** The merged document of a namespace (frozen), with environment overrides applied. */
  get<K extends NamespaceName<N>>(namespace: K, options?: GetOptions & { path?: undefined }): Promise<N[K]>;
  /** A subtree of the document of a namespace, by path (dotted or JSON pointer). */
  get<K extends NamespaceName<N>>(namespace: K, options: GetOptions & { path: string }): Promise<JsonValue>;
  /** Like `get`, with where the document came from and whether it is stale. */
  getWithMetadata<K extends NamespaceName<N>>(
    namespace: K,
    options?: GetOptions & { path?: undefined },
  ): Promise<ConfigResult<N[K]>>;
  /** Like `get` with a path, with metadata. */
  getWithMetadata<K extends NamespaceName<N>>(
    namespace: K,
    options: GetOptions & { path: string },
  ): Promise<ConfigResult<JsonValue>>;
  /** What is known about the copy of a namespace (undefined before the first load). */
  status(namespace: NamespaceName<N>, options?: { version?: number }): ConfigMetadata | undefined;
  /** The overrides applied to a namespace by its last load. */
  overrides(namespace: NamespaceName<N>, options?: { version?: number }): AppliedOverride[];
  /** Calls `callback` with each newer document of a namespace; returns the function that unsubscribes. */
  watch<K extends NamespaceName<N>>(
    namespace: K,
    callback: (doc: N[K], change: ConfigChange) => void | Promise<void>,
    options?: WatchOptions,
  ): () => void;
  /** Stops everything: aborts requests, clears timers, ends watches. The client cannot be used afterwards. */
  close(): Promise<void>;
}
