import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { ConfigChange, GitcfgClient, JsonObject } from '../../src/client/index.js';
import { GitcfgClientError, cacheFilePath, createClient } from '../../src/client/index.js';
import { cleanupTempDirs, tempDir, writeFiles } from '../helpers/git-repo.js';
import type { ServedRepo } from './client-fixture.js';
import { serveFixture, serveFixtureForSuite } from './client-fixture.js';

interface Call {
  path: string;
  ifNoneMatch: string | null;
  authorization: string | null;
  minCommit: string | null;
  status: number;
  commit: string | null;
}

/** The real global fetch, recording what went over the wire (nothing is faked). */
function recordingFetch(calls: Call[]): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const headers = new Headers(init?.headers);
    calls.push({
      path: new URL(String(input)).pathname,
      ifNoneMatch: headers.get('if-none-match'),
      authorization: headers.get('authorization'),
      minCommit: headers.get('gitcfg-min-commit'),
      status: res.status,
      commit: res.headers.get('gitcfg-commit'),
    });
    return res;
  };
}

/** Safety net only: fails instead of hanging forever when an awaited event never comes. */
async function eventually<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up waiting for ${what}`)), 60_000);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** A queue of watch deliveries that tests can await one by one. */
function deliveries() {
  const items: { doc: JsonObject; change: ConfigChange }[] = [];
  let waiting: (() => void) | undefined;
  return {
    items,
    push(doc: JsonObject, change: ConfigChange) {
      items.push({ doc, change });
      waiting?.();
    },
    async next(count: number) {
      while (items.length < count) await new Promise<void>((resolve) => (waiting = resolve));
      return items[count - 1]!;
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<GitcfgClientError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof GitcfgClientError, `expected a GitcfgClientError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

const fast = { baseMs: 20, maxMs: 200 };

describe('client against the real server', () => {
  let served: ServedRepo;
  const clients: GitcfgClient[] = [];
  const client = (options: Partial<Parameters<typeof createClient>[0]> = {}) => {
    const c = createClient({
      url: served.url,
      env: 'production',
      envOverrides: false,
      backoff: fast,
      ...options,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    served = await serveFixture();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await served.stop();
    await cleanupTempDirs();
  });

  it('gets the merged document, its metadata and subtrees', async () => {
    const c = client();
    const ml = await c.get('ml');
    assert.equal(ml.input_size, 256, 'production override');
    assert.equal(ml.learning_rate, 0.01, 'default');
    const { metadata } = await c.getWithMetadata('ml');
    assert.equal(metadata.commit, await served.head());
    assert.equal(metadata.stale, false);
    assert.equal(metadata.source, 'network');
    assert.match(metadata.etag ?? '', /^"/);
    assert.equal(await c.get('ml', { path: 'feature_mapping.user_id' }), 'uid');
    assert.equal(await c.get('ml', { path: 'tags.1' }), 'nightly');
    assert.ok(Object.isFrozen(ml), 'documents are shared, so they are frozen');
    const missing = await rejection(c.get('ml', { path: 'feature_mapping.nope' }));
    assert.equal(missing.code, 'E_NOT_FOUND');
  });

  it("reads a path as the server's ?path= does: dotted or JSON pointer, canonical array indexes", async () => {
    const c = client();
    const paths = [
      'tags.1',
      '/tags/1',
      'tags.01',
      '/tags/01',
      '/feature_mapping/user_id',
      'constructor',
      '__proto__',
    ];
    for (const path of paths) {
      const res = await fetch(`${served.url}/v1/config/ml/production?path=${encodeURIComponent(path)}`);
      const server: unknown = res.status === 200 ? await res.json() : `HTTP ${res.status}`;
      const sdk: unknown = await c.get('ml', { path }).catch((error: GitcfgClientError) => error.code);
      assert.deepEqual([path, sdk], [path, server === 'HTTP 404' ? 'E_NOT_FOUND' : server]);
    }
    assert.equal(await c.get('ml', { path: '/tags/1' }), 'nightly');
    assert.equal((await rejection(c.get('ml', { path: 'tags.01' }))).code, 'E_NOT_FOUND');
  });

  it('maps 404s to E_NOT_FOUND with the server message', async () => {
    const unknownNamespace = await rejection(client().get('billing'));
    assert.equal(unknownNamespace.code, 'E_NOT_FOUND');
    assert.match(
      unknownNamespace.message,
      /\/v1\/config\/billing\/production -> HTTP 404: namespace not found: billing/,
    );
    const unknownEnv = await rejection(client({ env: 'qa' }).get('ml'));
    assert.equal(unknownEnv.code, 'E_NOT_FOUND');
    assert.match(unknownEnv.message, /environment not found: qa/);
  });

  it('revalidates with If-None-Match and gets 304 instead of the body', async () => {
    const calls: Call[] = [];
    const c = client({ fetch: recordingFetch(calls) });
    const first = await c.get('ml');
    const second = await c.get('ml');
    assert.deepEqual(
      calls.map((call) => [call.path, call.status, call.ifNoneMatch === null ? null : 'etag']),
      [
        ['/v1/config/ml/production', 200, null],
        ['/v1/config/ml/production', 304, 'etag'],
      ],
    );
    assert.equal(calls[1]!.ifNoneMatch, c.status('ml')?.etag);
    assert.equal(second, first, 'a 304 keeps the cached document');
  });

  it('sends the newest commit it has seen as Gitcfg-Min-Commit (read-your-writes across replicas)', async () => {
    const calls: Call[] = [];
    const c = client({ fetch: recordingFetch(calls) });
    await c.get('ml');
    await c.get('retry');
    assert.equal(calls[0]!.minCommit, null);
    assert.match(calls[0]!.commit ?? '', /^[0-9a-f]{40}$/);
    assert.equal(calls[1]!.minCommit, calls[0]!.commit);
    assert.equal(calls[1]!.status, 200);
  });

  it('sends the token as a bearer header, and URL credentials as basic auth', async () => {
    const calls: Call[] = [];
    await client({ fetch: recordingFetch(calls), token: 'tok-123' }).get('retry');
    const withUser = new URL(served.url);
    withUser.username = 'svc';
    withUser.password = 'p@ss';
    await client({ fetch: recordingFetch(calls), url: withUser.toString() }).get('retry');
    assert.deepEqual(
      calls.map((c) => c.authorization),
      ['Bearer tok-123', `Basic ${Buffer.from('svc:p@ss').toString('base64')}`],
    );
  });

  it('within maxAgeMs, serves from memory without a request', async () => {
    const calls: Call[] = [];
    const c = client({ fetch: recordingFetch(calls), maxAgeMs: 3_600_000 });
    await c.get('retry');
    const { metadata } = await c.getWithMetadata('retry');
    assert.equal(calls.length, 1);
    assert.equal(metadata.source, 'memory');
    assert.equal(metadata.stale, false);
  });

  it('applies environment overrides coerced by the server schema, reports and logs them once', async () => {
    const logged: string[] = [];
    const c = client({
      envOverrides: {
        GITCFG__ML__INPUT_SIZE: '1024',
        GITCFG__ML__LEARNING_RATE: '0.5',
        GITCFG__ML__ENABLED: 'false',
        GITCFG__ML__TAGS: 'canary, eu',
        GITCFG__ML__BATCH_SIZES: '[32, "64"]',
        GITCFG__ML__MAX_BATCH: '512', // not in the YAML: only the schema says it is an integer
        GITCFG__ML__FEATURE_MAPPING__SESSION_COUNT: 'sessions',
        GITCFG__RETRY__MAX_RETRIES: '9',
      },
      logger: { warn: (message) => logged.push(message) },
    });
    const ml = await c.get('ml');
    assert.equal(ml.input_size, 1024);
    assert.equal(ml.learning_rate, 0.5);
    assert.equal(ml.enabled, false);
    assert.deepEqual(ml.tags, ['canary', 'eu']);
    assert.deepEqual(ml.batch_sizes, [32, 64]);
    assert.equal(ml.max_batch, 512);
    assert.deepEqual(ml.feature_mapping, {
      user_id: 'uid',
      account_age_days: 'tenure',
      session_count: 'sessions',
    });
    assert.deepEqual(
      c.overrides('ml').map((o) => `${o.variable} -> ${o.path}`),
      [
        'GITCFG__ML__BATCH_SIZES -> batch_sizes',
        'GITCFG__ML__ENABLED -> enabled',
        'GITCFG__ML__INPUT_SIZE -> input_size',
        'GITCFG__ML__LEARNING_RATE -> learning_rate',
        'GITCFG__ML__MAX_BATCH -> max_batch',
        'GITCFG__ML__TAGS -> tags',
        'GITCFG__ML__FEATURE_MAPPING__SESSION_COUNT -> feature_mapping.session_count',
      ],
    );
    assert.equal(await c.get('ml', { path: 'input_size' }), 1024, 'paths apply to the overridden document');
    assert.equal(logged.length, 7);
    assert.ok(
      logged.every((line) => !line.includes('1024')),
      'values are never logged',
    );
    assert.equal((await c.get('retry')).max_retries, 9);
    assert.equal(logged.length, 8, 'each variable is logged once');
  });

  it('rejects a bad override with an error naming the variable', async () => {
    const c = client({
      envOverrides: { GITCFG__ML__INPUT_SIZE: 'lots', GITCFG__ML__ENABLED: 'yes', GITCFG__ML__NOPE: '1' },
    });
    const error = await rejection(c.get('ml'));
    assert.equal(error.code, 'E_OVERRIDE');
    assert.match(error.message, /GITCFG__ML__INPUT_SIZE: value is not a valid integer/);
    assert.match(error.message, /GITCFG__ML__ENABLED: value is not a valid boolean/);
    assert.match(error.message, /GITCFG__ML__NOPE: ml has no key matching NOPE/);
    assert.equal((await client().get('ml')).input_size, 256, 'other clients are unaffected');
  });

  it('watch delivers a pushed change once, with its commit', async () => {
    const c = client();
    const seen = deliveries();
    const before = await served.head();
    await c.get('ml');
    const unsubscribe = c.watch('ml', (doc, change) => seen.push(doc, change));
    const commit = await served.push({ 'environments/production/ml.yaml': 'input_size: 512\n' });
    const { doc, change } = await eventually(seen.next(1), 'the pushed change');
    assert.equal(doc.input_size, 512);
    assert.deepEqual(change, {
      namespace: 'ml',
      environment: 'production',
      commit,
      previousCommit: before,
      etag: c.status('ml')?.etag,
    });
    // A commit that does not change ml is not a delivery; the next one that does is.
    await served.push({ 'defaults/retry.yaml': 'max_retries: 4\nbase_delay_ms: 100\n' });
    const third = await served.push({ 'environments/production/ml.yaml': 'input_size: 64\n' });
    const next = await eventually(seen.next(2), 'the second ml change');
    assert.equal(next.doc.input_size, 64);
    assert.equal(next.change.commit, third);
    assert.equal(next.change.previousCommit, commit);
    assert.equal(seen.items.length, 2);
    unsubscribe();
  });
});

describe('closing from a watch callback', () => {
  const served = serveFixtureForSuite();

  it('close() awaited inside the callback does not wait on itself', async () => {
    const c = createClient({ url: served().url, env: 'production', envOverrides: false });
    await c.get('ml');
    const closed = new Promise<number>((resolve) => {
      c.watch('ml', async (doc) => {
        await c.close();
        resolve(doc.input_size as number);
      });
    });
    await served().push({ 'environments/production/ml.yaml': 'input_size: 77\n' });
    assert.equal(await eventually(closed, 'close() from the callback'), 77);
    assert.equal((await rejection(c.get('ml'))).code, 'E_CLOSED');
  });
});

describe('client when the server goes away', () => {
  let served: ServedRepo;
  let cacheDir: string;
  before(async () => {
    served = await serveFixture();
    cacheDir = await tempDir('gitcfg-client-cache-');
  });
  after(async () => {
    await served.stop();
    await cleanupTempDirs();
  });

  it('serves the disk copy flagged stale, and says what it tried when there is none', async () => {
    const first = createClient({ url: served.url, env: 'production', cacheDir, envOverrides: false });
    const live = await first.get('ml');
    const commit = first.status('ml')?.commit;
    await first.close();
    const file = JSON.parse(await readFile(cacheFilePath(cacheDir, 'production', 'ml'), 'utf8'));
    assert.equal(file.commit, commit);
    assert.deepEqual(file.value, live);

    await served.stop();
    const offline = createClient({ url: served.url, env: 'production', cacheDir, envOverrides: false });
    const { value, metadata } = await offline.getWithMetadata('ml');
    assert.deepEqual(value, live);
    assert.equal(metadata.stale, true);
    assert.equal(metadata.source, 'disk');
    assert.equal(metadata.commit, commit);
    assert.equal(metadata.fetchedAt, file.fetchedAt);
    assert.match(metadata.lastError ?? '', /ECONNREFUSED/);
    assert.deepEqual(offline.status('ml'), metadata);
    await offline.close();

    const emptyDir = await tempDir('gitcfg-client-empty-');
    const withToken = new URL(served.url);
    withToken.username = 'svc';
    withToken.password = 'hunter2-secret';
    const nothing = createClient({
      url: withToken.toString(),
      env: 'production',
      cacheDir: emptyDir,
      envOverrides: false,
    });
    const error = await rejection(nothing.get('ml'));
    assert.equal(error.code, 'E_UNAVAILABLE');
    assert.ok(error.message.includes(`GET ${served.url}/v1/config/ml/production failed`), error.message);
    assert.ok(error.message.includes(cacheFilePath(emptyDir, 'production', 'ml')), error.message);
    assert.match(error.message, /ECONNREFUSED/);
    assert.doesNotMatch(error.message, /hunter2|svc/);
    await nothing.close();

    const noCache = createClient({
      url: served.url,
      env: 'production',
      envOverrides: false,
      token: 'tok-secret-1',
    });
    const noCacheError = await rejection(noCache.get('ml'));
    assert.match(noCacheError.message, /no copy in memory; no cacheDir configured/);
    assert.doesNotMatch(JSON.stringify({ m: noCacheError.message, d: noCacheError.data }), /tok-secret-1/);
    await noCache.close();

    const damagedDir = await tempDir('gitcfg-client-damaged-');
    await writeFiles(damagedDir, { 'production/ml.json': '{"format":"gitcfg-client-cache","vers' });
    const damaged = createClient({
      url: served.url,
      env: 'production',
      cacheDir: damagedDir,
      envOverrides: false,
    });
    assert.match((await rejection(damaged.get('ml'))).message, /ml\.json: damaged: /);
    await damaged.close();
    await served.restart();
  });

  it('a watch survives a server restart and delivers the next change', async () => {
    const c = createClient({
      url: served.url,
      env: 'production',
      cacheDir,
      envOverrides: false,
      backoff: fast,
    });
    const seen = deliveries();
    const errors: Error[] = [];
    await c.get('ml');
    c.watch('ml', (doc, change) => seen.push(doc, change), { onError: (error) => errors.push(error) });
    const first = await served.push({ 'environments/production/ml.yaml': 'input_size: 300\n' });
    assert.equal((await eventually(seen.next(1), 'the first change')).change.commit, first);

    await served.stop();
    // The client notices: a poll fails and the copy is reported stale.
    for (let i = 0; i < 400 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(errors.length > 0, 'the watch reports the outage');
    assert.equal(c.status('ml')?.stale, true);
    const offline = await c.getWithMetadata('ml');
    assert.equal(offline.value.input_size, 300, 'the last good copy is still served');
    assert.equal(offline.metadata.source, 'memory');

    await served.restart();
    const second = await served.push({ 'environments/production/ml.yaml': 'input_size: 301\n' });
    const { doc, change } = await eventually(seen.next(2), 'the change after the restart');
    assert.equal(doc.input_size, 301);
    assert.equal(change.commit, second);
    assert.equal(change.previousCommit, first);
    assert.equal(seen.items.length, 2, 'the restart itself delivers nothing (same commit)');
    assert.equal(c.status('ml')?.stale, false);
    await c.close();
  });
});
