/** A listing derived from the last one and a tree diff equals the listing sorted from scratch. */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TreeEntry } from '../../src/engine/index.js';
import { applyChanges, comparePaths } from '../../src/git/object-store.js';
import type { TreeChange } from '../../src/git/types.js';

const entry = (path: string, oid: string): TreeEntry => ({ path, oid, mode: '100644', type: 'blob' });

/** Deterministic pseudo-random numbers (a test that fails must fail again). */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

describe('applyChanges', () => {
  it('equals a listing built from scratch, for few and for many changes', () => {
    for (const [seed, count] of [
      [1, 1],
      [2, 5],
      [3, 40],
      [4, 200],
    ] as const) {
      const next = random(seed);
      const paths = Array.from({ length: 300 }, (_, i) => `environments/e${i % 3}/ns-${i}.yaml`);
      const before = paths.map((p) => entry(p, 'a'.repeat(40))).sort((a, b) => comparePaths(a.path, b.path));
      const expected = new Map(before.map((e) => [e.path, e]));
      const changes: TreeChange[] = [];
      for (let i = 0; i < count; i++) {
        const roll = next();
        const existing = before[Math.floor(next() * before.length)]!.path;
        if (roll < 0.3 && expected.has(existing)) {
          changes.push({ path: existing, kind: 'delete', oldOid: 'a'.repeat(40), mode: '100644' });
          expected.delete(existing);
        } else if (roll < 0.6) {
          const path = `${existing}.new${i}`;
          changes.push({ path, kind: 'add', newOid: 'b'.repeat(40), mode: '100644' });
          expected.set(path, entry(path, 'b'.repeat(40)));
        } else if (expected.has(existing)) {
          changes.push({
            path: existing,
            kind: 'modify',
            oldOid: 'a'.repeat(40),
            newOid: 'c'.repeat(40),
            mode: '100644',
            oldMode: '100644',
          });
          expected.set(existing, entry(existing, 'c'.repeat(40)));
        }
      }
      const got = applyChanges(before, changes);
      const want = [...expected.values()].sort((a, b) => comparePaths(a.path, b.path));
      assert.deepEqual(got, want, `seed ${seed}`);
      assert.ok(Object.isFrozen(got));
      // Unchanged entries are the same objects (what lets the next diff of listings skip them).
      const untouched = before.find((e) => !changes.some((c) => c.path === e.path))!;
      assert.ok(got.includes(untouched));
    }
  });

  it('returns the same listing when nothing changed', () => {
    const before = [entry('a', '1'), entry('b', '2')];
    assert.equal(applyChanges(before, []), before);
  });
});
