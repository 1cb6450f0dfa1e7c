import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BoundedCache, approximateBytes } from '../../src/bounded-cache/index.js';

test('evicts the least recently used entries above the byte bound, counting every event', () => {
  const events: string[] = [];
  const cache = new BoundedCache<string>({ maxBytes: 100, onEvent: (e) => events.push(e) });
  cache.set('a', 'A', 40);
  cache.set('b', 'B', 40);
  assert.equal(cache.get('a'), 'A'); // a is now the most recent
  cache.set('c', 'C', 40); // 120 > 100: b goes
  assert.equal(cache.get('b'), undefined);
  assert.deepEqual(cache.stats(), { hits: 1, misses: 1, evictions: 1, entries: 2, bytes: 80, maxBytes: 100 });
  // A resize once the real size is known may evict others, oldest first, then the entry itself.
  cache.resize('c', 70);
  assert.deepEqual([cache.get('a'), cache.get('c')], [undefined, 'C']);
  cache.resize('c', 500);
  assert.equal(cache.stats().entries, 0);
  assert.equal(cache.stats().bytes, 0);
  assert.deepEqual(events, ['hit', 'eviction', 'miss', 'eviction', 'miss', 'hit', 'eviction']);
});

test('an entry bound applies too, and sizes are never negative', () => {
  const cache = new BoundedCache<number>({ maxBytes: 1e9, maxEntries: 2 });
  cache.set('1', 1, -5);
  cache.set('2', 2, 10);
  cache.set('3', 3, 10);
  assert.deepEqual([cache.get('1'), cache.get('2'), cache.get('3')], [undefined, 2, 3]);
  assert.equal(cache.stats().bytes, 20);
});

test('approximateBytes grows with the content and stops at its limit', () => {
  const small = approximateBytes({ a: 'x' });
  const big = approximateBytes({
    a: 'x'.repeat(10_000),
    list: [1, 2, 3],
    map: new Map([['k', { v: true }]]),
  });
  assert.ok(big > small + 20_000);
  assert.ok(
    approximateBytes(
      Array.from({ length: 100_000 }, () => ({ a: 1 })),
      1000,
    ) < 1_000_000,
  );
});
