/**
 * Abuse limits on the real server: per route class within the burst all pass, beyond it 429 with Retry-After and
 * RateLimit headers, a second principal is unaffected, recovery after the window; signed webhooks limited per
 * provider after the signature check, unsigned floods per address; open streams capped per principal while
 * another address still connects.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createConfigRepo } from '../helpers/config-repo.js';
import type { ConfigRepo } from '../helpers/config-repo.js';
import { cleanupTempDirs, tempDir } from '../helpers/git-repo.js';
import { TOKENS, WRITE_FILES, bearer, startServer, waitReady } from '../edits/writes-fixture.js';
import type { TestServer } from '../edits/writes-fixture.js';
import { waitFor } from '../helpers/wait-for.js';
import { postGithubPush } from './server-fixture.js';
import { createClient } from '../../src/client/index.js';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as {
  name: string;
  examples: Record<string, unknown>[];
}[];
const pushExample = examples.find((e) => e.name === 'push')?.examples[0] as Record<string, unknown>;
const SECRET = 'limits-webhook-secret';

/** Opens an SSE stream from `localAddress`; resolves to its status (the stream stays open until `destroy`). */
function openStream(
  base: string,
  headers: Record<string, string>,
  localAddress = '127.0.0.1',
): Promise<{ status: number; destroy: () => void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/v1/events`, { headers, localAddress, agent: false }, (res) => {
      resolve({ status: res.statusCode ?? 0, destroy: () => req.destroy() });
      res.resume();
    });
    req.on('error', reject);
  });
}

describe('abuse limits', () => {
  let repo: ConfigRepo;
  let dir: string;
  let server: TestServer;
  const base = () => server.base;

  before(async () => {
    dir = await tempDir();
    repo = await createConfigRepo({ files: WRITE_FILES }, { remote: true });
    server = await startServer({
      repo: repo.url!,
      dir,
      dataDir: path.join(dir, 'data'),
      env: {
        // Slow refills keep every count below independent of how fast this machine answers.
        GITCFG_LIMIT_CHEAP: '12/min:6',
        GITCFG_LIMIT_EXPENSIVE: '1/min:3',
        GITCFG_LIMIT_WEBHOOK: '1/min:2',
        GITCFG_LIMIT_BAD_SIGNATURES: '1/min:5',
        GITCFG_LIMIT_STREAMS: '3',
        GITCFG_WEBHOOK_SECRET_GITHUB: SECRET,
      },
    });
    await waitReady(base(), TOKENS.admin);
  });

  after(async () => {
    await server?.handle.close();
    await repo.close();
    await cleanupTempDirs();
  });

  it('cheap reads: the burst passes (fast path), the next is 429 with Retry-After and RateLimit headers', async () => {
    const url = `${base()}/v1/config/app/production`;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(url, { headers: bearer('reader') });
      assert.equal(res.status, 200, `request ${i}`);
      assert.match(res.headers.get('ratelimit-policy') ?? '', /^"cheap";q=6;w=30$/);
      await res.arrayBuffer();
    }
    const limited = await fetch(url, { headers: bearer('reader') });
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 5, `Retry-After ${retryAfter}`);
    assert.match(limited.headers.get('ratelimit') ?? '', new RegExp(`^"cheap";r=0;t=${retryAfter}$`));
    assert.equal(((await limited.json()) as { error: { code: string } }).error.code, 'E_RATE_LIMITED');
    // Another principal is unaffected.
    assert.equal((await fetch(url, { headers: bearer('appDbReader') })).status, 200);
    // Recovery once the bucket refills.
    await sleep(retryAfter * 1000 + 100);
    assert.equal((await fetch(url, { headers: bearer('reader') })).status, 200);
  });

  it('expensive reads (?ref=, history) share their own bucket per principal', async () => {
    const urls = [
      '/v1/config/app/production?ref=main',
      '/v1/history/app/production',
      '/v1/config/app/staging?explain=1',
    ];
    for (const u of urls)
      assert.equal((await fetch(`${base()}${u}`, { headers: bearer('writer') })).status, 200, u);
    const limited = await fetch(`${base()}${urls[0]}`, { headers: bearer('writer') });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // Plain reads of the same token are another class.
    assert.equal((await fetch(`${base()}/v1/config/app/staging`, { headers: bearer('writer') })).status, 200);
    assert.equal((await fetch(`${base()}${urls[0]}`, { headers: bearer('admin') })).status, 200);
  });

  it('failed logins count against the address, and are limited like any other caller', async () => {
    const url = `${base()}/v1/config/app/production`;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await fetch(url, { headers: { authorization: 'Bearer wrong-token' } })).status);
    }
    assert.deepEqual(statuses.slice(0, 6), [401, 401, 401, 401, 401, 401]);
    assert.ok(
      statuses.slice(6).every((s) => s === 429),
      statuses.join(','),
    );
  });

  it('signed webhooks are limited per provider after the signature check, with 429 so the host retries', async () => {
    const answers: number[] = [];
    for (let i = 0; i < 3; i++) {
      answers.push((await postGithubPush(base(), SECRET, pushExample, { after: '0'.repeat(40) })).status);
    }
    assert.deepEqual(
      answers.slice(0, 2).map((s) => s < 300),
      [true, true],
    );
    assert.equal(answers[2], 429);
    // Unsigned deliveries cost one HMAC each and are counted per address, not per provider.
    const unsigned: number[] = [];
    for (let i = 0; i < 8; i++) {
      unsigned.push((await postGithubPush(base(), SECRET, pushExample, { sign: false })).status);
    }
    assert.deepEqual(unsigned, [401, 401, 401, 401, 401, 429, 429, 429]);
  });

  it('open streams are capped per principal; another principal still connects', async () => {
    const open: { status: number; destroy: () => void }[] = [];
    try {
      for (let i = 0; i < 3; i++) open.push(await openStream(base(), bearer('reader')));
      assert.deepEqual(
        open.map((s) => s.status),
        [200, 200, 200],
      );
      const refused = await openStream(base(), bearer('reader'));
      open.push(refused);
      assert.equal(refused.status, 429);
      const other = await openStream(base(), bearer('admin'));
      open.push(other);
      assert.equal(other.status, 200);
      // Closing one frees its slot.
      open[0]!.destroy();
      await waitFor(
        async () => {
          const s = await openStream(base(), bearer('reader'));
          open.push(s);
          return s.status === 200;
        },
        { what: 'a stream slot freed by closing one' },
      );
    } finally {
      for (const s of open) s.destroy();
    }
  });

  it('the client SDK waits as long as Retry-After says, whatever its own backoff', async () => {
    // The reader's one stream slot is taken: every long-poll of its watcher answers 429 with Retry-After.
    const holders: { status: number; destroy: () => void }[] = [];
    for (let i = 0; i < 3; i++) holders.push(await openStream(base(), bearer('dbReader')));
    assert.ok(holders.every((h) => h.status === 200));
    let watchCalls = 0;
    const client = createClient({
      url: base(),
      env: 'production',
      token: TOKENS.dbReader,
      envOverrides: false,
      // A backoff this small would retry hundreds of times a second without Retry-After.
      backoff: { baseMs: 1, maxMs: 60_000 },
      fetch: (input, init) => {
        if (String(input).includes('/v1/watch/')) watchCalls++;
        return fetch(input, init);
      },
    });
    try {
      const stop = client.watch('db', () => {}, { onError: () => {} });
      await sleep(1500);
      stop();
      // Retry-After is 1 s per refusal: at most two tries in 1.5 s.
      assert.ok(watchCalls >= 1 && watchCalls <= 2, `${watchCalls} watch requests`);
    } finally {
      await client.close();
      for (const h of holders) h.destroy();
    }
  });
});
