import { header, plainEvent, pushEvent, str } from '../event.js';
import type { ProviderAdapter } from '../provider.js';
import { hexMatches, hmacHex } from '../signature.js';

/** gitcfg's own format, for CI jobs and scripts (`curl`). */
export const generic: ProviderAdapter = {
  name: 'generic',
  signatureHeader: 'x-gitcfg-signature',
  sign: (secret, body) => `sha256=${hmacHex(secret, body)}`,
  matches: hexMatches,
  deliveryId: (headers) => header(headers, 'x-gitcfg-delivery'),
  parse(base, headers, payload) {
    const eventName = header(headers, 'x-gitcfg-event') ?? 'push';
    if (eventName === 'ping') return plainEvent(base, 'ping', eventName);
    if (eventName !== 'push') return plainEvent(base, 'other', eventName);
    // `{}` means "something changed, sync now"; `ref` may be a full ref or a bare branch name.
    const ref = str(payload.ref) ?? str(payload.branch);
    const full = ref === undefined ? undefined : ref.startsWith('refs/') ? ref : `refs/heads/${ref}`;
    return pushEvent(base, eventName, full, str(payload.after));
  },
  pushProblem(body) {
    // `ref` and `branch` are optional (`{}` means "sync now") but must be strings when given.
    const badString = (name: string): string | undefined =>
      body[name] !== undefined && str(body[name]) === undefined
        ? `"${name}" is not a non-empty string`
        : undefined;
    return badString('ref') ?? badString('branch');
  },
};
