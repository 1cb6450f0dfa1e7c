import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { LIMIT_CAPS, evaluateRepo, formatIssue, memorySource } from '../../src/engine/index.js';
import type { Evaluation, IssueCode } from '../../src/engine/index.js';
import { MANIFEST, RETRY_DEFAULTS, RETRY_SCHEMA, baseRepo } from './engine-fixtures.js';

const evaluate = (files: Record<string, string | Uint8Array>) => evaluateRepo(memorySource(files));

function issue(ev: Evaluation, code: IssueCode, file: string) {
  const found = ev.issues.find((i) => i.code === code && i.file === file);
  assert.ok(found, `expected ${code} on ${file}, got:\n${ev.issues.map(formatIssue).join('\n')}`);
  return found;
}

/** `RETRY_SCHEMA` with extra properties (and other keywords) at the top level. */
function schemaWith(properties: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const base = JSON.parse(RETRY_SCHEMA) as { properties: Record<string, unknown> };
  return JSON.stringify({ ...base, properties: { ...base.properties, ...properties }, ...extra }, null, 2);
}

test('a catastrophic-backtracking pattern is evaluated in linear time', async () => {
  const schema = schemaWith({ name: { type: 'string', pattern: '^(a+)+$' } });
  const ev = await evaluate({
    'gitcfg.yaml': MANIFEST,
    'schemas/retry.schema.json': schema,
    // 40 characters: a backtracking engine would take hours.
    'defaults/retry.yaml': `${RETRY_DEFAULTS}name: ${'a'.repeat(40)}!\n`,
  });
  const found = issue(ev, 'schema-violation', 'defaults/retry.yaml');
  assert.equal(found.path, '/name');
  assert.equal(found.line, RETRY_DEFAULTS.split('\n').length);
});

test('a pattern the linear engine cannot express is a schema issue at its line', async () => {
  const schema = schemaWith(
    { name: { type: 'string', pattern: '^(a)\\1$' } },
    { patternProperties: { '^x(?=y)': { type: 'string' } } },
  );
  const ev = await evaluate(baseRepo({ 'schemas/retry.schema.json': schema }));
  const found = issue(ev, 'schema-invalid', 'schemas/retry.schema.json');
  // Either unsupported pattern may be met first; the issue points at the one it names.
  const lines = schema.split('\n');
  const bad = found.message.includes('(?=y)') ? '"^x(?=y)"' : '"pattern"';
  assert.equal(found.line, lines.findIndex((l) => l.includes(bad)) + 1);
  assert.match(found.message, /backreferences or lookaround/);
});

test('a schema whose $id is a meta-schema is an issue on that schema only', async () => {
  const files = baseRepo({
    'schemas/evil.schema.json': JSON.stringify(
      { $id: 'https://json-schema.org/draft/2020-12/schema', type: 'object' },
      null,
      2,
    ),
    'defaults/evil.yaml': '{}\n',
    'schemas/other.schema.json': JSON.stringify({ type: 'object', properties: { a: { type: 'integer' } } }),
    'defaults/other.yaml': 'a: 1\n',
  });
  const ev = await evaluate(files);
  const found = issue(ev, 'schema-invalid', 'schemas/evil.schema.json');
  assert.equal(found.line, 2);
  assert.deepEqual(ev.issues.filter((i) => i.file !== 'schemas/evil.schema.json').map(formatIssue), []);
  assert.ok(ev.configs.has('other/production') && ev.configs.has('retry/production'));
});

test('aliases within maxAliasCount that expand past maxNodes are refused before conversion', async () => {
  const items = Array.from({ length: 100_000 }, (_, i) => i).join(', ');
  const bomb = `tags: &a0 [${items}]\nblob: [${Array(25).fill('*a0').join(', ')}]\n`;
  const ev = await evaluate(baseRepo({ 'environments/production/retry.yaml': bomb }));
  const found = issue(ev, 'yaml-node-limit', 'environments/production/retry.yaml');
  assert.equal(found.line, 1);
});

test('a manifest cannot raise maxFileBytes above the server cap', async () => {
  const big = `tags: [${'"x", '.repeat(LIMIT_CAPS.maxFileBytes / 5 + 10)}"x"]\n`;
  const ev = await evaluate({
    'gitcfg.yaml': `${MANIFEST}options:\n  maxFileBytes: 67108864\n`,
    'schemas/retry.schema.json': RETRY_SCHEMA,
    'defaults/retry.yaml': `${RETRY_DEFAULTS}${big}`,
  });
  assert.equal(ev.limits.maxFileBytes, LIMIT_CAPS.maxFileBytes);
  issue(ev, 'file-too-large', 'defaults/retry.yaml');
});
