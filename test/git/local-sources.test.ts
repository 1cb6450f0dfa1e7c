import * as assert from 'node:assert/strict';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { blobOid, openLocalRepository, stagedSource, workingTreeSource } from '../../src/git/index.js';
import type { RepoSource } from '../../src/engine/index.js';
import { NotFoundError } from '../../src/errors/index.js';
import {
  cleanupTempDirs,
  commitFiles,
  createTempRepo,
  run,
  runGit,
  tempDir,
  writeFiles,
} from '../helpers/git-repo.js';

/** `git ls-files -s` as `mode oid path` lines (stage 0 only). */
async function nativeStaged(dir: string): Promise<string[]> {
  const out = await run(dir, 'ls-files', '-s');
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [meta, p] = l.split('\t');
      const [mode, oid] = meta!.split(' ');
      return `${mode} ${oid} ${p}`;
    })
    .sort();
}

function listing(source: RepoSource): string[] {
  return source.entries.map((e) => `${e.mode} ${e.oid} ${e.path}`).sort();
}

async function text(source: RepoSource, p: string): Promise<string> {
  const e = source.entries.find((x) => x.path === p);
  assert.ok(e, `${p} listed`);
  return Buffer.from(await source.readBlob(e.oid, e.path)).toString();
}

describe('local repositories, index and work tree', () => {
  after(cleanupTempDirs);

  it('reads a work tree repository and a bare one directly; refresh() follows new commits', async () => {
    const dir = await createTempRepo({ files: { 'a.yaml': 'a: 1\n', 'n/b.yaml': 'b: 1\n' } });
    const repo = await openLocalRepository(dir);
    assert.equal(repo.branch, 'main');
    assert.equal(repo.head, await run(dir, 'rev-parse', 'HEAD'));
    await repo.listTree('main'); // remember the object directories as they are now
    const next = await commitFiles(dir, { 'n/b.yaml': 'b: 2\n' }, 'b2');
    assert.notEqual(repo.head, next);
    // objects native git wrote since are readable even before refresh()
    assert.equal((await repo.readCommit(await repo.resolveRef('main'))).message, 'b2\n');
    assert.deepEqual(await repo.refresh(), { head: next });
    // native gc repacks under us: reads keep working after refresh()
    await run(dir, 'gc', '--quiet', '--prune=now');
    await repo.refresh();
    assert.deepEqual(
      (await repo.diffCommits(await repo.resolveRef('main~1'), next)).map((c) => [c.kind, c.path]),
      [['modify', 'n/b.yaml']],
    );
    const source = await repo.source(next);
    assert.equal(await text(source, 'n/b.yaml'), 'b: 2\n');

    const bareRoot = await tempDir();
    await runGit({ cwd: bareRoot, args: ['clone', '--quiet', '--bare', dir, 'x.git'] });
    const bare = await openLocalRepository(path.join(bareRoot, 'x.git'));
    assert.equal(bare.head, next);
    assert.deepEqual(await bare.listTree(next), await repo.listTree(next));
  });

  it('opens from a subdirectory and reports a missing repository as NotFoundError', async () => {
    const dir = await createTempRepo({ files: { 'cfg/a.yaml': 'a: 1\n' } });
    const repo = await openLocalRepository(path.join(dir, 'cfg'));
    assert.equal(repo.location.prefix, 'cfg/');
    assert.equal(repo.head, await run(dir, 'rev-parse', 'HEAD'));
    await assert.rejects(openLocalRepository(await tempDir()), NotFoundError);
  });

  it('stagedSource sees exactly the staged bytes; workingTreeSource sees the disk', async () => {
    const dir = await createTempRepo({
      files: { 'a.yaml': 'a: 1\n', 'n/b.yaml': 'b: 1\n', 'gone.yaml': 'x: 1\n' },
    });
    // stage a bad file, then fix it only in the work tree
    await writeFiles(dir, { 'n/b.yaml': 'b: [unclosed\n', 'new.yaml': 'n: 1\n' });
    await run(dir, 'add', 'n/b.yaml', 'new.yaml');
    await run(dir, 'rm', '--quiet', '--cached', 'gone.yaml');
    await writeFiles(dir, { 'n/b.yaml': 'b: 2\n', 'untracked.yaml': 'u: 1\n' });

    const staged = await stagedSource(dir);
    assert.deepEqual(listing(staged), await nativeStaged(dir));
    assert.equal(await text(staged, 'n/b.yaml'), 'b: [unclosed\n');
    assert.ok(!staged.entries.some((e) => e.path === 'untracked.yaml' || e.path === 'gone.yaml'));

    const disk = await workingTreeSource(dir);
    assert.equal(await text(disk, 'n/b.yaml'), 'b: 2\n');
    assert.deepEqual(
      disk.entries.map((e) => e.path),
      ['a.yaml', 'gone.yaml', 'n/b.yaml', 'new.yaml', 'untracked.yaml'],
    );
    // work-tree oids are git blob ids: the same bytes give the same oid as in the index
    const a = disk.entries.find((e) => e.path === 'a.yaml')!;
    assert.equal(a.oid, staged.entries.find((e) => e.path === 'a.yaml')!.oid);
    assert.equal(a.oid, await run(dir, 'hash-object', 'a.yaml'));
  });

  it('reports symlinks (120000) and executables (100755) like git, on disk and in the index', async () => {
    const dir = await createTempRepo({ files: { 'target.yaml': 't: 1\n' } });
    await symlink('target.yaml', path.join(dir, 'link.yaml'));
    await writeFiles(dir, { 'run.sh': '#!/bin/sh\n' });
    await chmod(path.join(dir, 'run.sh'), 0o755);
    await run(dir, 'add', '-A');
    const staged = await stagedSource(dir);
    const disk = await workingTreeSource(dir);
    assert.deepEqual(listing(staged), await nativeStaged(dir));
    assert.deepEqual(listing(disk), listing(staged));
    assert.equal(await text(disk, 'link.yaml'), 'target.yaml');
    assert.equal(await text(staged, 'link.yaml'), 'target.yaml');
  });

  it('reads index versions 2, 3 (extended flags) and 4 (path compression), and GIT_INDEX_FILE indexes', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`namespaces/ns-${i % 4}/envs/env-${i}.yaml`] = `v: ${i}\n`;
    const dir = await createTempRepo({ files });
    await writeFiles(dir, { 'added-later.yaml': 'x: 1\n' });
    await run(dir, 'add', '-N', 'added-later.yaml'); // intent-to-add forces extended flags (version 3)
    await run(dir, 'update-index', '--skip-worktree', 'namespaces/ns-1/envs/env-1.yaml');
    for (const version of ['3', '4', '2']) {
      if (version === '2') await run(dir, 'rm', '--quiet', '--cached', 'added-later.yaml');
      await run(dir, 'update-index', '--no-skip-worktree', 'namespaces/ns-1/envs/env-1.yaml');
      await run(dir, 'update-index', '--index-version', version);
      const staged = await stagedSource(dir);
      const expected = (await nativeStaged(dir)).filter((l) => !l.endsWith(' added-later.yaml'));
      assert.deepEqual(listing(staged), expected, `index v${version}`);
      assert.ok(
        !staged.entries.some((e) => e.path === 'added-later.yaml'),
        'intent-to-add is not staged content',
      );
    }

    // `git commit <path>` stages into a temporary index named only by GIT_INDEX_FILE
    const other = path.join(dir, '.git', 'other-index');
    await runGit({ cwd: dir, args: ['read-tree', 'HEAD'], env: { GIT_INDEX_FILE: other } });
    await writeFiles(dir, { 'only-in-other.yaml': 'o: 1\n' });
    await runGit({ cwd: dir, args: ['add', 'only-in-other.yaml'], env: { GIT_INDEX_FILE: other } });
    const fromOther = await stagedSource(dir, { indexFile: other });
    assert.ok(fromOther.entries.some((e) => e.path === 'only-in-other.yaml'));
    assert.ok(!(await stagedSource(dir)).entries.some((e) => e.path === 'only-in-other.yaml'));
  });

  it('scopes the index and the work tree to a subdirectory', async () => {
    const dir = await createTempRepo({
      files: { 'README.md': 'r\n', 'config-repo/gitcfg.yaml': 'v: 1\n', 'config-repo/n/d.yaml': 'd: 1\n' },
    });
    const sub = path.join(dir, 'config-repo');
    await mkdir(path.join(sub, 'empty'));
    const staged = await stagedSource(sub);
    assert.deepEqual(
      staged.entries.map((e) => e.path),
      ['gitcfg.yaml', 'n/d.yaml'],
    );
    assert.equal(await text(staged, 'n/d.yaml'), 'd: 1\n');
    const disk = await workingTreeSource(sub, { exclude: (p) => p === 'n' });
    assert.deepEqual(
      disk.entries.map((e) => e.path),
      ['gitcfg.yaml'],
    );
    assert.equal(disk.entries[0]!.oid, blobOid(Buffer.from('v: 1\n')));
  });

  it('a fresh repository without an index has an empty staged source', async () => {
    const dir = await createTempRepo();
    assert.deepEqual((await stagedSource(dir)).entries, []);
    const repo = await openLocalRepository(dir);
    assert.equal(repo.head, null);
  });
  it('never resolves a ref that names a file outside the repository', async () => {
    const dir = await createTempRepo({ files: { 'a.yaml': 'a: 1\n' } });
    const repo = await openLocalRepository(dir);
    const head = await run(dir, 'rev-parse', 'HEAD');
    // A file outside the repository that looks like a loose ref: reachable only through `..` or an absolute path.
    const outside = path.join(await tempDir(), 'looks-like-a-ref');
    await writeFile(outside, `${head}\n`);
    const gitdir = path.join(dir, '.git');
    for (const ref of [
      path.relative(gitdir, outside),
      `refs/../${path.relative(gitdir, outside)}`,
      outside,
    ]) {
      await assert.rejects(repo.resolveRef(ref), NotFoundError, ref);
    }
    assert.equal(await repo.resolveRef('refs/heads/main'), head);
  });
});
