import type { EventBase, WebhookEvent, WebhookHeaders, WebhookProvider } from './event.js';
import { isRecord, str } from './event.js';

/** What gitcfg needs to know of one git host's webhooks. */
export interface ProviderAdapter {
  readonly name: WebhookProvider;
  /** The header that carries the signature (or token). */
  readonly signatureHeader: string;
  /** The header value the host would send for `body`. */
  sign(secret: string, body: Uint8Array): string;
  /** Constant-time check of the header value against `sign`'s. */
  matches(given: string, expected: string): boolean;
  deliveryId(headers: WebhookHeaders): string | undefined;
  /** The event of a verified delivery (`payload`: the parsed body, `{}` when it is not an object). */
  parse(base: EventBase, headers: WebhookHeaders, payload: Record<string, unknown>): WebhookEvent;
  /** Why a push payload names no usable branch, or undefined when it is usable (`body` is an object). */
  pushProblem(body: Record<string, unknown>): string | undefined;
}

/** The push check of hosts that send one `ref` per delivery. */
export function refProblem(body: Record<string, unknown>): string | undefined {
  return str(body.ref) === undefined ? '"ref" is missing or not a non-empty string' : undefined;
}

/** Why a push body is not an object, or undefined when it is. */
export function notAnObject(body: unknown): string | undefined {
  return isRecord(body)
    ? undefined
    : `payload is ${Array.isArray(body) ? 'an array' : typeof body}, not an object`;
}
