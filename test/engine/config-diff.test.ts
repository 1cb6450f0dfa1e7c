import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  EngineCache,
  diffConfigs,
  evaluateRepo,
  memorySource,
  renderValueAtPath,
  valueAtPath,
} from '../../src/engine/index.js';
import { baseRepo } from './engine-fixtures.js';

test('diffConfigs reports effective changes per pair, including inherited ones', async () => {
  const cache = new EngineCache();
  const before = await evaluateRepo(
    memorySource(
      baseRepo({ 'environments/production/retry.yaml': 'http:\n  max_retries: 5\n  note: old\n' }),
    ),
    { cache },
  );
  const after = await evaluateRepo(
    memorySource(
      baseRepo({
        'environments/production/retry.yaml': 'tags: [p]\nhttp:\n  max_retries: 6\n',
        'schemas/extra.schema.json': '{"type": "object"}',
        'defaults/extra.yaml': 'a: 1\n',
      }),
    ),
    { cache },
  );
  const diff = diffConfigs(before, after);
  const prod = diff.find((d) => d.namespace === 'retry' && d.environment === 'production');
  assert.deepEqual(prod, {
    namespace: 'retry',
    environment: 'production',
    status: 'changed',
    changes: [
      { op: 'replace', path: '/http/max_retries', from: 5, to: 6 },
      { op: 'remove', path: '/http/note', from: 'old' },
      { op: 'replace', path: '/tags', from: ['a', 'b'], to: ['p'] },
    ],
  });
  // staging extends production: same effective change.
  assert.deepEqual(
    diff.find((d) => d.environment === 'staging' && d.namespace === 'retry')?.changes,
    prod.changes,
  );
  // development and testing did not change: omitted.
  assert.ok(
    !diff.some(
      (d) => d.namespace === 'retry' && (d.environment === 'development' || d.environment === 'testing'),
    ),
  );
  const added = diff.filter((d) => d.namespace === 'extra');
  assert.equal(added.length, 4);
  assert.ok(added.every((d) => d.status === 'added' && d.changes.length === 1 && d.changes[0]!.op === 'add'));

  const onlyStaging = diffConfigs(before, after, { env: 'staging' });
  assert.deepEqual(
    onlyStaging.map((d) => d.namespace),
    ['extra', 'retry'],
  );
  assert.deepEqual(
    diffConfigs(after, before, { env: 'testing' }).map((d) => [d.namespace, d.status]),
    [['extra', 'removed']],
  );
  assert.deepEqual(diffConfigs(after, after), []);
});

test('value lookup by dotted path or pointer, rendering, and pointer escaping in diffs', async () => {
  const ev = await evaluateRepo(memorySource(baseRepo()));
  const value = ev.configs.get('retry/production')!.value;
  assert.equal(valueAtPath(value, 'http.max_retries'), 3);
  assert.equal(valueAtPath(value, '/http/max_retries'), 3);
  assert.equal(valueAtPath(value, 'tags.1'), 'b');
  assert.equal(valueAtPath(value, 'http.nope'), undefined);
  assert.equal(
    renderValueAtPath(value, 'http', 'yaml'),
    'max_retries: 3\nbase_delay_ms: 100\nmax_delay_ms: 1000\n',
  );
  assert.equal(renderValueAtPath(value, 'tags'), '[\n  "a",\n  "b"\n]\n');
  const before = await evaluateRepo(
    memorySource({
      ...baseRepo(),
      'schemas/k.schema.json': '{"type":"object"}',
      'defaults/k.yaml': '"a/b": 1\n',
    }),
  );
  const after = await evaluateRepo(
    memorySource({
      ...baseRepo(),
      'schemas/k.schema.json': '{"type":"object"}',
      'defaults/k.yaml': '"a/b": 2\n',
    }),
  );
  assert.equal(diffConfigs(before, after, { env: 'testing' })[0]?.changes[0]?.path, '/a~1b');
});
