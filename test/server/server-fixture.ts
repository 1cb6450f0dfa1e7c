/** Shared pieces of the server tests: a small config repository, log capture, polling, signed deliveries. */
import { createRequire } from 'node:module';
import { signPayload } from '../../src/webhooks/index.js';
import type { WebhookProvider } from '../../src/webhooks/index.js';
import { waitFor as waitForKit, waitForServed as waitForServedKit } from '../helpers/wait-for.js';

/** A valid configuration repository: two namespaces, production and staging (extends production). */
export const CONFIG_FILES: Record<string, string> = {
  'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n  staging:\n    extends: production\n',
  'schemas/app.schema.json': JSON.stringify({
    type: 'object',
    required: ['greeting'],
    additionalProperties: false,
    properties: {
      greeting: { type: 'string' },
      retry: { type: 'object', properties: { max: { type: 'integer' } } },
    },
  }),
  'defaults/app.yaml': 'greeting: hello\nretry:\n  max: 3\n',
  'environments/staging/app.yaml': 'greeting: hi staging\n',
  'schemas/db.schema.json': JSON.stringify({ type: 'object', properties: { host: { type: 'string' } } }),
  'defaults/db.yaml': 'host: db.internal\n',
};

export { LogSink } from '../helpers/log-sink.js';

/**
 * `waitFor` of the test kit with the older argument order (`what` first); `tries` bounds the attempts.
 * New tests call `waitFor(predicate, { what })` from `test/helpers/wait-for.ts`.
 */
export function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  tries?: number,
): Promise<T> {
  return waitForKit(check, { what, ...(tries !== undefined ? { tries } : {}) });
}

/** JSON of a GET. */
export async function getJson<T = Record<string, unknown>>(url: string): Promise<T> {
  const res = await fetch(url);
  return (await res.json()) as T;
}

/** Status document (the parts tests read). */
export interface StatusDoc {
  served: { commit: string; from: string } | null;
  stale: boolean;
  branchHead: string | null;
  lastFetch: { ok: boolean; error?: { code: string; message: string } } | null;
  rejected: {
    commit: string;
    issues: { file?: string; line?: number; message: string }[];
    messages: string[];
  } | null;
  syncs: { total: number; running: boolean; pending: boolean };
  counts: { namespaces: number; environments: number; configs: number };
  persistence: { ok: boolean; at: string; commit: string; error?: { code: string; message: string } } | null;
}

/** GET /v1/status. */
export function status(base: string): Promise<StatusDoc> {
  return getJson<StatusDoc>(`${base}/v1/status`);
}

/** Waits until the served commit is `commit` (any when omitted) and no sync runs or waits. */
export const waitForServed = (
  base: string,
  commit?: string,
  headers?: Record<string, string>,
): Promise<StatusDoc> => waitForServedKit<StatusDoc>(base, commit, headers);

/** Waits until no sync is running or pending and returns the status. */
export function waitForIdle(base: string): Promise<StatusDoc> {
  return waitFor('sync idle', async () => {
    const s = await status(base);
    return !s.syncs.running && !s.syncs.pending ? s : null;
  });
}

/** The first `push` example payload of `@octokit/webhooks-examples` (a real GitHub delivery). */
export const GITHUB_PUSH_EXAMPLE = (
  createRequire(import.meta.url)('@octokit/webhooks-examples') as {
    name: string;
    examples: Record<string, unknown>[];
  }[]
).find((e) => e.name === 'push')?.examples[0] as Record<string, unknown>;

let deliveries = 0;

/** Posts a signed GitHub push delivery (from a real example payload) for `ref`/`after`. */
export async function postGithubPush(
  base: string,
  secret: string,
  payload: Record<string, unknown>,
  opts: { ref?: string; after?: string; delivery?: string; event?: string; sign?: boolean } = {},
): Promise<Response> {
  const body = Buffer.from(
    JSON.stringify({ ...payload, ref: opts.ref ?? 'refs/heads/main', after: opts.after ?? payload.after }),
  );
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': opts.event ?? 'push',
    'x-github-delivery': opts.delivery ?? `delivery-${process.pid}-${++deliveries}`,
  };
  if (opts.sign !== false) headers['x-hub-signature-256'] = signPayload('github', secret, body);
  return fetch(`${base}/v1/webhooks/github`, { method: 'POST', headers, body });
}

/** Posts a signed delivery of any provider with raw bytes and extra headers. */
export function postSigned(
  base: string,
  provider: WebhookProvider,
  secret: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<Response> {
  const name = {
    github: 'x-hub-signature-256',
    gitlab: 'x-gitlab-token',
    gitea: 'x-gitea-signature',
    bitbucket: 'x-hub-signature',
    generic: 'x-gitcfg-signature',
  }[provider];
  return fetch(`${base}/v1/webhooks/${provider}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [name]: signPayload(provider, secret, body), ...headers },
    body,
  });
}

/** Reads server-sent events from `url` until `until` returns true for an event; then closes the stream. */
export async function readEvents(
  url: string,
  until: (event: { event: string; data: string }) => boolean,
  onOpen: () => Promise<void>,
): Promise<{ event: string; data: string }[]> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  if (!res.body) throw new Error('no body');
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: string }[] = [];
  let buffer = '';
  let opened = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let index: number;
      while ((index = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, index);
        buffer = buffer.slice(index + 2);
        const event = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event.event = line.slice(7);
          else if (line.startsWith('data: ')) event.data += line.slice(6);
        }
        if (!opened) {
          // The first block is the connection comment: the stream is subscribed from here on.
          opened = true;
          await onOpen();
          continue;
        }
        if (event.data === '') continue;
        events.push(event);
        if (until(event)) return events;
      }
    }
    return events;
  } finally {
    controller.abort();
  }
}
