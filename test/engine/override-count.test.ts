import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { countOverrides, evaluateRepo, memorySource, withoutOrigins } from '../../src/engine/index.js';
import { baseRepo } from './engine-fixtures.js';

const repo = baseRepo({
  'environments/production/retry.yaml': 'tags: []\nhttp:\n  max_retries: 5\n  note: slow\n',
  'environments/staging/retry.yaml': 'http:\n  max_retries: 7\n',
});

test('countOverrides counts the values of the own override file only: leaves and empty containers', async () => {
  const evaluation = await evaluateRepo(memorySource(repo));
  assert.deepEqual(evaluation.issues, []);
  const counts = Object.fromEntries(
    [...evaluation.configs.values()].map((c) => [c.environment, countOverrides(c)]),
  );
  // production: tags (empty), http/max_retries, http/note (not http itself); staging: its own max_retries,
  // not what it inherits from production; no override file: nothing.
  assert.deepEqual(counts, { development: 0, production: 3, staging: 1, testing: 0 });
});

test('withoutOrigins leaves the origins out and keeps the values and the override counts', async () => {
  const evaluation = await evaluateRepo(memorySource(repo));
  const lean = withoutOrigins(evaluation);
  assert.deepEqual(
    [...lean.configs].map(([key, c]) => [key, c.value, c.inputKey, c.files, c.origins.size, c.overrides]),
    [...evaluation.configs].map(([key, c]) => [key, c.value, c.inputKey, c.files, 0, countOverrides(c)]),
  );
  // The counts survive without the origins they were taken from.
  assert.deepEqual(
    [...lean.configs.values()].map(countOverrides),
    [...evaluation.configs.values()].map(countOverrides),
  );
  // The evaluation it came from (and the engine cache that shares its pairs) keeps them.
  assert.ok([...evaluation.configs.values()].every((c) => c.origins.size > 0 && c.overrides === undefined));
});
