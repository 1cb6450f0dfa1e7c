/**
 * The one read resolver of configs and bundles: which snapshot answers (the served one, `?ref=`, or an
 * environment's pin), which names the caller must be allowed to read in *that* snapshot, whether secret
 * references are resolved for the caller, and the headers of the answer. Both the routes and the pre-routed fast
 * path answer through it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessControl } from '../auth/index.js';
import { SecretMatcher } from '../engine/index.js';
import type { JsonObject } from '../engine/index.js';
import type { PinStore } from '../edits/index.js';
import { NotFoundError, NotReadyError, UsageError } from '../errors/index.js';
import { flagSetOf } from '../flags/index.js';
import type { FlagSet } from '../flags/index.js';
import type { AuditQueries } from '../history/index.js';
import type { RequestLimits } from '../limits/index.js';
import type { RolloutDecision, RolloutService } from '../rollouts/index.js';
import {
  currentVersion,
  documentAtVersion,
  etagOf,
  renderJson,
  renderYaml,
  subtree,
} from '../snapshot/index.js';
import type {
  RenderedBody,
  RenderedConfig,
  RenderedDocument,
  Snapshot,
  SnapshotStore,
} from '../snapshot/index.js';
import { formatFromAccept, formatOf, queryParam, sendJson, writeRendered } from './http-io.js';
import type { Format } from './http-io.js';
import { authenticate, guardFor } from './route-table.js';
import type { AccessGuard } from './route-table.js';

/** What the reader needs from the sync service. */
export interface ReaderSync {
  readonly isStale: boolean;
  snapshotAt(ref: string): Promise<Snapshot>;
  trigger(reason: string): Promise<unknown>;
  /** Read-your-writes: resolves once `commit` (or a descendant) is served; throws CommitNotServedError. */
  awaitCommit?(commit: string, timeoutMs: number): Promise<void>;
}

export interface ConfigReaderDeps {
  store: SnapshotStore;
  sync: ReaderSync;
  access: AccessControl;
  pins?: PinStore | undefined;
  history?: AuditQueries | undefined;
  /** Abuse limits: the fast path takes its cheap-read token here, exactly as the routes would. */
  limits?: RequestLimits | undefined;
  /** The value of secret reference `${env:name}` for `namespace`/`env`, if the operator allows it there. */
  resolveSecret: (namespace: string, env: string, name: string) => string | undefined;
  /** How long a read with `Gitcfg-Min-Commit` waits for that commit (default 5000 ms). */
  minCommitWaitMs?: number | undefined;
  /** Rollouts: which commit each client gets in an environment with a running rollout; the client inventory. */
  rollouts?: ReaderRollouts | undefined;
}

/** What the reader needs from the rollouts. */
export type ReaderRollouts = Pick<RolloutService, 'decide' | 'stableSnapshot' | 'loadStable' | 'seen'>;

const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

/** The caller's `Gitcfg-Client-Id` (printable ASCII, at most 128 characters), or undefined when absent. */
export function clientIdOf(req: IncomingMessage): string | undefined {
  const header = req.headers['gitcfg-client-id'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === '') return undefined;
  if (!CLIENT_ID.test(value)) {
    throw new UsageError('Gitcfg-Client-Id must be 1 to 128 printable ASCII characters without spaces');
  }
  return value;
}

/** Default bound of a read-your-writes wait. */
export const DEFAULT_MIN_COMMIT_WAIT_MS = 5000;

/** The commit a reader must see at least: `Gitcfg-Min-Commit` header or `?minCommit=`; 400 unless a full id. */
export function minCommitOf(req: IncomingMessage): string | undefined {
  const header = req.headers['gitcfg-min-commit'];
  const value = (Array.isArray(header) ? header[0] : header) ?? queryParam(req, 'minCommit');
  if (value === undefined || value === '') return undefined;
  if (!/^[0-9a-f]{40}$/.test(value)) {
    throw new UsageError('Gitcfg-Min-Commit (or ?minCommit=) must be a full 40-character commit id');
  }
  return value;
}

/** Where an answer comes from. */
interface Source {
  snapshot: Snapshot;
  /** The pinned commit when the environment's pin chose the snapshot. */
  pinned?: string;
  /** Whether the answer is the served snapshot while the remote is unreachable. */
  stale: boolean;
  /** The rollout that chose the snapshot for this client. */
  rollout?: RolloutDecision;
}

const matchers = new WeakMap<RenderedDocument, SecretMatcher>();

/** The secret matcher of a namespace's schema, or null when it marks no secret field. */
function secretsOf(snapshot: Snapshot, namespace: string): SecretMatcher | null {
  const schema = snapshot.schemas.get(namespace);
  if (!schema) return null;
  let m = matchers.get(schema);
  if (!m) matchers.set(schema, (m = new SecretMatcher(schema.value as JsonObject)));
  return m.hasSecrets ? m : null;
}

function missingPair(snapshot: Snapshot, namespace: string, env: string): NotFoundError {
  if (!snapshot.namespaces.includes(namespace)) return new NotFoundError('namespace', namespace);
  if (!snapshot.environments.includes(env)) return new NotFoundError('environment', env);
  return new NotFoundError('config', `${namespace}/${env}`);
}

function commonHeaders(source: Source): Record<string, string> {
  const headers: Record<string, string> = { 'Gitcfg-Commit': source.snapshot.commit, Vary: 'Accept' };
  if (source.stale) headers['Gitcfg-Stale'] = 'true';
  if (source.pinned) headers['Gitcfg-Pinned'] = source.pinned;
  if (source.rollout) {
    // Answers differ per client while a rollout runs: caches must key on the client id too.
    headers.Vary = 'Accept, Gitcfg-Client-Id';
    headers['Gitcfg-Rollout'] = `${source.rollout.rollout.id}; role=${source.rollout.role}`;
  }
  return headers;
}

/** The merged value of one namespace x environment as `GET /v1/config` answers it to one caller. */
export interface MergedConfig {
  /** The rendered config; `value` is its value unless secrets were resolved for this caller. */
  config: RenderedConfig;
  value: JsonObject;
  commit: string;
  stale: boolean;
  /** Whether secret references were resolved (the answer must then not be cached for others). */
  secretsResolved: boolean;
}

/** Names are lower-case; anything else cannot be a namespace or environment (and never reaches a lookup). */
const PLAIN_CONFIG = /^\/v1\/config\/([a-z][a-z0-9-]*)\/([a-z][a-z0-9-]*)$/;
const PLAIN_BUNDLE = /^\/v1\/bundle\/([a-z][a-z0-9-]*)$/;

export class ConfigReader {
  constructor(private readonly deps: ConfigReaderDeps) {}

  /**
   * The snapshot that answers for `env`: `?ref=`, else the environment's pin, else the served one (once it is
   * `minCommit` or newer: read-your-writes across replicas), or during a rollout the one this client gets.
   */
  async source(env: string, ref: string | undefined, minCommit?: string, clientId?: string): Promise<Source> {
    if (ref !== undefined) return { snapshot: await this.deps.sync.snapshotAt(ref), stale: false };
    const source = await this.currentSource(env, minCommit, clientId);
    if (clientId !== undefined) this.deps.rollouts?.seen(env, clientId, source.snapshot.commit);
    return source;
  }

  private async currentSource(env: string, minCommit?: string, clientId?: string): Promise<Source> {
    const { store, sync, pins, rollouts } = this.deps;
    const pin = pins?.get(env);
    if (pin) return { snapshot: await this.pinned(pin.commit), pinned: pin.commit, stale: false };
    if (minCommit !== undefined) await this.awaitCommit(minCommit);
    const snapshot = store.current;
    if (!snapshot) throw new NotReadyError();
    const rollout = rollouts?.decide(env, clientId);
    if (!rollout) return { snapshot, stale: sync.isStale };
    if (rollout.role === 'candidate') return { snapshot, stale: sync.isStale, rollout };
    const stable =
      rollouts!.stableSnapshot(env) ?? (await rollouts!.loadStable(env, (commit) => this.pinned(commit)));
    return { snapshot: stable, stale: sync.isStale, rollout };
  }

  /** What a watcher of `env` should see (`WatchTarget`): the commit its client gets from a rollout, else null. */
  rolloutCommit(env: string, clientId: string | undefined): string | null {
    return this.deps.rollouts?.decide(env, clientId)?.commit ?? null;
  }

  /** Waits (bounded) until the served snapshot is `commit` or newer. */
  async awaitCommit(commit: string): Promise<void> {
    await this.deps.sync.awaitCommit?.(commit, this.deps.minCommitWaitMs ?? DEFAULT_MIN_COMMIT_WAIT_MS);
  }

  /** A pinned commit's snapshot: the repository is open from the start, so this never waits for a sync. */
  private pinned(commit: string): Promise<Snapshot> {
    return this.deps.sync.snapshotAt(commit);
  }

  /** The snapshot `ref` names, or the served one. */
  async snapshotOf(ref: string | undefined): Promise<Snapshot> {
    if (ref !== undefined) return this.deps.sync.snapshotAt(ref);
    const snapshot = this.deps.store.current;
    if (!snapshot) throw new NotReadyError();
    return snapshot;
  }

  /**
   * The merged value of `ns`/`env` exactly as `GET /v1/config` answers this caller: from `ref`, else the
   * environment's pin, else the served snapshot; secret references resolved when the caller may read them. Null
   * when the answering snapshot has no such pair; otherwise read on the pair is checked (throws) first.
   */
  async mergedConfig(
    guard: AccessGuard,
    ns: string,
    env: string,
    ref: string | undefined,
    clientId?: string,
  ): Promise<MergedConfig | null> {
    const source = await this.source(env, ref, undefined, clientId);
    const config = source.snapshot.configs.get(`${ns}/${env}`);
    if (!config) return null;
    guard.read(ns, env);
    const matcher = guard.canReadSecrets(ns, env) ? secretsOf(source.snapshot, ns) : null;
    const value = matcher
      ? (matcher.resolve(
          config.value,
          (name) => this.deps.resolveSecret(ns, env, name),
          new Set(),
        ) as JsonObject)
      : config.value;
    return { config, value, commit: source.snapshot.commit, stale: source.stale, secretsResolved: !!matcher };
  }

  /**
   * For pre-routed answers: the served config of `ns`/`env` when nothing but the served snapshot is involved
   * (no pin, no secret resolution for this caller) and the caller may read it; null when the pair does not
   * exist; undefined when the full route must answer.
   */
  plainServedConfig(
    guard: AccessGuard,
    snapshot: Snapshot,
    ns: string,
    env: string,
  ): RenderedConfig | null | undefined {
    if (this.deps.pins?.get(env) || this.deps.rollouts?.decide(env, undefined)) return undefined;
    const config = snapshot.configs.get(`${ns}/${env}`);
    if (!config) return null;
    if (!guard.canRead(ns, env)) return undefined;
    if (guard.canReadSecrets(ns, env) && secretsOf(snapshot, ns)) return undefined;
    return config;
  }

  /** `GET /v1/config/:namespace/:env` (`ref`, `version`, `explain`, `path`, `format`). */
  async config(req: IncomingMessage, res: ServerResponse, guard: AccessGuard, ns: string, env: string) {
    guard.read(ns, env);
    const ref = queryParam(req, 'ref');
    const source = await this.source(env, ref, minCommitOf(req), clientIdOf(req));
    const { snapshot } = source;
    const config = snapshot.configs.get(`${ns}/${env}`);
    if (!config) throw missingPair(snapshot, ns, env);
    if (queryParam(req, 'explain') === '1' && this.deps.history) {
      sendJson(res, 200, await this.deps.history.explain(ns, env, { at: snapshot.commit }), {
        ...commonHeaders(source),
        'Cache-Control': 'no-cache',
      });
      return;
    }
    const versionParam = queryParam(req, 'version');
    let document: RenderedDocument = config;
    let version = currentVersion(snapshot, ns);
    if (versionParam !== undefined) {
      if (!/^\d+$/.test(versionParam))
        throw new UsageError(`version must be a positive integer: ${versionParam}`);
      const migrated = documentAtVersion(snapshot, ns, config, Number(versionParam));
      if (!migrated.document) {
        throw new UsageError(migrated.issues.map((i) => i.message).join('; '), { issues: migrated.issues });
      }
      document = migrated.document;
      version = Number(versionParam);
    }
    const headers = { ...commonHeaders(source), 'Gitcfg-Schema-Version': String(version) };
    const format = formatOf(req);
    const matcher =
      versionParam === undefined && guard.canReadSecrets(ns, env) ? secretsOf(snapshot, ns) : null;
    if (matcher) {
      this.sendResolved(req, res, matcher, document.value as JsonObject, ns, env, format, headers);
      return;
    }
    writeRendered(req, res, selected(req, document, format), format, headers);
  }

  /**
   * The compiled flag sets of `env` (one per flag namespace, in manifest order) from the snapshot that answers
   * for it, and the headers of the answer. Needs read on every flag namespace in `env`.
   */
  async flagSets(
    guard: AccessGuard,
    env: string,
    minCommit?: string,
    clientId?: string,
  ): Promise<{ sets: FlagSet[]; headers: Record<string, string> }> {
    const source = await this.source(env, undefined, minCommit, clientId);
    const { snapshot } = source;
    if (!snapshot.environments.includes(env)) throw new NotFoundError('environment', env);
    if (snapshot.flagNamespaces.length === 0) {
      throw new NotFoundError('flag namespace', 'no namespace is marked as flags in gitcfg.yaml');
    }
    const sets: FlagSet[] = [];
    for (const ns of snapshot.flagNamespaces) {
      guard.read(ns, env);
      const config = snapshot.configs.get(`${ns}/${env}`);
      // Compiled once per promoted document and shared: a new snapshot brings new documents, swapped atomically.
      if (config) sets.push(flagSetOf(config.value));
    }
    const { Vary: _vary, ...headers } = commonHeaders(source);
    return { sets, headers };
  }

  /** `GET /v1/bundle/:env`: needs read on every namespace of the answering snapshot. */
  async bundle(req: IncomingMessage, res: ServerResponse, guard: AccessGuard, env: string) {
    if (queryParam(req, 'version') !== undefined) {
      throw new UsageError('version is per namespace: use /v1/config/:namespace/:env?version=N');
    }
    const source = await this.source(env, queryParam(req, 'ref'), minCommitOf(req), clientIdOf(req));
    const bundle = source.snapshot.bundles.get(env);
    if (!bundle) throw new NotFoundError('environment', env);
    for (const ns of source.snapshot.namespaces) guard.read(ns, env);
    const format = formatOf(req);
    writeRendered(req, res, selected(req, bundle, format), format, commonHeaders(source));
  }

  /**
   * The pre-routed fast path: a plain GET/HEAD of a current config or bundle, without a query string, answered
   * here when nothing but the served snapshot is involved (no pin, no secret resolution) and the caller is
   * allowed; false for anything else, which the routes then answer (and refuse) in full.
   */
  tryPlainRead(req: IncomingMessage, res: ServerResponse): { route: string } | null {
    const url = req.url;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !url) return null;
    // Read-your-writes may have to wait for a sync: the routes answer those.
    if (req.headers['gitcfg-min-commit'] !== undefined) return null;
    const config = PLAIN_CONFIG.exec(url);
    const bundle = config ? null : PLAIN_BUNDLE.exec(url);
    if (!config && !bundle) return null;
    const env = config ? config[2]! : bundle![1]!;
    const { store, sync, access, pins, rollouts } = this.deps;
    const current = store.current;
    if (!current || pins?.get(env)) return null;
    let guard: AccessGuard;
    let clientId: string | undefined;
    try {
      guard = guardFor(access, authenticate(access, req));
      clientId = clientIdOf(req);
    } catch {
      return null;
    }
    // During a rollout: the snapshot this client gets, when it is in memory (else the route loads it).
    const rollout = rollouts?.decide(env, clientId) ?? undefined;
    const snapshot = rollout?.role === 'stable' ? rollouts!.stableSnapshot(env) : current;
    if (!snapshot) return null;
    const source: Source = { snapshot, stale: sync.isStale, ...(rollout ? { rollout } : {}) };
    const format = formatFromAccept(req);
    let document: RenderedDocument | undefined;
    let headers = commonHeaders(source);
    if (config) {
      const ns = config[1]!;
      document = snapshot.configs.get(`${ns}/${env}`);
      if (!document || !guard.canRead(ns, env)) return null;
      if (guard.canReadSecrets(ns, env) && secretsOf(snapshot, ns)) return null;
      headers['Gitcfg-Schema-Version'] = String(currentVersion(snapshot, ns));
    } else {
      document = snapshot.bundles.get(env);
      if (!document || !snapshot.namespaces.every((ns) => guard.canRead(ns, env))) return null;
    }
    const limited = this.deps.limits?.admitPlainRead(req, guard.principal);
    if (limited === null) return null;
    headers = { ...limited, ...headers };
    if (clientId !== undefined) rollouts?.seen(env, clientId, snapshot.commit);
    writeRendered(req, res, document[format], format, headers);
    return { route: config ? '/v1/config/:namespace/:env' : '/v1/bundle/:env' };
  }

  /** Renders a config with its secret references resolved for this caller (never cached, never stored). */
  private sendResolved(
    req: IncomingMessage,
    res: ServerResponse,
    matcher: SecretMatcher,
    value: JsonObject,
    ns: string,
    env: string,
    format: Format,
    headers: Record<string, string>,
  ): void {
    const missing = new Set<string>();
    const resolved = matcher.resolve(value, (name) => this.deps.resolveSecret(ns, env, name), missing);
    const p = queryParam(req, 'path');
    const part = p === undefined || p === '' ? resolved : subtree(resolved, p);
    if (part === undefined) throw new NotFoundError('path', p!);
    const body = format === 'yaml' ? renderYaml(part).body : renderJson(part).body;
    const rendered: RenderedBody = { body, etag: etagOf(body) };
    writeRendered(req, res, rendered, format, {
      ...headers,
      'Gitcfg-Secrets': missing.size > 0 ? `unresolved=${[...missing].sort().join(',')}` : 'resolved',
      'Cache-Control': 'no-store',
      Vary: 'Accept, Authorization',
    });
  }
}

/** The rendering of `document` in `format`, or of its `?path=` part. */
function selected(req: IncomingMessage, document: RenderedDocument, format: Format): RenderedBody {
  const path = queryParam(req, 'path');
  if (path === undefined || path === '') return document[format];
  const value = subtree(document.value as JsonObject, path);
  if (value === undefined) throw new NotFoundError('path', path);
  return format === 'json' ? renderJson(value) : renderYaml(value);
}
