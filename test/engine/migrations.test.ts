import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { evaluateRepo, formatIssue, memorySource } from '../../src/engine/index.js';
import { MANIFEST } from './engine-fixtures.js';

const V1 = {
  type: 'object',
  additionalProperties: false,
  properties: { timeouts: { type: 'object', additionalProperties: { type: 'integer' } } },
};
const V2 = {
  type: 'object',
  'x-gitcfg-version': 2,
  additionalProperties: false,
  properties: {
    services: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: { ttl: { type: 'string' } },
      },
    },
  },
};
const MIGRATION = `description: ttl per service as a duration string
operations:
  - rename: { from: /timeouts/*, to: /services/*/ttl }
  - convert: { path: /services/*/ttl, from: seconds, to: duration }
`;

function repo(extra: Record<string, string> = {}) {
  return {
    'gitcfg.yaml': MANIFEST,
    'schemas/cache.schema.json': JSON.stringify(V2),
    'schemas/cache.v1.schema.json': JSON.stringify(V1),
    'migrations/cache/2.yaml': MIGRATION,
    'defaults/cache.yaml': '$schemaVersion: 2\nservices:\n  analytics: {ttl: 1h}\n',
    'environments/production/cache.yaml': '# still at version 1\ntimeouts:\n  analytics: 90\n',
    ...extra,
  };
}

test('documents below the current version are migrated before merging; origins stay on the written value', async () => {
  const ev = await evaluateRepo(memorySource(repo()));
  assert.deepEqual(ev.issues.map(formatIssue), []);
  const prod = ev.configs.get('cache/production')!;
  assert.equal(prod.version, 2);
  assert.deepEqual(prod.value, { services: { analytics: { ttl: '1m30s' } } });
  assert.equal(prod.origins.get('/services/analytics/ttl')?.file, 'environments/production/cache.yaml');
  assert.equal(prod.origins.get('/services/analytics/ttl')?.line, 3);
  assert.deepEqual(ev.configs.get('cache/development')!.value, { services: { analytics: { ttl: '1h' } } });
  const versions = ev.versions.get('cache')!;
  assert.equal(versions.current, 2);
  assert.deepEqual(
    versions.steps.map((s) => s.version),
    [2],
  );
  assert.deepEqual([...versions.oldSchemas.keys()], [1]);
});

test('a document that cannot be migrated is migration-failed at its own file', async () => {
  const ev = await evaluateRepo(
    memorySource(repo({ 'environments/production/cache.yaml': 'timeouts:\n  analytics: soon\n' })),
  );
  const failed = ev.issues.filter((i) => i.code === 'migration-failed');
  assert.equal(failed.length, 1, ev.issues.map(formatIssue).join('\n'));
  assert.equal(failed[0]!.file, 'environments/production/cache.yaml');
  assert.ok(!ev.configs.has('cache/production') && !ev.configs.has('cache/staging'));
  assert.ok(ev.configs.has('cache/development'));
});

test('a missing step in the chain is migration-invalid', async () => {
  const files: Record<string, string> = repo();
  const schema = { ...V2, 'x-gitcfg-version': 3 };
  files['schemas/cache.schema.json'] = JSON.stringify(schema);
  files['defaults/cache.yaml'] = '$schemaVersion: 3\nservices: {}\n';
  const ev = await evaluateRepo(memorySource(files));
  const gaps = ev.issues.filter((i) => i.code === 'migration-invalid');
  assert.equal(gaps.length, 1, ev.issues.map(formatIssue).join('\n'));
  // Reported on the missing file's own path, naming the schema and its version.
  assert.equal(gaps[0]!.file, 'migrations/cache/3.yaml');
  assert.equal(gaps[0]!.namespace, 'cache');
  assert.match(gaps[0]!.message, /migrations\/cache\/3\.yaml is missing/);
  assert.match(gaps[0]!.message, /schemas\/cache\.schema\.json is at version 3/);
  // A step file that exists but is invalid is reported on its own lines, not as missing.
  files['migrations/cache/3.yaml'] = 'operations: nope\n';
  const invalid = await evaluateRepo(memorySource(files));
  const onStep = invalid.issues.filter((i) => i.file === 'migrations/cache/3.yaml');
  assert.ok(onStep.length > 0 && onStep.every((i) => i.line !== undefined && !/is missing/.test(i.message)));
});

test('an old schema at or above the current version is schema-invalid', async () => {
  const ev = await evaluateRepo(memorySource(repo({ 'schemas/cache.v2.schema.json': JSON.stringify(V1) })));
  assert.ok(ev.issues.some((i) => i.code === 'schema-invalid' && i.file === 'schemas/cache.v2.schema.json'));
});
