import * as assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { runCliInProcess } from '../helpers/run-cli.js';
import {
  BAD_PRODUCTION,
  BAD_PRODUCTION_FILE,
  commitAll,
  createConfigRepo,
  removeTempDirs,
  writeFiles,
} from './cli-fixture.js';

after(removeTempDirs);

describe('gitcfg render', () => {
  test('json: defaults <- production <- staging, arrays replaced', async () => {
    const dir = createConfigRepo();
    const result = await runCliInProcess(['render', 'http-client', '--env', 'staging'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      base_url: 'https://api.example.com',
      timeout_ms: 5000,
      tags: ['staging', 'canary'],
    });
    const development = await runCliInProcess([
      'render',
      'http-client',
      '--env',
      'development',
      '--repo',
      dir,
    ]);
    assert.deepEqual(JSON.parse(development.stdout), {
      base_url: 'http://localhost:8080',
      timeout_ms: 2000,
      tags: ['default'],
    });
  });

  test('yaml format and --ref of an older commit', async () => {
    const dir = createConfigRepo();
    writeFiles(dir, { 'environments/production/http-client.yaml': 'base_url: https://api2.example.com\n' });
    commitAll(dir, 'move production');
    const now = await runCliInProcess(['render', 'http-client', '--env', 'production', '--format', 'yaml'], {
      cwd: dir,
    });
    assert.equal(now.code, 0, now.stderr);
    assert.deepEqual(parse(now.stdout), {
      base_url: 'https://api2.example.com',
      timeout_ms: 2000,
      tags: ['default'],
    });
    const before = await runCliInProcess(
      ['render', 'http-client', '--env', 'production', '--ref', 'HEAD~1'],
      {
        cwd: dir,
      },
    );
    assert.equal(before.code, 0, before.stderr);
    assert.equal(JSON.parse(before.stdout).base_url, 'https://api.example.com');
  });

  test('unknown namespace or environment: exit 1 with the known names', async () => {
    const dir = createConfigRepo();
    const ns = await runCliInProcess(['render', 'nope', '--env', 'production'], { cwd: dir });
    assert.equal(ns.code, 1);
    assert.equal(ns.stdout, '');
    assert.equal(ns.stderr, 'gitcfg: error: namespace not found: nope (known: http-client)\n');
    const env = await runCliInProcess(['render', 'http-client', '--env', 'qa'], { cwd: dir });
    assert.equal(env.code, 1);
    assert.equal(
      env.stderr,
      'gitcfg: error: environment not found: qa (known: development, production, staging)\n',
    );
    const typo = await runCliInProcess(['render', 'http-clinet', '--env', 'prodution'], { cwd: dir });
    assert.equal(
      typo.stderr,
      'gitcfg: error: namespace not found: http-clinet; did you mean "http-client"? (known: http-client)\n',
    );
  });

  test('an invalid pair: exit 1, its issues on stderr, nothing on stdout', async () => {
    const dir = createConfigRepo();
    writeFiles(dir, { [BAD_PRODUCTION_FILE]: BAD_PRODUCTION });
    const result = await runCliInProcess(['render', 'http-client', '--env', 'production'], { cwd: dir });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      new RegExp(`^${BAD_PRODUCTION_FILE}:2:13: .*\\[http-client/production at /timeout_ms\\]$`, 'm'),
    );
    // development does not read the bad file.
    const development = await runCliInProcess(['render', 'http-client', '--env', 'development'], {
      cwd: dir,
    });
    assert.equal(development.code, 0, development.stderr);
  });
});
