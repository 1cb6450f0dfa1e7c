import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as nodeFs from 'node:fs';
import { after, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stagedSource } from '../../src/git/index.js';
import { NotFoundError } from '../../src/errors/index.js';
import { cleanupTempDirs, createTempRepo, run, writeFiles } from '../helpers/git-repo.js';

const gitModule = pathToFileURL(fileURLToPath(new URL('../../src/git/index.ts', import.meta.url))).href;

/**
 * Reads every staged blob of `dir` in a fresh process with `PATH` as given; prints the bytes by path and
 * whether the process loaded isomorphic-git (it is required on first use, so it shows in the CommonJS cache).
 */
const CHILD = `
import { createRequire } from 'node:module';
const [gitModule, dir, probes] = process.argv.slice(-3);
const { stagedSource } = await import(gitModule);
const source = await stagedSource(dir);
// Reads that must fail first (missing, not a blob, not an oid): the reads after them must still work.
const failures = [];
for (const oid of JSON.parse(probes)) {
  failures.push(await source.readBlob(oid, 'probe').then(() => 'read', (err) => err.code));
}
const texts = {};
await Promise.all(source.entries.map(async (e) => {
  texts[e.path] = Buffer.from(await source.readBlob(e.oid, e.path)).toString('utf8');
}));
const loaded = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({ failures, texts, isomorphicGit: loaded.some((p) => /isomorphic-git/.test(p)) }));
`;

function readInChild(
  dir: string,
  path: string,
  probes: string[] = [],
): { failures: string[]; texts: Record<string, string>; isomorphicGit: boolean } {
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      '--input-type=module',
      '-e',
      CHILD,
      '--',
      gitModule,
      dir,
      JSON.stringify(probes),
    ],
    { encoding: 'utf8', env: { ...process.env, PATH: path } },
  );
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as ReturnType<typeof readInChild>;
}

describe('staged blobs read by the git program', () => {
  after(cleanupTempDirs);

  it('reads many blobs at once, in any order and of any size, as git stores them', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`ns/f-${i}.yaml`] = `i: ${i}\n${'x'.repeat(i * 37)}\n`;
    // Bigger than a pipe's buffer: the answer arrives in many chunks.
    files['big.yaml'] = `big: "${'y'.repeat(300_000)}"\n`;
    files['empty.yaml'] = '';
    const dir = await createTempRepo({ files });
    await run(dir, 'gc', '--quiet'); // packed objects
    await writeFiles(dir, { 'ns/f-7.yaml': 'staged: true\n' });
    await run(dir, 'add', 'ns/f-7.yaml'); // and one loose object

    const source = await stagedSource(dir);
    const entries = [...source.entries].reverse();
    const texts = await Promise.all(
      entries.map(async (e) => Buffer.from(await source.readBlob(e.oid, e.path)).toString('utf8')),
    );
    for (const [i, e] of entries.entries()) {
      const expected = e.path === 'ns/f-7.yaml' ? 'staged: true\n' : files[e.path];
      assert.equal(texts[i], expected, e.path);
    }
    // The same answers from isomorphic-git (a port other than node's fs is read through it).
    const throughLibrary = await stagedSource(dir, { fs: { ...nodeFs } as typeof nodeFs });
    for (const e of entries.slice(0, 20)) {
      const [library, git] = [
        await throughLibrary.readBlob(e.oid, e.path),
        await source.readBlob(e.oid, e.path),
      ];
      assert.ok(Buffer.from(library).equals(Buffer.from(git)), e.path);
    }
  });

  it('a missing blob, a tree or a commit, or no oid at all, is NotFoundError; git keeps reading after them', async () => {
    const dir = await createTempRepo({ files: { 'a.yaml': 'a: 1\n', 'd/b.yaml': 'b: 1\n' } });
    const probes = [
      '0'.repeat(40),
      await run(dir, 'rev-parse', 'HEAD^{tree}'),
      await run(dir, 'rev-parse', 'HEAD'),
      'not an oid\nHEAD',
    ];
    // In a child process: had git's answers gone out of step, the reads would have fallen back to isomorphic-git.
    const read = readInChild(dir, process.env.PATH ?? '', probes);
    assert.deepEqual(read, {
      failures: probes.map(() => 'E_NOT_FOUND'),
      texts: { 'a.yaml': 'a: 1\n', 'd/b.yaml': 'b: 1\n' },
      isomorphicGit: false,
    });
    // In this process too, through the same source.
    const source = await stagedSource(dir);
    await assert.rejects(source.readBlob(probes[1]!, 'd'), NotFoundError);
    const a = source.entries.find((e) => e.path === 'a.yaml')!;
    assert.equal(Buffer.from(await source.readBlob(a.oid, a.path)).toString(), 'a: 1\n');
  });

  it('never loads isomorphic-git when git runs, and falls back to it when git cannot be started', async () => {
    const dir = await createTempRepo({ files: { 'a.yaml': 'a: 1\n', 'n/b.yaml': 'b: 2\n' } });
    await writeFiles(dir, { 'n/b.yaml': 'b: staged\n' });
    await run(dir, 'add', 'n/b.yaml');
    const expected = { 'a.yaml': 'a: 1\n', 'n/b.yaml': 'b: staged\n' };
    const native = readInChild(dir, process.env.PATH ?? '');
    assert.deepEqual(native, { failures: [], texts: expected, isomorphicGit: false });
    const withoutGit = readInChild(dir, '/nonexistent');
    assert.deepEqual(withoutGit, { failures: [], texts: expected, isomorphicGit: true });
  });
});
