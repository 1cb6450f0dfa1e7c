import type { EventBase, WebhookEvent, WebhookHeaders, WebhookProvider } from './event.js';
import { header, isRecord } from './event.js';
import type { ProviderAdapter } from './provider.js';
import { notAnObject } from './provider.js';
import { bitbucket } from './providers/bitbucket.js';
import { generic } from './providers/generic.js';
import { gitea } from './providers/gitea.js';
import { github } from './providers/github.js';
import { gitlab } from './providers/gitlab.js';

const PROVIDERS: Record<WebhookProvider, ProviderAdapter> = { github, gitlab, gitea, bitbucket, generic };

/** The header that carries the signature (or token) for a provider. */
export function signatureHeader(provider: WebhookProvider): string {
  return PROVIDERS[provider].signatureHeader;
}

/** Computes the header value a provider would send for `body` (used by tests and by `gitcfg` tooling). */
export function signPayload(provider: WebhookProvider, secret: string, body: Uint8Array): string {
  return PROVIDERS[provider].sign(secret, body);
}

/** Verifies a delivery's signature against the raw body bytes, in constant time; false when unsigned. */
export function verifySignature(
  provider: WebhookProvider,
  headers: WebhookHeaders,
  rawBody: Uint8Array,
  secret: string,
): boolean {
  const adapter = PROVIDERS[provider];
  const given = header(headers, adapter.signatureHeader);
  if (given === undefined || given === '') return false;
  return adapter.matches(given, adapter.sign(secret, rawBody));
}

/** The delivery id header of a provider, if the delivery carries one. */
export function deliveryId(provider: WebhookProvider, headers: WebhookHeaders): string | undefined {
  return PROVIDERS[provider].deliveryId(headers);
}

/** Parses a verified delivery into an event; unknown events give `kind: 'other'`, unusable pushes `malformed`. */
export function parseWebhookEvent(
  provider: WebhookProvider,
  headers: WebhookHeaders,
  body: unknown,
): WebhookEvent {
  const adapter = PROVIDERS[provider];
  const id = adapter.deliveryId(headers);
  const base: EventBase = { provider, ...(id !== undefined ? { deliveryId: id } : {}) };
  const event = adapter.parse(base, headers, isRecord(body) ? body : {});
  if (event.kind !== 'push') return event;
  const problem = isRecord(body) ? adapter.pushProblem(body) : notAnObject(body);
  return problem === undefined ? event : { ...event, malformed: problem };
}
