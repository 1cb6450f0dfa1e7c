/** `--redis` URLs: schemes, TLS, database, and where the password comes from (never the log description). */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRedisEndpoint } from '../../src/cluster/index.js';
import { UsageError } from '../../src/errors/index.js';

const files: Record<string, string> = { '/run/redis-password': 's3cret-from-file\n', '/run/ca.pem': 'PEM' };
const readFile = (p: string): string => {
  const text = files[p];
  if (text === undefined) throw new Error(`no file ${p}`);
  return text;
};

describe('parseRedisEndpoint', () => {
  it('reads host, port, db and a password from the URL, and describes it without credentials', () => {
    const e = parseRedisEndpoint('redis://gitcfg:pa%40ss@redis.internal:6380/2', {}, readFile);
    assert.deepEqual(
      { host: e.host, port: e.port, db: e.db, username: e.username, password: e.password, tls: e.tls },
      { host: 'redis.internal', port: 6380, db: 2, username: 'gitcfg', password: 'pa@ss', tls: undefined },
    );
    assert.equal(e.description, 'redis://redis.internal:6380/2');
    assert.doesNotMatch(e.description, /pa@ss|pa%40ss/);
  });

  it('defaults to port 6379 and db 0', () => {
    const e = parseRedisEndpoint('redis://redis', {}, readFile);
    assert.equal(e.port, 6379);
    assert.equal(e.db, 0);
  });

  it('takes the password from GITCFG_REDIS_PASSWORD, else from GITCFG_REDIS_PASSWORD_FILE', () => {
    const url = 'redis://:in-url@redis/0';
    assert.equal(
      parseRedisEndpoint(url, { GITCFG_REDIS_PASSWORD: 'from-env' }, readFile).password,
      'from-env',
    );
    const fromFile = parseRedisEndpoint(url, { GITCFG_REDIS_PASSWORD_FILE: '/run/redis-password' }, readFile);
    assert.equal(fromFile.password, 's3cret-from-file');
  });

  it('turns TLS on for rediss:// (with a CA bundle when given) and refuses a CA without TLS', () => {
    const e = parseRedisEndpoint(
      'rediss://redis.example.com/0',
      { GITCFG_REDIS_CA_FILE: '/run/ca.pem' },
      readFile,
    );
    assert.deepEqual(e.tls, { servername: 'redis.example.com', ca: 'PEM' });
    assert.throws(
      () => parseRedisEndpoint('redis://redis/0', { GITCFG_REDIS_CA_FILE: '/run/ca.pem' }, readFile),
      UsageError,
    );
  });

  it('refuses other schemes, query options and a non-numeric db', () => {
    for (const url of ['http://redis:6379', 'redis://redis/zero', 'redis://redis/0?tls=false', 'not a url']) {
      assert.throws(() => parseRedisEndpoint(url, {}, readFile), UsageError, url);
    }
  });
});
