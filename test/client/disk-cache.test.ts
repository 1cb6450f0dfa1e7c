import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CacheRecord } from '../../src/client/index.js';
import {
  cacheFilePath,
  parseCacheRecord,
  readCacheFile,
  serializeCacheRecord,
  writeCacheFile,
} from '../../src/client/index.js';

describe('client disk cache', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitcfg-client-cache-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const record: CacheRecord = {
    namespace: 'ml',
    environment: 'production',
    commit: 'a'.repeat(40),
    etag: '"abc"',
    fetchedAt: '2026-01-02T03:04:05.000Z',
    value: { input_size: 3, nested: { list: [1, 'two', null] } },
    schema: { type: 'object' },
  };

  it('round-trips a record through its file format', async () => {
    const path = cacheFilePath(dir, 'production', 'ml');
    await writeCacheFile(path, record);
    const { record: read, problem } = await readCacheFile(path);
    assert.equal(problem, undefined);
    assert.deepEqual(read, record);
    const raw = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(raw.format, 'gitcfg-client-cache');
    assert.equal(raw.version, 1);
    assert.deepEqual(await readdir(join(dir, 'production')), ['ml.json'], 'no temp file is left behind');
  });

  it('replaces the previous copy', async () => {
    const path = cacheFilePath(dir, 'production', 'ml');
    await writeCacheFile(path, { ...record, commit: 'b'.repeat(40), value: { input_size: 4 } });
    const { record: read } = await readCacheFile(path);
    assert.equal(read?.commit, 'b'.repeat(40));
    assert.deepEqual(read?.value, { input_size: 4 });
  });

  it('says why there is no record: absent or damaged', async () => {
    assert.equal((await readCacheFile(join(dir, 'nope.json'))).problem, 'absent');
    const damaged = join(dir, 'damaged.json');
    await writeFile(damaged, '{"format":"gitcfg-client-cache","version":1,"namespace":"ml"');
    assert.match((await readCacheFile(damaged)).problem ?? '', /^damaged: /);
    const other = join(dir, 'other.json');
    await writeFile(other, serializeCacheRecord(record).replace('"version":1', '"version":99'));
    assert.match((await readCacheFile(other)).problem ?? '', /unsupported cache format version 99/);
  });

  it('rejects records with the wrong shape', () => {
    const body = (patch: Record<string, unknown>) =>
      JSON.stringify({ ...JSON.parse(serializeCacheRecord(record)), ...patch });
    assert.throws(() => parseCacheRecord(body({ value: [1] })), /value is not an object/);
    assert.throws(() => parseCacheRecord(body({ fetchedAt: 'yesterday' })), /fetchedAt/);
    assert.throws(() => parseCacheRecord(body({ etag: 5 })), /etag is not a string/);
    assert.throws(() => parseCacheRecord(body({ format: 'other' })), /not a gitcfg-client-cache file/);
  });
});
