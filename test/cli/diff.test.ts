import * as assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { runCliInProcess } from '../helpers/run-cli.js';
import {
  BAD_PRODUCTION,
  BAD_PRODUCTION_FILE,
  commitAll,
  createConfigRepo,
  git,
  removeTempDirs,
  writeFiles,
} from './cli-fixture.js';

after(removeTempDirs);

/**
 * Two commits: defaults drop `tags`, production's timeout 5000 -> 7000 (staging extends production), a new
 * development override moves its base_url.
 */
function repoWithChange(): { dir: string; first: string; second: string } {
  const dir = createConfigRepo();
  const first = git(dir, 'rev-parse', 'HEAD').trim();
  writeFiles(dir, {
    'defaults/http-client.yaml': 'base_url: http://localhost:8080\ntimeout_ms: 2000\n',
    'environments/production/http-client.yaml': 'base_url: https://api.example.com\ntimeout_ms: 7000\n',
    'environments/development/http-client.yaml': 'base_url: http://dev:8080\n',
  });
  const second = commitAll(dir, 'tune timeouts');
  return { dir, first, second };
}

const EXPECTED = [
  'development/http-client: - /tags ["default"]',
  'development/http-client: ~ /base_url "http://localhost:8080" -> "http://dev:8080"',
  'production/http-client: - /tags ["default"]',
  'production/http-client: ~ /timeout_ms 5000 -> 7000',
  'staging/http-client: ~ /timeout_ms 5000 -> 7000',
];

describe('gitcfg diff', () => {
  test('text: one line per effective change, grouped by environment', async () => {
    const { dir, first, second } = repoWithChange();
    const result = await runCliInProcess(['diff', first, second], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.deepEqual([...lines].sort(), EXPECTED);
    assert.deepEqual(
      lines.map((l) => l.split(':')[0]),
      EXPECTED.map((l) => l.split(':')[0]),
    );
    assert.match(result.stderr, /^5 change\(s\) in 3 namespace x environment pair\(s\)/);
  });

  test('--env filter, refs by name, and json', async () => {
    const { dir, first, second } = repoWithChange();
    const production = await runCliInProcess(['diff', 'HEAD~1', 'main', '--env', 'production'], { cwd: dir });
    assert.equal(production.code, 0, production.stderr);
    assert.deepEqual(
      production.stdout.trimEnd().split('\n').sort(),
      EXPECTED.filter((l) => l.startsWith('production/')),
    );

    const json = await runCliInProcess(['diff', first, second, '--format', 'json', '--env', 'staging'], {
      cwd: dir,
    });
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.equal(report.from, first);
    assert.equal(report.to, second);
    assert.deepEqual(report.pairs, [
      {
        namespace: 'http-client',
        environment: 'staging',
        status: 'changed',
        changes: [{ op: 'replace', path: '/timeout_ms', from: 5000, to: 7000 }],
      },
    ]);
  });

  test('no change, a new namespace, and an unknown environment', async () => {
    const dir = createConfigRepo();
    const same = await runCliInProcess(['diff', 'HEAD', 'HEAD'], { cwd: dir });
    assert.equal(same.code, 0);
    assert.equal(same.stdout, '');
    assert.match(same.stderr, /^no effective changes/);

    writeFiles(dir, {
      'schemas/feature-flags.schema.json': JSON.stringify({
        type: 'object',
        properties: { beta: { type: 'boolean' } },
      }),
      'defaults/feature-flags.yaml': 'beta: false\n',
    });
    commitAll(dir, 'add feature flags');
    const added = await runCliInProcess(['diff', 'HEAD~1', 'HEAD', '--format', 'json'], { cwd: dir });
    assert.equal(added.code, 0, added.stderr);
    const pairs = JSON.parse(added.stdout).pairs as Array<{
      namespace: string;
      environment: string;
      status: string;
    }>;
    assert.deepEqual(
      pairs.map((p) => `${p.environment}/${p.namespace}:${p.status}`),
      ['development/feature-flags:added', 'production/feature-flags:added', 'staging/feature-flags:added'],
    );
    const text = await runCliInProcess(['diff', 'HEAD~1', 'HEAD', '--env', 'production'], { cwd: dir });
    assert.match(text.stdout, /^production\/feature-flags: \+ /);

    const unknown = await runCliInProcess(['diff', 'HEAD~1', 'HEAD', '--env', 'qa'], { cwd: dir });
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /^gitcfg: error: environment not found: qa \(known: development, production, staging\)/,
    );
    const badRef = await runCliInProcess(['diff', 'HEAD', 'nope'], { cwd: dir });
    assert.equal(badRef.code, 2);
  });

  test('fields marked x-gitcfg-secret are masked', async () => {
    const dir = createConfigRepo({
      'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n',
      'schemas/ai.schema.json': JSON.stringify({
        type: 'object',
        properties: { model: { type: 'string' }, api_key: { type: 'string', 'x-gitcfg-secret': true } },
      }),
      'defaults/ai.yaml': 'model: small\napi_key: ${env:OLD_KEY}\n',
    });
    writeFiles(dir, { 'defaults/ai.yaml': 'model: large\napi_key: ${env:NEW_KEY}\n' });
    commitAll(dir, 'rotate');
    const result = await runCliInProcess(['diff', 'HEAD~1', 'HEAD'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trimEnd().split('\n').sort(), [
      'production/ai: ~ /api_key "***" -> "***"',
      'production/ai: ~ /model "small" -> "large"',
    ]);
    const json = await runCliInProcess(['diff', 'HEAD~1', 'HEAD', '--format', 'json'], { cwd: dir });
    assert.ok(!json.stdout.includes('KEY'), json.stdout);
  });

  test('a pair invalid at one side is listed apart, not reported as removed', async () => {
    const dir = createConfigRepo();
    writeFiles(dir, {
      [BAD_PRODUCTION_FILE]: BAD_PRODUCTION,
      'defaults/http-client.yaml': 'base_url: http://localhost:9090\ntimeout_ms: 2000\ntags: [default]\n',
    });
    commitAll(dir, 'break production');
    const json = await runCliInProcess(['diff', 'HEAD~1', 'HEAD', '--format', 'json'], { cwd: dir });
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.deepEqual(report.invalid, {
      from: [],
      to: [
        { namespace: 'http-client', environment: 'production' },
        { namespace: 'http-client', environment: 'staging' },
      ],
    });
    assert.deepEqual(
      report.pairs.map((p: { environment: string; status: string }) => `${p.environment}:${p.status}`),
      ['development:changed'],
    );
    assert.match(
      json.stderr,
      /^warning: HEAD has 2 issue\(s\); not compared: production\/http-client, staging\/http-client$/m,
    );
  });
});
