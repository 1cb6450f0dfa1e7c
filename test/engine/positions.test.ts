import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { compareIssues, evaluateRepo, formatIssue, memorySource } from '../../src/engine/index.js';
import { RETRY_SCHEMA, baseRepo } from './engine-fixtures.js';

test('a bad value points at the override that set it, in every environment that inherits it', async () => {
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({
        'environments/production/retry.yaml': '# production\nhttp:\n  max_retries: -1\n',
        'environments/staging/retry.yaml': 'http:\n  note: staging\n',
      }),
    ),
  );
  const issues = ev.issues.filter((i) => i.code === 'schema-violation');
  assert.deepEqual(
    issues.map((i) => [i.file, i.line, i.column, i.environment, i.path]),
    [
      ['environments/production/retry.yaml', 3, 16, 'production', '/http/max_retries'],
      ['environments/production/retry.yaml', 3, 16, 'staging', '/http/max_retries'],
    ],
  );
});

test('a cross-field rule ($data) points at the value that breaks it', async () => {
  const ev = await evaluateRepo(
    memorySource(baseRepo({ 'environments/testing/retry.yaml': 'http:\n  base_delay_ms: 5000\n' })),
  );
  const [issue, ...rest] = ev.issues;
  assert.equal(rest.length, 0, ev.issues.map(formatIssue).join('\n'));
  // max_delay_ms (1000, from defaults) is now below base_delay_ms: the rule is on max_delay_ms.
  assert.equal(issue?.path, '/http/max_delay_ms');
  assert.equal(issue?.file, 'defaults/retry.yaml');
  assert.deepEqual([issue?.line, issue?.column], [6, 17]);
  assert.match(issue!.message, /5000/);
});

test('an unknown property points at its key in the file that added it', async () => {
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({
        'environments/development/retry.yaml': 'http:\n  max_retries: 1\n  timeout_ms:\n    connect: 5\n',
      }),
    ),
  );
  const [issue] = ev.issues;
  assert.equal(ev.issues.length, 1);
  assert.equal(issue?.path, '/http/timeout_ms');
  assert.deepEqual([issue?.file, issue?.line, issue?.column], ['environments/development/retry.yaml', 3, 3]);
  assert.match(issue!.message, /timeout_ms/);
});

test('a required property removed by !delete points at the deletion', async () => {
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({ 'environments/production/retry.yaml': 'tags: []\nhttp:\n  max_retries: !delete\n' }),
    ),
  );
  assert.deepEqual(
    ev.issues.map((i) => [i.file, i.line, i.column, i.environment, i.path]),
    [
      ['environments/production/retry.yaml', 3, 3, 'production', '/http/max_retries'],
      ['environments/production/retry.yaml', 3, 3, 'staging', '/http/max_retries'],
    ],
  );
});

test('a missing required property points at the parent mapping in the highest layer that has it', async () => {
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({
        'schemas/retry.schema.json': RETRY_SCHEMA.replace(
          '"max_delay_ms"\n',
          '"max_delay_ms",\n          "note"\n',
        ),
        'environments/production/retry.yaml': 'tags: []\nhttp:\n  max_retries: 4\n',
        'environments/staging/retry.yaml': '\n\nhttp:\n  base_delay_ms: 1\n',
      }),
    ),
  );
  assert.deepEqual(
    ev.issues.map((i) => [i.environment, i.file, i.line, i.column, i.path]),
    [
      ['development', 'defaults/retry.yaml', 3, 1, '/http/note'],
      ['testing', 'defaults/retry.yaml', 3, 1, '/http/note'],
      ['production', 'environments/production/retry.yaml', 2, 1, '/http/note'],
      ['staging', 'environments/staging/retry.yaml', 3, 1, '/http/note'],
    ],
  );
});

test('all issues of all files and pairs are returned, sorted by file, line, column', async () => {
  const ev = await evaluateRepo(
    memorySource(
      baseRepo({
        'environments/development/retry.yaml': 'http:\n  max_retries: x\n  base_delay_ms: y\n',
        'environments/testing/retry.yaml': 'http: [\n',
        'environments/production/retry.yaml': 'bogus: 1\n',
        'environments/staging/retry.yaml': 'tags: [1]\n',
        'defaults/Bad.yaml': 'a: 1\n',
        'schemas/other.schema.json':
          '{"type": "object", "additionalProperties": false, "required": ["x"], "properties": {"x": {"type": "string"}}}',
        'defaults/other.yaml': 'y: 1\n',
      }),
    ),
  );
  const summary = ev.issues.map(
    (i) => `${i.code} ${i.file}:${i.line ?? '-'} ${i.namespace ?? ''}/${i.environment ?? ''}`,
  );
  const expected = [
    'layout-invalid-name defaults/Bad.yaml:- /',
    'schema-violation environments/development/retry.yaml:2 retry/development',
    'schema-violation environments/development/retry.yaml:3 retry/development',
    'schema-violation environments/production/retry.yaml:1 retry/production',
    'schema-violation environments/production/retry.yaml:1 retry/staging',
    'schema-violation environments/staging/retry.yaml:1 retry/staging',
    'yaml-syntax environments/testing/retry.yaml:',
  ];
  for (const e of expected)
    assert.ok(
      summary.some((s) => s.startsWith(e)),
      `missing ${e} in\n${summary.join('\n')}`,
    );
  // other: `y` unknown and `x` missing, in each of the four environments.
  assert.equal(ev.issues.filter((i) => i.namespace === 'other').length, 8);
  assert.deepEqual([...ev.issues].sort(compareIssues), ev.issues);
  assert.equal(ev.configs.size, 0);
});
