/**
 * Webhook deliveries from git hosts (pure apart from hashing): signature verification on the raw body in
 * constant time, payload parsing into a `WebhookEvent`, duplicate detection, and the decision of what to answer.
 * The payload is only a hint that something changed; the sync fetches the truth from the remote.
 * Each host is one `ProviderAdapter` (`providers/`); this file is the module's public surface.
 */
export { WEBHOOK_PROVIDERS } from './event.js';
export type { WebhookEvent, WebhookHeaders, WebhookProvider } from './event.js';
export { safeEqual, verifyBearer } from './signature.js';
export {
  deliveryId,
  parseWebhookEvent,
  signPayload,
  signatureHeader,
  verifySignature,
} from './provider-table.js';
export { DeliveryLog } from './delivery-log.js';
export { DEFAULT_WEBHOOK_BODY_LIMIT, WebhookReceiver } from './receiver.js';
export type { RecentDelivery, WebhookDecision, WebhookReceiverOptions } from './receiver.js';
export { secretFromEnv, signalSettingsFromEnv, webhookSecretsFromEnv } from './secrets.js';
export type { SignalSettings, WebhookSecrets } from './secrets.js';
export { parseAlertmanager } from './alertmanager.js';
export type { AlertSignal } from './alertmanager.js';
