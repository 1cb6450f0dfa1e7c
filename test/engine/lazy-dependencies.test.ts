import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cleanupTempDirs, tempDir } from '../helpers/git-repo.js';

const url = (path: string) => pathToFileURL(fileURLToPath(new URL(path, import.meta.url))).href;

/**
 * One evaluation in a fresh process, with a validator store in `dir`; prints the issues' count and which heavy
 * dependencies the process loaded (they are required on first use, so they show in the CommonJS cache).
 */
const CHILD = `
import { createRequire } from 'node:module';
const [engine, fixtures, store, dir] = process.argv.slice(-4);
const { evaluateRepo, memorySource } = await import(engine);
const { baseRepo } = await import(fixtures);
const { DiskValidatorStore } = await import(store);
const repo = baseRepo({ 'environments/production/retry.yaml': 'http:\\n  max_retries: -1\\n' });
const validatorCode = new DiskValidatorStore(dir, { salt: 'test' });
const evaluation = await evaluateRepo(memorySource(repo), { validatorCode });
const loaded = Object.keys(createRequire(import.meta.url).cache);
const has = (re) => loaded.some((path) => re.test(path));
console.log(JSON.stringify({
  issues: evaluation.issues.map((i) => i.path),
  ajvCompiler: has(/ajv[\\\\/]dist[\\\\/]compile[\\\\/]/),
  flagd: has(/flagd-core/),
  diff: has(/node_modules[\\\\/]diff[\\\\/]/),
}));
`;

function evaluateInChild(dir: string): {
  issues: string[];
  ajvCompiler: boolean;
  flagd: boolean;
  diff: boolean;
} {
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      '--input-type=module',
      '-e',
      CHILD,
      '--',
      url('../../src/engine/index.ts'),
      url('./engine-fixtures.ts'),
      url('../../src/validator-store/index.ts'),
      dir,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as ReturnType<typeof evaluateInChild>;
}

test('with every validator in the store, an evaluation never loads Ajv, flagd or diff', async (t) => {
  t.after(cleanupTempDirs);
  const dir = await tempDir('gitcfg-lazy-');
  const cold = evaluateInChild(dir);
  assert.deepEqual(cold.issues, ['/http/max_retries', '/http/max_retries'], 'production and staging');
  assert.equal(cold.ajvCompiler, true, 'the first run compiles the schemas and the manifest');
  const warm = evaluateInChild(dir);
  assert.deepEqual(warm.issues, cold.issues);
  assert.deepEqual(
    { ajvCompiler: warm.ajvCompiler, flagd: warm.flagd, diff: warm.diff },
    { ajvCompiler: false, flagd: false, diff: false },
  );
});
