import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { backoffDelay } from '../../src/client/index.js';

describe('backoffDelay', () => {
  it('draws uniformly from a window that doubles up to the cap', () => {
    const top = () => 0.999999;
    const windows = [0, 1, 2, 3, 4, 5, 6, 7].map((n) =>
      backoffDelay(n, { baseMs: 100, maxMs: 5000, random: top }),
    );
    assert.deepEqual(windows, [99, 199, 399, 799, 1599, 3199, 4999, 4999]);
    assert.equal(backoffDelay(3, { baseMs: 100, random: () => 0 }), 0, 'full jitter reaches zero');
    assert.equal(backoffDelay(3, { baseMs: 100, random: () => 0.5 }), 400);
  });

  it('stays finite for very long outages', () => {
    const delay = backoffDelay(10_000, { baseMs: 500, maxMs: 30_000, random: () => 0.5 });
    assert.equal(delay, 15_000);
  });

  it('spreads clients evenly across the window', () => {
    // Evenly spaced draws stand in for a uniform source: each 100 ms bucket of the 1600 ms window gets 10.
    const counts = new Map<number, number>();
    for (let i = 0; i < 160; i++) {
      const bucket = Math.floor(backoffDelay(4, { baseMs: 100, random: () => (i + 0.5) / 160 }) / 100);
      counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    }
    assert.deepEqual(
      [...counts],
      Array.from({ length: 16 }, (_, b) => [b, 10]),
    );
  });

  it('draws from Math.random unless told otherwise', (t) => {
    t.mock.method(Math, 'random', () => 0.25);
    assert.equal(backoffDelay(4, { baseMs: 100 }), 400);
  });
});
