/**
 * Watches of one client: a single long-poll loop for all watched copies, revalidation of the copies a
 * notification lists, delivery of what changed in commit order (never back to an older commit), and backoff
 * through outages.
 */
import type { JsonObject, JsonValue } from '../values/index.js';
import { isJsonObject } from '../values/index.js';
import type { CommitOrder } from './commit-order.js';
import { GitcfgClientError } from './errors.js';
import { copyKey } from './namespace-copies.js';
import type { CopyState, Entry, NamespaceCopies, Rendered } from './namespace-copies.js';
import { AbortedError, describe, serverMessage } from './transport.js';
import type { Transport } from './transport.js';
import type { ClientLogger, ConfigChange } from './types.js';

/** A watch callback. */
export type WatchCallback = (doc: JsonObject, change: ConfigChange) => void | Promise<void>;

interface Subscription {
  namespace: string;
  /** Key of the copy it watches (see `copyKey`). */
  key: string;
  callback: WatchCallback;
  onError?: (error: Error) => void;
}

export interface WatcherOptions {
  transport: Transport;
  copies: Pick<NamespaceCopies, 'load' | 'byKey' | 'markUnreachable'>;
  /** The document watchers see (overrides applied). */
  render: (state: CopyState, entry: Entry) => Promise<Rendered>;
  commits: CommitOrder;
  environment: string;
  /** How long one long-poll waits on the server, in seconds. */
  watchTimeoutSeconds: number;
  /** Deadline of a long-poll on top of its wait, in ms. */
  timeoutMs: number;
  logger?: ClientLogger;
}

export class Watcher {
  readonly #transport: Transport;
  readonly #copies: WatcherOptions['copies'];
  readonly #render: WatcherOptions['render'];
  readonly #commits: CommitOrder;
  readonly #environment: string;
  readonly #watchTimeoutSeconds: number;
  readonly #timeoutMs: number;
  readonly #logger?: ClientLogger;
  readonly #subscriptions = new Set<Subscription>();
  #loop?: Promise<void>;
  /** Aborts the running long-poll (the last subscriber left, or close). */
  #poll?: AbortController;
  /** The commit the next long-poll waits to be superseded. */
  #since?: string;

  constructor(options: WatcherOptions) {
    this.#transport = options.transport;
    this.#copies = options.copies;
    this.#render = options.render;
    this.#commits = options.commits;
    this.#environment = options.environment;
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds;
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger;
  }

  /** Calls `callback` with each newer document of the copy `state`; returns the function that unsubscribes. */
  watch(state: CopyState, callback: WatchCallback, onError?: (error: Error) => void): () => void {
    const subscription: Subscription = {
      namespace: state.namespace,
      key: copyKey(state.namespace, state.version),
      callback,
    };
    if (onError) subscription.onError = onError;
    this.#subscriptions.add(subscription);
    if (!state.delivered && !state.baseline) {
      // The watch reports changes from here on: what is known now is the baseline, not a change.
      if (state.entry) this.#setBaseline(state, state.entry);
      else {
        state.baseline = this.#copies
          .load(state, false)
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
      if (this.#subscriptions.size === 0) this.#poll?.abort();
    };
  }

  /** Ends every watch; the loop stops once its long-poll is aborted. */
  close(): void {
    this.#subscriptions.clear();
    this.#poll?.abort();
  }

  #setBaseline(state: CopyState, entry: Entry): void {
    state.newest = this.#commits.observe(entry.commit);
    state.delivered = { commit: entry.commit, etag: entry.etag };
  }

  #ensureLoop(): void {
    if (this.#loop || this.#transport.closed) return;
    this.#loop = this.#watchLoop()
      .catch((error: unknown) => this.#logger?.warn(`gitcfg client: watch stopped: ${describe(error)}`))
      .finally(() => {
        this.#loop = undefined;
        if (this.#subscriptions.size > 0 && !this.#transport.closed) this.#ensureLoop();
      });
  }

  /** Keys of the watched copies. */
  #watchedKeys(): string[] {
    return [...new Set([...this.#subscriptions].map((s) => s.key))];
  }

  async #watchLoop(): Promise<void> {
    let failures = 0;
    while (this.#subscriptions.size > 0 && !this.#transport.closed) {
      await Promise.all(this.#watchedKeys().map((key) => this.#copies.byKey(key)?.baseline));
      if (this.#since === undefined) {
        // Start from the newest commit any watched copy came from.
        let best = -1;
        for (const key of this.#watchedKeys()) {
          const commit = this.#copies.byKey(key)?.entry?.commit;
          const order = this.#commits.observe(commit);
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
          if (this.#transport.closed) return;
          this.#copies.markUnreachable(this.#watchedKeys(), describe(error));
          await this.#transport.retrySleep(failures++);
          continue;
        }
      }
      const query = new URLSearchParams({ timeout: String(this.#watchTimeoutSeconds) });
      if (this.#since !== undefined) query.set('since', this.#since);
      const path = `/v1/watch/${encodeURIComponent(this.#environment)}?${query}`;
      try {
        const poll = new AbortController();
        this.#poll = poll;
        const answer = await this.#transport.request(path, {
          timeoutMs: this.#watchTimeoutSeconds * 1000 + this.#timeoutMs,
          signal: poll.signal,
        });
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
          const url = this.#transport.url(path);
          throw new GitcfgClientError(code, `GET ${url} -> HTTP ${answer.status}${serverMessage(answer)}`, {
            environment: this.#environment,
            url,
            status: answer.status,
          });
        }
        const body = JSON.parse(answer.body) as { commit?: unknown; changed?: unknown };
        const commit = typeof body.commit === 'string' ? body.commit : undefined;
        this.#commits.observe(commit);
        await this.#refreshWatched(commit, this.#changedNamespaces(body.changed));
        this.#since = commit;
        failures = 0;
      } catch (error) {
        if (this.#transport.closed) return;
        if (error instanceof AbortedError) continue; // an unsubscribe cut the poll short
        this.#copies.markUnreachable(this.#watchedKeys(), describe(error));
        this.#reportWatchError(this.#watchError(path, error), failures === 0);
        await this.#transport.retrySleep(failures++);
      }
    }
  }

  /** The namespaces of this environment a notification lists as changed; undefined when it does not say. */
  #changedNamespaces(changed: unknown): Set<string> | undefined {
    if (!Array.isArray(changed)) return undefined;
    const names = new Set<string>();
    for (const pair of changed as JsonValue[]) {
      if (!isJsonObject(pair) || typeof pair.namespace !== 'string') return undefined;
      if (pair.environment === undefined || pair.environment === this.#environment) names.add(pair.namespace);
    }
    return names;
  }

  /** After a change notification: revalidate the watched copies (those it lists) and deliver what is newer. */
  async #refreshWatched(notified: string | undefined, only?: Set<string>): Promise<void> {
    const notifiedOrder = this.#commits.observe(notified);
    for (const key of this.#watchedKeys()) {
      const state = this.#copies.byKey(key);
      if (!state || this.#transport.closed || (only && !only.has(state.namespace))) continue;
      let entry: Entry | undefined;
      // A replica behind the one that notified us may still answer with the older commit: ask again briefly.
      for (let attempt = 0; attempt < 4; attempt++) {
        entry = await this.#copies.load(state, true);
        if (entry.lastError !== undefined) throw new Error(entry.lastError);
        if (notified === undefined || this.#commits.observe(entry.commit) >= notifiedOrder) break;
        await this.#transport.retrySleep(attempt);
        if (this.#transport.closed) return;
      }
      if (entry) await this.#deliver(state, entry);
    }
  }

  async #deliver(state: CopyState, entry: Entry): Promise<void> {
    const order = this.#commits.observe(entry.commit);
    // Never go back to a commit already superseded (lagging replica, server restored from an older snapshot).
    if (state.newest !== undefined && order < state.newest) return;
    state.newest = Math.max(order, state.newest ?? -1);
    const previous = state.delivered;
    // A newer commit that left this document as it was is not a change for its watchers.
    const same = entry.etag !== undefined ? previous?.etag === entry.etag : previous?.commit === entry.commit;
    if (previous && same) return;
    const namespace = state.namespace;
    const key = copyKey(namespace, state.version);
    const subscribers = [...this.#subscriptions].filter((s) => s.key === key);
    if (subscribers.length === 0) return;
    let rendered: Rendered;
    try {
      rendered = await this.#render(state, entry);
    } catch (error) {
      for (const s of subscribers) this.#tell(s, error);
      return;
    }
    state.delivered = { commit: entry.commit, etag: entry.etag };
    const change: ConfigChange = { namespace, environment: this.#environment };
    if (entry.commit !== undefined) change.commit = entry.commit;
    if (previous?.commit !== undefined) change.previousCommit = previous.commit;
    if (entry.etag !== undefined) change.etag = entry.etag;
    for (const s of subscribers) {
      if (!this.#subscriptions.has(s) || this.#transport.closed) continue;
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
    const url = this.#transport.url(path);
    return new GitcfgClientError(
      'E_UNAVAILABLE',
      `watch of ${this.#environment}: GET ${url} failed: ${describe(error)}`,
      { environment: this.#environment, url },
      error,
    );
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
}
