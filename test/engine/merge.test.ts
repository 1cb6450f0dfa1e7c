import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { evaluateRepo, memorySource } from '../../src/engine/index.js';
import { baseRepo } from './engine-fixtures.js';

test('maps merge deeply, arrays and scalars replace', async () => {
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({
        'environments/development/retry.yaml': 'tags: [c]\nhttp:\n  max_retries: 0\n',
      }),
    ),
  );
  assert.deepEqual(ev.issues, []);
  assert.deepEqual(ev.configs.get('retry/development')?.value, {
    tags: ['c'],
    http: { max_retries: 0, base_delay_ms: 100, max_delay_ms: 1000 },
  });
  // No override: the defaults as written.
  assert.deepEqual(ev.configs.get('retry/testing')?.value, {
    tags: ['a', 'b'],
    http: { max_retries: 3, base_delay_ms: 100, max_delay_ms: 1000 },
  });
});

test('an environment inherits the overrides of the environment it extends, its own win', async () => {
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({
        'environments/production/retry.yaml': 'http:\n  max_retries: 5\n  note: prod\n',
        'environments/staging/retry.yaml': 'http:\n  note: staging\n',
      }),
    ),
  );
  assert.deepEqual(ev.issues, []);
  const staging = ev.configs.get('retry/staging')!;
  assert.deepEqual(staging.value.http, {
    max_retries: 5,
    base_delay_ms: 100,
    max_delay_ms: 1000,
    note: 'staging',
  });
  assert.deepEqual(staging.files, [
    'defaults/retry.yaml',
    'environments/production/retry.yaml',
    'environments/staging/retry.yaml',
  ]);
  assert.equal(staging.origins.get('/http/max_retries')?.file, 'environments/production/retry.yaml');
  assert.equal(staging.origins.get('/http/note')?.file, 'environments/staging/retry.yaml');
  assert.equal(staging.origins.get('/http/base_delay_ms')?.file, 'defaults/retry.yaml');
  assert.deepEqual(ev.configs.get('retry/production')?.value.http, {
    max_retries: 5,
    base_delay_ms: 100,
    max_delay_ms: 1000,
    note: 'prod',
  });
});

test('a three-level extends chain applies root first', async () => {
  const manifest = 'version: 1\nenvironments:\n  a: {}\n  b: {extends: a}\n  c: {extends: b}\n';
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({
        'gitcfg.yaml': manifest,
        'environments/a/retry.yaml': 'http: {max_retries: 1, note: a}\n',
        'environments/b/retry.yaml': 'http: {max_retries: 2}\n',
        'environments/c/retry.yaml': 'tags: [c]\n',
      }),
    ),
  );
  assert.deepEqual(ev.issues, []);
  assert.deepEqual(ev.configs.get('retry/c')?.value, {
    tags: ['c'],
    http: { max_retries: 2, base_delay_ms: 100, max_delay_ms: 1000, note: 'a' },
  });
  assert.deepEqual(ev.configs.get('retry/c')?.files, [
    'defaults/retry.yaml',
    'environments/a/retry.yaml',
    'environments/b/retry.yaml',
    'environments/c/retry.yaml',
  ]);
});

test('!delete removes an inherited key, also for environments that extend the deleting one', async () => {
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({
        'defaults/retry.yaml':
          'tags: [a]\nhttp:\n  max_retries: 3\n  base_delay_ms: 100\n  max_delay_ms: 1000\n  note: x\n',
        'environments/production/retry.yaml': 'tags: !delete\nhttp:\n  note: !delete\n',
        'environments/staging/retry.yaml': 'http:\n  max_retries: 4\n',
        'environments/testing/retry.yaml': 'http:\n  missing_key: !delete\n',
      }),
    ),
  );
  assert.deepEqual(ev.issues, []);
  assert.deepEqual(ev.configs.get('retry/production')?.value, {
    http: { max_retries: 3, base_delay_ms: 100, max_delay_ms: 1000 },
  });
  assert.deepEqual(ev.configs.get('retry/staging')?.value, {
    http: { max_retries: 4, base_delay_ms: 100, max_delay_ms: 1000 },
  });
  // Deleting a key that no lower layer has is a no-op.
  assert.deepEqual(ev.configs.get('retry/testing')?.value.http, {
    max_retries: 3,
    base_delay_ms: 100,
    max_delay_ms: 1000,
    note: 'x',
  });
  assert.equal(ev.configs.get('retry/production')?.origins.has('/http/note'), false);
});

test('a key deleted below can be set again by a higher layer', async () => {
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({
        'environments/production/retry.yaml': 'tags: !delete\n',
        'environments/staging/retry.yaml': 'tags: [s]\n',
      }),
    ),
  );
  assert.deepEqual(ev.issues, []);
  assert.deepEqual(ev.configs.get('retry/staging')?.value.tags, ['s']);
  assert.equal(
    ev.configs.get('retry/staging')?.origins.get('/tags')?.file,
    'environments/staging/retry.yaml',
  );
});

test('$schemaVersion is stripped; empty and comment-only files are {}', async () => {
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({
        'defaults/retry.yaml': `$schemaVersion: 1\n${'http: {max_retries: 1, base_delay_ms: 1, max_delay_ms: 2}\n'}`,
        'environments/production/retry.yaml': '',
        'environments/staging/retry.yaml': '# nothing to change yet\n',
      }),
    ),
  );
  assert.deepEqual(ev.issues, []);
  for (const env of ['development', 'production', 'staging', 'testing']) {
    assert.deepEqual(ev.configs.get(`retry/${env}`)?.value, {
      http: { max_retries: 1, base_delay_ms: 1, max_delay_ms: 2 },
    });
  }
});

test('resolved values are frozen so cached results cannot be corrupted', async () => {
  const ev = await evaluateRepo(
    memorySource(baseRepo({ 'environments/production/retry.yaml': 'tags: [x]\n' })),
  );
  const value = ev.configs.get('retry/production')!.value;
  assert.throws(() => {
    (value as Record<string, unknown>).tags = [];
  }, TypeError);
  assert.throws(() => {
    (value.http as Record<string, unknown>).max_retries = 9;
  }, TypeError);
});

test('origins: leaves point at the value, containers at the key, array items at the item', async () => {
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({
        'environments/development/retry.yaml': '# dev\ntags:\n  - x\n  - y\nhttp:\n  max_retries: 7\n',
      }),
    ),
  );
  const o = ev.configs.get('retry/development')!.origins;
  const f = 'environments/development/retry.yaml';
  assert.deepEqual(o.get('/tags'), { file: f, line: 2, column: 1 });
  assert.deepEqual(o.get('/tags/1'), { file: f, line: 4, column: 5 });
  assert.deepEqual(o.get('/http'), { file: f, line: 5, column: 1 });
  // A scalar's origin also carries where its key starts (messages about the key point there).
  assert.deepEqual(o.get('/http/max_retries'), { file: f, line: 6, column: 16, keyLine: 6, keyColumn: 3 });
  assert.deepEqual(o.get('/http/base_delay_ms'), {
    file: 'defaults/retry.yaml',
    line: 5,
    column: 18,
    keyLine: 5,
    keyColumn: 3,
  });
});

test('a mapping written only to reach !delete keys adds nothing where the lower layers have nothing', async () => {
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({
        'schemas/retry.schema.json': '{"type": "object"}',
        'defaults/retry.yaml': 'a: 1\nkeep: {x: 1}\n',
        'environments/production/retry.yaml':
          'a: {gone: !delete}\nb: {c: {gone: !delete}}\nkeep: {x: !delete}\nd: {}\n',
      }),
    ),
  );
  assert.deepEqual(ev.issues, []);
  // `a` stays the scalar it was, `b` is not created, `keep` loses x but stays, an explicit `{}` is a value.
  const prod = ev.configs.get('retry/production')!;
  assert.deepEqual(prod.value, { a: 1, keep: {}, d: {} });
  assert.deepEqual(prod.origins.get('/a'), {
    file: 'defaults/retry.yaml',
    line: 1,
    column: 4,
    keyLine: 1,
    keyColumn: 1,
  });
  assert.equal(prod.origins.get('/keep')?.file, 'defaults/retry.yaml');
  assert.equal(prod.origins.get('/d')?.file, 'environments/production/retry.yaml');
});
