/**
 * Older schema versions through the client SDK, against the real server: `retry` is at version 2
 * (`base_delay_ms` renamed `delay_ms`), and a service written for version 1 keeps reading version 1.
 */
import { strict as assert } from 'node:assert';
import { access } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GitcfgClient, JsonObject } from '../../src/client/index.js';
import { GitcfgClientError, createClient } from '../../src/client/index.js';
import { cleanupTempDirs, createTempRepo, tempDir } from '../helpers/git-repo.js';
import { waitFor } from '../server/server-fixture.js';
import { FIXTURE_FILES, RETRY_SCHEMA, serveFixture } from './client-fixture.js';
import type { ServedRepo } from './client-fixture.js';

const RETRY_V2_SCHEMA = {
  ...RETRY_SCHEMA,
  'x-gitcfg-version': 2,
  required: ['max_retries', 'delay_ms'],
  properties: { max_retries: { type: 'integer', minimum: 0 }, delay_ms: { type: 'integer', minimum: 0 } },
};

const VERSIONED_FILES: Record<string, string> = {
  ...FIXTURE_FILES,
  'schemas/retry.v1.schema.json': JSON.stringify(RETRY_SCHEMA),
  'schemas/retry.schema.json': JSON.stringify(RETRY_V2_SCHEMA),
  'migrations/retry/2.yaml': 'operations:\n  - rename: { from: /base_delay_ms, to: /delay_ms }\n',
};

describe('client: schema version per namespace', () => {
  let served: ServedRepo;
  const clients: GitcfgClient[] = [];
  const client = (options: Partial<Parameters<typeof createClient>[0]> = {}) => {
    const c = createClient({ url: served.url, env: 'production', envOverrides: false, ...options });
    clients.push(c);
    return c;
  };

  before(async () => {
    served = await serveFixture({ repoDir: await createTempRepo({ files: VERSIONED_FILES }) });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await served.stop();
    await cleanupTempDirs();
  });

  it('reads the version given to createClient, or per call, each as a copy of its own', async () => {
    const cacheDir = await tempDir();
    const old = client({ versions: { retry: 1 }, cacheDir });
    assert.deepEqual(await old.get('retry'), { max_retries: 3, base_delay_ms: 100 });
    assert.equal(old.status('retry')?.schemaVersion, '1');
    assert.deepEqual(await old.get('retry', { version: 2 }), { max_retries: 3, delay_ms: 100 });
    assert.equal(old.status('retry', { version: 2 })?.schemaVersion, '2');
    assert.equal(old.status('retry')?.schemaVersion, '1');
    // Other namespaces stay at their current version.
    assert.equal((await old.get('ml')).input_size, 256);
    // Each version has its own disk copy.
    await old.close();
    await access(path.join(cacheDir, 'production', 'retry.v1.json'));
    await access(path.join(cacheDir, 'production', 'retry.v2.json'));

    const current = client();
    assert.deepEqual(await current.get('retry'), { max_retries: 3, delay_ms: 100 });
    assert.deepEqual(await current.get('retry', { version: 1 }), { max_retries: 3, base_delay_ms: 100 });
  });

  it('refuses a version that is not a positive integer, and one the server does not keep', async () => {
    assert.throws(() => client({ versions: { retry: 0 } }), { code: 'E_USAGE', message: /versions\.retry/ });
    const c = client();
    await assert.rejects(c.get('retry', { version: 1.5 }), { code: 'E_USAGE' });
    const error = await c.get('retry', { version: 7 }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof GitcfgClientError);
    assert.match(error.message, /retry\/production\?version=7 -> HTTP 400/);
  });

  it('watch delivers each change at the version asked for', async () => {
    const c = client({ versions: { retry: 1 } });
    const v1: JsonObject[] = [];
    const v2: JsonObject[] = [];
    await c.get('retry');
    await c.get('retry', { version: 2 });
    const stop1 = c.watch('retry', (doc) => void v1.push(doc));
    const stop2 = c.watch('retry', (doc) => void v2.push(doc), { version: 2 });
    await served.push({ 'defaults/retry.yaml': 'max_retries: 3\nbase_delay_ms: 250\n' });
    await waitFor('both deliveries', async () => v1.length > 0 && v2.length > 0);
    assert.deepEqual(v1, [{ max_retries: 3, base_delay_ms: 250 }]);
    assert.deepEqual(v2, [{ max_retries: 3, delay_ms: 250 }]);
    stop1();
    stop2();
  });
});
