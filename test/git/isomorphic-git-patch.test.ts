/**
 * isomorphic-git 1.44.11 never sets `readDepth` on packs loaded from an .idx, so their `offsetCache` stays empty
 * and every delta chain is decompressed again on every read. gitcfg carries the fix in its own object cache
 * (src/git/object-cache.ts), so it holds for an installed gitcfg as well: proven here against the installed
 * builds and against a copy of the stock (unfixed) build.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type * as isomorphicGit from 'isomorphic-git';
import { createObjectCache, openLocalRepository } from '../../src/git/index.js';
import { cleanupTempDirs, commitFiles, createTempRepo, run, tempDir } from '../helpers/git-repo.js';

type IsoGit = typeof isomorphicGit;
type PackIndexLike = { readDepth?: unknown; offsetCache: Record<string, unknown> };

/** The pack indexes isomorphic-git loaded into `cache`. */
function packsIn(cache: object): Promise<PackIndexLike[]> {
  const record = cache as Record<symbol, unknown>;
  const packSymbol = Object.getOwnPropertySymbols(record).find((s) => s.description === 'PackfileCache');
  assert.ok(packSymbol, 'isomorphic-git keeps its pack indexes in the cache object');
  return Promise.all([...(record[packSymbol!] as Map<string, Promise<PackIndexLike>>).values()]);
}

/** Reads every blob version of the repo through `git` with `cache`; returns the loaded pack indexes. */
async function readAllBlobs(git: IsoGit, gitdir: string, oids: string[], cache: object) {
  for (const oid of oids) await git.readBlob({ fs, gitdir, oid, cache });
  return packsIn(cache);
}

function assertCaching(packs: PackIndexLike[]): void {
  assert.equal(packs.length, 1);
  assert.equal(typeof packs[0]!.readDepth, 'number', 'readDepth is initialised');
  assert.ok(Object.keys(packs[0]!.offsetCache).length > 0, 'the delta-base cache fills');
}

const require = createRequire(import.meta.url);
const pkgDir = path.dirname(require.resolve('isomorphic-git'));

/** A copy of the stock ESM build: any local fix removed, its bare imports pointed at the installed packages. */
async function loadStockBuild(): Promise<IsoGit> {
  const fromPkg = createRequire(path.join(pkgDir, 'index.js'));
  let text = await readFile(path.join(pkgDir, 'index.js'), 'utf8');
  text = text.replace(/\n\s*\/\/ gitcfg:[^\n]*\n\s*this\.readDepth = 0;/, '');
  text = text.replace(
    /^import (\w+) from '([^']+)';$/gm,
    (_, name: string, spec: string) => `import ${name} from '${pathToFileURL(fromPkg.resolve(spec)).href}';`,
  );
  const file = path.join(await tempDir(), 'isomorphic-git-stock.mjs');
  await writeFile(file, text);
  return (await import(pathToFileURL(file).href)) as IsoGit;
}

describe('isomorphic-git pack index delta-base cache', () => {
  let dir: string;
  let gitdir: string;
  let oids: string[];

  before(async () => {
    // one file with many versions: git packs them as long delta chains
    dir = await createTempRepo({ files: { 'big.yaml': 'v: 0\n' } });
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

  it('the stock build leaves readDepth unset with a plain cache, and caches with gitcfg’s cache', async () => {
    const git = await loadStockBuild();
    const plain = await readAllBlobs(git, gitdir, oids, {});
    assert.equal(plain[0]!.readDepth, Number.NaN, 'the copy is the unfixed build');
    assert.equal(Object.keys(plain[0]!.offsetCache).length, 0);
    assertCaching(await readAllBlobs(git, gitdir, oids, createObjectCache()));
  });

  const builds: Array<[string, () => Promise<IsoGit>]> = [
    ['the build node loads (index.cjs)', async () => (await import('isomorphic-git')) as IsoGit],
    [
      'the ESM build (index.js)',
      async () => (await import(pathToFileURL(path.join(pkgDir, 'index.js')).href)) as IsoGit,
    ],
  ];
  for (const [name, load] of builds) {
    it(`${name}: packs read from an .idx cache decompressed delta bases`, async () => {
      assertCaching(await readAllBlobs(await load(), gitdir, oids, createObjectCache()));
    });
  }

  it('a repository opened by gitcfg caches delta bases', async () => {
    const repo = await openLocalRepository(dir);
    for (const oid of oids) await repo.readBlob(oid);
    assertCaching(await packsIn(repo.cache));
  });
});
