import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCheckedFileWithBytesSync } from '../../src/data-file/index.js';
import { DiskValidatorStore } from '../../src/validator-store/index.js';

const key = (c: string) => c.repeat(64);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gitcfg-validators-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('stored code is read back only for its key and salt; damaged files are ignored', async () => {
  await withDir(async (dir) => {
    const store = new DiskValidatorStore(dir, { salt: 'gitcfg 1' });
    await store.put(key('a'), { code: 'module.exports = () => true;' });
    assert.deepEqual(await store.get(key('a')), { code: 'module.exports = () => true;' });
    assert.equal(await store.get(key('b')), undefined);

    // Another gitcfg version wrote it: a miss, not a hit.
    assert.equal(await new DiskValidatorStore(dir, { salt: 'gitcfg 2' }).get(key('a')), undefined);
    // A file moved under another key (foreign content).
    await rename(join(dir, key('a')), join(dir, key('c')));
    assert.equal(await store.get(key('c')), undefined);
    // A damaged file (one byte changed, checksum fails) and a truncated one.
    await store.put(key('d'), { code: 'module.exports = () => true;' });
    const bytes = await readFile(join(dir, key('d')));
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 1, bytes.length - 3);
    await writeFile(join(dir, key('d')), bytes);
    assert.equal(await store.get(key('d')), undefined);
    await writeFile(join(dir, key('d')), bytes.subarray(0, 20));
    assert.equal(await store.get(key('d')), undefined);
    assert.deepEqual(store.stats(), { hits: 1, misses: 1, rejected: 3, writes: 2, evictions: 0 });
    // Rewritten, it is used again.
    await store.put(key('d'), { code: 'module.exports = () => false;' });
    assert.deepEqual(await store.get(key('d')), { code: 'module.exports = () => false;' });
    // Not a key: never a path.
    assert.equal(await store.get('../../etc/passwd'), undefined);
  });
});

test('a code cache is kept with its code, under the same checksum, for the V8 that made it', async () => {
  await withDir(async (dir) => {
    const store = new DiskValidatorStore(dir, { salt: 's' });
    const codeCache = new Uint8Array([0, 10, 255, 10, 13, 1]); // newlines and bytes that are not UTF-8
    await store.put(key('a'), { code: 'module.exports = () => true;', codeCache });
    const read = await store.get(key('a'));
    assert.equal(read?.code, 'module.exports = () => true;');
    assert.deepEqual([...(read?.codeCache ?? [])], [...codeCache]);
    // One byte of the cache changed: the whole file fails its check.
    const bytes = await readFile(join(dir, key('a')));
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    await writeFile(join(dir, key('a')), bytes);
    assert.equal(await store.get(key('a')), undefined);
    // Written by another V8: the code is used, its cache is not.
    writeCheckedFileWithBytesSync(
      join(dir, key('b')),
      'validator',
      2,
      { key: key('b'), salt: 's', code: '// b', v8: '0.0.0' },
      codeCache,
    );
    assert.deepEqual(await store.get(key('b')), { code: '// b' });
  });
});

test('the folder is bounded: the oldest-written files are evicted', async () => {
  await withDir(async (dir) => {
    const first = new DiskValidatorStore(dir, { salt: 's' });
    const keys = [...'0123456789ab'].map(key);
    for (const [i, k] of keys.entries()) {
      await first.put(k, { code: `// ${i}` });
      await utimes(join(dir, k), 1000 + i, 1000 + i);
    }
    // The first write of a process checks the bound: 12 files > 10, down to 8, oldest first.
    const next = new DiskValidatorStore(dir, { salt: 's', maxFiles: 10 });
    await next.put(key('f'), { code: '// new' });
    const left = (await readdir(dir)).sort();
    assert.equal(next.stats().evictions, 5);
    assert.deepEqual(left, [...keys.slice(5), key('f')].sort());
  });
});
