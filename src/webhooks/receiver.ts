/** What to answer to one delivery (verify, parse, filter, de-duplicate), and the last deliveries operators see. */
import type { WebhookEvent, WebhookHeaders, WebhookProvider } from './event.js';
import { header } from './event.js';
import { DeliveryLog } from './delivery-log.js';
import { parseWebhookEvent, signatureHeader, verifySignature } from './provider-table.js';
import type { WebhookSecrets } from './secrets.js';

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
