import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PROJECT_ROOT, runCli, runCliInProcess } from '../helpers/run-cli.js';
import {
  BAD_PRODUCTION,
  BAD_PRODUCTION_FILE,
  VALID_FILES,
  commitAll,
  createConfigRepo,
  git,
  removeTempDirs,
  tempDir,
  writeFiles,
} from './cli-fixture.js';

after(removeTempDirs);

const BAD_LINE = `${BAD_PRODUCTION_FILE}:2:13:`;

describe('gitcfg validate', () => {
  // Spawned: the exit-0 contract of the real process.
  test("the project's own config-repo/ is valid (auto-detected from the project root)", async () => {
    const result = await runCli(['validate', '--repo', PROJECT_ROOT]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      /^✔ \d+ namespaces x \d+ environments valid \(working tree, config-repo\/\)\n$/,
    );
  });

  test('--repo pointing at the config root inside a work tree', async () => {
    const result = await runCliInProcess(['validate', '--repo', 'config-repo', '--format', 'json'], {
      cwd: PROJECT_ROOT,
    });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.ok, true);
    assert.ok(report.namespaces.length >= 1);
    assert.ok(report.environments.includes('production'));
  });

  test('a valid repository: exit 0, nothing on stdout, summary on stderr', async () => {
    const dir = createConfigRepo();
    const result = await runCliInProcess(['validate'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, '✔ 1 namespace x 3 environments valid (working tree)\n');
  });

  // Spawned: the exit-1 contract of the real process.
  test('an invalid file: exit 1, one file:line:col line per issue, pointing at the override', async () => {
    const dir = createConfigRepo();
    writeFiles(dir, { [BAD_PRODUCTION_FILE]: BAD_PRODUCTION });
    const result = await runCli(['validate', '--repo', dir]);
    assert.equal(result.code, 1);
    const lines = result.stdout.trimEnd().split('\n');
    // production and staging (which extends it) inherit the bad value from the same line: printed once.
    assert.deepEqual(lines, [`${BAD_LINE} must be integer [http-client/production, staging at /timeout_ms]`]);
    assert.equal(result.stderr, '✖ 1 issue (working tree)\n');
  });

  test('--format json: {ok, issues, namespaces, environments} on stdout only', async () => {
    const dir = createConfigRepo();
    writeFiles(dir, { [BAD_PRODUCTION_FILE]: BAD_PRODUCTION });
    const result = await runCliInProcess(['validate', '--format', 'json'], { cwd: dir });
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout);
    assert.equal(report.ok, false);
    assert.deepEqual(report.namespaces, ['http-client']);
    assert.deepEqual(report.environments, ['development', 'production', 'staging']);
    const production = report.issues.find((i: { environment?: string }) => i.environment === 'production');
    assert.equal(production.file, BAD_PRODUCTION_FILE);
    assert.equal(production.line, 2);
    assert.equal(production.column, 13);
    assert.equal(production.path, '/timeout_ms');
    assert.equal(report.source.kind, 'working-tree');
  });

  test('--staged reads exactly the index: bad staged + fixed work tree fails, good staged + broken work tree passes', async () => {
    const dir = createConfigRepo();
    writeFiles(dir, { [BAD_PRODUCTION_FILE]: BAD_PRODUCTION });
    git(dir, 'add', BAD_PRODUCTION_FILE);
    writeFiles(dir, { [BAD_PRODUCTION_FILE]: VALID_FILES[BAD_PRODUCTION_FILE] as string });
    const badStaged = await runCliInProcess(['validate', '--staged'], { cwd: dir });
    assert.equal(badStaged.code, 1, badStaged.stderr);
    assert.ok(badStaged.stdout.startsWith(BAD_LINE), badStaged.stdout);
    assert.match(badStaged.stderr, /\(staged\)/);
    const workTree = await runCliInProcess(['validate'], { cwd: dir });
    assert.equal(workTree.code, 0, workTree.stdout);

    git(dir, 'add', BAD_PRODUCTION_FILE); // stage the good bytes
    writeFiles(dir, { [BAD_PRODUCTION_FILE]: BAD_PRODUCTION });
    const goodStaged = await runCliInProcess(['validate', '--staged'], { cwd: dir });
    assert.equal(goodStaged.code, 0, goodStaged.stdout);
    const brokenTree = await runCliInProcess(['validate'], { cwd: dir });
    assert.equal(brokenTree.code, 1);
  });

  test('--ref validates an old commit, whatever the work tree holds', async () => {
    const dir = createConfigRepo();
    const good = git(dir, 'rev-parse', 'HEAD').trim();
    writeFiles(dir, { [BAD_PRODUCTION_FILE]: BAD_PRODUCTION });
    commitAll(dir, 'break production');
    const old = await runCliInProcess(['validate', '--ref', 'HEAD~1'], { cwd: dir });
    assert.equal(old.code, 0, old.stdout);
    assert.match(old.stderr, new RegExp(`\\(commit ${good.slice(0, 7)}\\)`));
    const byShortOid = await runCliInProcess(['validate', '--ref', good.slice(0, 8)], { cwd: dir });
    assert.equal(byShortOid.code, 0, byShortOid.stdout);
    const head = await runCliInProcess(['validate', '--ref', 'main'], { cwd: dir });
    assert.equal(head.code, 1);
    assert.ok(head.stdout.startsWith(BAD_LINE), head.stdout);
  });

  test('--subdir and config-repo/ auto-detection; paths shown relative to the git root', async () => {
    const dir = createConfigRepo({ ...VALID_FILES, [BAD_PRODUCTION_FILE]: BAD_PRODUCTION }, 'conf');
    const missing = await runCliInProcess(['validate', '--format', 'json'], { cwd: dir });
    assert.equal(missing.code, 1);
    assert.equal(JSON.parse(missing.stdout).issues[0].code, 'manifest-missing');
    for (const args of [
      ['validate', '--subdir', 'conf'],
      ['validate', '--subdir', 'conf', '--staged'],
      ['validate', '--subdir', 'conf', '--ref', 'HEAD'],
    ]) {
      const result = await runCliInProcess(args, { cwd: dir });
      assert.equal(result.code, 1, args.join(' '));
      assert.ok(result.stdout.startsWith(`conf/${BAD_LINE}`), `${args.join(' ')}: ${result.stdout}`);
    }
    const fromInside = await runCliInProcess(['validate', '--staged'], { cwd: join(dir, 'conf') });
    assert.ok(fromInside.stdout.startsWith(`conf/${BAD_LINE}`), fromInside.stdout);

    const auto = createConfigRepo(VALID_FILES, 'config-repo');
    writeFiles(auto, { 'README.md': '# not config\n' });
    for (const args of [['validate'], ['validate', '--staged'], ['validate', '--ref', 'HEAD']]) {
      const result = await runCliInProcess(args, { cwd: auto });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, /config-repo\/\)\n$/);
    }
  });

  test('usage errors exit 2 with a gitcfg: error: line', async () => {
    const dir = createConfigRepo();
    const plain = tempDir();
    writeFiles(plain, VALID_FILES);
    const cases: Array<{ args: string[]; cwd?: string; message: RegExp }> = [
      { args: ['validate', '--bogus'], message: /unknown option '--bogus'/ },
      { args: ['validate', '--ref', 'HEAD', '--staged'], message: /cannot be used with/ },
      { args: ['validate', '--repo', join(dir, 'does-not-exist')], message: /repository not found/ },
      { args: ['validate', '--ref', 'no-such-branch'], message: /no-such-branch/ },
      { args: ['validate', '--format', 'xml'], message: /xml/ },
      { args: ['validate', '--staged'], cwd: plain, message: /not a git repository/ },
      { args: ['frobnicate'], message: /unknown command 'frobnicate'/ },
      { args: [], message: /Usage: gitcfg/ },
      { args: ['render', 'http-client'], message: /--env/ },
      { args: ['diff', 'HEAD'], message: /missing required argument 'to'/ },
    ];
    for (const [index, { args, cwd, message }] of cases.entries()) {
      // The first case through the real process (the exit-2 contract), the rest in this process.
      const result = await (index === 0 ? runCli : runCliInProcess)(args, { cwd: cwd ?? dir });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
      if (args.length > 0) assert.match(result.stderr, /^gitcfg: error: /, args.join(' '));
      assert.equal(result.stdout, '', args.join(' '));
    }
    // Not a usage error: a plain directory (no git) is fine for the working tree.
    assert.equal((await runCliInProcess(['validate'], { cwd: plain })).code, 0);
  });

  test('--version and --help exit 0 on stdout', async () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'));
    const version = await runCliInProcess(['--version']);
    assert.equal(version.code, 0);
    assert.equal(version.stdout, `${pkg.version}\n`);
    const help = await runCliInProcess(['validate', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--staged/);
  });
});

describe('gitcfg validate on hostile content', () => {
  test('a file too costly to validate is a validation-timeout issue on that file, not a hang', async () => {
    const schema = JSON.parse(VALID_FILES['schemas/http-client.schema.json']!) as {
      properties: Record<string, unknown>;
    };
    schema.properties.rows = { type: 'array', uniqueItems: true };
    const rows = Array.from({ length: 20_000 }, (_, i) => `  - {id: ${i}}`).join('\n');
    const dir = createConfigRepo({
      ...VALID_FILES,
      'schemas/http-client.schema.json': JSON.stringify(schema),
      'defaults/http-client.yaml': `${VALID_FILES['defaults/http-client.yaml']}rows:\n${rows}\n`,
    });
    const result = await runCliInProcess(['validate', '--no-cache', '--format', 'json'], {
      cwd: dir,
      env: { GITCFG_VALIDATION_TIMEOUT_MS: '3000' },
    });
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { issues: { code: string; file: string }[] };
    assert.deepEqual(
      report.issues.map((i) => [i.code, i.file]),
      [['validation-timeout', 'defaults/http-client.yaml']],
    );
  });

  test('a schema whose $id is the meta-schema is reported on that schema only', async () => {
    const dir = createConfigRepo({
      ...VALID_FILES,
      'schemas/evil.schema.json': JSON.stringify({ $id: 'https://json-schema.org/draft/2020-12/schema' }),
      'defaults/evil.yaml': '{}\n',
    });
    const result = await runCliInProcess(['validate', '--no-cache'], { cwd: dir });
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      /^schemas\/evil\.schema\.json:1:\d+: schema does not compile: \$id .* is already taken/,
    );
    assert.equal(result.stdout.trim().split('\n').length, 1, result.stdout);
  });
});
