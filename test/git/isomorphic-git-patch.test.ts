/**
 * Proves patches/isomorphic-git+1.44.11.patch is applied: packs loaded from an .idx must cache decompressed
 * delta bases (stock 1.44.11 never sets `readDepth`, so its `offsetCache` stays empty and every delta chain is
 * decompressed again on every read).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type * as isomorphicGit from 'isomorphic-git';
import { cleanupTempDirs, commitFiles, createTempRepo, run } from '../helpers/git-repo.js';

type IsoGit = typeof isomorphicGit;
type PackIndexLike = { readDepth?: unknown; offsetCache: Record<string, unknown> };

/** Reads every blob version of the repo through `git` with one cache; returns the loaded pack indexes. */
async function readAllBlobs(git: IsoGit, gitdir: string, oids: string[]): Promise<PackIndexLike[]> {
  const cache: Record<string | symbol, unknown> = {};
  for (const oid of oids) await git.readBlob({ fs, gitdir, oid, cache });
  const packSymbol = Object.getOwnPropertySymbols(cache).find((s) => s.description === 'PackfileCache');
  assert.ok(packSymbol, 'isomorphic-git keeps its pack indexes in the cache object');
  const packs = cache[packSymbol!] as Map<string, Promise<PackIndexLike>>;
  return Promise.all([...packs.values()]);
}

describe('isomorphic-git GitPackIndex patch', () => {
  let gitdir: string;
  let oids: string[];

  before(async () => {
    // one file with many versions: git packs them as long delta chains
    const dir = await createTempRepo({ files: { 'big.yaml': 'v: 0\n' } });
    let body = '';
    for (let i = 0; i < 200; i++) body += `key_${i}: value ${i} ${'x'.repeat(40)}\n`;
    for (let v = 1; v <= 40; v++) await commitFiles(dir, { 'big.yaml': `${body}v: ${v}\n` }, `v${v}`);
    await run(dir, 'repack', '-adf', '--depth=50', '--window=50', '--quiet');
    await run(dir, 'prune-packed');
    gitdir = path.join(dir, '.git');
    const revs = (await run(dir, 'rev-list', 'HEAD')).split('\n');
    oids = [];
    for (const rev of revs) oids.push(await run(dir, 'rev-parse', `${rev}:big.yaml`));
    const chains = await run(
      dir,
      'verify-pack',
      '-v',
      ...fs
        .readdirSync(path.join(gitdir, 'objects', 'pack'))
        .filter((f) => f.endsWith('.idx'))
        .map((f) => path.join(gitdir, 'objects', 'pack', f)),
    );
    assert.match(chains, /chain length = [2-9]/, 'the fixture really has delta chains');
  });

  after(cleanupTempDirs);

  const builds: Array<[string, () => Promise<IsoGit>]> = [
    ['the build node loads (index.cjs)', async () => (await import('isomorphic-git')) as IsoGit],
    [
      'the ESM build (index.js)',
      async () => {
        const require = createRequire(import.meta.url);
        const pkgDir = path.dirname(require.resolve('isomorphic-git'));
        return (await import(pathToFileURL(path.join(pkgDir, 'index.js')).href)) as IsoGit;
      },
    ],
  ];

  for (const [name, load] of builds) {
    it(`${name}: packs read from an .idx cache decompressed delta bases`, async () => {
      const git = await load();
      const packs = await readAllBlobs(git, gitdir, oids);
      assert.equal(packs.length, 1);
      const pack = packs[0]!;
      assert.equal(
        typeof pack.readDepth,
        'number',
        'readDepth is initialised (stock 1.44.11 leaves it undefined)',
      );
      assert.ok(Object.keys(pack.offsetCache).length > 0, 'the delta-base cache fills');
    });
  }
});
