/** The gitcfg HTTP API as the console uses it: same origin, the token from sessionStorage, typed errors. */

const TOKEN_KEY = 'gitcfg.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export interface Issue {
  code?: string;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  namespace?: string;
  environment?: string;
  path?: string;
}

/** `file:line: message [ns/env at /path]`, as the CLI prints issues. */
export function formatIssue(issue: Issue): string {
  const where = issue.file
    ? `${issue.file}${issue.line ? `:${issue.line}` : ''}${issue.column ? `:${issue.column}` : ''}: `
    : '';
  const pair = issue.namespace
    ? ` [${issue.namespace}${issue.environment ? `/${issue.environment}` : ''}${issue.path ? ` at ${issue.path}` : ''}]`
    : '';
  return `${where}${issue.message}${pair}`;
}

/** An answer of the API that is not a success, in plain words. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
    readonly body: Record<string, unknown> = {},
    readonly headers: Headers | null = null,
  ) {
    super(message);
  }
}

/** Thrown when the server cannot be reached at all (the banner shows it). */
export class NetworkError extends Error {}

type Listener = (ok: boolean) => void;
const connectionListeners = new Set<Listener>();
export function onConnection(listener: Listener): () => void {
  connectionListeners.add(listener);
  return () => connectionListeners.delete(listener);
}
function connection(ok: boolean) {
  for (const l of connectionListeners) l(ok);
}

export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** One request; throws ApiError for a non-2xx answer (and 304 is a success without body). */
export async function request<T = unknown>(
  method: string,
  path: string,
  opts: { body?: unknown; headers?: Record<string, string>; text?: boolean; signal?: AbortSignal } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  const token = storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['Content-Type'] ??= 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, cache: 'no-store', signal: opts.signal ?? null });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    connection(false);
    throw new NetworkError('the gitcfg server cannot be reached');
  }
  connection(true);
  if (!res.ok) {
    let parsed: { error?: { code?: string; message?: string; issues?: Issue[] } } & Record<string, unknown> =
      {};
    try {
      parsed = (await res.json()) as typeof parsed;
    } catch {
      // Not JSON: the status says enough.
    }
    const e = parsed.error ?? {};
    throw new ApiError(
      res.status,
      e.code ?? `HTTP_${res.status}`,
      e.message ?? `${res.status} ${res.statusText}`,
      e.issues ?? [],
      (parsed.error as Record<string, unknown>) ?? {},
      res.headers,
    );
  }
  const data = (opts.text ? await res.text() : res.status === 204 ? null : await res.json()) as T;
  return { status: res.status, body: data, headers: res.headers };
}

export const get = async <T>(path: string): Promise<T> => (await request<T>('GET', path)).body;

const seg = encodeURIComponent;
export const paths = {
  config: (ns: string, env: string) => `/v1/config/${seg(ns)}/${seg(env)}`,
  file: (ns: string, env: string) => `/v1/files/${seg(ns)}/${seg(env)}`,
  schema: (ns: string) => `/v1/schemas/${seg(ns)}`,
  history: (ns: string, env: string) => `/v1/history/${seg(ns)}/${seg(env)}`,
};

/**
 * Reads `/v1/events` with the token in a header (EventSource cannot send one, and a token never goes in a URL).
 * Calls `onEvent` for each promotion; reconnects with backoff until `signal` aborts.
 */
export async function followEvents(
  onEvent: (event: {
    commit: string;
    previousCommit: string | null;
    changed: { namespace: string; environment: string }[];
  }) => void,
  signal: AbortSignal,
): Promise<void> {
  let delay = 500;
  let last: string | null = null;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      const token = storedToken();
      if (token) headers.Authorization = `Bearer ${token}`;
      if (last) headers['Last-Event-ID'] = last;
      const res = await fetch('/v1/events', { headers, signal, cache: 'no-store' });
      if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
      connection(true);
      delay = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let data = '';
          let type = 'message';
          for (const line of block.split('\n')) {
            if (line.startsWith('data: ')) data += line.slice(6);
            else if (line.startsWith('event: ')) type = line.slice(7);
            else if (line.startsWith('id: ')) last = line.slice(4);
          }
          if (type === 'promotion' && data) onEvent(JSON.parse(data) as Parameters<typeof onEvent>[0]);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof TypeError) connection(false);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}

// Shapes of the answers the console reads.
export interface RepoDescription {
  commit: string;
  description?: string;
  environments: { name: string; extends?: string; description?: string }[];
  namespaces: {
    name: string;
    title?: string;
    description?: string;
    schemaVersion: number;
    flags: boolean;
    environments: { name: string; files: string[]; overrides?: number }[];
  }[];
}

export interface Whoami {
  tokens: boolean;
  name: string | null;
  email?: string | null;
  scopes: string[];
  writes?: string;
}

export interface Status {
  repository: string;
  branch: string;
  served: { commit: string; builtAt: string; promotedAt: string | null; from: string } | null;
  stale: boolean;
  branchHead: string | null;
  lastFetch: {
    at: string;
    ok: boolean;
    durationMs: number;
    error?: { code: string; message: string };
  } | null;
  lastSync: { at: string; reason: string; outcome: string; durationMs: number } | null;
  rejected: { commit: string; at: string; issues: Issue[]; messages: string[] } | null;
  pins?: { env: string; commit: string; at?: string; by?: string }[];
  webhooks?: { recent: WebhookDelivery[] };
}

/** One webhook delivery as the server recorded it (newest first in `Status.webhooks.recent`). */
export interface WebhookDelivery {
  provider: string;
  outcome: string;
  status: number;
  at: string;
  deliveryId?: string;
  event?: string;
  refs?: string[];
}

export interface Change {
  op: 'add' | 'remove' | 'replace';
  path: string;
  from?: unknown;
  to?: unknown;
}

export interface PairDiff {
  namespace: string;
  environment: string;
  status: string;
  changes: Change[];
}

export interface EditResult {
  commit: string;
  parent: string;
  committed: boolean;
  dryRun: boolean;
  files: string[];
  etag?: string | null;
  diff: PairDiff[];
  served?: string | null;
}

export interface CommitSummary {
  commit: string;
  author: { name: string; email: string };
  time: string;
  message: string;
}

export interface Explanation {
  commit: string;
  files: string[];
  values: {
    path: string;
    value: unknown;
    file: string | null;
    line: number | null;
    commit: CommitSummary | null;
    exact: boolean;
  }[];
}

export interface PairHistory {
  at: string;
  commits: (CommitSummary & { status: string; changes: Change[] })[];
  next: string | null;
}
