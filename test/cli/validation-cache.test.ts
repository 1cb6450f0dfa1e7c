import * as assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCliInProcess } from '../helpers/run-cli.js';
import {
  BAD_PRODUCTION,
  BAD_PRODUCTION_FILE,
  VALID_FILES,
  createConfigRepo,
  git,
  removeTempDirs,
  tempDir,
  writeFiles,
} from './cli-fixture.js';

after(removeTempDirs);

/** A second namespace so that "only the changed namespace is re-checked" is observable. */
const TWO_NAMESPACES: Record<string, string> = {
  ...VALID_FILES,
  'schemas/flags.schema.json': JSON.stringify({ type: 'object', properties: { beta: { type: 'boolean' } } }),
  'defaults/flags.yaml': 'beta: false\n',
};

async function validateJson(dir: string, ...args: string[]) {
  const result = await runCliInProcess(['validate', '--format', 'json', ...args], { cwd: dir });
  return { code: result.code, report: JSON.parse(result.stdout), stdout: result.stdout };
}

describe('validate reuses namespaces found valid with the same inputs', () => {
  test('second run reuses all, a change re-checks only its namespace, --no-cache re-checks all', async () => {
    const dir = createConfigRepo(TWO_NAMESPACES);
    const first = await validateJson(dir, '--staged');
    assert.equal(first.code, 0);
    assert.equal(first.report.reused, 0);
    assert.ok(existsSync(join(dir, '.git', 'gitcfg', 'valid-namespaces')));
    const second = await validateJson(dir, '--staged');
    assert.equal(second.report.reused, 2);
    assert.deepEqual(second.report.namespaces, ['flags', 'http-client']);
    // Working tree and index hold the same bytes: same blob ids, same keys.
    assert.equal((await validateJson(dir)).report.reused, 2);

    writeFiles(dir, { 'defaults/flags.yaml': 'beta: true\n' });
    git(dir, 'add', '-A');
    const changed = await validateJson(dir, '--staged');
    assert.equal(changed.code, 0);
    assert.equal(changed.report.reused, 1);
    assert.equal((await validateJson(dir, '--staged', '--no-cache')).report.reused, 0);
  });

  test('a linked worktree uses what the main worktree remembered and compiled', async () => {
    const dir = createConfigRepo(TWO_NAMESPACES);
    assert.equal((await validateJson(dir, '--staged')).report.reused, 0);
    const validators = readdirSync(join(dir, '.git', 'gitcfg', 'validators'));
    assert.ok(validators.length >= 2, 'one compiled validator per schema');
    const linked = join(tempDir(), 'linked');
    git(dir, 'worktree', 'add', '--quiet', '--detach', linked);
    const inLinked = await validateJson(linked, '--staged');
    assert.equal(inLinked.code, 0);
    assert.equal(inLinked.report.reused, 2);
    await validateJson(linked, '--staged', '--no-cache');
    // Nothing kept per worktree: both runs read and wrote the repository's shared git dir.
    assert.equal(existsSync(join(dir, '.git', 'worktrees', 'linked', 'gitcfg')), false);
    assert.deepEqual(readdirSync(join(dir, '.git', 'gitcfg', 'validators')).sort(), validators.sort());
  });

  test('an invalid namespace is never remembered, and a manifest change re-checks everything', async () => {
    const dir = createConfigRepo(TWO_NAMESPACES);
    assert.equal((await validateJson(dir, '--staged')).code, 0);
    writeFiles(dir, { [BAD_PRODUCTION_FILE]: BAD_PRODUCTION });
    git(dir, 'add', '-A');
    for (let run = 0; run < 2; run++) {
      const bad = await validateJson(dir, '--staged');
      assert.equal(bad.code, 1);
      assert.equal(bad.report.reused, 1, 'flags is unchanged');
      assert.ok(bad.report.issues.some((i: { file: string }) => i.file === BAD_PRODUCTION_FILE));
    }
    // Back to the valid override, then drop staging from the manifest: its override becomes an error even
    // though no file of the namespace changed.
    writeFiles(dir, { [BAD_PRODUCTION_FILE]: VALID_FILES[BAD_PRODUCTION_FILE] as string });
    git(dir, 'add', '-A');
    assert.equal((await validateJson(dir, '--staged')).code, 0);
    writeFiles(dir, { 'gitcfg.yaml': 'version: 1\nenvironments:\n  development: {}\n  production: {}\n' });
    git(dir, 'add', '-A');
    const manifestChanged = await validateJson(dir, '--staged');
    assert.equal(manifestChanged.report.reused, 0);
    assert.equal(manifestChanged.code, 1);
    assert.ok(
      manifestChanged.report.issues.some(
        (i: { file: string }) => i.file === 'environments/staging/http-client.yaml',
      ),
      manifestChanged.stdout,
    );
  });
});
