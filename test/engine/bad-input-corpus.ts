/**
 * The bad-input corpus: commits a repository must never be served from, each a change on top of the good base
 * (CONFIG_FILES), with where the problem must be reported. Checked case by case against the evaluation pool
 * (bad-input-corpus.test.ts) and, a few cases, end to end through a real remote and server (test/faults).
 */
import { mkdir, symlink } from 'node:fs/promises';
import * as path from 'node:path';
import { memorySource } from '../../src/engine/index.js';
import type { RepoSource } from '../../src/engine/index.js';
import { run, writeFiles } from '../helpers/git-repo.js';
import { CONFIG_FILES } from '../server/server-fixture.js';

/** One bad commit: changes on top of the good base, and where the problem must be reported. */
export interface BadCase {
  name: string;
  files?: Record<string, string | Uint8Array | null>;
  /** path -> symlink target */
  symlinks?: Record<string, string>;
  /** paths committed as submodule entries (gitlinks) */
  gitlinks?: string[];
  expect: { file: string; line?: number | 'some'; code?: string; message?: RegExp };
}

const MANIFEST = CONFIG_FILES['gitcfg.yaml']!;
const APP_SCHEMA = JSON.parse(CONFIG_FILES['schemas/app.schema.json']!) as Record<string, unknown>;
const schemaV = (version: number): string => JSON.stringify({ ...APP_SCHEMA, 'x-gitcfg-version': version });

/** Billion laughs: nine levels of nine aliases each. */
function aliasBomb(): string {
  const lines = [
    'host: db.internal',
    'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
  ];
  for (let i = 1; i < 9; i++)
    lines.push(
      `l${i}: &l${i} [${Array(9)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  return `${lines.join('\n')}\n`;
}

const FIVE_MB = 5 * 1024 * 1024;
const big = (head: string): string => head + `# ${'x'.repeat(98)}\n`.repeat(Math.ceil(FIVE_MB / 101));

export const CASES: BadCase[] = [
  // YAML syntax
  {
    name: 'unclosed flow sequence',
    files: { 'defaults/app.yaml': 'greeting: hello\nretry:\n  max: [1, 2\n' },
    expect: { file: 'defaults/app.yaml', line: 'some', code: 'yaml-syntax' },
  },
  {
    name: 'unterminated quoted string',
    files: { 'environments/staging/app.yaml': 'greeting: "hi staging\n' },
    expect: { file: 'environments/staging/app.yaml', line: 'some', code: 'yaml-syntax' },
  },
  {
    name: 'tab indentation',
    files: { 'defaults/app.yaml': 'greeting: hello\nretry:\n\tmax: 3\n' },
    expect: { file: 'defaults/app.yaml', line: 'some', code: 'yaml-syntax' },
  },
  {
    name: 'bad indentation of a nested mapping',
    files: { 'defaults/db.yaml': 'host: db.internal\n  port: 5432\n' },
    expect: { file: 'defaults/db.yaml', line: 'some', code: 'yaml-syntax' },
  },
  {
    name: 'two documents in one file',
    files: { 'defaults/db.yaml': 'host: a\n---\nhost: b\n' },
    expect: { file: 'defaults/db.yaml', line: 'some' },
  },
  {
    name: 'complex (sequence) key',
    files: { 'defaults/db.yaml': 'host: a\n? [x, y]\n: 1\n' },
    expect: { file: 'defaults/db.yaml', line: 'some', code: 'yaml-unsupported' },
  },
  // duplicate keys
  {
    name: 'duplicate top-level key',
    files: { 'defaults/app.yaml': 'greeting: hello\nretry:\n  max: 3\ngreeting: again\n' },
    expect: { file: 'defaults/app.yaml', line: 4, code: 'yaml-duplicate-key' },
  },
  {
    name: 'duplicate nested key',
    files: { 'environments/production/app.yaml': 'retry:\n  max: 1\n  max: 2\n' },
    expect: { file: 'environments/production/app.yaml', line: 3, code: 'yaml-duplicate-key' },
  },
  // aliases, size, encoding
  {
    name: 'alias bomb (billion laughs)',
    files: { 'defaults/db.yaml': aliasBomb() },
    expect: { file: 'defaults/db.yaml', code: 'yaml-alias-limit' },
  },
  {
    name: '200 aliases of one scalar',
    files: {
      'defaults/db.yaml': `host: &h db.internal\nlist: [${Array(200).fill('*h').join(', ')}]\n`,
    },
    expect: { file: 'defaults/db.yaml', code: 'yaml-alias-limit' },
  },
  {
    name: '5 MB defaults file',
    files: { 'defaults/db.yaml': big('host: db.internal\n') },
    expect: { file: 'defaults/db.yaml', code: 'file-too-large' },
  },
  {
    name: '5 MB override file',
    files: { 'environments/production/db.yaml': big('host: db.prod\n') },
    expect: { file: 'environments/production/db.yaml', code: 'file-too-large' },
  },
  {
    name: '5 MB schema',
    files: {
      'schemas/db.schema.json': `${JSON.stringify({ type: 'object', description: 'x'.repeat(FIVE_MB) })}\n`,
    },
    expect: { file: 'schemas/db.schema.json', code: 'file-too-large', message: /above the limit/ },
  },
  {
    name: 'invalid UTF-8 bytes',
    files: { 'defaults/app.yaml': Buffer.from([0x67, 0x72, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0x0a]) },
    expect: { file: 'defaults/app.yaml', code: 'file-not-utf8' },
  },
  {
    name: 'Latin-1 encoded text',
    files: { 'environments/staging/app.yaml': Buffer.from('greeting: caf\xe9\n', 'latin1') },
    expect: { file: 'environments/staging/app.yaml', code: 'file-not-utf8' },
  },
  {
    name: 'UTF-16 encoded file',
    files: {
      'defaults/db.yaml': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('host: x\n', 'utf16le')]),
    },
    expect: { file: 'defaults/db.yaml', code: 'file-not-utf8' },
  },
  // values against the schema
  {
    name: 'wrong type at the top level',
    files: { 'defaults/app.yaml': 'greeting: 42\nretry:\n  max: 3\n' },
    expect: { file: 'defaults/app.yaml', line: 1, code: 'schema-violation' },
  },
  {
    name: 'wrong type in an override',
    files: { 'environments/production/app.yaml': 'retry:\n  max: three\n' },
    expect: { file: 'environments/production/app.yaml', line: 2, code: 'schema-violation' },
  },
  {
    name: 'unknown property',
    files: { 'environments/staging/app.yaml': 'greeting: hi staging\ncolour: blue\n' },
    expect: { file: 'environments/staging/app.yaml', line: 2, code: 'schema-violation' },
  },
  {
    name: 'required property missing',
    files: { 'defaults/app.yaml': 'retry:\n  max: 3\n' },
    expect: { file: 'defaults/app.yaml', code: 'schema-violation' },
  },
  {
    name: 'required property deleted with !delete',
    files: { 'environments/production/app.yaml': 'greeting: !delete\n' },
    expect: { file: 'environments/production/app.yaml', line: 1, code: 'schema-violation' },
  },
  {
    name: '!delete in defaults',
    files: { 'defaults/db.yaml': 'host: db.internal\nport: !delete\n' },
    expect: { file: 'defaults/db.yaml', line: 2, code: 'delete-misplaced' },
  },
  {
    name: 'top level is a sequence',
    files: { 'defaults/db.yaml': '- a\n- b\n' },
    expect: { file: 'defaults/db.yaml', code: 'yaml-not-mapping' },
  },
  {
    name: 'top level is null',
    files: { 'environments/production/db.yaml': 'null\n' },
    expect: { file: 'environments/production/db.yaml', code: 'yaml-not-mapping' },
  },
  {
    name: '.inf is not JSON',
    files: { 'defaults/db.yaml': 'host: db.internal\nweight: .inf\n' },
    expect: { file: 'defaults/db.yaml', line: 2, code: 'yaml-unsupported' },
  },
  {
    name: 'custom tag',
    files: { 'defaults/db.yaml': 'host: !vault secret/db\n' },
    expect: { file: 'defaults/db.yaml', line: 1, code: 'yaml-unsupported' },
  },
  {
    name: '200 levels of nesting',
    files: { 'defaults/db.yaml': `host: x\ndeep: ${'{a: '.repeat(200)}1${'}'.repeat(200)}\n` },
    expect: { file: 'defaults/db.yaml', code: 'yaml-unsupported' },
  },
  // names and layout
  {
    name: 'unknown environment folder',
    files: { 'environments/qa/app.yaml': 'greeting: hi qa\n' },
    expect: { file: 'environments/qa/app.yaml', code: 'override-unknown-environment' },
  },
  {
    name: 'override of an unknown namespace',
    files: { 'environments/production/ghost.yaml': 'boo: true\n' },
    expect: { file: 'environments/production/ghost.yaml', code: 'override-unknown-namespace' },
  },
  {
    name: 'namespace name with ..',
    files: { 'defaults/app..v2.yaml': 'greeting: x\n', 'schemas/app..v2.schema.json': '{}' },
    expect: { file: 'defaults/app..v2.yaml', code: 'layout-invalid-name' },
  },
  {
    name: 'file named ..yaml',
    files: { 'defaults/..yaml': 'greeting: x\n' },
    expect: { file: 'defaults/..yaml', code: 'layout-invalid-name' },
  },
  {
    name: 'uppercase namespace',
    files: { 'defaults/Billing.yaml': 'a: 1\n', 'schemas/Billing.schema.json': '{"type": "object"}' },
    expect: { file: 'defaults/Billing.yaml', code: 'layout-invalid-name' },
  },
  {
    name: 'space in a namespace name',
    files: { 'defaults/my app.yaml': 'a: 1\n', 'schemas/my app.schema.json': '{"type": "object"}' },
    expect: { file: 'defaults/my app.yaml', code: 'layout-invalid-name' },
  },
  {
    name: 'uppercase environment folder',
    files: { 'environments/Production/app.yaml': 'greeting: x\n' },
    expect: { file: 'environments/Production/app.yaml' },
  },
  {
    name: 'namespace name of 65 characters',
    files: {
      [`defaults/${'n'.repeat(65)}.yaml`]: 'a: 1\n',
      [`schemas/${'n'.repeat(65)}.schema.json`]: '{"type": "object"}',
    },
    expect: { file: `defaults/${'n'.repeat(65)}.yaml`, code: 'layout-invalid-name' },
  },
  {
    name: '.yml extension',
    files: { 'defaults/cache.yml': 'a: 1\n' },
    expect: { file: 'defaults/cache.yml', code: 'layout-unexpected-entry' },
  },
  {
    name: 'file directly under environments/',
    files: { 'environments/app.yaml': 'greeting: x\n' },
    expect: { file: 'environments/app.yaml', code: 'layout-unexpected-entry' },
  },
  {
    name: 'nested folder in defaults/',
    files: { 'defaults/extra/app.yaml': 'greeting: x\n' },
    expect: { file: 'defaults/extra/app.yaml', code: 'layout-nested' },
  },
  {
    name: 'nested folder in an environment',
    files: { 'environments/production/deep/app.yaml': 'greeting: x\n' },
    expect: { file: 'environments/production/deep/app.yaml', code: 'layout-nested' },
  },
  {
    name: 'symlink in defaults/',
    symlinks: { 'defaults/cache.yaml': '../defaults/db.yaml' },
    files: { 'schemas/cache.schema.json': '{"type": "object"}' },
    expect: { file: 'defaults/cache.yaml', code: 'layout-symlink' },
  },
  {
    name: 'symlink escaping the repository',
    symlinks: { 'environments/production/db.yaml': '/etc/passwd' },
    expect: { file: 'environments/production/db.yaml', code: 'layout-symlink' },
  },
  {
    name: 'manifest is a symlink',
    files: { 'gitcfg.yaml': null, 'real-manifest.yaml': MANIFEST },
    symlinks: { 'gitcfg.yaml': 'real-manifest.yaml' },
    expect: { file: 'gitcfg.yaml' },
  },
  {
    name: 'submodule entry in defaults/',
    gitlinks: ['defaults/vendored'],
    expect: { file: 'defaults/vendored', code: 'layout-unexpected-entry' },
  },
  {
    name: 'namespace without a schema',
    files: { 'defaults/orphan.yaml': 'a: 1\n' },
    expect: { file: 'defaults/orphan.yaml', code: 'schema-missing' },
  },
  {
    name: 'namespace without defaults',
    files: { 'schemas/orphan.schema.json': '{"type": "object"}' },
    expect: { file: 'schemas/orphan.schema.json', code: 'defaults-missing' },
  },
  // schemas
  {
    name: 'schema with a JSON syntax error',
    files: { 'schemas/db.schema.json': '{\n  "type": "object",\n  "properties": {\n}\n' },
    expect: { file: 'schemas/db.schema.json', line: 'some', code: 'schema-invalid' },
  },
  {
    name: 'schema with an unknown keyword',
    files: { 'schemas/db.schema.json': '{"type": "object", "propertees": {"host": {"type": "string"}}}' },
    expect: { file: 'schemas/db.schema.json', code: 'schema-invalid' },
  },
  {
    name: 'schema of another draft',
    files: {
      'schemas/db.schema.json': '{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}',
    },
    expect: { file: 'schemas/db.schema.json', code: 'schema-invalid' },
  },
  {
    name: 'schema that is an array',
    files: { 'schemas/db.schema.json': '[]' },
    expect: { file: 'schemas/db.schema.json', code: 'schema-invalid' },
  },
  {
    name: 'schema with an unresolvable $ref',
    files: {
      'schemas/db.schema.json': '{"type": "object", "properties": {"host": {"$ref": "#/$defs/nope"}}}',
    },
    expect: { file: 'schemas/db.schema.json', code: 'schema-invalid' },
  },
  // migrations
  {
    name: 'migration that is not a list of operations',
    files: {
      'schemas/app.schema.json': schemaV(2),
      'migrations/app/2.yaml': 'operations: drop everything\n',
    },
    expect: { file: 'migrations/app/2.yaml', code: 'migration-invalid' },
  },
  {
    name: 'migration with an unknown operation',
    files: {
      'schemas/app.schema.json': schemaV(2),
      'migrations/app/2.yaml': 'operations:\n  - eval: { code: "process.exit()" }\n',
    },
    expect: { file: 'migrations/app/2.yaml', code: 'migration-invalid' },
  },
  {
    name: 'migration chain with a missing step',
    files: {
      'schemas/app.schema.json': schemaV(3),
      'migrations/app/2.yaml': 'operations:\n  - rename: { from: /retry/max, to: /retry/limit }\n',
    },
    expect: {
      file: 'migrations/app/3.yaml',
      code: 'migration-invalid',
      message: /schemas\/app\.schema\.json is at version 3/,
    },
  },
  {
    name: 'document above the schema version',
    files: { 'defaults/app.yaml': '$schemaVersion: 5\ngreeting: hello\n' },
    expect: { file: 'defaults/app.yaml', line: 1, code: 'version-unsupported' },
  },
  // manifest
  {
    name: 'extends cycle',
    files: {
      'gitcfg.yaml':
        'version: 1\nenvironments:\n  production:\n    extends: staging\n  staging:\n    extends: production\n',
    },
    expect: { file: 'gitcfg.yaml', code: 'env-extends-cycle' },
  },
  {
    name: 'extends an unknown environment',
    files: { 'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n  staging:\n    extends: prod\n' },
    expect: { file: 'gitcfg.yaml', line: 5, code: 'env-unknown-parent' },
  },
  {
    name: 'manifest with an unknown key',
    files: { 'gitcfg.yaml': `${MANIFEST}colour: red\n` },
    expect: { file: 'gitcfg.yaml', line: 6, code: 'manifest-invalid' },
  },
  {
    name: 'manifest version 2',
    files: { 'gitcfg.yaml': MANIFEST.replace('version: 1', 'version: 2') },
    expect: { file: 'gitcfg.yaml', line: 1, code: 'manifest-invalid' },
  },
  {
    name: 'manifest deleted',
    files: { 'gitcfg.yaml': null },
    expect: { file: 'gitcfg.yaml', code: 'manifest-missing' },
  },
  {
    name: 'manifest with an uppercase environment',
    files: { 'gitcfg.yaml': 'version: 1\nenvironments:\n  Production: {}\n' },
    expect: { file: 'gitcfg.yaml', line: 3, code: 'manifest-invalid' },
  },
];

/** Whether `issues` has the one `c` expects (file, and line, code and message where given). */
export function reportsCase(
  c: BadCase,
  issues: readonly { file?: string; line?: number; code?: string; message?: string }[],
): boolean {
  return issues.some(
    (i) =>
      i.file === c.expect.file &&
      (c.expect.line === undefined ||
        (c.expect.line === 'some' ? typeof i.line === 'number' && i.line > 0 : i.line === c.expect.line)) &&
      (c.expect.code === undefined || i.code === c.expect.code) &&
      (c.expect.message === undefined || c.expect.message.test(i.message ?? '')),
  );
}

/** The tree of case `c` in memory: the good base with its changes, symlinks (mode 120000) and gitlinks. */
export function caseSource(c: BadCase): RepoSource {
  const files: Record<string, string | Uint8Array> = { ...CONFIG_FILES };
  for (const [file, content] of Object.entries({ ...c.files, ...c.symlinks })) {
    if (content === null) delete files[file];
    else files[file] = content;
  }
  return memorySource(files, { symlinks: Object.keys(c.symlinks ?? {}), submodules: c.gitlinks ?? [] });
}

/** Commits case `c` on top of `base` in the work tree `work` (symlinks and gitlinks too); resolves to the commit. */
export async function commitCase(work: string, base: string, c: BadCase): Promise<string> {
  await run(work, 'reset', '--quiet', '--hard', base);
  await run(work, 'clean', '-fdxq');
  await writeFiles(work, c.files ?? {});
  for (const [link, target] of Object.entries(c.symlinks ?? {})) {
    const at = path.join(work, ...link.split('/'));
    await writeFiles(work, { [link]: null });
    await mkdir(path.dirname(at), { recursive: true });
    await symlink(target, at);
  }
  await run(work, 'add', '-A');
  for (const [i, gitlink] of (c.gitlinks ?? []).entries()) {
    await run(
      work,
      'update-index',
      '--add',
      '--cacheinfo',
      `160000,${String(i + 1).padStart(40, 'a')},${gitlink}`,
    );
  }
  await run(work, 'commit', '--quiet', '-m', `bad: ${c.name}`);
  return run(work, 'rev-parse', 'HEAD');
}
