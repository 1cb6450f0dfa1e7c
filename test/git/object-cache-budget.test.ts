/** Reads of many old objects drop the object cache's decompressed objects once its byte budget is spent, and stay correct. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, it } from 'node:test';
import { ObjectStore } from '../../src/git/index.js';
import { cleanupTempDirs, commitFiles, createTempRepo, run } from '../helpers/git-repo.js';

after(cleanupTempDirs);

it('drops the decompressed objects after each read budget, keeps the loaded pack, and reads stay correct', async () => {
  const dir = await createTempRepo({ files: { 'a.yaml': 'v: 0\n' } });
  const commits: string[] = [];
  for (let i = 1; i <= 6; i++)
    commits.push(await commitFiles(dir, { 'a.yaml': `v: ${i}\n${'x'.repeat(1000)}\n` }));
  await run(dir, 'gc', '--quiet');
  const store = new ObjectStore({ fs, gitdir: `${dir}/.git`, cacheBudgetBytes: 2500 });
  const first = store.cache;
  for (const [i, commit] of commits.entries()) {
    const source = await store.source(commit);
    const entry = source.entries.find((e) => e.path === 'a.yaml')!;
    const text = new TextDecoder().decode(await source.readBlob(entry.oid, entry.path));
    assert.ok(text.startsWith(`v: ${i + 1}\n`));
  }
  // Six old commits of ~1 kB blobs through a 2.5 kB budget.
  assert.equal(store.budgetReplacements, 2);
  assert.equal(store.cache, first, 'the cache (and the pack it loaded) is kept');
  // What isomorphic-git kept decompressed since the last drop: the objects of the last reads, not of all six.
  const packs = Reflect.ownKeys(store.cache).find(
    (key) => typeof key === 'symbol' && key.description === 'PackfileCache',
  );
  const indexes = [
    ...((store.cache as Record<symbol, Map<string, Promise<unknown>>>)[packs as symbol]?.values() ?? []),
  ];
  assert.equal(indexes.length, 1);
  const index = (await indexes[0]) as { offsetCache: Record<string, unknown>; offsets: Map<string, number> };
  const kept = Object.keys(index.offsetCache).length;
  assert.ok(kept > 0 && kept <= index.offsets.size / 2, `${kept} of ${index.offsets.size} objects kept`);
});
