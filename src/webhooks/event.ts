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

/** The fields every event of one delivery shares. */
export interface EventBase {
  provider: WebhookProvider;
  deliveryId?: string;
}

export function header(headers: WebhookHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** An event that carries no refs (`ping` or `other`). */
export function plainEvent(base: EventBase, kind: 'ping' | 'other', eventName: string): WebhookEvent {
  return { ...base, kind, eventName, refs: [] };
}

/** A push event naming at most one ref. */
export function pushEvent(
  base: EventBase,
  eventName: string,
  ref: string | undefined,
  after: string | undefined,
): WebhookEvent {
  return pushOfRefs(base, eventName, ref ? [ref] : [], after);
}

export function pushOfRefs(
  base: EventBase,
  eventName: string,
  refs: string[],
  after: string | undefined,
): WebhookEvent {
  return { ...base, kind: 'push', eventName, refs, ...(after ? { after } : {}) };
}
