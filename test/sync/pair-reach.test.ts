/** A commit re-evaluates only the namespaces its files reach; the snapshot equals a full build. */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SecretScopes,
  changedNamespaces,
  evaluateRepo,
  listingDistance,
  listingSplice,
  memorySource,
} from '../../src/engine/index.js';
import type { RepoEvaluator } from '../../src/engine/index.js';
import { buildSnapshot, nearestSnapshot, snapshotToData } from '../../src/snapshot/index.js';
import type { Snapshot } from '../../src/snapshot/index.js';
import { CONFIG_FILES } from '../server/server-fixture.js';

const entries = (files: Record<string, string>) => memorySource(files).entries;

describe('changedNamespaces', () => {
  const reach = (change: Record<string, string | null>) => {
    const next: Record<string, string> = { ...CONFIG_FILES };
    for (const [path, text] of Object.entries(change)) {
      if (text === null) delete next[path];
      else next[path] = text;
    }
    return changedNamespaces(entries(CONFIG_FILES), entries(next));
  };

  it('maps each kind of file to its namespace, and the manifest to everything', () => {
    assert.deepEqual(reach({}), []);
    assert.deepEqual(reach({ 'defaults/db.yaml': 'host: other\n' }), ['db']);
    assert.deepEqual(reach({ 'environments/staging/app.yaml': 'greeting: x\n' }), ['app']);
    assert.deepEqual(reach({ 'environments/production/db.yaml': 'host: p\n' }), ['db']);
    assert.deepEqual(reach({ 'schemas/app.schema.json': '{}' }), ['app']);
    assert.deepEqual(reach({ 'schemas/app.v1.schema.json': '{}' }), ['app']);
    assert.deepEqual(reach({ 'migrations/db/2.yaml': 'x: 1\n' }), ['db']);
    assert.deepEqual(reach({ 'defaults/db.yaml': null, 'schemas/db.schema.json': null }), ['db']);
    assert.deepEqual(reach({ 'defaults/app.yaml': 'a: 1\n', 'defaults/db.yaml': 'b: 2\n' }), ['app', 'db']);
    assert.deepEqual(reach({ 'README.md': 'docs' }), []);
    assert.equal(reach({ 'gitcfg.yaml': `${CONFIG_FILES['gitcfg.yaml']}# edited\n` }), undefined);
  });
});

describe('listingSplice', () => {
  const listing = (...names: string[]) =>
    names.map((n) => ({ path: n, oid: `${n}-oid`, mode: '100644', type: 'blob' as const }));

  it('finds the one stretch where two listings differ', () => {
    const before = listing('a', 'b', 'c', 'd');
    assert.deepEqual(listingSplice(before, before), { start: 4, beforeEnd: 4, afterEnd: 4 });
    assert.deepEqual(listingSplice(before, listing('a', 'b', 'c', 'd')), {
      start: 4,
      beforeEnd: 4,
      afterEnd: 4,
    });
    const changed = listing('a', 'b', 'c', 'd');
    changed[1] = { ...changed[1]!, oid: 'other' };
    assert.deepEqual(listingSplice(before, changed), { start: 1, beforeEnd: 2, afterEnd: 2 });
    assert.deepEqual(listingSplice(before, listing('a', 'b', 'bb', 'c', 'd')), {
      start: 2,
      beforeEnd: 2,
      afterEnd: 3,
    });
    assert.deepEqual(listingSplice(before, listing('a', 'd')), { start: 1, beforeEnd: 3, afterEnd: 1 });
    assert.deepEqual(listingSplice([], listing('a')), { start: 0, beforeEnd: 0, afterEnd: 1 });
    assert.deepEqual(listingSplice(before, []), { start: 0, beforeEnd: 4, afterEnd: 0 });
    // A repeated entry at the edge is counted once (head and tail never overlap).
    assert.deepEqual(listingSplice(listing('a', 'a'), listing('a')), { start: 1, beforeEnd: 2, afterEnd: 1 });
  });
});

describe('listingDistance', () => {
  const listing = (...names: string[]) =>
    names.map((n) => ({ path: n, oid: `${n}-oid`, mode: '100644', type: 'blob' as const }));

  it('counts entries changed, added and removed, up to a bound', () => {
    const before = listing('a', 'b', 'c', 'd', 'e');
    assert.equal(listingDistance(before, listing('a', 'b', 'c', 'd', 'e')), 0);
    const changed = listing('a', 'b', 'c', 'd', 'e');
    changed[1] = { ...changed[1]!, oid: 'other' };
    changed[3] = { ...changed[3]!, mode: '100755' };
    assert.equal(listingDistance(before, changed), 2);
    // b removed, bb and f added, e changed.
    const after = listing('a', 'bb', 'c', 'd', 'e', 'f');
    after[4] = { ...after[4]!, oid: 'other' };
    assert.equal(listingDistance(before, after), 4);
    assert.equal(listingDistance(after, before), 4);
    assert.equal(listingDistance([], before), 5);
    assert.equal(listingDistance(before, []), 5);
    // Stops counting past the bound (what choosing the nearest of several trees needs).
    assert.equal(listingDistance([], before, 1), 2);
  });
});

describe('evaluations of one listing', () => {
  it('share its layout, and a restricted evaluation does not narrow a later full one', async () => {
    const source = memorySource(CONFIG_FILES);
    const restricted = await evaluateRepo(source, { namespaces: ['db'] });
    assert.deepEqual([...new Set([...restricted.configs.values()].map((c) => c.namespace))], ['db']);
    const full = await evaluateRepo(source);
    const fresh = await evaluateRepo(memorySource(CONFIG_FILES));
    assert.deepEqual([...full.configs.keys()].sort(), [...fresh.configs.keys()].sort());
    assert.ok(full.configs.has('app/staging'));
  });
});

describe('buildSnapshot after a previous build', () => {
  /** An evaluator that records which namespaces each evaluation was asked for. */
  function recording(): { evaluate: RepoEvaluator; asked: (readonly string[] | 'all')[] } {
    const asked: (readonly string[] | 'all')[] = [];
    return {
      asked,
      evaluate: (source, options) => {
        asked.push(options?.namespaces ?? 'all');
        return evaluateRepo(source, options);
      },
    };
  }

  async function build(files: Record<string, string>, previous: Snapshot | null, evaluate?: RepoEvaluator) {
    const result = await buildSnapshot({
      commit: 'c'.repeat(40),
      source: memorySource(files),
      previous,
      now: () => new Date(0),
      ...(evaluate ? { evaluate } : {}),
    });
    if (!result.ok) return result.issues;
    return result.snapshot;
  }

  it('evaluates only the changed namespace and serves what a full build serves', async () => {
    const { evaluate, asked } = recording();
    const first = (await build(CONFIG_FILES, null, evaluate)) as Snapshot;
    const files: Record<string, string> = { ...CONFIG_FILES, 'defaults/db.yaml': 'host: db.other\n' };
    const next = (await build(files, first, evaluate)) as Snapshot;
    assert.deepEqual(asked, ['all', ['db']]);
    const full = (await build(files, null)) as Snapshot;
    const sorted = (s: Snapshot) => {
      const data = snapshotToData(s);
      return { ...data, configs: [...data.configs].sort((a, b) => (a.inputKey < b.inputKey ? -1 : 1)) };
    };
    assert.deepEqual(sorted(next), sorted(full));
    assert.equal(next.bundles.get('staging')?.json.etag, full.bundles.get('staging')?.json.etag);
    assert.equal(next.configs.get('app/staging'), first.configs.get('app/staging'), 'reused as is');

    // A manifest change reaches everything; an invalid change in one namespace still fails the commit.
    await build({ ...files, 'gitcfg.yaml': `${files['gitcfg.yaml']}# edited\n` }, next, evaluate);
    assert.equal(asked.at(-1), 'all');
    const broken = await build({ ...files, 'defaults/app.yaml': 'greeting: 5\n' }, next, evaluate);
    assert.deepEqual(asked.at(-1), ['app']);
    assert.ok(Array.isArray(broken) && broken.some((i) => i.namespace === 'app'));
    // A removed namespace disappears from the snapshot.
    const { 'defaults/db.yaml': _d, 'schemas/db.schema.json': _s, ...withoutDb } = files;
    const gone = (await build(withoutDb, next, evaluate)) as Snapshot;
    assert.deepEqual(gone.namespaces, ['app']);
    assert.deepEqual([...gone.configs.keys()].sort(), ['app/production', 'app/staging']);
  });

  it('builds on the nearest snapshot, where another manifest counts as farthest and other scopes not at all', async () => {
    const base = (await build(CONFIG_FILES, null)) as Snapshot;
    const changed = {
      ...CONFIG_FILES,
      'defaults/app.yaml': 'greeting: changed\n',
      'defaults/db.yaml': 'host: changed\n',
    };
    // One entry away from the asked tree (its manifest), against two for `base`; but a manifest change
    // re-evaluates everything, so `base` is the nearer base.
    const otherManifest = (await build(
      { ...changed, 'gitcfg.yaml': `${CONFIG_FILES['gitcfg.yaml']}# edited\n` },
      null,
    )) as Snapshot;
    const asked = memorySource(changed).entries;
    assert.equal(nearestSnapshot(asked, [otherManifest, base]), base);
    assert.equal(nearestSnapshot(asked, [otherManifest]), otherManifest, 'still better than none');
    const sameTree = (await build(changed, null)) as Snapshot;
    assert.equal(nearestSnapshot(asked, [base, otherManifest, sameTree, null]), sameTree);
    // Built without secret scopes: no base for a build with them (its reach would be wrong).
    assert.equal(nearestSnapshot(asked, [base, sameTree], SecretScopes.none()), null);
  });
});
