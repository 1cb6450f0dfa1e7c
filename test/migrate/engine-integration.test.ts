import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { evaluateRepo, memorySource } from '../../src/engine/index.js';
import { migrateDown } from '../../src/migrate/index.js';

const MANIFEST = 'version: 1\nenvironments:\n  production: {}\n  staging:\n    extends: production\n';

const SCHEMA_V1 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    timeouts: { type: 'object', additionalProperties: { type: 'integer', minimum: 1 } },
  },
};

const SCHEMA_V2 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  'x-gitcfg-version': 2,
  type: 'object',
  additionalProperties: false,
  required: ['services'],
  properties: {
    services: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['ttl'],
        properties: { ttl: { type: 'string', pattern: '^(\\d+[dhms]|\\d+ms)+$' } },
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
  return memorySource({
    'gitcfg.yaml': MANIFEST,
    'schemas/cache.schema.json': JSON.stringify(SCHEMA_V2),
    'schemas/cache.v1.schema.json': JSON.stringify(SCHEMA_V1),
    'migrations/cache/2.yaml': MIGRATION,
    'defaults/cache.yaml': '$schemaVersion: 2\nservices:\n  analytics: { ttl: 1h }\n  agent: { ttl: 1m }\n',
    // An override still written at version 1: loading migrates it before merging.
    'environments/production/cache.yaml': '# busier in production\ntimeouts:\n  agent: 30\n',
    ...extra,
  });
}

describe('evaluateRepo with migrations', () => {
  it('migrates an old document before merging', async () => {
    const evaluation = await evaluateRepo(repo());
    assert.deepEqual(evaluation.issues, []);
    const production = evaluation.configs.get('cache/production');
    assert.deepEqual(production?.value, { services: { analytics: { ttl: '1h' }, agent: { ttl: '30s' } } });
    // The moved value still points at the line where the old file wrote it.
    assert.deepEqual(production?.origins.get('/services/agent/ttl'), {
      file: 'environments/production/cache.yaml',
      line: 3,
      column: 10,
      keyLine: 3,
      keyColumn: 3,
    });
    assert.deepEqual(evaluation.configs.get('cache/staging')?.value, production?.value);
    const versions = evaluation.versions.get('cache');
    assert.equal(versions?.current, 2);
    assert.deepEqual(
      versions?.steps.map((s) => s.version),
      [2],
    );
  });

  it('serves the merged document at version 1 through migrateDown, valid against the old schema', async () => {
    const evaluation = await evaluateRepo(repo());
    const versions = evaluation.versions.get('cache');
    assert.ok(versions);
    const down = migrateDown(evaluation.configs.get('cache/production')?.value ?? {}, 2, 1, versions.steps);
    assert.deepEqual(down.issues, []);
    assert.deepEqual(down.value, { timeouts: { analytics: 3600, agent: 30 } });
  });

  it('moves a `!delete` of an old override with the key it deletes', async () => {
    const schema = structuredClone(SCHEMA_V2);
    schema.properties.services.additionalProperties.required = [];
    const evaluation = await evaluateRepo(
      repo({
        'schemas/cache.schema.json': JSON.stringify(schema),
        'environments/staging/cache.yaml': 'timeouts:\n  analytics: !delete\n',
      }),
    );
    assert.deepEqual(evaluation.issues, []);
    const staging = evaluation.configs.get('cache/staging')?.value.services as Record<string, object>;
    assert.deepEqual(staging.analytics, {});
    assert.deepEqual(staging.agent, { ttl: '30s' });
  });

  it('reports a failing migration at the line of the old value', async () => {
    const evaluation = await evaluateRepo(
      repo({ 'environments/production/cache.yaml': 'timeouts:\n  agent: soon\n' }),
    );
    const issue = evaluation.issues.find((i) => i.code === 'migration-failed');
    assert.ok(issue, JSON.stringify(evaluation.issues));
    assert.equal(issue.file, 'environments/production/cache.yaml');
    assert.equal(issue.line, 2);
    assert.equal(issue.namespace, 'cache');
    assert.match(issue.message, /migrations\/cache\/2\.yaml operation #2 \(convert .*"soon"/);
    assert.equal(evaluation.configs.has('cache/production'), false);
  });

  it('reports an invalid migration file and a document above the current version', async () => {
    const evaluation = await evaluateRepo(
      repo({
        'migrations/cache/2.yaml': 'operations:\n  - rename: { from: /timeouts }\n',
        'environments/staging/cache.yaml': '$schemaVersion: 3\n',
      }),
    );
    const codes = evaluation.issues.map((i) => `${i.code} ${i.file}`);
    assert.ok(codes.includes('migration-invalid migrations/cache/2.yaml'), codes.join('\n'));
    assert.ok(codes.includes('version-unsupported environments/staging/cache.yaml'), codes.join('\n'));
    const invalid = evaluation.issues.find(
      (i) => i.code === 'migration-invalid' && i.file === 'migrations/cache/2.yaml',
    );
    assert.equal(invalid?.line, 2);
  });
});
