import { header, plainEvent, pushEvent, str } from '../event.js';
import type { ProviderAdapter } from '../provider.js';
import { refProblem } from '../provider.js';
import { hexMatches, hmacHex } from '../signature.js';

/** GitHub, and Gitea which sends the same push payload under its own header names. */
export function githubLike(
  name: 'github' | 'gitea',
  signatureHeader: string,
  prefix: string,
  deliveryHeader: string,
  eventHeaders: string[],
): ProviderAdapter {
  return {
    name,
    signatureHeader,
    sign: (secret, body) => `${prefix}${hmacHex(secret, body)}`,
    matches: hexMatches,
    deliveryId: (headers) => header(headers, deliveryHeader),
    parse(base, headers, payload) {
      let eventName = '';
      for (const h of eventHeaders) {
        const value = header(headers, h);
        if (value !== undefined) {
          eventName = value;
          break;
        }
      }
      if (eventName === 'ping') return plainEvent(base, 'ping', eventName);
      if (eventName !== 'push') return plainEvent(base, 'other', eventName);
      return pushEvent(base, eventName, str(payload.ref), str(payload.after));
    },
    pushProblem: refProblem,
  };
}

export const github = githubLike('github', 'x-hub-signature-256', 'sha256=', 'x-github-delivery', [
  'x-github-event',
]);
