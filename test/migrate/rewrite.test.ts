import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { migrateCommand } from '../../src/commands/migrate.js';
import { migrateUp, rewriteDocument } from '../../src/migrate/index.js';
import { step } from './helpers.js';

const perService = step(
  2,
  `description: per-service ttl as duration strings
operations:
  - rename: { from: /timeouts/*, to: /services/*/ttl }
  - convert: { path: /services/*/ttl, from: seconds, to: duration }
  - set: { path: /default_ttl, value: 5m }`,
);

const DEFAULTS_V1 = `# Cache of the call platform.
# Owned by the platform team.

# Seconds each service keeps entries.
timeouts:
  analytics: 3600 # reports are hourly
  # agents see live data
  agent: 90
enabled: true # kill switch
zones: [eu, us]
`;

function rewrite(text: string, file = 'defaults/cache.yaml') {
  return rewriteDocument(text, [perService], 2, { file, namespace: 'cache' });
}

describe('rewriteDocument', () => {
  it('keeps comments, key order and untouched lines, and writes $schemaVersion below the header', () => {
    const result = rewrite(DEFAULTS_V1);
    assert.deepEqual(result.issues, []);
    assert.equal(result.fromVersion, 1);
    const text = result.text ?? '';
    const lines = text.split('\n');
    // The file header stays first, then the version.
    assert.deepEqual(lines.slice(0, 4), [
      '# Cache of the call platform.',
      '# Owned by the platform team.',
      '',
      '$schemaVersion: 2',
    ]);
    // Comments on moved or converted values travel with them; untouched lines are byte-identical.
    assert.match(text, /^ {4}ttl: 1h # reports are hourly$/m);
    assert.match(text, /^ {4}# agents see live data\n {4}ttl: 1m30s$/m);
    assert.ok(lines.includes('enabled: true # kill switch'));
    assert.ok(lines.includes('zones: [eu, us]'));
    // The new mapping takes the place of the one it replaces.
    const keys = Object.keys(parse(text) as object);
    assert.deepEqual(keys, ['$schemaVersion', 'services', 'enabled', 'zones', 'default_ttl']);
  });

  it('produces exactly what migrateUp produces', () => {
    const text = rewrite(DEFAULTS_V1).text ?? '';
    const { $schemaVersion, ...rewritten } = parse(text) as Record<string, never>;
    assert.equal($schemaVersion, 2);
    const expected = migrateUp(
      { value: parse(DEFAULTS_V1), origins: new Map(), version: 1 },
      [perService],
      2,
      {
        file: 'defaults/cache.yaml',
        namespace: 'cache',
      },
    );
    assert.deepEqual(rewritten, expected.doc?.value);
  });

  it('updates an existing $schemaVersion in place and keeps the indentation of the file', () => {
    const source = '$schemaVersion: 1 # bump me\ntimeouts:\n    agent: 30\nlist:\n    - a\n';
    const text = rewrite(source, 'environments/production/cache.yaml').text ?? '';
    assert.equal(
      text,
      '$schemaVersion: 2 # bump me\nservices:\n    agent:\n        ttl: 30s\nlist:\n    - a\n',
    );
    const flat = rewrite('list:\n- a\ntimeouts: { agent: 5 }\n', 'environments/production/cache.yaml').text;
    assert.equal(flat, '$schemaVersion: 2\nlist:\n- a\nservices:\n  agent:\n    ttl: 5s\n');
  });

  it('keeps !delete markers, moving them with their key', () => {
    const text = rewrite('timeouts:\n  agent: !delete\n', 'environments/production/cache.yaml').text ?? '';
    assert.equal(text, '$schemaVersion: 2\nservices:\n  agent:\n    ttl: !delete\n');
  });

  it('leaves documents at the current version alone and refuses those above it', () => {
    assert.equal(rewrite('$schemaVersion: 2\nservices: {}\n').text, undefined);
    const above = rewrite('$schemaVersion: 3\n');
    assert.equal(above.issues[0]?.code, 'version-unsupported');
  });

  it('gives the comment of a mapping a rename emptied to the mapping that took its place', () => {
    const text = rewrite(
      'enabled: true\n# one entry per service\ntimeouts:\n  agent: 5\n',
      'x/cache.yaml',
    ).text;
    assert.equal(
      text,
      '$schemaVersion: 2\nenabled: true\n# one entry per service\nservices:\n  agent:\n    ttl: 5s\n',
    );
  });

  it('refuses a file with a duplicate key', () => {
    const result = rewrite('timeouts:\n  agent: 1\n  agent: 2\n');
    assert.equal(result.text, undefined);
    assert.deepEqual([result.issues[0]?.code, result.issues[0]?.line], ['yaml-duplicate-key', 3]);
  });

  it('reports a failing operation at the line of the value', () => {
    const result = rewrite('timeouts:\n  agent: soon\n');
    assert.equal(result.text, undefined);
    assert.equal(result.issues[0]?.code, 'migration-failed');
    assert.equal(result.issues[0]?.line, 2);
    assert.match(
      result.issues[0]?.message ?? '',
      /operation #2 \(convert .*expected a number of seconds, found string "soon"/,
    );
  });
});

describe('gitcfg migrate', () => {
  let dir: string;
  const files: Record<string, string> = {
    'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n  staging: { extends: production }\n',
    'schemas/cache.schema.json': JSON.stringify({ 'x-gitcfg-version': 2, type: 'object' }),
    'schemas/cache.v1.schema.json': JSON.stringify({ type: 'object' }),
    'schemas/retry.schema.json': JSON.stringify({ type: 'object' }),
    'migrations/cache/2.yaml':
      'operations:\n  - rename: { from: /timeouts/*, to: /services/*/ttl }\n  - convert: { path: /services/*/ttl, from: seconds, to: duration }\n',
    'defaults/cache.yaml': DEFAULTS_V1,
    'defaults/retry.yaml': 'max_retries: 3 # untouched namespace\n',
    'environments/production/cache.yaml': '# production is busier\ntimeouts:\n  agent: 30\n',
    'environments/staging/cache.yaml': '$schemaVersion: 2\nservices:\n  agent: { ttl: 10s }\n',
  };

  /** `gitcfg migrate` in `root`, with what it printed. */
  async function runMigrate(
    root: string,
    opts: Omit<Parameters<typeof migrateCommand>[0], 'cwd' | 'stdout' | 'stderr'> = {},
  ) {
    const out: string[] = [];
    const err: string[] = [];
    const result = await migrateCommand({
      cwd: root,
      ...opts,
      stdout: { write: (chunk: string) => out.push(chunk) },
      stderr: { write: (chunk: string) => err.push(chunk) },
    });
    return { result, stdout: out.join(''), stderr: err.join('') };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitcfg-migrate-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeRepo(overrides: Record<string, string> = {}): Promise<string> {
    const root = await mkdtemp(join(dir, 'repo-'));
    for (const [path, text] of Object.entries({ ...files, ...overrides })) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), text);
    }
    return root;
  }

  it('shows a diff per file without touching anything', async () => {
    const root = await writeRepo();
    const { result, stdout: text, stderr } = await runMigrate(root);
    assert.equal(result.exitCode, 0);
    assert.match(text, /^--- a\/defaults\/cache\.yaml\n\+\+\+ b\/defaults\/cache\.yaml\n@@ /m);
    assert.match(text, /^-timeouts:$/m);
    assert.match(text, /^\+ {4}ttl: 1h # reports are hourly$/m);
    assert.match(text, /^--- a\/environments\/production\/cache\.yaml$/m);
    assert.doesNotMatch(text, /staging|retry/);
    assert.match(stderr, /2 file\(s\) to migrate; run with --write/);
    assert.equal(await readFile(join(root, 'defaults/cache.yaml'), 'utf8'), DEFAULTS_V1);
    assert.deepEqual(
      result.files.map((f) => [f.file, f.from, f.to]),
      [
        ['defaults/cache.yaml', 1, 2],
        ['environments/production/cache.yaml', 1, 2],
      ],
    );
  });

  it('--write rewrites the files in place, then has nothing left to do', async () => {
    const root = await writeRepo();
    const { result, stdout } = await runMigrate(root, { write: true });
    assert.equal(result.exitCode, 0);
    assert.match(stdout, /migrated environments\/production\/cache\.yaml: version 1 -> 2/);
    const production = await readFile(join(root, 'environments/production/cache.yaml'), 'utf8');
    // The comment that opens the file stays first.
    assert.equal(
      production,
      '# production is busier\n$schemaVersion: 2\nservices:\n  agent:\n    ttl: 30s\n',
    );
    const written = await readFile(join(root, 'defaults/cache.yaml'), 'utf8');
    const ownStep = step(2, files['migrations/cache/2.yaml'] ?? '');
    const expected = rewriteDocument(DEFAULTS_V1, [ownStep], 2, {
      file: 'defaults/cache.yaml',
      namespace: 'cache',
    });
    assert.equal(written, expected.text);
    assert.match(written, /# reports are hourly/);
    assert.equal(await readFile(join(root, 'defaults/retry.yaml'), 'utf8'), files['defaults/retry.yaml']);
    const again = await runMigrate(root, { write: true });
    assert.deepEqual(again.result.files, []);
  });

  it('writes nothing when any document fails, and lists every issue', async () => {
    const root = await writeRepo({
      'environments/production/cache.yaml': 'timeouts:\n  agent: soon\n',
      'environments/staging/cache.yaml': '$schemaVersion: 3\n',
    });
    const { result, stdout: text } = await runMigrate(root, { write: true });
    assert.equal(result.exitCode, 1);
    assert.match(
      text,
      /^environments\/production\/cache\.yaml:2:10: migration migrations\/cache\/2\.yaml operation #2/m,
    );
    assert.match(
      text,
      /^environments\/staging\/cache\.yaml: \$schemaVersion 3 is above the current version 2/m,
    );
    assert.equal(await readFile(join(root, 'defaults/cache.yaml'), 'utf8'), DEFAULTS_V1);
  });

  it('reports an invalid migration file and a gap in the chain', async () => {
    const root = await writeRepo({
      'schemas/cache.schema.json': JSON.stringify({ 'x-gitcfg-version': 3 }),
      'migrations/cache/2.yaml': 'operations:\n  - rename: { from: /timeouts }\n',
    });
    const { result, stdout: text } = await runMigrate(root, { namespace: 'cache' });
    assert.equal(result.exitCode, 1);
    assert.match(text, /^migrations\/cache\/2\.yaml:2:13: missing "to"/m);
    assert.match(text, /migrations\/cache\/3\.yaml is missing/);
  });

  it('--namespace limits the work and rejects unknown names', async () => {
    const root = await writeRepo();
    const { result: only } = await runMigrate(root, { namespace: 'retry' });
    assert.deepEqual([only.exitCode, only.files], [0, []]);
    const unknown = await runMigrate(root, { namespace: 'nope' });
    assert.equal(unknown.result.exitCode, 1);
    assert.match(unknown.stderr, /unknown namespace: nope \(known: cache, retry\)/);
  });
});
