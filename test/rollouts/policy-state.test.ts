import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { evaluateRepo, memorySource } from '../../src/engine/index.js';
import {
  ClientInventory,
  abortRollout,
  bucketOf,
  checkedState,
  effectivePolicy,
  onCandidate,
  parseDuration,
  pauseRollout,
  phaseAt,
  policyOf,
  promoteRollout,
  resumeRollout,
  startRollout,
} from '../../src/rollouts/index.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const policy = { steps: [5, 25, 50, 100], stepMs: 1000, bakeMs: 500 };

test('durations and policies', () => {
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.throws(() => parseDuration('10 m'), /invalid duration/);
  assert.deepEqual(policyOf({ steps: [10, 50], stepDuration: '1s' }), {
    steps: [10, 50, 100],
    stepMs: 1000,
    bakeMs: 0,
  });
  assert.deepEqual(policyOf({ exponential: { start: 5, factor: 3 }, stepDuration: '1m', bakeTime: '2m' }), {
    steps: [5, 15, 45, 100],
    stepMs: 60_000,
    bakeMs: 120_000,
  });
});

test('an environment inherits its parent policy unless it sets its own; false opts out', () => {
  const spec = { steps: [5, 100], stepDuration: '1s' };
  const envs = {
    prod: { rollout: spec },
    'prod-eu': { extends: 'prod' },
    'prod-us': { extends: 'prod', rollout: false as const },
    'prod-us-east': { extends: 'prod-us' },
    canary: { extends: 'prod', rollout: { steps: [50], stepDuration: '2s' } },
    dev: {},
  };
  assert.deepEqual(effectivePolicy(envs, 'prod-eu')?.steps, [5, 100]);
  assert.equal(effectivePolicy(envs, 'prod-us'), null);
  assert.equal(effectivePolicy(envs, 'prod-us-east'), null);
  assert.deepEqual(effectivePolicy(envs, 'canary'), { steps: [50, 100], stepMs: 2000, bakeMs: 0 });
  assert.equal(effectivePolicy(envs, 'dev'), null);
});

test('the manifest schema accepts rollout policies and rejects bad ones with their place', async () => {
  const manifest = (rollout: string) =>
    memorySource({
      'gitcfg.yaml': `version: 1\nenvironments:\n  prod:\n    rollout: ${rollout}\n`,
      'schemas/app.schema.json': '{"type":"object"}',
      'defaults/app.yaml': 'a: 1\n',
    });
  for (const ok of [
    '{steps: [5, 25, 50, 100], stepDuration: 10m, bakeTime: 15m}',
    '{exponential: {start: 1, factor: 2}, stepDuration: 30s}',
    'false',
  ]) {
    const ev = await evaluateRepo(manifest(ok));
    assert.deepEqual(
      ev.issues.map((i) => i.message),
      [],
      ok,
    );
  }
  for (const bad of [
    '{steps: [50, 25], stepDuration: 10m}',
    '{steps: [5], stepDuration: ten}',
    '{steps: [5]}',
    '{steps: [0, 5], stepDuration: 1s}',
    '{steps: [5], exponential: {start: 1}, stepDuration: 1s}',
    'true',
  ]) {
    const ev = await evaluateRepo(manifest(bad));
    assert.ok(ev.issues.length > 0, bad);
    assert.ok(
      ev.issues.every((i) => i.file === 'gitcfg.yaml'),
      bad,
    );
  }
});

test('the share follows the steps, pauses stop the clock, the bake ends the rollout', () => {
  const s = startRollout('prod', A, B, policy, 10_000);
  assert.deepEqual(phaseAt(s, 10_000), { status: 'running', share: 5, step: 0, nextAt: 11_000 });
  assert.equal(phaseAt(s, 11_000).share, 25);
  assert.equal(phaseAt(s, 12_999).share, 50);
  assert.deepEqual(phaseAt(s, 13_000), { status: 'baking', share: 100, step: 3, nextAt: 13_500 });
  assert.equal(phaseAt(s, 13_500).status, 'completed');

  const paused = pauseRollout(s, 11_200);
  assert.deepEqual(phaseAt(paused, 20_000), { status: 'paused', share: 25, step: 1, nextAt: null });
  const resumed = resumeRollout(paused, 21_200);
  assert.equal(resumed.pausedMs, 10_000);
  assert.deepEqual(phaseAt(resumed, 21_200), { status: 'running', share: 25, step: 1, nextAt: 22_000 });

  assert.equal(phaseAt(promoteRollout(s, 10_100, 'ops'), 10_200).share, 100);
  assert.equal(phaseAt(promoteRollout(s, 10_100, 'ops'), 10_200).status, 'promoted');
  const aborted = abortRollout(s, 12_000, 'alertmanager');
  assert.deepEqual(phaseAt(aborted, 12_001), { status: 'aborted', share: 0, step: 0, nextAt: null });
  assert.throws(() => pauseRollout(aborted, 12_002), { code: 'E_CONFLICT' });
  assert.throws(() => abortRollout(s, 13_600, 'x'), /completed/);
});

test('assignment: shares within 3 points at each step, no client leaves the candidate, no id stays stable', () => {
  const s = startRollout('prod', A, B, policy, 0);
  const ids = Array.from({ length: 2000 }, (_, i) => `pod-${i}`);
  const onNew = new Set<string>();
  for (const [t, expected] of [
    [0, 5],
    [1000, 25],
    [2000, 50],
    [3000, 100],
  ] as const) {
    const now = ids.filter((id) => onCandidate(s, id, t));
    assert.ok(Math.abs((now.length / ids.length) * 100 - expected) <= 3, `${now.length} at ${expected}%`);
    for (const id of onNew) assert.ok(now.includes(id), `${id} went back to the stable`);
    for (const id of now) onNew.add(id);
    // No client id: the stable while the rollout runs, the bake at 100 % included.
    assert.equal(onCandidate(s, undefined, t), false);
  }
  assert.equal(onCandidate(s, undefined, 3500), true, 'completed: everyone on the candidate');
  // Another rollout id reshuffles the clients (a bad canary does not always hit the same pods).
  assert.notEqual(bucketOf('pod-1', 'x'.repeat(16)), bucketOf('pod-1', s.id));
  assert.equal(s.id, startRollout('prod', A, B, policy, 99).id);
});

test('states read back from disk are checked', () => {
  const s = startRollout('prod', A, B, policy, 5);
  assert.deepEqual(checkedState(JSON.parse(JSON.stringify(s))), s);
  assert.equal(checkedState({ ...s, stable: 'HEAD' }), null);
  assert.equal(checkedState({ ...s, policy: { ...policy, steps: [5, 50] } }), null);
  assert.equal(checkedState({ ...s, env: '../x' }), null);
});

test('the inventory is bounded and expires', () => {
  let now = 0;
  const inv = new ClientInventory({ maxEntries: 100, ttlMs: 1000 }, () => now);
  for (let i = 0; i < 250; i++) inv.seen('prod', `c${i}`, i % 2 ? A : B);
  assert.equal(inv.size, 100);
  assert.equal(inv.list('prod')[0]?.id.startsWith('c'), true);
  assert.deepEqual([...inv.countByCommit('prod').values()].sort(), [50, 50]);
  now = 600;
  inv.seen('prod', 'c249', A);
  now = 1500;
  assert.deepEqual(
    inv.list('prod').map((c) => c.id),
    ['c249'],
  );
  inv.seen('prod', 'x'.repeat(500), A);
  assert.equal(inv.list('prod')[0]?.id.length, 128);
});
