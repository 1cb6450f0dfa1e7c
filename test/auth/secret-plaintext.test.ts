/** Validation of secret fields: only references are accepted, and issues never quote the value. */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EngineCache,
  SecretScopes,
  evaluateRepo,
  formatIssue,
  memorySource,
} from '../../src/engine/index.js';

const files = (defaults: string, override = 'host: db.prod\n') => ({
  'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n',
  'schemas/db.schema.json': JSON.stringify({
    type: 'object',
    properties: {
      host: { type: 'string' },
      password: { type: 'string', 'x-gitcfg-secret': true },
      keys: { type: 'object', additionalProperties: { 'x-gitcfg-secret': true } },
    },
  }),
  'defaults/db.yaml': defaults,
  'environments/production/db.yaml': override,
});

describe('secret-plaintext', () => {
  it('accepts references', async () => {
    const ev = await evaluateRepo(
      memorySource(files('password: ${env:DB_PASSWORD}\nkeys:\n  a: ${env:KEY_A}\n')),
    );
    assert.deepEqual(ev.issues, []);
    assert.equal(ev.configs.get('db/production')?.value.password, '${env:DB_PASSWORD}');
  });

  it('rejects every plaintext value with its position, without quoting it', async () => {
    const secret = 'hunter2-Plaintext';
    const ev = await evaluateRepo(
      memorySource(files(`host: x\npassword: ${secret}\nkeys:\n  a: 12345\n  b: \${env:KEY_B}\n`)),
    );
    const issues = ev.issues.filter((i) => i.code === 'secret-plaintext');
    assert.deepEqual(
      issues.map((i) => [i.file, i.line, i.path, i.environment]),
      [
        ['defaults/db.yaml', 2, '/password', 'production'],
        ['defaults/db.yaml', 4, '/keys/a', 'production'],
      ],
    );
    assert.equal(ev.configs.size, 0, 'the pair is not servable');
    const text = JSON.stringify(ev.issues) + ev.issues.map((i) => formatIssue(i)).join('\n');
    assert.ok(!text.includes(secret) && !text.includes('12345'));
  });

  it('points at the override that wrote the plaintext', async () => {
    const ev = await evaluateRepo(
      memorySource(files('password: ${env:DB_PASSWORD}\n', 'host: db.prod\npassword: s3cr3t-value\n')),
    );
    assert.deepEqual(
      ev.issues.map((i) => [i.code, i.file, i.line]),
      [['secret-plaintext', 'environments/production/db.yaml', 2]],
    );
  });
});

describe('secret-out-of-scope', () => {
  const scopes = SecretScopes.parse('db/production:DB_*', 'GITCFG_SECRET_ENV');

  it('is reported at the line of a reference its namespace/environment is not granted', async () => {
    const source = memorySource(
      files('host: x\npassword: ${env:DB_PASSWORD}\n', 'host: db.prod\nkeys:\n  a: ${env:OPENAI_API_KEY}\n'),
    );
    const ev = await evaluateRepo(source, { secretScopes: scopes });
    assert.deepEqual(
      ev.issues.map((i) => [i.code, i.file, i.line, i.path]),
      [['secret-out-of-scope', 'environments/production/db.yaml', 3, '/keys/a']],
    );
    assert.match(
      formatIssue(ev.issues[0]!),
      /\$\{env:OPENAI_API_KEY\} is not in the secret scopes of db\/production/,
    );
    assert.equal(ev.configs.get('db/production'), undefined, 'the pair is not servable');
    // Without scopes (the CLI and the hook) the check is skipped.
    assert.deepEqual((await evaluateRepo(source)).issues, []);
  });

  it('is checked again for a pair reused from the engine cache', async () => {
    const cache = new EngineCache();
    const source = memorySource(files('password: ${env:OTHER}\n'));
    assert.equal((await evaluateRepo(source, { cache })).issues.length, 0);
    const ev = await evaluateRepo(source, { cache, secretScopes: scopes });
    assert.deepEqual(
      ev.issues.map((i) => [i.code, i.file, i.line]),
      [['secret-out-of-scope', 'defaults/db.yaml', 1]],
    );
  });
});
