/**
 * Hostile webhook deliveries: forged, unsigned, tampered, replayed, oversized, other-branch, other-event and
 * malformed ones, for every provider. A new commit waits on the remote the whole time: none of these deliveries
 * may start a sync or promote it (served commit and sync count unchanged); a genuine delivery then does.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServeHandle } from '../../src/commands/serve.js';
import { signPayload } from '../../src/webhooks/index.js';
import type { WebhookProvider } from '../../src/webhooks/index.js';
import { cleanupTempDirs } from '../helpers/git-repo.js';
import type { LogSink } from '../server/server-fixture.js';
import { status, waitForIdle, waitForServed } from '../server/server-fixture.js';
import { PUSH_EXAMPLE, SECRETS, notifyPush, startFaultRemote, startFaultServer } from './fault-fixture.js';
import type { FaultRemote } from './fault-fixture.js';

const SIGNATURE_HEADER: Record<WebhookProvider, string> = {
  github: 'x-hub-signature-256',
  gitlab: 'x-gitlab-token',
  gitea: 'x-gitea-signature',
  bitbucket: 'x-hub-signature',
  generic: 'x-gitcfg-signature',
};
const EVENT_HEADERS: Record<WebhookProvider, Record<string, string>> = {
  github: { 'x-github-event': 'push' },
  gitlab: { 'x-gitlab-event': 'Push Hook' },
  gitea: { 'x-gitea-event': 'push' },
  bitbucket: { 'x-event-key': 'repo:push' },
  generic: {},
};
const PROVIDERS = Object.keys(SIGNATURE_HEADER) as WebhookProvider[];

/** A push payload of `provider` for `ref`. */
function pushBody(provider: WebhookProvider, ref = 'refs/heads/main'): Buffer {
  switch (provider) {
    case 'github':
      return Buffer.from(JSON.stringify({ ...PUSH_EXAMPLE, ref }));
    case 'gitlab':
      return Buffer.from(JSON.stringify({ object_kind: 'push', ref, after: 'f'.repeat(40) }));
    case 'gitea':
      return Buffer.from(JSON.stringify({ ref, after: 'f'.repeat(40) }));
    case 'bitbucket':
      return Buffer.from(
        JSON.stringify({
          push: { changes: [{ new: { type: 'branch', name: ref.replace('refs/heads/', '') } }] },
        }),
      );
    case 'generic':
      return Buffer.from(JSON.stringify({ ref }));
  }
}

let deliveryCount = 0;

/** Posts raw bytes to a provider's endpoint with the given signature header value (or none). */
function deliver(
  base: string,
  provider: WebhookProvider,
  body: Buffer,
  signature: string | null,
  extra: Record<string, string> = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-delivery': `hostile-${++deliveryCount}`,
    'x-gitcfg-delivery': `hostile-${deliveryCount}`,
    ...EVENT_HEADERS[provider],
    ...extra,
  };
  if (signature !== null) headers[SIGNATURE_HEADER[provider]] = signature;
  return fetch(`${base}/v1/webhooks/${provider}`, { method: 'POST', headers, body });
}

describe('hostile webhook deliveries', () => {
  let remote: FaultRemote;
  let handle: ServeHandle;
  let base: string;
  let logs: LogSink;

  before(async () => {
    remote = await startFaultRemote();
    ({ handle, base, logs } = await startFaultServer({ url: remote.url }));
    await waitForServed(base, await remote.head());
  });

  after(async () => {
    await handle?.close();
    await remote?.remote.close();
    await cleanupTempDirs();
  });

  it('none of them starts a sync or promotes the waiting commit; a genuine one does', async (t) => {
    const served = await remote.head();
    // A genuine delivery, kept to be replayed later (its commit is already served: nothing to promote).
    const replayBody = Buffer.from(
      JSON.stringify({ ...PUSH_EXAMPLE, ref: 'refs/heads/main', after: served }),
    );
    const replayHeaders = {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': 'delivery-to-replay',
      'x-hub-signature-256': signPayload('github', SECRETS.github, replayBody),
    };
    const first = await fetch(`${base}/v1/webhooks/github`, {
      method: 'POST',
      headers: replayHeaders,
      body: replayBody,
    });
    assert.equal(first.status, 202);
    assert.equal(((await first.json()) as { status: string }).status, 'accepted');
    const before = await waitForIdle(base);
    assert.equal(before.served?.commit, served);

    const waiting = await remote.push({ 'defaults/db.yaml': 'host: db.waiting\n' }, 'waiting commit');

    const attempts: Array<[string, () => Promise<Response>]> = [
      [
        'replayed github delivery',
        () =>
          fetch(`${base}/v1/webhooks/github`, { method: 'POST', headers: replayHeaders, body: replayBody }),
      ],
    ];
    for (const provider of PROVIDERS) {
      const body = pushBody(provider);
      const secret = SECRETS[provider];
      attempts.push(
        [`${provider}: unsigned`, () => deliver(base, provider, body, null)],
        [
          `${provider}: forged (wrong secret)`,
          () => deliver(base, provider, body, signPayload(provider, 'forged', body)),
        ],
        [`${provider}: empty signature`, () => deliver(base, provider, body, '')],
        [
          `${provider}: oversized (2 MiB, correctly signed)`,
          () => {
            const huge = Buffer.concat([
              body.subarray(0, -1),
              Buffer.from(`,"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`),
            ]);
            return deliver(base, provider, huge, signPayload(provider, secret, huge));
          },
        ],
        [
          `${provider}: push to another branch`,
          () => {
            const other = pushBody(provider, 'refs/heads/feature');
            return deliver(base, provider, other, signPayload(provider, secret, other));
          },
        ],
        [
          `${provider}: JSON array (correctly signed)`,
          () => {
            const array = Buffer.from(`[${body.toString()}]`);
            return deliver(base, provider, array, signPayload(provider, secret, array));
          },
        ],
        [
          `${provider}: ref that is not a string (correctly signed)`,
          () => {
            const odd = Buffer.from(
              provider === 'bitbucket'
                ? JSON.stringify({ push: { changes: [{ new: { type: 'branch', name: 7 } }] } })
                : JSON.stringify({ ref: ['refs/heads/main'], after: 'f'.repeat(40) }),
            );
            return deliver(base, provider, odd, signPayload(provider, secret, odd));
          },
        ],
        [
          `${provider}: malformed JSON`,
          () => {
            const broken = Buffer.from('{"ref": "refs/heads/main", "after": ');
            return deliver(base, provider, broken, signPayload(provider, secret, broken));
          },
        ],
      );
    }
    for (const provider of PROVIDERS.filter((p) => p !== 'gitlab')) {
      const body = pushBody(provider);
      const other = signPayload(provider, SECRETS[provider], pushBody(provider, 'refs/heads/x'));
      attempts.push([`${provider}: signature of another body`, () => deliver(base, provider, body, other)]);
    }
    attempts.push(
      [
        'github: sha1 signature header only',
        () => {
          const body = pushBody('github');
          return deliver(base, 'github', body, null, {
            'x-hub-signature': `sha1=${'0'.repeat(40)}`,
          });
        },
      ],
      [
        'github: tag push',
        () => {
          const body = pushBody('github', 'refs/tags/v1.0.0');
          return deliver(base, 'github', body, signPayload('github', SECRETS.github, body));
        },
      ],
      [
        'github: another event (issues) on main',
        () => {
          const body = pushBody('github');
          return deliver(base, 'github', body, signPayload('github', SECRETS.github, body), {
            'x-github-event': 'issues',
          });
        },
      ],
      [
        'unknown provider',
        () => fetch(`${base}/v1/webhooks/sourcehut`, { method: 'POST', body: pushBody('github') }),
      ],
    );

    const accepted: string[] = [];
    for (const [name, attempt] of attempts) {
      const res = await attempt();
      const text = await res.text();
      const outcome =
        res.status === 202 ? (JSON.parse(text) as { status: string }).status : String(res.status);
      if (outcome === 'accepted' || (res.status >= 200 && res.status < 300 && res.status !== 202)) {
        // 200 is only a ping/test answer; anything else 2xx other than 202 would be a surprise.
        if (!/pong/.test(text)) accepted.push(`${name}: ${res.status} ${text.slice(0, 100)}`);
      }
    }
    await sleep(200);
    const after = await status(base);
    t.diagnostic(
      `hostile deliveries ${attempts.length}, accepted ${accepted.length}, syncs started ${after.syncs.total - before.syncs.total}`,
    );
    assert.deepEqual(accepted, []);
    assert.equal(after.syncs.total, before.syncs.total, 'no hostile delivery started a sync');
    assert.equal(after.syncs.running || after.syncs.pending, false);
    assert.equal(after.served?.commit, served, 'the waiting commit was not promoted');
    assert.equal(logs.lines.join('\n').includes(SECRETS.github), false, 'no secret in the logs');

    // The waiting commit was promotable all along: a genuine delivery promotes it.
    assert.equal((await notifyPush(base, waiting)).status, 202);
    await waitForServed(base, waiting);
  });
});
