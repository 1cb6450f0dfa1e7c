/** A job's listing as a patch of the worker's last one gives back exactly the listing the pool holds. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { listingSplice } from '../../src/engine/index.js';
import type { TreeEntry } from '../../src/engine/index.js';
import { applyListing } from '../../src/evaluation-pool/protocol.js';

const entry = (path: string, oid = 'a'): TreeEntry => ({ path, oid, mode: '100644', type: 'blob' });

test('a patch made from the changed stretch rebuilds the new listing', () => {
  const before = ['a', 'b', 'c', 'd', 'e'].map((p) => entry(p));
  for (const after of [
    before,
    [before[0]!, entry('b', 'changed'), ...before.slice(2)],
    [...before.slice(0, 2), entry('bb'), ...before.slice(2)],
    [before[0]!, ...before.slice(3)],
    [],
    [entry('z')],
  ]) {
    const { start, beforeEnd, afterEnd } = listingSplice(before, after);
    const patch = {
      baseLength: before.length,
      start,
      deleteCount: beforeEnd - start,
      insert: after.slice(start, afterEnd),
    };
    assert.deepEqual(applyListing(before, { patch }), after);
  }
});

test('a whole listing replaces the last one; a patch for another listing is refused', () => {
  const listing = [entry('a')];
  assert.equal(applyListing(undefined, { entries: listing }), listing);
  const patch = { baseLength: 3, start: 0, deleteCount: 1, insert: [] };
  assert.throws(() => applyListing(listing, { patch }), /listing patch for 3 entries, the worker holds 1/);
  assert.throws(() => applyListing(undefined, { patch }), /the worker holds none/);
});
