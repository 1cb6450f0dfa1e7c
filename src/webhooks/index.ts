/**
 * Webhook deliveries from git hosts (pure apart from hashing): signature verification on the raw body in
 * constant time, payload parsing into a `WebhookEvent`, duplicate detection, and the decision of what to answer.
 * The payload is only a hint that something changed; the sync fetches the truth from the remote.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { UsageError } from '../errors/index.js';

/** Git hosts with a webhook endpoint (`POST /v1/webhooks/<provider>`). */
export const WEBHOOK_PROVIDERS = ['github', 'gitlab', 'gitea', 'bitbucket', 'generic'] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

/** Request headers as node gives them (lower-case names). */
export type WebhookHeaders = Record<string, string | string[] | undefined>;

/** What a delivery says happened. */
export interface WebhookEvent {
  provider: WebhookProvider;
  /** `push` (branch or tag update), `ping` (test or setup delivery) or `other` (any other event). */
  kind: 'push' | 'ping' | 'other';
  /** The provider's event name, e.g. `push`, `Push Hook`, `repo:push`. */
  eventName: string;
  deliveryId?: string;
  /** Full ref names pushed, e.g. `refs/heads/main` (empty when the payload names none). */
  refs: string[];
  /** New head commit, when the payload gives one. */
  after?: string;
  /** Set on a push whose payload names no usable branch (not an object, a `ref` that is not a string...). */
  malformed?: string;
}

/** Outcome of one delivery; `status` is the HTTP status to answer. */
export interface WebhookDecision {
  status: number;
  outcome:
    'accepted' | 'ping' | 'ignored' | 'duplicate' | 'disabled' | 'unauthorized' | 'too-large' | 'malformed';
  /** JSON body to answer with. */
  body: Record<string, unknown>;
  event?: WebhookEvent;
}

/** Default limit of a delivery body (1 MiB). */
export const DEFAULT_WEBHOOK_BODY_LIMIT = 1024 * 1024;

function header(headers: WebhookHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Constant-time comparison that does not leak the length of `expected` through an early return. */
export function safeEqual(actual: string, expected: string): boolean {
  // Hashing both sides first makes the buffers equal-length, so timingSafeEqual never throws or short-cuts.
  const a = createHash('sha256').update(actual, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && actual.length === expected.length;
}

function hmacHex(secret: string, body: Uint8Array): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** The header that carries the signature (or token) for a provider. */
export function signatureHeader(provider: WebhookProvider): string {
  switch (provider) {
    case 'github':
      return 'x-hub-signature-256';
    case 'gitlab':
      return 'x-gitlab-token';
    case 'gitea':
      return 'x-gitea-signature';
    case 'bitbucket':
      return 'x-hub-signature';
    case 'generic':
      return 'x-gitcfg-signature';
  }
}

/** Computes the header value a provider would send for `body` (used by tests and by `gitcfg` tooling). */
export function signPayload(provider: WebhookProvider, secret: string, body: Uint8Array): string {
  switch (provider) {
    case 'gitlab':
      return secret;
    case 'gitea':
      return hmacHex(secret, body);
    default:
      return `sha256=${hmacHex(secret, body)}`;
  }
}

/** Verifies a delivery's signature against the raw body bytes, in constant time; false when unsigned. */
export function verifySignature(
  provider: WebhookProvider,
  headers: WebhookHeaders,
  rawBody: Uint8Array,
  secret: string,
): boolean {
  const given = header(headers, signatureHeader(provider));
  if (given === undefined || given === '') return false;
  const expected = signPayload(provider, secret, rawBody);
  // Hex digests are case-insensitive; the GitLab token is compared verbatim.
  return provider === 'gitlab' ? safeEqual(given, expected) : safeEqual(given.trim().toLowerCase(), expected);
}

/** The delivery id header of a provider, if the delivery carries one. */
export function deliveryId(provider: WebhookProvider, headers: WebhookHeaders): string | undefined {
  switch (provider) {
    case 'github':
      return header(headers, 'x-github-delivery');
    case 'gitlab':
      return header(headers, 'x-gitlab-event-uuid') ?? header(headers, 'idempotency-key');
    case 'gitea':
      return header(headers, 'x-gitea-delivery');
    case 'bitbucket':
      return header(headers, 'x-request-uuid');
    case 'generic':
      return header(headers, 'x-gitcfg-delivery');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Why a push payload names no usable branch, or undefined when it is usable. */
function pushProblem(provider: WebhookProvider, body: unknown): string | undefined {
  if (!isRecord(body)) return `payload is ${Array.isArray(body) ? 'an array' : typeof body}, not an object`;
  const badString = (name: string): string | undefined =>
    body[name] !== undefined && str(body[name]) === undefined
      ? `"${name}" is not a non-empty string`
      : undefined;
  switch (provider) {
    case 'generic':
      // `ref` and `branch` are optional (`{}` means "sync now") but must be strings when given.
      return badString('ref') ?? badString('branch');
    case 'bitbucket': {
      const changes = isRecord(body.push) ? body.push.changes : body.changes;
      if (!Array.isArray(changes)) return 'payload has no list of changes';
      for (const change of changes) {
        if (!isRecord(change)) return 'a change is not an object';
        // Cloud: `new` is null for a deleted branch; Server: `ref.id`.
        if (isRecord(change.new) && str(change.new.name) === undefined) return 'a change has no branch name';
        if (change.ref !== undefined && !(isRecord(change.ref) && str(change.ref.id) !== undefined))
          return 'a change has no ref id';
      }
      return undefined;
    }
    default:
      return str(body.ref) === undefined ? '"ref" is missing or not a non-empty string' : undefined;
  }
}

/** Parses a verified delivery into an event; unknown events give `kind: 'other'`, unusable pushes `malformed`. */
export function parseWebhookEvent(
  provider: WebhookProvider,
  headers: WebhookHeaders,
  body: unknown,
): WebhookEvent {
  const event = parseEvent(provider, headers, body);
  if (event.kind !== 'push') return event;
  const problem = pushProblem(provider, body);
  return problem === undefined ? event : { ...event, malformed: problem };
}

function parseEvent(provider: WebhookProvider, headers: WebhookHeaders, body: unknown): WebhookEvent {
  const id = deliveryId(provider, headers);
  const payload = isRecord(body) ? body : {};
  const base = { provider, ...(id !== undefined ? { deliveryId: id } : {}) };
  switch (provider) {
    case 'github': {
      const eventName = header(headers, 'x-github-event') ?? '';
      if (eventName === 'ping') return { ...base, kind: 'ping', eventName, refs: [] };
      if (eventName !== 'push') return { ...base, kind: 'other', eventName, refs: [] };
      return pushEvent(base, eventName, str(payload.ref), str(payload.after));
    }
    case 'gitea': {
      const eventName = header(headers, 'x-gitea-event') ?? header(headers, 'x-gogs-event') ?? '';
      if (eventName === 'ping') return { ...base, kind: 'ping', eventName, refs: [] };
      if (eventName !== 'push') return { ...base, kind: 'other', eventName, refs: [] };
      return pushEvent(base, eventName, str(payload.ref), str(payload.after));
    }
    case 'gitlab': {
      const eventName = header(headers, 'x-gitlab-event') ?? '';
      const objectKind = str(payload.object_kind) ?? str(payload.event_name);
      // System hooks and "test" deliveries are acknowledged; only project push hooks trigger a sync.
      if (eventName === 'Push Hook' || (eventName === 'System Hook' && objectKind === 'push')) {
        return pushEvent(base, eventName, str(payload.ref), str(payload.after) ?? str(payload.checkout_sha));
      }
      if (eventName === 'System Hook' || eventName === '')
        return { ...base, kind: 'ping', eventName, refs: [] };
      return { ...base, kind: 'other', eventName, refs: [] };
    }
    case 'bitbucket': {
      const eventName = header(headers, 'x-event-key') ?? '';
      if (eventName === 'diagnostics:ping') return { ...base, kind: 'ping', eventName, refs: [] };
      if (eventName === 'repo:push') {
        // Bitbucket Cloud: push.changes[].new = { type: 'branch' | 'tag', name, target: { hash } }.
        const push = isRecord(payload.push) ? payload.push : {};
        const changes = Array.isArray(push.changes) ? push.changes : [];
        const refs: string[] = [];
        let after: string | undefined;
        for (const change of changes) {
          const next = isRecord(change) && isRecord(change.new) ? change.new : undefined;
          const name = str(next?.name);
          if (!next || !name) continue;
          refs.push(next.type === 'tag' ? `refs/tags/${name}` : `refs/heads/${name}`);
          after ??= isRecord(next.target) ? str(next.target.hash) : undefined;
        }
        return { ...base, kind: 'push', eventName, refs, ...(after ? { after } : {}) };
      }
      if (eventName === 'repo:refs_changed') {
        // Bitbucket Server / Data Center: changes[] = { ref: { id: 'refs/heads/main' }, toHash }.
        const changes = Array.isArray(payload.changes) ? payload.changes : [];
        const refs: string[] = [];
        let after: string | undefined;
        for (const change of changes) {
          if (!isRecord(change) || !isRecord(change.ref)) continue;
          const id = str(change.ref.id);
          if (!id) continue;
          refs.push(id);
          after ??= str(change.toHash);
        }
        return { ...base, kind: 'push', eventName, refs, ...(after ? { after } : {}) };
      }
      return { ...base, kind: 'other', eventName, refs: [] };
    }
    case 'generic': {
      const eventName = header(headers, 'x-gitcfg-event') ?? 'push';
      if (eventName === 'ping') return { ...base, kind: 'ping', eventName, refs: [] };
      if (eventName !== 'push') return { ...base, kind: 'other', eventName, refs: [] };
      // `{}` means "something changed, sync now"; `ref` may be a full ref or a bare branch name.
      const ref = str(payload.ref) ?? str(payload.branch);
      const full = ref === undefined ? undefined : ref.startsWith('refs/') ? ref : `refs/heads/${ref}`;
      return pushEvent(base, eventName, full, str(payload.after));
    }
  }
}

function pushEvent(
  base: { provider: WebhookProvider; deliveryId?: string },
  eventName: string,
  ref: string | undefined,
  after: string | undefined,
): WebhookEvent {
  return { ...base, kind: 'push', eventName, refs: ref ? [ref] : [], ...(after ? { after } : {}) };
}

/** A bounded set of recently seen delivery ids (oldest forgotten first). */
export class DeliveryLog {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity = 1000) {}

  /** Records `id`; returns true when it had been seen before. */
  seen(id: string): boolean {
    if (this.ids.has(id)) {
      // Refresh its position so a redelivered id stays remembered.
      this.ids.delete(id);
      this.ids.add(id);
      return true;
    }
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return false;
  }

  /** Forgets `id` (a delivery that was recorded but could not be acted upon). */
  forget(id: string): void {
    this.ids.delete(id);
  }
}

/** One delivery as operators see it (`/v1/status`, the console's overview). */
export interface RecentDelivery {
  provider: WebhookProvider;
  /** What the server did with it (`accepted`, `duplicate`, `ignored`, `unauthorized`...). */
  outcome: string;
  status: number;
  at: string;
  /** Only from a delivery whose signature checked: an unsigned request's fields are nobody's word. */
  deliveryId?: string;
  event?: string;
  refs?: string[];
}

/** How many deliveries `/v1/status` lists, newest first. */
const RECENT_DELIVERIES = 20;
/** Longest delivery id or event name kept (they are the sender's strings). */
const MAX_FIELD_LENGTH = 100;

/** Webhook secrets per provider; a provider without one has its endpoint disabled. */
export type WebhookSecrets = Partial<Record<WebhookProvider, string>>;

/** A secret from `name` or, when unset, from the file `${name}_FILE` names (one trailing newline dropped). */
export function secretFromEnv(
  env: Record<string, string | undefined>,
  name: string,
  readFile: (path: string) => string,
): string | undefined {
  const direct = env[name];
  if (direct) return direct;
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  const value = readFile(file).replace(/\r?\n$/, '');
  return value === '' ? undefined : value;
}

/** Who may send the signals that abort rollouts, and how alerts name environments. */
export interface SignalSettings {
  /** Bearer token Alertmanager's `http_config` sends; absent: the receiver answers 403. */
  alertmanagerToken?: string | undefined;
  /** Alert labels that name the environment, first present wins (default `env`). */
  alertmanagerLabels?: readonly string[] | undefined;
  /** HMAC-SHA256 secret of `POST /v1/webhooks/signal`; absent: it answers 403. */
  signalSecret?: string | undefined;
}

/**
 * The signal settings from the environment: `GITCFG_ALERTMANAGER_TOKEN` (bearer token of the Alertmanager
 * receiver), `GITCFG_ALERTMANAGER_LABELS` (comma-separated alert labels naming the environment, default `env`)
 * and `GITCFG_SIGNAL_SECRET` (HMAC secret of the generic signal); each secret also as `..._FILE`.
 */
export function signalSettingsFromEnv(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
): SignalSettings {
  const labels = (env.GITCFG_ALERTMANAGER_LABELS ?? '')
    .split(',')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return {
    alertmanagerToken: secretFromEnv(env, 'GITCFG_ALERTMANAGER_TOKEN', readFile),
    alertmanagerLabels: labels.length > 0 ? labels : ['env'],
    signalSecret: secretFromEnv(env, 'GITCFG_SIGNAL_SECRET', readFile),
  };
}

/**
 * Reads webhook secrets from the environment: `GITCFG_WEBHOOK_SECRET_<PROVIDER>` or the shared
 * `GITCFG_WEBHOOK_SECRET`, each also as `..._FILE` (path of a file holding the secret; one trailing newline is
 * dropped). The per-provider value wins over the shared one; a direct value wins over its `_FILE` variant.
 */
export function webhookSecretsFromEnv(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
): WebhookSecrets {
  const read = (name: string) => secretFromEnv(env, name, readFile);
  const shared = read('GITCFG_WEBHOOK_SECRET');
  const secrets: WebhookSecrets = {};
  for (const provider of WEBHOOK_PROVIDERS) {
    const secret = read(`GITCFG_WEBHOOK_SECRET_${provider.toUpperCase()}`) ?? shared;
    if (secret !== undefined) secrets[provider] = secret;
  }
  return secrets;
}

/** Options of a `WebhookReceiver`. */
export interface WebhookReceiverOptions {
  secrets: WebhookSecrets;
  /** Branch served; pushes to other refs are ignored. */
  branch: string;
  /** Largest accepted body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** How many delivery ids to remember for duplicate detection (default 1000). */
  deliveryLogSize?: number;
}

/**
 * Decides what to do with one delivery: verify, parse, filter and de-duplicate. The caller starts a sync when
 * the decision is `accepted`, and answers `status` with `body`.
 */
export class WebhookReceiver {
  readonly bodyLimit: number;
  private readonly deliveries: DeliveryLog;
  private readonly recent: RecentDelivery[] = [];
  constructor(private readonly options: WebhookReceiverOptions) {
    this.bodyLimit = options.bodyLimit ?? DEFAULT_WEBHOOK_BODY_LIMIT;
    this.deliveries = new DeliveryLog(options.deliveryLogSize ?? 1000);
  }

  /** Records what became of a delivery (after the caller's own checks, e.g. a fleet-wide duplicate). */
  record(provider: WebhookProvider, decision: WebhookDecision, at: Date): void {
    const event = decision.event;
    const clip = (text: string) => text.slice(0, MAX_FIELD_LENGTH);
    this.recent.unshift({
      provider,
      outcome: decision.outcome,
      status: decision.status,
      at: at.toISOString(),
      ...(event?.deliveryId !== undefined ? { deliveryId: clip(event.deliveryId) } : {}),
      ...(event ? { event: clip(event.eventName) } : {}),
      ...(event && event.kind === 'push' ? { refs: event.refs.slice(0, 5).map(clip) } : {}),
    });
    if (this.recent.length > RECENT_DELIVERIES) this.recent.pop();
  }

  /** The last deliveries, newest first. */
  recentDeliveries(): RecentDelivery[] {
    return this.recent.map((d) => ({ ...d }));
  }

  /** Whether a provider's endpoint is enabled (has a secret). */
  enabled(provider: WebhookProvider): boolean {
    return this.options.secrets[provider] !== undefined;
  }

  /** Rejection for a body that exceeds the limit (the server stops reading it early). */
  tooLarge(): WebhookDecision {
    return {
      status: 413,
      outcome: 'too-large',
      body: error('E_WEBHOOK_TOO_LARGE', `webhook body exceeds ${this.bodyLimit} bytes`),
    };
  }

  /** Processes a complete delivery. `rawBody` must be the exact bytes received. */
  receive(provider: WebhookProvider, headers: WebhookHeaders, rawBody: Uint8Array): WebhookDecision {
    const secret = this.options.secrets[provider];
    if (secret === undefined) {
      const name = `GITCFG_WEBHOOK_SECRET_${provider.toUpperCase()}`;
      return {
        status: 403,
        outcome: 'disabled',
        body: error(
          'E_WEBHOOK_DISABLED',
          `the ${provider} webhook is disabled: set ${name} (or GITCFG_WEBHOOK_SECRET)`,
        ),
      };
    }
    if (rawBody.byteLength > this.bodyLimit) return this.tooLarge();
    if (!verifySignature(provider, headers, rawBody, secret)) {
      const signed = header(headers, signatureHeader(provider)) !== undefined;
      return {
        status: 401,
        outcome: 'unauthorized',
        body: error(
          'E_WEBHOOK_SIGNATURE',
          signed ? `invalid ${signatureHeader(provider)}` : `missing ${signatureHeader(provider)}`,
        ),
      };
    }
    let payload: unknown;
    try {
      let text = Buffer.from(rawBody).toString('utf8');
      // GitHub's and Gitea's form content type wraps the JSON in a `payload` field (signed as sent).
      if ((header(headers, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded')) {
        text = new URLSearchParams(text).get('payload') ?? '';
      }
      payload = rawBody.byteLength === 0 ? {} : JSON.parse(text);
    } catch {
      return {
        status: 400,
        outcome: 'malformed',
        body: error('E_WEBHOOK_PAYLOAD', 'body is not valid JSON'),
      };
    }
    const event = parseWebhookEvent(provider, headers, payload);
    // Checked before the delivery id is recorded: a fixed redelivery must not count as a duplicate.
    if (event.malformed !== undefined) {
      return {
        status: 400,
        outcome: 'malformed',
        body: error('E_WEBHOOK_PAYLOAD', `push payload names no usable branch: ${event.malformed}`),
        event,
      };
    }
    if (event.deliveryId !== undefined && this.deliveries.seen(`${provider}:${event.deliveryId}`)) {
      return {
        status: 202,
        outcome: 'duplicate',
        body: { status: 'duplicate', deliveryId: event.deliveryId },
        event,
      };
    }
    if (event.kind === 'ping') return { status: 200, outcome: 'ping', body: { status: 'pong' }, event };
    if (event.kind === 'other') {
      return {
        status: 202,
        outcome: 'ignored',
        body: { status: 'ignored', reason: `event ${event.eventName}` },
        event,
      };
    }
    const wanted = `refs/heads/${this.options.branch}`;
    if (event.refs.length > 0 && !event.refs.includes(wanted)) {
      return {
        status: 202,
        outcome: 'ignored',
        body: { status: 'ignored', reason: `push to ${event.refs.join(', ')}, serving ${wanted}` },
        event,
      };
    }
    return { status: 202, outcome: 'accepted', body: { status: 'accepted' }, event };
  }
}

function error(code: string, message: string): Record<string, unknown> {
  return { error: { code, message } };
}

/** Whether an `Authorization` header is `Bearer <token>` with the expected token (constant time). */
export function verifyBearer(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  return safeEqual(m?.[1] ?? '', token);
}

/** A firing alert of an Alertmanager webhook that names an environment. */
export interface AlertSignal {
  env: string;
  /** `alertname` label, or `alert` when it has none. */
  alert: string;
}

/**
 * The environments named by firing alerts of an Alertmanager webhook payload (version 4): for each alert whose
 * own `status` is `firing`, the value of the first of `labels` it carries. Resolved alerts name nothing.
 * Throws UsageError for a body that is not such a payload.
 */
export function parseAlertmanager(body: Uint8Array, labels: readonly string[]): AlertSignal[] {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new UsageError('the Alertmanager payload is not JSON');
  }
  if (!isRecord(payload) || !Array.isArray(payload.alerts)) {
    throw new UsageError('the Alertmanager payload has no alerts array');
  }
  const out: AlertSignal[] = [];
  for (const alert of payload.alerts.slice(0, 1000)) {
    if (!isRecord(alert) || alert.status !== 'firing' || !isRecord(alert.labels)) continue;
    const alertLabels = alert.labels;
    const env = labels.map((l) => str(alertLabels[l])).find((v) => v !== undefined);
    if (env === undefined) continue;
    out.push({ env, alert: (str(alertLabels.alertname) ?? 'alert').slice(0, 200) });
  }
  return out;
}
