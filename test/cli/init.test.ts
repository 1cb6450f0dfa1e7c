import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLI_BIN, PROJECT_ROOT, runCliInProcess, sourceEnv } from '../helpers/run-cli.js';
import { VALID_FILES, createConfigRepo, git, removeTempDirs, tempDir, writeFiles } from './cli-fixture.js';

after(removeTempDirs);

/** Runs native git with the source-mode environment so the hook runs this checkout's TypeScript. */
function gitWithHook(dir: string, ...args: string[]) {
  return gitWithEnv(dir, {}, ...args);
}

function gitWithEnv(dir: string, env: Record<string, string>, ...args: string[]) {
  return spawnSync('git', args, { cwd: dir, encoding: 'utf8', env: sourceEnv(env) });
}

/** `gitcfg init` into a fresh temp dir, with a git identity for commits. */
async function initRepo(): Promise<string> {
  const dir = join(tempDir(), 'team-config');
  const result = await runCliInProcess(['init', dir]);
  assert.equal(result.code, 0, result.stderr);
  git(dir, 'config', 'user.name', 'Test User');
  git(dir, 'config', 'user.email', 'test@example.com');
  return dir;
}

describe('gitcfg init', () => {
  test('creates a valid repository on branch main with an executable pre-commit hook', async () => {
    const dir = await initRepo();
    assert.equal(git(dir, 'symbolic-ref', 'HEAD').trim(), 'refs/heads/main');
    for (const file of [
      'gitcfg.yaml',
      'README.md',
      'schemas/http-client.schema.json',
      'defaults/http-client.yaml',
    ]) {
      assert.ok(existsSync(join(dir, file)), file);
    }
    const hook = join(dir, '.git', 'hooks', 'pre-commit');
    assert.ok((statSync(hook).mode & 0o111) !== 0, 'hook is executable');
    const hookText = readFileSync(hook, 'utf8');
    assert.ok(hookText.includes(`GITCFG_ENTRY='${join(PROJECT_ROOT, 'bin', 'gitcfg.js')}'`), hookText);
    assert.ok(hookText.includes(`GITCFG_NODE='${process.execPath}'`), hookText);
    const validate = await runCliInProcess(['validate'], { cwd: dir });
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
    const render = await runCliInProcess(['render', 'http-client', '--env', 'staging'], { cwd: dir });
    assert.equal(render.code, 0, render.stderr);
  });

  test('the hook accepts a valid commit and refuses an invalid one with file:line', async () => {
    const dir = await initRepo();
    git(dir, 'add', '-A');
    const accepted = gitWithHook(dir, 'commit', '-m', 'initial configuration');
    assert.equal(accepted.status, 0, accepted.stdout + accepted.stderr);
    assert.match(accepted.stderr, /✔ 1 namespace x 3 environments valid \(staged\)/);

    const file = 'environments/production/http-client.yaml';
    writeFiles(dir, { [file]: 'base_url: https://api.example.com\ntimeout_ms: -5\n' });
    git(dir, 'add', file);
    const refused = gitWithHook(dir, 'commit', '-m', 'negative timeout');
    assert.notEqual(refused.status, 0);
    assert.match(refused.stdout + refused.stderr, new RegExp(`^${file}:2:13: `, 'm'));
    assert.equal(git(dir, 'rev-list', '--count', 'HEAD').trim(), '1');

    // `git commit -a` stages into a temporary index (GIT_INDEX_FILE): the hook must read that one.
    writeFiles(dir, { [file]: 'base_url: https://api.example.com\ntimeout_ms: 6000\n' });
    const fixedWithA = gitWithHook(dir, 'commit', '-a', '-m', 'fix timeout');
    assert.equal(fixedWithA.status, 0, fixedWithA.stdout + fixedWithA.stderr);
    writeFiles(dir, { [file]: 'base_url: https://api.example.com\ntimeout_ms: many\n' });
    const brokenWithA = gitWithHook(dir, 'commit', '-a', '-m', 'break timeout');
    assert.notEqual(brokenWithA.status, 0);
    assert.match(brokenWithA.stdout + brokenWithA.stderr, new RegExp(`^${file}:2:13: `, 'm'));
    assert.equal(git(dir, 'rev-list', '--count', 'HEAD').trim(), '2');
    // `git commit <path>` also uses a temporary index: the broken work-tree file is what would be committed.
    const brokenWithPath = gitWithHook(dir, 'commit', '-m', 'break timeout', '--', file);
    assert.notEqual(brokenWithPath.status, 0);
    assert.match(brokenWithPath.stdout + brokenWithPath.stderr, new RegExp(`^${file}:2:13: `, 'm'));
    assert.equal(git(dir, 'rev-list', '--count', 'HEAD').trim(), '2');
  });

  test('refuses a non-empty directory with exit 2', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'keep.txt': 'x\n' });
    const result = await runCliInProcess(['init', dir]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^gitcfg: error: directory is not empty/);
  });

  test("this project's hooks/pre-commit is the template init fills in", () => {
    const template = readFileSync(join(PROJECT_ROOT, 'hooks', 'pre-commit'), 'utf8');
    assert.match(template, /^GITCFG_NODE=\$\{GITCFG_NODE:-\}$/m);
    assert.match(template, /^GITCFG_ENTRY=\$\{GITCFG_ENTRY:-\}$/m);
    assert.match(template, /validate --staged/);
  });

  test("this project's hook, installed the simple-git-hooks way, validates staged config-repo/ content", () => {
    const dir = createConfigRepo(VALID_FILES, 'config-repo');
    const hook = join(dir, '.git', 'hooks', 'pre-commit');
    writeFiles(dir, {
      '.git/hooks/pre-commit': `#!/bin/sh\nexec sh '${join(PROJECT_ROOT, 'hooks', 'pre-commit')}'\n`,
    });
    chmodSync(hook, 0o755);
    const env = { GITCFG_NODE: process.execPath, GITCFG_ENTRY: CLI_BIN };
    const file = 'config-repo/environments/production/http-client.yaml';
    writeFiles(dir, { [file]: 'base_url: https://api.example.com\ntimeout_ms: 0\n' });
    git(dir, 'add', file);
    const refused = gitWithEnv(dir, env, 'commit', '-m', 'zero timeout');
    assert.notEqual(refused.status, 0);
    assert.match(refused.stdout + refused.stderr, new RegExp(`^${file}:2:13: `, 'm'));
    writeFiles(dir, { [file]: 'base_url: https://api.example.com\ntimeout_ms: 100\n', 'notes.txt': 'x\n' });
    git(dir, 'add', '-A');
    const accepted = gitWithEnv(dir, env, 'commit', '-m', 'short timeout');
    assert.equal(accepted.status, 0, accepted.stdout + accepted.stderr);
    assert.match(accepted.stderr, /valid \(staged, config-repo\/\)/);
  });
});
