import * as assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import {
  DeliveryLog,
  WEBHOOK_PROVIDERS,
  WebhookReceiver,
  parseWebhookEvent,
  signPayload,
  verifySignature,
  webhookSecretsFromEnv,
} from '../../src/webhooks/index.js';
import type { WebhookProvider } from '../../src/webhooks/index.js';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as {
  name: string;
  examples: Record<string, unknown>[];
}[];

function githubExample(name: string): Record<string, unknown> {
  const found = examples.find((e) => e.name === name)?.examples[0];
  if (!found) throw new Error(`no ${name} example`);
  return structuredClone(found);
}

const SECRET = "It's a Secret to Everybody";
const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('signature verification', () => {
  it('matches the GitHub documentation test vector', () => {
    // From GitHub's "Validating webhook deliveries" page.
    const payload = Buffer.from('Hello, World!');
    const header = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    assert.equal(verifySignature('github', { 'x-hub-signature-256': header }, payload, SECRET), true);
    assert.equal(signPayload('github', SECRET, payload), header);
    assert.equal(
      verifySignature('github', { 'x-hub-signature-256': header }, Buffer.from('Hello, World?'), SECRET),
      false,
    );
  });

  it('accepts each provider its own way and rejects forged, truncated and missing signatures', () => {
    const raw = body({ hello: 'world' });
    const hex = createHmac('sha256', 'topsecret').update(raw).digest('hex');
    const cases: [WebhookProvider, string, string][] = [
      ['github', 'x-hub-signature-256', `sha256=${hex}`],
      ['gitea', 'x-gitea-signature', hex],
      ['bitbucket', 'x-hub-signature', `sha256=${hex}`],
      ['generic', 'x-gitcfg-signature', `sha256=${hex}`],
      ['gitlab', 'x-gitlab-token', 'topsecret'],
    ];
    for (const [provider, name, good] of cases) {
      assert.equal(verifySignature(provider, { [name]: good }, raw, 'topsecret'), true, provider);
      assert.equal(
        verifySignature(provider, { [name]: good.slice(0, -1) }, raw, 'topsecret'),
        false,
        provider,
      );
      assert.equal(verifySignature(provider, { [name]: `${good}0` }, raw, 'topsecret'), false, provider);
      assert.equal(verifySignature(provider, {}, raw, 'topsecret'), false, provider);
      assert.equal(verifySignature(provider, { [name]: good }, raw, 'othersecret'), false, provider);
    }
  });
});

describe('payload parsing', () => {
  it('reads ref and after of a real GitHub push payload', () => {
    const payload = githubExample('push');
    const event = parseWebhookEvent(
      'github',
      { 'x-github-event': 'push', 'x-github-delivery': 'd1' },
      payload,
    );
    assert.equal(event.kind, 'push');
    assert.deepEqual(event.refs, [payload.ref]);
    assert.equal(event.after, payload.after);
    assert.equal(event.deliveryId, 'd1');
  });

  it('reads Bitbucket Cloud and Server pushes', () => {
    const cloud = parseWebhookEvent(
      'bitbucket',
      { 'x-event-key': 'repo:push' },
      { push: { changes: [{ new: { type: 'branch', name: 'main', target: { hash: 'abc' } } }] } },
    );
    assert.deepEqual([cloud.kind, cloud.refs, cloud.after], ['push', ['refs/heads/main'], 'abc']);
    const server = parseWebhookEvent(
      'bitbucket',
      { 'x-event-key': 'repo:refs_changed' },
      { changes: [{ ref: { id: 'refs/heads/dev' }, toHash: 'def' }] },
    );
    assert.deepEqual([server.kind, server.refs, server.after], ['push', ['refs/heads/dev'], 'def']);
  });

  it('treats GitLab system hooks without a push as pings', () => {
    const event = parseWebhookEvent(
      'gitlab',
      { 'x-gitlab-event': 'System Hook' },
      { event_name: 'project_create' },
    );
    assert.equal(event.kind, 'ping');
    const push = parseWebhookEvent(
      'gitlab',
      { 'x-gitlab-event': 'Push Hook' },
      { ref: 'refs/heads/main', after: 'a' },
    );
    assert.deepEqual([push.kind, push.refs], ['push', ['refs/heads/main']]);
  });
});

describe('WebhookReceiver', () => {
  const receiver = (): WebhookReceiver =>
    new WebhookReceiver({ secrets: { github: SECRET, generic: 'g' }, branch: 'main', bodyLimit: 64 * 1024 });
  const signed = (raw: Buffer, extra: Record<string, string> = {}) => ({
    'x-hub-signature-256': signPayload('github', SECRET, raw),
    'x-github-event': 'push',
    ...extra,
  });

  it('decides accepted, ignored, duplicate, ping, malformed, unauthorized, disabled and too large', () => {
    const r = receiver();
    const push = githubExample('push');
    push.ref = 'refs/heads/main';
    const raw = body(push);
    assert.equal(r.receive('github', signed(raw, { 'x-github-delivery': 'a' }), raw).outcome, 'accepted');
    assert.equal(r.receive('github', signed(raw, { 'x-github-delivery': 'a' }), raw).outcome, 'duplicate');
    const other = body({ ...push, ref: 'refs/heads/feature' });
    const ignored = r.receive('github', signed(other, { 'x-github-delivery': 'b' }), other);
    assert.deepEqual([ignored.status, ignored.body.status], [202, 'ignored']);
    const ping = body(githubExample('ping'));
    assert.equal(r.receive('github', signed(ping, { 'x-github-event': 'ping' }), ping).status, 200);
    const bad = Buffer.from('{"ref": ');
    assert.equal(r.receive('github', signed(bad), bad).status, 400);
    assert.equal(r.receive('github', { 'x-github-event': 'push' }, raw).status, 401);
    assert.equal(r.receive('gitlab', {}, raw).status, 403);
    const big = Buffer.alloc(64 * 1024 + 1, 0x20);
    assert.equal(r.receive('github', signed(big), big).status, 413);
  });

  it('keeps the last 20 deliveries, newest first, with the sender fields only of signed ones', () => {
    const r = receiver();
    const push = githubExample('push');
    push.ref = 'refs/heads/main';
    const raw = body(push);
    const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n));
    const accepted = r.receive('github', signed(raw, { 'x-github-delivery': 'd-1' }), raw);
    r.record('github', accepted, at(1));
    const forged = r.receive('github', { 'x-github-event': 'push', 'x-github-delivery': 'forged' }, raw);
    r.record('github', forged, at(2));
    assert.deepEqual(r.recentDeliveries(), [
      { provider: 'github', outcome: 'unauthorized', status: 401, at: at(2).toISOString() },
      {
        provider: 'github',
        outcome: 'accepted',
        status: 202,
        at: at(1).toISOString(),
        deliveryId: 'd-1',
        event: 'push',
        refs: ['refs/heads/main'],
      },
    ]);
    for (let n = 3; n <= 30; n++) r.record('github', forged, at(n));
    const recent = r.recentDeliveries();
    assert.equal(recent.length, 20);
    assert.equal(recent[0]!.at, at(30).toISOString());
    assert.equal(recent[19]!.at, at(11).toISOString());
  });

  it('reads form-encoded deliveries (the payload field), verified on the bytes as sent', () => {
    const push: Record<string, unknown> = { ...githubExample('push'), ref: 'refs/heads/main' };
    const raw = Buffer.from(new URLSearchParams({ payload: JSON.stringify(push) }).toString());
    const headers = signed(raw, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-github-delivery': 'f',
    });
    const decision = receiver().receive('github', headers, raw);
    assert.equal(decision.outcome, 'accepted');
    assert.equal(decision.event?.after, push.after);
    const empty = Buffer.from('payload=');
    assert.equal(receiver().receive('github', { ...headers, ...signed(empty) }, empty).status, 400);
  });

  it('answers 400 E_WEBHOOK_PAYLOAD to a signed push naming no usable branch, for every provider', () => {
    const secrets = { github: 's', gitlab: 's', gitea: 's', bitbucket: 's', generic: 's' };
    const events: Record<WebhookProvider, Record<string, string>> = {
      github: { 'x-github-event': 'push' },
      gitlab: { 'x-gitlab-event': 'Push Hook' },
      gitea: { 'x-gitea-event': 'push' },
      bitbucket: { 'x-event-key': 'repo:push' },
      generic: { 'x-gitcfg-event': 'push' },
    };
    const header: Record<WebhookProvider, string> = {
      github: 'x-hub-signature-256',
      gitlab: 'x-gitlab-token',
      gitea: 'x-gitea-signature',
      bitbucket: 'x-hub-signature',
      generic: 'x-gitcfg-signature',
    };
    const bad: Record<WebhookProvider, unknown[]> = {
      github: [[{ ref: 'refs/heads/main' }], { ref: 42 }, { ref: ['refs/heads/main'] }, { after: 'a' }],
      gitlab: [['x'], { ref: { name: 'main' } }, { object_kind: 'push' }],
      gitea: ['refs/heads/main', { ref: null }],
      bitbucket: [[], { push: { changes: 'main' } }, { push: { changes: [{ new: { name: 7 } }] } }],
      generic: [[], 12, { ref: 42 }, { branch: true }],
    };
    for (const provider of WEBHOOK_PROVIDERS) {
      const r = new WebhookReceiver({ secrets, branch: 'main' });
      for (const [i, payload] of bad[provider].entries()) {
        const raw = body(payload);
        const headers = {
          ...events[provider],
          [header[provider]]: signPayload(provider, 's', raw),
          'x-gitcfg-delivery': `d${i}`,
          'x-github-delivery': `d${i}`,
        };
        const decision = r.receive(provider, headers, raw);
        const label = `${provider} ${JSON.stringify(payload)}`;
        assert.equal(decision.status, 400, label);
        assert.equal(decision.outcome, 'malformed', label);
        assert.equal((decision.body.error as { code: string }).code, 'E_WEBHOOK_PAYLOAD', label);
      }
    }
    // A ping keeps its 200 whatever its payload; a plain generic `{}` is still "sync now".
    const r = new WebhookReceiver({ secrets, branch: 'main' });
    const arr = body([1]);
    const ping = r.receive(
      'github',
      { 'x-github-event': 'ping', 'x-hub-signature-256': signPayload('github', 's', arr) },
      arr,
    );
    assert.equal(ping.status, 200);
    const empty = body({});
    const generic = r.receive('generic', { 'x-gitcfg-signature': signPayload('generic', 's', empty) }, empty);
    assert.equal(generic.outcome, 'accepted');
    // A Bitbucket branch deletion (`new: null`) is still a usable push.
    const deletion = body({ push: { changes: [{ new: null, old: { type: 'branch', name: 'main' } }] } });
    const deleted = r.receive(
      'bitbucket',
      { 'x-event-key': 'repo:push', 'x-hub-signature': signPayload('bitbucket', 's', deletion) },
      deletion,
    );
    assert.equal(deleted.outcome, 'accepted');
  });

  it('accepts a generic delivery with an empty body as "sync now"', () => {
    const raw = Buffer.alloc(0);
    const decision = receiver().receive(
      'generic',
      { 'x-gitcfg-signature': signPayload('generic', 'g', raw) },
      raw,
    );
    assert.equal(decision.outcome, 'accepted');
  });
});

describe('DeliveryLog', () => {
  it('forgets the oldest id beyond its capacity', () => {
    const log = new DeliveryLog(2);
    assert.equal(log.seen('a'), false);
    assert.equal(log.seen('b'), false);
    assert.equal(log.seen('c'), false);
    assert.equal(log.seen('b'), true);
    assert.equal(log.seen('a'), false);
  });
});

describe('webhookSecretsFromEnv', () => {
  it('prefers per-provider values, reads _FILE variants and drops one trailing newline', () => {
    const files: Record<string, string> = { '/s/gitea': 'from-file\n' };
    const secrets = webhookSecretsFromEnv(
      {
        GITCFG_WEBHOOK_SECRET: 'shared',
        GITCFG_WEBHOOK_SECRET_GITHUB: 'gh',
        GITCFG_WEBHOOK_SECRET_GITEA_FILE: '/s/gitea',
      },
      (path) => files[path] ?? '',
    );
    assert.deepEqual(secrets, {
      github: 'gh',
      gitlab: 'shared',
      gitea: 'from-file',
      bitbucket: 'shared',
      generic: 'shared',
    });
    assert.deepEqual(
      webhookSecretsFromEnv({}, () => ''),
      {},
    );
  });
});
