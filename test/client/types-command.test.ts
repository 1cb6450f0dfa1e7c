import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { typesCommand } from '../../src/commands/types.js';
import { cleanupTempDirs, tempDir, writeFiles } from '../helpers/git-repo.js';
import { FIXTURE_FILES } from './client-fixture.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT_ENTRY = join(PROJECT_ROOT, 'src', 'client', 'index.js');
const TSC = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function buffer() {
  let text = '';
  return {
    write: (chunk: string) => (text += chunk),
    get text() {
      return text;
    },
  };
}

/** Type-checks `dir` with the project's compiler and strict settings; resolves to its exit code and output. */
function tsc(dir: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TSC, '--noEmit', '-p', join(dir, 'tsconfig.json')],
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr });
      },
    );
  });
}

/** A service using the generated types: the lines marked @ts-expect-error must not type-check. */
const USAGE = `
import type { GitcfgNamespaceName, GitcfgNamespaces, Ml } from './gitcfg-types.js';
import { createClient } from ${JSON.stringify(CLIENT_ENTRY)};
import type { JsonObject, JsonValue } from ${JSON.stringify(CLIENT_ENTRY)};

const client = createClient<GitcfgNamespaces>({ url: 'http://127.0.0.1:8080', env: 'production' });

export async function typed(): Promise<number> {
  const ml: Ml = await client.get('ml');
  const size: number = ml.input_size;
  const column: string | undefined = ml.feature_mapping['user_id'];
  const retries: number = (await client.get<'retry'>('retry')).max_retries;
  const sub: JsonValue = await client.get('ml', { path: 'feature_mapping.user_id' });
  const name: GitcfgNamespaceName = 'retry';
  client.watch('retry', (doc, change) => {
    const delay: number = doc.base_delay_ms;
    const commit: string | undefined = change.commit;
    void delay;
    void commit;
  });
  // @ts-expect-error input_size is a number
  const wrong: string = ml.input_size;
  // @ts-expect-error there is no namespace "billing"
  await client.get('billing');
  void [column, sub, name, wrong];
  return size + retries;
}

export async function untyped(): Promise<JsonValue | undefined> {
  const plain = createClient({ url: 'http://127.0.0.1:8080', env: 'production' });
  const doc: JsonObject = await plain.get('anything');
  return doc['key'];
}
`;

describe('gitcfg types', () => {
  after(cleanupTempDirs);

  it('generates types that make the client typed (and reject misuse) under strict tsc', async () => {
    const repo = await tempDir('gitcfg-types-repo-');
    await writeFiles(repo, FIXTURE_FILES);
    const work = await tempDir('gitcfg-types-use-');
    const stdout = buffer();
    const result = await typesCommand({ cwd: work, repo, out: 'gitcfg-types.ts', stdout });
    assert.equal(result.exitCode, 0, stdout.text);
    assert.match(stdout.text, /wrote 2 namespace type\(s\) to gitcfg-types\.ts/);
    const generated = await readFile(join(work, 'gitcfg-types.ts'), 'utf8');
    assert.match(generated, /export interface GitcfgNamespaces \{\n\s+ml: Ml;\n\s+retry: Retry;\n\}/);
    assert.doesNotMatch(
      generated,
      new RegExp(PROJECT_ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      'no absolute path',
    );

    // Also the example config-repo/ of this project, whose schemas use $defs, enums and $data.
    const example = await typesCommand({
      cwd: PROJECT_ROOT,
      repo: 'config-repo',
      out: join(work, 'example-types.ts'),
      stdout,
    });
    assert.equal(example.exitCode, 0, stdout.text);

    await writeFile(join(work, 'usage.ts'), USAGE);
    await writeFile(join(work, 'package.json'), '{ "type": "module" }\n');
    const config = {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        verbatimModuleSyntax: true,
        skipLibCheck: true,
        noEmit: true,
        types: ['node'],
        typeRoots: [join(PROJECT_ROOT, 'node_modules', '@types')],
      },
      files: ['usage.ts', 'gitcfg-types.ts', 'example-types.ts'],
    };
    await writeFile(join(work, 'tsconfig.json'), JSON.stringify(config));
    const ok = await tsc(work);
    assert.equal(ok.code, 0, ok.output);

    // Without the @ts-expect-error markers the same file must fail, on exactly those two lines.
    await writeFile(join(work, 'usage.ts'), USAGE.replace(/\s*\/\/ @ts-expect-error.*\n/g, '\n'));
    const bad = await tsc(work);
    assert.notEqual(bad.code, 0);
    const errors = bad.output.split('\n').filter((line) => line.includes('error TS'));
    assert.equal(errors.length, 2, bad.output);
    assert.match(bad.output, /Type 'number' is not assignable to type 'string'/);
    assert.match(bad.output, /'"billing"' is not assignable/);
  });

  it('reports a missing schemas folder and unreadable schemas', async () => {
    const empty = await tempDir('gitcfg-types-empty-');
    const out = buffer();
    assert.equal((await typesCommand({ cwd: empty, stdout: out })).exitCode, 2);
    assert.match(out.text, /gitcfg: error: no schemas folder: schemas/);

    const broken = await tempDir('gitcfg-types-broken-');
    await writeFiles(broken, {
      'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n',
      'schemas/ml.schema.json': '{ "type": ',
      'schemas/retry.schema.json': '[1]',
      'schemas/ok.schema.json': '{"type": "object"}',
    });
    const err = buffer();
    const result = await typesCommand({ cwd: broken, out: 'types.ts', stdout: buffer(), stderr: err });
    assert.equal(result.exitCode, 1);
    assert.match(err.text, /schemas\/ml\.schema\.json: /);
    assert.match(err.text, /schemas\/retry\.schema\.json: not a JSON object/);
  });

  it('generates a namespace at an older schema version the repository keeps (--version)', async () => {
    const out = buffer();
    const args = { cwd: PROJECT_ROOT, repo: 'config-repo', stdout: out };
    const result = await typesCommand({ ...args, version: ['cache=1', 'retry=1'] });
    assert.equal(result.exitCode, 0);
    const cache = /export interface Cache \{[\s\S]*?\n\}/.exec(out.text)?.[0] ?? '';
    assert.match(cache, /default_ttl_seconds: number;/);
    assert.doesNotMatch(cache, /default_ttl: string;/);
    assert.match(out.text, /from config-repo\/schemas \(cache at version 1\)/);

    const err = buffer();
    assert.equal((await typesCommand({ ...args, version: ['cache=9'], stderr: err })).exitCode, 2);
    assert.match(err.text, /--version cache=9: config-repo\/schemas\/cache\.v9\.schema\.json: not found/);
    assert.equal((await typesCommand({ ...args, version: ['cache'], stderr: err })).exitCode, 2);
    assert.match(err.text, /--version must be <namespace>=<N>/);
  });
});
