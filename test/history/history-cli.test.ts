/** `gitcfg history` and `gitcfg blame` through the real CLI entry point (child process, real exit codes). */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Explanation, PairHistory } from '../../src/history/index.js';
import { cleanupTempDirs } from '../helpers/git-repo.js';
import { runCli } from '../helpers/run-cli.js';
import { createSeriesRepo } from './history-fixture.js';
import type { SeriesCommits } from './history-fixture.js';

describe('gitcfg history / blame', () => {
  let dir: string;
  let commits: SeriesCommits;

  before(async () => {
    // The config root in `config-repo/` is found like the other commands find it.
    ({ dir, commits } = await createSeriesRepo('config-repo/'));
  });
  after(cleanupTempDirs);

  it('prints the effective history as text and JSON', async () => {
    const text = await runCli(['history', 'app', '--env', 'staging', '--limit', '2'], { cwd: dir });
    assert.equal(text.code, 0, text.stderr);
    const shown = [...text.stdout.matchAll(/^commit ([0-9a-f]{40})$/gm)].map((m) => m[1]);
    assert.deepEqual(shown, [commits.c7, commits.c3]);
    assert.match(text.stdout, /^ {4}production: new greeting$/m);
    assert.match(text.stdout, /^ {4}~ \/greeting "hello" -> "welcome"$/m);
    assert.match(text.stdout, /^ {4}~ \/db\/password "\*\*\*" -> "\*\*\*"$/m);
    assert.ok(!text.stdout.includes('vault:'));
    assert.match(text.stderr, new RegExp(`--before ${commits.c3}`));

    const json = await runCli(
      ['history', 'app', '--env', 'development', '--format', 'json', '--repo', dir, '--ref', commits.c6],
      { cwd: process.cwd() },
    );
    assert.equal(json.code, 0, json.stderr);
    const page = JSON.parse(json.stdout) as PairHistory;
    assert.equal(page.at, commits.c6);
    assert.deepEqual(
      page.commits.map((c) => c.commit),
      [commits.c6, commits.c2, commits.c1],
    );
    assert.equal(page.next, null);
  });

  it('prints every leaf with its file, line and commit', async () => {
    const text = await runCli(['blame', 'app', '--env', 'staging'], { cwd: dir });
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 6);
    const greeting = lines.find((l) => l.startsWith('/greeting '))!;
    assert.match(greeting, /"welcome"\s+environments\/production\/app\.yaml:1\s+/);
    assert.ok(greeting.includes(` ${commits.c3.slice(0, 7)} `));
    const password = lines.find((l) => l.startsWith('/db/password '))!;
    assert.match(password, /"\*\*\*"\s+defaults\/app\.yaml:4\s+/);
    assert.ok(password.includes(` ${commits.c7.slice(0, 7)} `));

    const json = await runCli(['blame', 'app', '--env', 'staging', '--format', 'json'], { cwd: dir });
    assert.equal(json.code, 0, json.stderr);
    const explanation = JSON.parse(json.stdout) as Explanation;
    const delay = explanation.values.find((v) => v.path === '/retry/delay_ms')!;
    assert.deepEqual([delay.file, delay.line, delay.commit?.commit], ['defaults/app.yaml', 7, commits.c2]);
  });

  it('fails with exit 1 for an unknown namespace or environment and 2 for bad arguments', async () => {
    const unknown = await runCli(['blame', 'nope', '--env', 'staging'], { cwd: dir });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /gitcfg: error: namespace not found: nope/);
    const env = await runCli(['history', 'app', '--env', 'nope'], { cwd: dir });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /environment not found: nope/);
    const limit = await runCli(['history', 'app', '--env', 'staging', '--limit', '0'], { cwd: dir });
    assert.equal(limit.code, 2);
    assert.match(limit.stderr, /--limit/);
    const missingEnv = await runCli(['history', 'app'], { cwd: dir });
    assert.equal(missingEnv.code, 2);
  });
});
