/** Token buckets, the expensive-work gate and the open-connection cap (pure logic, injected clock). */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusyError } from '../../src/errors/index.js';
import { ConcurrencyGate, ConnectionLimiter, RateLimiter, parseRatePolicy } from '../../src/limits/index.js';

function limiterAt(policy: string) {
  let now = 0;
  const limiter = new RateLimiter(
    { cheap: parseRatePolicy(policy, 'cheap'), expensive: null, write: null, webhook: null },
    { now: () => now, maxKeys: 3 },
  );
  return { limiter, advance: (ms: number) => void (now += ms) };
}

describe('rate policies', () => {
  it('parse rate, unit and burst; refuse anything else', () => {
    assert.deepEqual(parseRatePolicy('20/s', 'x'), { perSecond: 20, burst: 20 });
    assert.deepEqual(parseRatePolicy('600/min:100', 'x'), { perSecond: 10, burst: 100 });
    assert.deepEqual(parseRatePolicy('1/h', 'x'), { perSecond: 1 / 3600, burst: 1 });
    assert.equal(parseRatePolicy('off', 'x'), null);
    for (const bad of ['', '20', '20/d', '-1/s', '0/s', '5/s:0', '5/s:x']) {
      assert.throws(() => parseRatePolicy(bad, 'cheap'), /invalid (rate limit|burst) for cheap/, bad);
    }
  });
});

describe('RateLimiter', () => {
  it('lets a burst through, then refuses with the seconds until a token is back', () => {
    const { limiter } = limiterAt('2/s:4');
    for (let i = 0; i < 4; i++) assert.equal(limiter.take('cheap', 'a').allowed, true, `request ${i}`);
    const refused = limiter.take('cheap', 'a');
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterSeconds, 1);
    assert.equal(refused.headers['RateLimit-Policy'], '"cheap";q=4;w=2');
    assert.equal(refused.headers.RateLimit, '"cheap";r=0;t=1');
  });

  it('refills at the policy rate and never above the burst', () => {
    const { limiter, advance } = limiterAt('2/s:4');
    for (let i = 0; i < 4; i++) limiter.take('cheap', 'a');
    advance(500); // one token back
    assert.equal(limiter.take('cheap', 'a').allowed, true);
    assert.equal(limiter.take('cheap', 'a').allowed, false);
    advance(60_000);
    const full = limiter.take('cheap', 'a');
    assert.equal(full.headers.RateLimit, '"cheap";r=3;t=1');
  });

  it('keeps principals apart, and classes apart', () => {
    const { limiter } = limiterAt('1/s:1');
    assert.equal(limiter.take('cheap', 'a').allowed, true);
    assert.equal(limiter.take('cheap', 'a').allowed, false);
    assert.equal(limiter.take('cheap', 'b').allowed, true);
    // `expensive` has no policy here: unlimited, no headers.
    assert.deepEqual(limiter.take('expensive', 'a'), { allowed: true, headers: {}, retryAfterSeconds: 0 });
  });

  it('a principal override replaces the class policy, `null` lifts it', () => {
    const { limiter } = limiterAt('1/s:1');
    limiter.take('cheap', 'a');
    assert.equal(limiter.take('cheap', 'a', null).allowed, true);
    assert.equal(limiter.take('cheap', 'big', { perSecond: 100, burst: 3 }).allowed, true);
    assert.equal(limiter.take('cheap', 'big', { perSecond: 100, burst: 3 }).allowed, true);
  });

  it('bounds the number of buckets it keeps (least recently used go first)', () => {
    const { limiter } = limiterAt('1/s:1');
    for (const p of ['a', 'b', 'c', 'd']) limiter.take('cheap', p);
    // `a` was dropped: it starts again with a full bucket; `d` was kept and is empty.
    assert.equal(limiter.take('cheap', 'a').allowed, true);
    assert.equal(limiter.take('cheap', 'd').allowed, false);
  });
});

describe('ConcurrencyGate', () => {
  it('runs at most `concurrency` jobs, queues the next, refuses beyond the queue', async () => {
    const gate = new ConcurrencyGate({ concurrency: 1, maxQueue: 1, maxWaitMs: 60_000 });
    let release!: () => void;
    const first = gate.run(() => new Promise<string>((r) => (release = () => r('first'))));
    const second = gate.run(async () => 'second');
    assert.equal(gate.running, 1);
    assert.equal(gate.waiting, 1);
    await assert.rejects(
      gate.run(async () => 'third'),
      BusyError,
    );
    release();
    assert.deepEqual(await Promise.all([first, second]), ['first', 'second']);
    assert.equal(gate.running, 0);
  });

  it('a job that waited too long is refused with Retry-After', async () => {
    const gate = new ConcurrencyGate({ concurrency: 1, maxQueue: 10, maxWaitMs: 5 });
    let release!: () => void;
    const first = gate.run(() => new Promise<void>((r) => (release = r)));
    const err = await gate.run(async () => 'late').catch((e: unknown) => e);
    assert.ok(err instanceof BusyError);
    assert.equal((err.data.headers as Record<string, string>)['Retry-After'], '1');
    release();
    await first;
    assert.equal(await gate.run(async () => 'after'), 'after');
  });
});

describe('ConnectionLimiter', () => {
  it('caps open connections per principal; releasing (once) frees a slot', () => {
    const limiter = new ConnectionLimiter(2);
    const a1 = limiter.acquire('a');
    const a2 = limiter.acquire('a');
    assert.ok(a1 && a2);
    assert.equal(limiter.acquire('a'), null);
    assert.ok(limiter.acquire('b'));
    a1();
    a1();
    assert.equal(limiter.size, 2);
    assert.ok(limiter.acquire('a'));
    assert.equal(limiter.acquire('a'), null);
    assert.ok(new ConnectionLimiter(null).acquire('x'));
  });
});
