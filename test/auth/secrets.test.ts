/** Secret fields: which pointers are secret, masking and resolution. */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secretResolverFromEnv } from '../../src/auth/index.js';
import type { GitcfgError } from '../../src/errors/index.js';
import {
  SECRET_MASK,
  SecretMatcher,
  isSecretReference,
  maskChanges,
  maskSecrets,
} from '../../src/engine/index.js';
import type { JsonObject } from '../../src/engine/index.js';

const schema: JsonObject = {
  type: 'object',
  $defs: { secret: { type: 'string', 'x-gitcfg-secret': true } },
  properties: {
    db: { type: 'object', properties: { host: { type: 'string' }, password: { $ref: '#/$defs/secret' } } },
    apiKeys: { type: 'object', additionalProperties: { type: 'string', 'x-gitcfg-secret': true } },
    tokens: { type: 'array', items: { type: 'string', 'x-gitcfg-secret': true } },
    either: { anyOf: [{ type: 'string', 'x-gitcfg-secret': true }, { type: 'number' }] },
    plain: { type: 'string' },
  },
};
const value: JsonObject = {
  db: { host: 'h', password: '${env:DB_PASSWORD}' },
  apiKeys: { a: '${env:KEY_A}', b: '${env:GITCFG_GIT_TOKEN}' },
  tokens: ['${env:T1}'],
  either: 'x',
  plain: '${env:DB_PASSWORD}',
};

describe('secret fields', () => {
  it('follow $ref, additionalProperties, items and combinators', () => {
    const m = new SecretMatcher(schema);
    assert.deepEqual(m.pointers(value).sort(), [
      '/apiKeys/a',
      '/apiKeys/b',
      '/db/password',
      '/either',
      '/tokens/0',
    ]);
    assert.ok(m.isSecret('/db/password/deeper'));
    assert.ok(!m.isSecret('/db/host'));
  });

  it('are masked everywhere, including inside changed subtrees', () => {
    const masked = maskSecrets(value, schema) as JsonObject;
    assert.deepEqual(masked.db, { host: 'h', password: SECRET_MASK });
    assert.equal(masked.plain, '${env:DB_PASSWORD}');
    const changes = maskChanges(
      [
        { op: 'replace', path: '/db/password', from: 'old', to: 'new' },
        { op: 'add', path: '/db', to: { host: 'x', password: 'p' } },
        { op: 'replace', path: '/plain', from: 'a', to: 'b' },
      ],
      schema,
    );
    assert.deepEqual(changes, [
      { op: 'replace', path: '/db/password', from: SECRET_MASK, to: SECRET_MASK },
      { op: 'add', path: '/db', to: { host: 'x', password: SECRET_MASK } },
      { op: 'replace', path: '/plain', from: 'a', to: 'b' },
    ]);
  });

  it('resolve only references in secret fields, never GITCFG_* variables, and report the unresolved', () => {
    const env: Record<string, string> = {
      DB_PASSWORD: 'pw',
      KEY_A: 'ka',
      GITCFG_GIT_TOKEN: 'server-credential',
    };
    const missing = new Set<string>();
    const out = new SecretMatcher(schema).resolve(value, (n) => env[n], missing) as JsonObject;
    assert.deepEqual(out.db, { host: 'h', password: 'pw' });
    assert.deepEqual(out.apiKeys, { a: 'ka', b: '${env:GITCFG_GIT_TOKEN}' });
    assert.equal(out.plain, '${env:DB_PASSWORD}');
    assert.deepEqual([...missing].sort(), ['GITCFG_GIT_TOKEN', 'T1']);
    assert.ok(isSecretReference('${env:A_1}'));
    assert.ok(isSecretReference('${vault:db/password#v2}'), 'references for other resolvers are accepted');
    for (const bad of [
      '${env:1A}',
      'x${env:A}',
      '${env:A} ',
      'vault:a',
      '${Vault:a}',
      '${vault:}',
      3,
      null,
    ]) {
      assert.ok(!isSecretReference(bad), String(bad));
    }
  });
  it('never resolve GITCFG_* in another case, nor inherited names of a plain-object environment', () => {
    const env: Record<string, string> = { GITCFG_GIT_TOKEN: 'server-credential', DB_PASSWORD: 'pw' };
    // Windows `process.env` answers names case-blind.
    const caseBlind = (n: string) =>
      Object.entries(env).find(([k]) => k.toUpperCase() === n.toUpperCase())?.[1];
    const input: JsonObject = {
      db: { password: '${env:db_password}' },
      apiKeys: { a: '${env:gitcfg_git_token}', b: '${env:Gitcfg_Git_Token}' },
    };
    const missing = new Set<string>();
    const out = new SecretMatcher(schema).resolve(input, caseBlind, missing) as JsonObject;
    assert.deepEqual(out.db, { password: 'pw' });
    assert.deepEqual(out.apiKeys, input.apiKeys);
    assert.deepEqual([...missing].sort(), ['Gitcfg_Git_Token', 'gitcfg_git_token']);
    const inherited: JsonObject = { tokens: ['${env:toString}', '${env:__proto__}', '${env:constructor}'] };
    const plain = new SecretMatcher(schema).resolve(inherited, (n) => env[n], new Set()) as JsonObject;
    assert.deepEqual(plain.tokens, inherited.tokens);
  });
});

describe('secretResolverFromEnv (what `${env:NAME}` may resolve to on the server)', () => {
  const env = {
    DB_PASSWORD: 'db',
    DB_USER: 'u',
    AWS_SECRET_ACCESS_KEY: 'aws',
    OPENAI_API_KEY: 'oa',
    GITCFG_GIT_TOKEN: 'git',
    GITCFG_SECRET_ENV: '*/*:DB_*, ai-provider/production:OPENAI_API_KEY, */*:GITCFG_*',
  };
  const noFile = (): string => {
    throw new Error('no file expected');
  };

  it('resolves only the names each namespace/environment is granted, never GITCFG_*', () => {
    const r = secretResolverFromEnv(env, noFile);
    assert.equal(r.lookup('db', 'staging', 'DB_PASSWORD'), 'db');
    assert.equal(r.lookup('ai-provider', 'production', 'OPENAI_API_KEY'), 'oa');
    assert.equal(r.lookup('ai-provider', 'staging', 'OPENAI_API_KEY'), undefined);
    assert.equal(r.lookup('db', 'staging', 'AWS_SECRET_ACCESS_KEY'), undefined);
    assert.equal(r.lookup('db', 'staging', 'GITCFG_GIT_TOKEN'), undefined);
    assert.equal(
      r.lookup('ai-provider', 'production', 'openai_api_key'),
      undefined,
      'names match case-sensitively',
    );
  });

  it('resolves nothing without a spec, and reads one entry per line from GITCFG_SECRET_ENV_FILE', () => {
    const { GITCFG_SECRET_ENV: _unused, ...rest } = env;
    assert.equal(secretResolverFromEnv(rest, noFile).lookup('db', 'x', 'DB_PASSWORD'), undefined);
    const fromFile = secretResolverFromEnv({ ...rest, GITCFG_SECRET_ENV_FILE: 'scopes.txt' }, (p) => {
      assert.equal(p, 'scopes.txt');
      return '# production only\nai-provider/production:OPENAI_API_KEY\n\ndb/prod*:DB_*\n';
    });
    assert.equal(fromFile.lookup('ai-provider', 'production', 'OPENAI_API_KEY'), 'oa');
    assert.equal(fromFile.lookup('db', 'production', 'DB_USER'), 'u');
    assert.equal(fromFile.lookup('db', 'staging', 'DB_USER'), undefined);
  });

  it('refuses the old bare-name syntax and bad entries at start-up, naming where they are', () => {
    assert.throws(
      () => secretResolverFromEnv({ GITCFG_SECRET_ENV: 'DB_*' }, noFile),
      (err: GitcfgError) =>
        err.code === 'E_USAGE' && /GITCFG_SECRET_ENV: .*"DB_\*".*\*\/\*:DB_\*/.test(err.message),
    );
    assert.throws(
      () => secretResolverFromEnv({ GITCFG_SECRET_ENV_FILE: 's.txt' }, () => 'db/x:A\ndb:B\n'),
      (err: GitcfgError) => err.code === 'E_USAGE' && err.message.startsWith('s.txt:2: invalid'),
    );
    assert.throws(
      () => secretResolverFromEnv({ GITCFG_SECRET_ENV: '*/*:A', GITCFG_SECRET_ENV_FILE: 's.txt' }, noFile),
      /not both/,
    );
  });
});
