/**
 * The client's HTTP: one GET at a time with a deadline, abort on close, credentials and client id as headers,
 * `Gitcfg-Min-Commit`, and the retry backoff (never earlier than a server's `Retry-After`).
 */
import { hostname } from 'node:os';
import { redactUrl } from '../errors/index.js';
import { backoffDelay } from './backoff.js';
import type { BackoffOptions } from './backoff.js';
import { GitcfgClientError } from './errors.js';
import type { ClientOptions } from './types.js';

/** An answer, its body read. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** Options of one request. */
export interface RequestOptions {
  /** Sent as `If-None-Match`. */
  etag?: string;
  /** Deadline of the request, body included (default: the client's `timeoutMs`). */
  timeoutMs?: number;
  /** Aborts this request only (a watch that lost its last subscriber). */
  signal?: AbortSignal;
}

/** What the copies, the overrides and the watcher need of the network. */
export interface Transport {
  /** True once `close()` ran: requests fail with `AbortedError`, sleeps end at once. */
  readonly closed: boolean;
  /** The URL of `path` as shown in messages (no credentials). */
  url(path: string): string;
  /** One GET; throws `AbortedError` when aborted (close or `signal`), an Error on timeout or network failure. */
  request(path: string, options?: RequestOptions): Promise<HttpAnswer>;
  /** The backoff before retry `attempt` (0-based); cut short by `close()`. */
  retrySleep(attempt: number): Promise<void>;
  /** Aborts every request and sleep. */
  close(): void;
}

/** Raised when a request is aborted by `close()` or by its `signal`. */
export class AbortedError extends Error {}

/** An error's message with the code of its cause (`ECONNREFUSED`), for messages that say what was tried. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  const detail = cause?.code ?? cause?.message;
  return detail && !error.message.includes(detail) ? `${error.message} (${detail})` : error.message;
}

/** `: <message>` of a gitcfg error body, else nothing. */
export function serverMessage(answer: HttpAnswer): string {
  try {
    const body = JSON.parse(answer.body) as { error?: { code?: unknown; message?: unknown } };
    const message = body.error?.message;
    return typeof message === 'string' ? `: ${message}` : '';
  } catch {
    return '';
  }
}

/** The error of every call after `close()`. */
export function closedError(): GitcfgClientError {
  return new GitcfgClientError('E_CLOSED', 'the gitcfg client is closed');
}

const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

/** `GITCFG_CLIENT_ID`, else `POD_NAME` (Kubernetes downward API), else `<hostname>-<pid>`. */
export function defaultClientId(env: Readonly<Record<string, string | undefined>>): string {
  const given = env.GITCFG_CLIENT_ID || env.POD_NAME;
  if (given) return given;
  return `${hostname()}-${process.pid}`.replace(/[^\x21-\x7e]/g, '_').slice(0, 128);
}

/** `Transport` over `fetch`. */
export class HttpTransport implements Transport {
  /** Timeout of one request in ms; long-polls get it on top of their wait. */
  readonly timeoutMs: number;
  readonly #base: string;
  readonly #authorization?: string;
  readonly #clientId?: string;
  readonly #fetch: typeof globalThis.fetch;
  readonly #backoff: BackoffOptions;
  readonly #minCommit: () => string | undefined;
  readonly #inflight = new Set<AbortController>();
  readonly #sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  /** When a 429/503 said `Retry-After`: no retry before this time (ms since the epoch). */
  #retryNotBefore = 0;
  #closed = false;

  /** `minCommit`: the newest commit seen, sent as `Gitcfg-Min-Commit` so no replica answers with an older one. */
  constructor(options: ClientOptions, minCommit: () => string | undefined) {
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
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function')
      throw new GitcfgClientError('E_USAGE', 'createClient: no fetch available');
    this.#fetch = fetchImpl;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.#backoff = options.backoff ?? {};
    this.#minCommit = minCommit;
  }

  get closed(): boolean {
    return this.#closed;
  }

  url(path: string): string {
    return `${this.#base}${path}`;
  }

  /** One GET with timeout and abort-on-close; the body is read inside the same deadline. */
  async request(path: string, options: RequestOptions = {}): Promise<HttpAnswer> {
    const { etag, timeoutMs = this.timeoutMs, signal } = options;
    if (this.#closed || signal?.aborted) throw new AbortedError('closed');
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal?.addEventListener('abort', abort, { once: true });
    this.#inflight.add(controller);
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
      const minCommit = this.#minCommit();
      if (minCommit) headers['gitcfg-min-commit'] = minCommit;
      const response = await this.#fetch(this.url(path), { headers, signal: controller.signal });
      const body = await response.text();
      this.#noteRetryAfter(response.status, response.headers.get('retry-after'));
      return { status: response.status, headers: response.headers, body };
    } catch (error) {
      if (timedOut) throw new Error(`timed out after ${timeoutMs} ms`);
      if (controller.signal.aborted) throw new AbortedError('aborted');
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      this.#inflight.delete(controller);
    }
  }

  #noteRetryAfter(status: number, header: string | null): void {
    if ((status !== 429 && status !== 503) || header === null) return;
    const seconds = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
    // Bounded: a server (or a proxy) cannot park the client for longer than its own backoff ceiling.
    if (Number.isFinite(seconds) && seconds > 0) {
      const ms = Math.min(seconds * 1000, this.#backoff.maxMs ?? 30_000);
      this.#retryNotBefore = Math.max(this.#retryNotBefore, Date.now() + ms);
    }
  }

  retrySleep(attempt: number): Promise<void> {
    const wait = Math.max(backoffDelay(attempt, this.#backoff), this.#retryNotBefore - Date.now());
    return this.#sleep(wait);
  }

  /** A delay that `close()` cuts short. */
  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
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

  close(): void {
    this.#closed = true;
    for (const controller of this.#inflight) controller.abort();
    this.#inflight.clear();
    for (const sleeper of this.#sleeps) {
      clearTimeout(sleeper.timer);
      sleeper.resolve();
    }
    this.#sleeps.clear();
  }
}
