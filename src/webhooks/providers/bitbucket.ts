import { header, isRecord, plainEvent, pushOfRefs, str } from '../event.js';
import type { ProviderAdapter } from '../provider.js';
import { hexMatches, hmacHex } from '../signature.js';

/** Bitbucket Cloud (`repo:push`) and Bitbucket Server / Data Center (`repo:refs_changed`). */
export const bitbucket: ProviderAdapter = {
  name: 'bitbucket',
  signatureHeader: 'x-hub-signature',
  sign: (secret, body) => `sha256=${hmacHex(secret, body)}`,
  matches: hexMatches,
  deliveryId: (headers) => header(headers, 'x-request-uuid'),
  parse(base, headers, payload) {
    const eventName = header(headers, 'x-event-key') ?? '';
    if (eventName === 'diagnostics:ping') return plainEvent(base, 'ping', eventName);
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
      return pushOfRefs(base, eventName, refs, after);
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
      return pushOfRefs(base, eventName, refs, after);
    }
    return plainEvent(base, 'other', eventName);
  },
  pushProblem(body) {
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
  },
};
