import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { evaluateRepo, formatIssue, memorySource } from '../../src/engine/index.js';
import type { Evaluation, Issue, IssueCode } from '../../src/engine/index.js';
import { MANIFEST, RETRY_DEFAULTS, RETRY_SCHEMA, baseRepo } from './engine-fixtures.js';

async function evaluate(
  files: Record<string, string | Uint8Array>,
  opts?: Parameters<typeof memorySource>[1],
) {
  return evaluateRepo(memorySource(files, opts));
}

function issuesOf(ev: Evaluation, code: IssueCode): Issue[] {
  return ev.issues.filter((i) => i.code === code);
}

/** Asserts that `code` is reported for `file` (and that the evaluation is not ok). */
function expectIssue(ev: Evaluation, code: IssueCode, file: string | undefined): Issue {
  assert.equal(ev.ok, false);
  const found = issuesOf(ev, code).find((i) => i.file === file);
  assert.ok(found, `expected ${code} for ${file}, got:\n${ev.issues.map(formatIssue).join('\n')}`);
  return found;
}

test('baseline repository is valid', async () => {
  const ev = await evaluate(baseRepo());
  assert.deepEqual(ev.issues, []);
  assert.equal(ev.ok, true);
  assert.deepEqual(ev.namespaces, ['retry']);
  assert.deepEqual(ev.environments, ['development', 'production', 'staging', 'testing']);
  assert.equal(ev.configs.size, 4);
});

test('manifest-missing', async () => {
  const files = baseRepo();
  delete files['gitcfg.yaml'];
  const ev = await evaluate(files);
  expectIssue(ev, 'manifest-missing', 'gitcfg.yaml');
  assert.equal(ev.configs.size, 0);
});

test('manifest-invalid points at the offending key', async () => {
  const ev = await evaluate(
    baseRepo({
      'gitcfg.yaml':
        'version: 1\nenvironments:\n  Prod: {}\n  dev: {extend: prod}\noptions:\n  maxFileBytes: -1\n',
    }),
  );
  const invalid = issuesOf(ev, 'manifest-invalid');
  assert.deepEqual(
    invalid.map((i) => [i.path, i.line, i.column]),
    [
      ['/environments/Prod', 3, 3],
      ['/environments/dev/extend', 4, 9],
      ['/options/maxFileBytes', 6, 17],
    ],
    invalid.map(formatIssue).join('\n'),
  );
  assert.equal(ev.configs.size, 0);
});

test('env-unknown-parent', async () => {
  const ev = await evaluate(
    baseRepo({ 'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n  staging: {extends: prod}\n' }),
  );
  const issue = expectIssue(ev, 'env-unknown-parent', 'gitcfg.yaml');
  assert.equal(issue.environment, 'staging');
  assert.equal(issue.line, 4);
  assert.ok(ev.configs.has('retry/production'));
  assert.ok(!ev.configs.has('retry/staging'));
});

test('env-extends-cycle is reported once per cycle', async () => {
  const ev = await evaluate(
    baseRepo({
      'gitcfg.yaml':
        'version: 1\nenvironments:\n  a: {extends: c}\n  b: {extends: a}\n  c: {extends: b}\n  d: {extends: d}\n  e: {}\n',
    }),
  );
  const cycles = issuesOf(ev, 'env-extends-cycle');
  assert.equal(cycles.length, 2, cycles.map(formatIssue).join('\n'));
  assert.match(cycles.find((i) => i.environment === 'a')!.message, /a -> c -> b -> a/);
  assert.deepEqual([...ev.configs.keys()], ['retry/e']);
});

test('layout-invalid-name', async () => {
  const ev = await evaluate(
    baseRepo({
      'defaults/Retry.yaml': 'a: 1\n',
      'environments/Prod/retry.yaml': 'a: 1\n',
      'schemas/my_ns.schema.json': '{}',
      'migrations/retry/1.yaml': 'x: 1\n',
    }),
  );
  for (const f of [
    'defaults/Retry.yaml',
    'environments/Prod/retry.yaml',
    'schemas/my_ns.schema.json',
    'migrations/retry/1.yaml',
  ]) {
    expectIssue(ev, 'layout-invalid-name', f);
  }
});

test('layout-unexpected-entry (other extensions, stray files, submodules); other top-level files are ignored', async () => {
  const ev = await evaluate(
    baseRepo({
      'defaults/retry.yml': 'a: 1\n',
      'schemas/README.md': '# schemas\n',
      'environments/production.yaml': 'a: 1\n',
      'README.md': '# ok\n',
      'docs/anything/deep.txt': 'ok',
      '.gitignore': 'node_modules\n',
    }),
    { submodules: ['defaults/vendor'] },
  );
  for (const f of [
    'defaults/retry.yml',
    'schemas/README.md',
    'environments/production.yaml',
    'defaults/vendor',
  ]) {
    expectIssue(ev, 'layout-unexpected-entry', f);
  }
  assert.ok(
    !ev.issues.some((i) => i.file === 'README.md' || i.file?.startsWith('docs/') || i.file === '.gitignore'),
  );
});

test('layout-symlink', async () => {
  const ev = await evaluate(baseRepo({ 'environments/production/retry.yaml': '../../defaults/retry.yaml' }), {
    symlinks: ['environments/production/retry.yaml'],
  });
  expectIssue(ev, 'layout-symlink', 'environments/production/retry.yaml');
});

test('layout-nested', async () => {
  const ev = await evaluate(
    baseRepo({
      'defaults/sub/retry.yaml': 'a: 1\n',
      'environments/production/x/retry.yaml': 'a: 1\n',
      'schemas/a/b.schema.json': '{}',
    }),
  );
  for (const f of [
    'defaults/sub/retry.yaml',
    'environments/production/x/retry.yaml',
    'schemas/a/b.schema.json',
  ]) {
    expectIssue(ev, 'layout-nested', f);
  }
});

test('file-too-large (limit from the manifest and from the API)', async () => {
  const big = `http:\n  note: "${'x'.repeat(300)}"\n`;
  const files = baseRepo({
    'gitcfg.yaml': `${MANIFEST}options:\n  maxFileBytes: 200\n`,
    'environments/production/retry.yaml': big,
  });
  const issue = expectIssue(await evaluate(files), 'file-too-large', 'environments/production/retry.yaml');
  assert.match(issue.message, /200/);
  const api = await evaluateRepo(memorySource(baseRepo({ 'environments/production/retry.yaml': big })), {
    limits: { maxFileBytes: 100 },
  });
  expectIssue(api, 'file-too-large', 'environments/production/retry.yaml');
});

test('a bad environment name in the manifest points at the name, not at `environments:`', async () => {
  const ev = await evaluate(
    baseRepo({ 'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n  Prod_X: {}\n  qa: {}\n' }),
  );
  const invalid = issuesOf(ev, 'manifest-invalid');
  assert.equal(invalid.length, 1, invalid.map(formatIssue).join('\n'));
  assert.deepEqual([invalid[0]!.path, invalid[0]!.line, invalid[0]!.column], ['/environments/Prod_X', 4, 3]);
  assert.match(invalid[0]!.message, /Prod_X/);
});

test('an oversized or non-UTF-8 schema is file-too-large / file-not-utf8, like every other file', async () => {
  const big = JSON.stringify({
    ...(JSON.parse(RETRY_SCHEMA) as object),
    description: 'x'.repeat(300),
  });
  const ev = await evaluateRepo(memorySource(baseRepo({ 'schemas/retry.schema.json': big })), {
    limits: { maxFileBytes: 200 },
  });
  const issue = expectIssue(ev, 'file-too-large', 'schemas/retry.schema.json');
  assert.match(issue.message, /above the limit of 200 bytes/);
  assert.equal(issuesOf(ev, 'schema-invalid').length, 0);
  const latin1 = Buffer.from('{"description": "caf\xe9"}', 'latin1');
  const bad = await evaluate(baseRepo({ 'schemas/retry.schema.json': latin1 }));
  expectIssue(bad, 'file-not-utf8', 'schemas/retry.schema.json');
});

test('file-not-utf8', async () => {
  const bytes = new Uint8Array([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]);
  expectIssue(
    await evaluate(baseRepo({ 'environments/production/retry.yaml': bytes })),
    'file-not-utf8',
    'environments/production/retry.yaml',
  );
});

test('yaml-syntax with line and column', async () => {
  const ev = await evaluate(
    baseRepo({ 'environments/production/retry.yaml': 'http:\n  max_retries: [1, 2\n' }),
  );
  const issue = expectIssue(ev, 'yaml-syntax', 'environments/production/retry.yaml');
  assert.ok(issue.line !== undefined && issue.column !== undefined);
  assert.ok(!ev.configs.has('retry/production') && !ev.configs.has('retry/staging'));
  assert.ok(ev.configs.has('retry/development'));
  const multi = await evaluate(
    baseRepo({ 'environments/production/retry.yaml': 'tags: [a]\n---\ntags: [b]\n' }),
  );
  assert.equal(expectIssue(multi, 'yaml-syntax', 'environments/production/retry.yaml').line, 2);
});

test('YAML 1.2 core schema: yes/no and dates stay strings; a byte order mark is ignored', async () => {
  const ev = await evaluate(
    baseRepo({
      'schemas/retry.schema.json': '{"type": "object"}',
      'environments/production/retry.yaml': '\uFEFFflag: yes\nday: 2024-01-31\nnothing:\n',
    }),
  );
  assert.deepEqual(ev.issues, []);
  const value = ev.configs.get('retry/production')!.value;
  assert.deepEqual([value.flag, value.day, value.nothing], ['yes', '2024-01-31', null]);
});

test('yaml-duplicate-key points at the second key', async () => {
  const ev = await evaluate(
    baseRepo({ 'environments/production/retry.yaml': 'http:\n  max_retries: 1\n  max_retries: 2\n' }),
  );
  const issue = expectIssue(ev, 'yaml-duplicate-key', 'environments/production/retry.yaml');
  assert.equal(issue.line, 3);
});

test('yaml-alias-limit', async () => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 8; i++)
    bomb.push(
      `${'b'.repeat(i)}: &${'b'.repeat(i)} [${Array(10)
        .fill(`*${i === 1 ? 'a' : 'b'.repeat(i - 1)}`)
        .join(', ')}]`,
    );
  const ev = await evaluate(baseRepo({ 'environments/production/retry.yaml': `${bomb.join('\n')}\n` }));
  expectIssue(ev, 'yaml-alias-limit', 'environments/production/retry.yaml');
  // A few aliases are fine.
  const ok = await evaluate(
    baseRepo({ 'environments/production/retry.yaml': 'tags: &t [a]\nhttp:\n  note: &n hi\n' }),
  );
  assert.deepEqual(ok.issues, []);
});

test('yaml-not-mapping', async () => {
  const ev = await evaluate(
    baseRepo({
      'environments/production/retry.yaml': '- a\n- b\n',
      'environments/staging/retry.yaml': '42\n',
    }),
  );
  expectIssue(ev, 'yaml-not-mapping', 'environments/production/retry.yaml');
  expectIssue(ev, 'yaml-not-mapping', 'environments/staging/retry.yaml');
});

test('yaml-unsupported: unknown tags, non-JSON numbers, complex keys', async () => {
  const ev = await evaluate(
    baseRepo({
      'environments/production/retry.yaml': 'http:\n  note: !vault secret\n',
      'environments/staging/retry.yaml': 'http:\n  max_retries: .inf\n',
      'environments/testing/retry.yaml': '? [a, b]\n: 1\n',
    }),
  );
  expectIssue(ev, 'yaml-unsupported', 'environments/production/retry.yaml');
  expectIssue(ev, 'yaml-unsupported', 'environments/staging/retry.yaml');
  expectIssue(ev, 'yaml-unsupported', 'environments/testing/retry.yaml');
});

test('yaml-unsupported or yaml-syntax for hostile nesting, never a crash', async () => {
  const ev = await evaluate(
    baseRepo({
      'environments/production/retry.yaml': `a: ${'['.repeat(300)}${']'.repeat(300)}\n`,
      'environments/staging/retry.yaml': `a: ${'['.repeat(100000)}${']'.repeat(100000)}\n`,
    }),
  );
  expectIssue(ev, 'yaml-unsupported', 'environments/production/retry.yaml');
  const staging = ev.issues.filter((i) => i.file === 'environments/staging/retry.yaml');
  // One issue for the file, not one per nesting level (where the parser gives up depends on the stack size).
  assert.equal(staging.length, 1, staging.map(formatIssue).join('\n'));
  assert.ok(['yaml-unsupported', 'yaml-syntax'].includes(staging[0]!.code), staging[0]!.code);
});

test('delete-misplaced: in defaults, in a sequence, with a value', async () => {
  const ev = await evaluate(
    baseRepo({
      'defaults/retry.yaml': `${RETRY_DEFAULTS}extra: !delete\n`,
      'environments/production/retry.yaml': 'tags: [a, !delete]\n',
      'environments/staging/retry.yaml': 'tags: !delete [a]\n',
      'environments/testing/retry.yaml': 'tags: !delete now\n',
    }),
  );
  expectIssue(ev, 'delete-misplaced', 'environments/testing/retry.yaml');
  expectIssue(ev, 'delete-misplaced', 'defaults/retry.yaml');
  expectIssue(ev, 'delete-misplaced', 'environments/production/retry.yaml');
  expectIssue(ev, 'delete-misplaced', 'environments/staging/retry.yaml');
  assert.equal(ev.configs.size, 0);
});

test('schema-missing and defaults-missing', async () => {
  const ev = await evaluate(
    baseRepo({ 'defaults/orphan.yaml': 'a: 1\n', 'schemas/lonely.schema.json': '{"type": "object"}' }),
  );
  assert.equal(expectIssue(ev, 'schema-missing', 'defaults/orphan.yaml').namespace, 'orphan');
  assert.equal(expectIssue(ev, 'defaults-missing', 'schemas/lonely.schema.json').namespace, 'lonely');
  assert.deepEqual(ev.namespaces, ['lonely', 'orphan', 'retry']);
  assert.ok(ev.configs.has('retry/production'));
});

test('schema-invalid: bad JSON (with position), strict-mode violations, wrong draft, bad version keyword', async () => {
  const ev = await evaluate(
    baseRepo({
      'schemas/a.schema.json': '{\n  "type": "object",\n  "properties": {,}\n}',
      'defaults/a.yaml': '',
      'schemas/b.schema.json': '{"type": "object", "properties": {"x": {"minimum": 1}}}',
      'defaults/b.yaml': '',
      'schemas/c.schema.json': '{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}',
      'defaults/c.yaml': '',
      'schemas/d.schema.json': '{"type": "object", "x-gitcfg-version": "two"}',
      'defaults/d.yaml': '',
      'schemas/e.schema.json': '{"type": "object", "unknownKeyword": true}',
      'defaults/e.yaml': '',
      // Hostile nesting must become an issue, not a stack overflow.
      'schemas/f.schema.json': `${'['.repeat(100000)}${']'.repeat(100000)}`,
      'defaults/f.yaml': '',
    }),
  );
  const a = expectIssue(ev, 'schema-invalid', 'schemas/a.schema.json');
  assert.equal(a.line, 3);
  for (const n of ['b', 'c', 'd', 'e', 'f']) expectIssue(ev, 'schema-invalid', `schemas/${n}.schema.json`);
  assert.deepEqual([...ev.schemas.keys()], ['retry']);
  assert.ok(![...ev.configs.keys()].some((k) => !k.startsWith('retry/')));
});

test('override-unknown-namespace and override-unknown-environment name the file', async () => {
  const ev = await evaluate(
    baseRepo({
      'environments/production/nothing.yaml': 'a: 1\n',
      'environments/qa/retry.yaml': 'http: {max_retries: 1}\n',
      'schemas/nodefaults.schema.json': '{"type": "object"}',
      'environments/production/nodefaults.yaml': 'a: 1\n',
    }),
  );
  expectIssue(ev, 'override-unknown-namespace', 'environments/production/nothing.yaml');
  expectIssue(ev, 'override-unknown-namespace', 'environments/production/nodefaults.yaml');
  const env = expectIssue(ev, 'override-unknown-environment', 'environments/qa/retry.yaml');
  assert.equal(env.environment, 'qa');
});

test('schema-violation names namespace, environment and pointer', async () => {
  const ev = await evaluate(
    baseRepo({ 'environments/development/retry.yaml': 'http:\n  max_retries: many\n' }),
  );
  const issue = expectIssue(ev, 'schema-violation', 'environments/development/retry.yaml');
  assert.equal(issue.namespace, 'retry');
  assert.equal(issue.environment, 'development');
  assert.equal(issue.path, '/http/max_retries');
  assert.deepEqual([issue.line, issue.column], [2, 16]);
  assert.ok(!ev.configs.has('retry/development'));
  assert.ok(ev.configs.has('retry/production'));
});

test('migration-invalid: a migration for a namespace that does not exist', async () => {
  const ev = await evaluate(baseRepo({ 'migrations/ghost/2.yaml': 'operations: []\n' }));
  expectIssue(ev, 'migration-invalid', 'migrations/ghost/2.yaml');
});

test('version-unsupported: a document above the schema version, or a bad $schemaVersion', async () => {
  const ev = await evaluate(
    baseRepo({
      'environments/production/retry.yaml': '$schemaVersion: 2\nhttp: {max_retries: 1}\n',
      'environments/staging/retry.yaml': '$schemaVersion: two\n',
    }),
  );
  expectIssue(ev, 'version-unsupported', 'environments/production/retry.yaml');
  const bad = expectIssue(ev, 'version-unsupported', 'environments/staging/retry.yaml');
  assert.equal(bad.line, 1);
  assert.ok(ev.configs.has('retry/development'));
  assert.ok(!ev.configs.has('retry/production'));
});

test('documents below the current version are migrated (or reported) by src/migrate', async () => {
  const schema = JSON.parse(RETRY_SCHEMA) as Record<string, unknown>;
  schema['x-gitcfg-version'] = 2;
  const ev = await evaluate(
    baseRepo({
      'schemas/retry.schema.json': JSON.stringify(schema),
      'environments/production/retry.yaml': '$schemaVersion: 1\nhttp: {max_retries: 1}\n',
    }),
  );
  // There is no migration 2.yaml: the version-1 override cannot be brought to version 2.
  assert.equal(ev.ok, false);
  assert.ok(
    ev.issues.some((i) => i.file === 'environments/production/retry.yaml' || i.namespace === 'retry'),
  );
  assert.ok(!ev.configs.has('retry/production'));
  assert.equal(ev.versions.get('retry')?.current, 2);
});

test('formatIssue renders file:line:col: message [namespace/env at /path]', () => {
  assert.equal(
    formatIssue({
      code: 'schema-violation',
      message: 'must be integer',
      file: 'environments/prod/retry.yaml',
      line: 3,
      column: 16,
      namespace: 'retry',
      environment: 'prod',
      path: '/http/max_retries',
    }),
    'environments/prod/retry.yaml:3:16: must be integer [retry/prod at /http/max_retries]',
  );
  assert.equal(
    formatIssue({ code: 'layout-symlink', message: 'no links', file: 'defaults/a.yaml' }),
    'defaults/a.yaml: no links',
  );
  assert.equal(formatIssue({ code: 'manifest-missing', message: 'missing' }), 'missing');
  assert.equal(
    formatIssue({ code: 'schema-missing', message: 'no schema', file: 'defaults/a.yaml', namespace: 'a' }),
    'defaults/a.yaml: no schema [a]',
  );
});
