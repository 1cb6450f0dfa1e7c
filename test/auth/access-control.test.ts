/** Tokens file, scopes and bearer checks (pure parts), and the published schema copy. */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import {
  AccessControl,
  TOKENS_FILE_SCHEMA,
  allows,
  hashToken,
  loadTokensFile,
  parseScope,
  parseTokensFile,
} from '../../src/auth/index.js';
import { ForbiddenError, TokensFileError, UnauthorizedError } from '../../src/errors/index.js';

/** The error `fn` throws (fails when it does not throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected an error');
}

const sha = (t: string) => createHash('sha256').update(t).digest('hex');

describe('tokens file', () => {
  it('is published as schemas/gitcfg-tokens.schema.json, identical to the one in code', async () => {
    const published = JSON.parse(
      await readFile(new URL('../../schemas/gitcfg-tokens.schema.json', import.meta.url), 'utf8'),
    );
    assert.deepEqual(published, JSON.parse(JSON.stringify(TOKENS_FILE_SCHEMA)));
  });

  it('parses entries; hashes may be upper-case hex', () => {
    const tokens = parseTokensFile(
      `tokens:\n  - name: Ada Lovelace\n    email: ada@example.com\n    sha256: ${sha('t1').toUpperCase()}\n    scopes: ["read:*/*", "write:app-*/staging"]\n`,
    );
    assert.equal(tokens.length, 1);
    assert.equal(tokens[0]!.name, 'Ada Lovelace');
    assert.equal(tokens[0]!.digest.toString('hex'), sha('t1'));
    assert.deepEqual(
      tokens[0]!.scopes.map((s) => s.kind),
      ['read', 'write'],
    );
  });

  it('reports every problem with positions and paths, never the offending values', () => {
    const hash = sha('secret-token');
    const text = [
      'tokens:',
      `  - name: a`,
      `    email: not-an-email`,
      `    sha256: ${hash}0`,
      `    scopes: ["read:app"]`,
      `  - name: b`,
      `    email: b@example.com`,
      `    sha256: ${hash}`,
      `    scopes: [admin]`,
      `    extra: ${hash}`,
    ].join('\n');
    const err = thrown(() => parseTokensFile(text, 'tokens.yaml')) as TokensFileError;
    assert.ok(err instanceof TokensFileError);
    assert.equal(err.code, 'E_TOKENS_FILE');
    for (const where of ['/tokens/0/email', '/tokens/0/sha256', '/tokens/0/scopes/0', '/tokens/1']) {
      assert.ok(err.message.includes(where), `${where} in ${err.message}`);
    }
    assert.ok(!err.message.includes(hash), 'hash echoed');
    const dup = `tokens:\n${[1, 2].map((i) => `  - {name: n${i}, email: n${i}@x.io, sha256: ${hash}, scopes: [admin]}\n`).join('')}`;
    const dupErr = thrown(() => parseTokensFile(dup));
    assert.match(String(dupErr), /\/tokens\/1 has the same sha256 as \/tokens\/0/);
    assert.ok(!String(dupErr).includes(hash));
    const yamlErr = thrown(() => parseTokensFile(`tokens: [\n  ${hash}`));
    assert.match(String(yamlErr), /not valid YAML: line \d+/);
    assert.ok(!String(yamlErr).includes(hash));
  });

  it('an unreadable file names the file and the reason only', () => {
    const err = thrown(() =>
      loadTokensFile('missing.yaml', () => {
        throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
      }),
    ) as TokensFileError;
    assert.equal(err.code, 'E_TOKENS_FILE');
    assert.match(err.message, /missing\.yaml: ENOENT/);
  });
});

describe('scopes', () => {
  const scopes = ['read:*/*', 'write:app/staging', 'write:pay-*/prod*', 'read-secrets:db/production'].map(
    parseScope,
  );

  it('match globs per namespace and environment; write and read-secrets imply read', () => {
    assert.ok(allows(scopes, 'read', 'anything', 'anywhere'));
    assert.ok(allows(scopes, 'write', 'app', 'staging'));
    assert.ok(!allows(scopes, 'write', 'app', 'production'));
    assert.ok(allows(scopes, 'write', 'pay-eu', 'production'));
    assert.ok(!allows(scopes, 'write', 'payments', 'production'));
    assert.ok(!allows(scopes, 'write', 'pay-eu', 'staging'));
    assert.ok(allows(scopes, 'read-secrets', 'db', 'production'));
    assert.ok(!allows(scopes, 'read-secrets', 'db', 'staging'));
    const writer = [parseScope('write:app/*')];
    assert.ok(allows(writer, 'read', 'app', 'staging'));
    assert.ok(
      allows(writer, 'write', 'app', 'defaults'),
      'the defaults file needs an env glob matching "defaults"',
    );
    assert.ok(!allows([parseScope('write:app/staging')], 'write', 'app', 'defaults'));
    assert.ok(allows([parseScope('admin')], 'write', 'x', 'y'));
  });

  it('refuses bad syntax', () => {
    for (const bad of ['read', 'read:app', 'delete:app/prod', 'read:App/prod', 'read:a/b/c', 'admin:all']) {
      assert.throws(() => parseScope(bad), /invalid scope/, bad);
    }
  });
});

describe('AccessControl', () => {
  const tokens = parseTokensFile(
    `tokens:\n  - {name: w, email: w@x.io, sha256: ${hashToken('tok-w')}, scopes: ["write:app/*"]}\n  - {name: a, email: a@x.io, sha256: ${hashToken('tok-a')}, scopes: [admin]}\n`,
  );
  const access = AccessControl.withTokens(tokens);

  it('authenticates bearer tokens by their sha256', () => {
    assert.equal(access.authenticate('Bearer tok-w')?.name, 'w');
    assert.equal(access.authenticate('bearer   tok-a')?.email, 'a@x.io');
    assert.equal(access.authenticate(undefined), null);
    assert.throws(() => access.authenticate('Bearer tok-x'), UnauthorizedError);
    assert.throws(() => access.authenticate('Basic dG9rLXc='), UnauthorizedError);
    assert.throws(() => access.authenticate('Bearer '), UnauthorizedError);
  });

  it('401 without a principal, 403 outside the scopes', () => {
    const w = access.authenticate('Bearer tok-w');
    assert.throws(() => access.authorize(null, 'read', 'app', 'prod'), UnauthorizedError);
    access.authorize(w, 'write', 'app', 'prod');
    assert.throws(() => access.authorize(w, 'write', 'db', 'prod'), ForbiddenError);
    assert.throws(() => access.authorizeAdmin(w), ForbiddenError);
    access.authorizeAdmin(access.authenticate('Bearer tok-a'));
    assert.ok(!access.canReadSecrets(w, 'app', 'prod'));
    assert.ok(access.canReadSecrets(access.authenticate('Bearer tok-a'), 'app', 'prod'));
  });

  it('without a tokens file: reads open, writes and admin refused with how to enable them', () => {
    const open = AccessControl.open();
    assert.equal(open.authenticate('Bearer anything'), null);
    open.authorize(null, 'read', 'app', 'prod');
    const err = thrown(() => open.authorize(null, 'write', 'app', 'prod'));
    assert.ok(err instanceof ForbiddenError);
    assert.match(String(err), /GITCFG_TOKENS_FILE/);
    assert.throws(() => open.authorizeAdmin(null), /GITCFG_TOKENS_FILE/);
    assert.ok(!open.canReadSecrets(null, 'app', 'prod'));
  });
});
