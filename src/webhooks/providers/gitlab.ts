import { header, plainEvent, pushEvent, str } from '../event.js';
import type { ProviderAdapter } from '../provider.js';
import { refProblem } from '../provider.js';
import { safeEqual } from '../signature.js';

/** GitLab sends the shared secret itself as a token, compared verbatim. */
export const gitlab: ProviderAdapter = {
  name: 'gitlab',
  signatureHeader: 'x-gitlab-token',
  sign: (secret) => secret,
  matches: safeEqual,
  deliveryId: (headers) => header(headers, 'x-gitlab-event-uuid') ?? header(headers, 'idempotency-key'),
  parse(base, headers, payload) {
    const eventName = header(headers, 'x-gitlab-event') ?? '';
    const objectKind = str(payload.object_kind) ?? str(payload.event_name);
    // System hooks and "test" deliveries are acknowledged; only project push hooks trigger a sync.
    if (eventName === 'Push Hook' || (eventName === 'System Hook' && objectKind === 'push')) {
      return pushEvent(base, eventName, str(payload.ref), str(payload.after) ?? str(payload.checkout_sha));
    }
    if (eventName === 'System Hook' || eventName === '') return plainEvent(base, 'ping', eventName);
    return plainEvent(base, 'other', eventName);
  },
  pushProblem: refProblem,
};
