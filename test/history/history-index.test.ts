/** The history index over a real local repository: one-pass build, persistence, incremental extension, rebuilds. */
import * as assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { GitOperationError } from '../../src/errors/index.js';
import { diffCommitsInChildProcess, openLocalRepository } from '../../src/git/index.js';
import type { GitRepository, LocalRepository } from '../../src/git/index.js';
import { HistoryIndex, HistoryIndexFile } from '../../src/history/index.js';
import type { HistoryView } from '../../src/history/index.js';
import { cleanupTempDirs, commitFiles, run, tempDir } from '../helpers/git-repo.js';
import { appendCommits, createSeriesRepo } from './history-fixture.js';

function pathsOf(view: HistoryView, commit: string): string[] {
  const position = view.positionOf(commit);
  assert.notEqual(position, undefined, `commit ${commit} is indexed`);
  return view
    .at(position!)
    .pathIds.map((id) => view.path(id))
    .sort();
}

describe('history index', () => {
  after(cleanupTempDirs);

  it('indexes every first-parent commit with the paths it changed, in one pass', async () => {
    const { dir, commits } = await createSeriesRepo();
    const repo = await openLocalRepository(dir);
    const index = new HistoryIndex({ branch: 'main' });
    const result = await index.extend(repo, repo.head!);
    assert.equal(result.added, 8);
    assert.equal(result.rebuilt, 'empty');
    assert.equal(index.size, 8);
    assert.equal(index.head, commits.c8);
    assert.equal(index.stats().diffed, 8);
    const view = index.view();
    assert.equal(view.positionOf(commits.c1), 0);
    assert.equal(view.at(0).parent, null);
    assert.equal(view.at(3).parent, commits.c3);
    assert.equal(pathsOf(view, commits.c1).length, 8);
    assert.deepEqual(pathsOf(view, commits.c3), ['environments/production/app.yaml']);
    assert.deepEqual(pathsOf(view, commits.c5), ['defaults/other.yaml']);
    // Extending to the same head does nothing.
    assert.equal((await index.extend(repo, repo.head!)).added, 0);
    assert.equal(index.stats().diffed, 8);
  });

  it('is persisted, reloaded without re-diffing, and extended by the new commits only', async () => {
    const { dir, commits } = await createSeriesRepo();
    const data = await tempDir();
    const repo = await openLocalRepository(dir);
    const first = new HistoryIndex({ branch: 'main', store: new HistoryIndexFile(data) });
    await first.extend(repo, repo.head!);
    assert.equal(first.stats().loaded, 'missing');
    // Written atomically: the file and no temp file.
    assert.deepEqual(await readdir(data), ['history-index.json']);

    const next = await commitFiles(dir, { 'defaults/other.yaml': 'size: 3\n' }, 'other: even bigger');
    await repo.refresh();
    const second = new HistoryIndex({ branch: 'main', store: new HistoryIndexFile(data) });
    const result = await second.extend(repo, repo.head!);
    assert.equal(second.stats().loaded, 'loaded');
    assert.equal(result.added, 1);
    assert.equal(result.rebuilt, undefined);
    assert.equal(second.stats().diffed, 1, 'only the new commit is diffed');
    assert.equal(second.size, 9);
    assert.deepEqual(pathsOf(second.view(), next), ['defaults/other.yaml']);
    assert.deepEqual(pathsOf(second.view(), commits.c3), ['environments/production/app.yaml']);

    const third = new HistoryIndex({ branch: 'main', store: new HistoryIndexFile(data) });
    await third.extend(repo, repo.head!);
    assert.equal(third.stats().diffed, 0);
    assert.equal(third.size, 9);
  });

  it('rebuilds from git when the file is damaged, of another format or of another branch', async () => {
    const { dir } = await createSeriesRepo();
    const repo = await openLocalRepository(dir);
    const data = await tempDir();
    const file = new HistoryIndexFile(data);
    await new HistoryIndex({ branch: 'main', store: file }).extend(repo, repo.head!);
    const good = await readFile(file.path);

    const damage = async (bytes: Buffer | string, expected: RegExp) => {
      await writeFile(file.path, bytes);
      const index = new HistoryIndex({ branch: 'main', store: new HistoryIndexFile(data) });
      const result = await index.extend(repo, repo.head!);
      assert.equal(index.stats().loaded, 'corrupt');
      assert.match(index.stats().loadProblem ?? '', expected);
      assert.equal(result.rebuilt, 'empty');
      assert.equal(index.stats().diffed, 8);
      assert.equal(index.size, 8);
      // ... and the rebuilt index was saved over the damaged one.
      assert.deepEqual(await readFile(file.path), good);
    };
    const flipped = Buffer.from(good);
    flipped[flipped.length - 5] = flipped[flipped.length - 5]! ^ 0x01;
    await damage(flipped, /checksum/);
    await damage(good.subarray(0, good.length - 10), /truncated/);
    await damage(good.toString('utf8').replace(/^gitcfg-history \d+ /, 'gitcfg-history 99 '), /format 99/);
    await damage('not an index at all', /header/);

    const other = new HistoryIndex({ branch: 'release', store: new HistoryIndexFile(data) });
    await other.extend(repo, repo.head!);
    assert.equal(other.stats().loaded, 'corrupt');
    assert.equal(other.stats().diffed, 8);
  });

  it('detects a force-push and re-indexes from the last common commit', async () => {
    const { dir, commits } = await createSeriesRepo();
    const repo = await openLocalRepository(dir);
    const data = await tempDir();
    const index = new HistoryIndex({ branch: 'main', store: new HistoryIndexFile(data) });
    await index.extend(repo, repo.head!);
    const before = index.view();

    await run(dir, 'reset', '--hard', '--quiet', commits.c5);
    const r1 = await commitFiles(dir, { 'defaults/other.yaml': 'size: 9\n' }, 'rewritten 1');
    const r2 = await commitFiles(dir, { 'environments/staging/app.yaml': 'tags: [t]\n' }, 'rewritten 2');
    await repo.refresh();
    const result = await index.extend(repo, repo.head!);
    assert.equal(result.rebuilt, 'rewritten');
    assert.equal(result.dropped, 3);
    assert.equal(result.added, 2);
    assert.equal(index.stats().diffed, 10, 'the kept part is not diffed again');
    assert.equal(index.stats().rewrites, 1);
    const view = index.view();
    assert.equal(view.length, 7);
    assert.equal(view.positionOf(commits.c6), undefined);
    assert.equal(view.positionOf(r1), 5);
    assert.deepEqual(pathsOf(view, r2), ['environments/staging/app.yaml']);
    // A view taken earlier still sees the old chain.
    assert.equal(before.positionOf(commits.c8), 7);

    // A history unrelated to the indexed one drops everything.
    await run(dir, 'checkout', '--quiet', '--orphan', 'fresh');
    const orphan = await commitFiles(dir, { 'gitcfg.yaml': 'version: 1\nenvironments: {}\n' }, 'unrelated');
    const unrelated = await index.extend(repo, orphan);
    assert.equal(unrelated.rebuilt, 'rewritten');
    assert.equal(unrelated.dropped, 7);
    assert.equal(index.size, 1);

    const reloaded = new HistoryIndex({ branch: 'main', store: new HistoryIndexFile(data) });
    await reloaded.load();
    assert.equal(reloaded.head, orphan);
  });

  it('answers for a commit off the indexed chain without rewinding the index', async () => {
    const { dir, commits } = await createSeriesRepo();
    const repo = await openLocalRepository(dir);
    const index = new HistoryIndex({ branch: 'main' });
    await index.extend(repo, commits.c8);
    await run(dir, 'checkout', '--quiet', '-b', 'feature', commits.c5);
    const feature = await commitFiles(dir, { 'defaults/other.yaml': 'size: 5\n' }, 'feature work');
    const side = await index.viewAt(repo, feature);
    assert.equal(side.positionOf(feature), 5);
    assert.equal(side.positionOf(commits.c6), undefined);
    assert.deepEqual(pathsOf(side, feature), ['defaults/other.yaml']);
    assert.equal(index.head, commits.c8);
    assert.equal(index.size, 8);
    assert.equal(index.stats().rewrites, 0);
    // A descendant of the indexed head extends the index itself.
    await run(dir, 'checkout', '--quiet', 'main');
    const ahead = await commitFiles(dir, { 'defaults/other.yaml': 'size: 6\n' }, 'ahead');
    const view = await index.viewAt(repo, ahead);
    assert.equal(view.positionOf(ahead), 8);
    assert.equal(index.head, ahead);
  });

  it('serialises concurrent extensions', async () => {
    const { dir, commits } = await createSeriesRepo();
    const repo = await openLocalRepository(dir);
    const index = new HistoryIndex({ branch: 'main', concurrency: 2 });
    const [a, b] = await Promise.all([index.extend(repo, commits.c4), index.extend(repo, commits.c8)]);
    assert.equal(a.added, 4);
    assert.equal(b.added, 4);
    assert.equal(index.stats().diffed, 8);
    assert.equal(index.head, commits.c8);
  });

  it('diffs a long history on short-lived scratch readers, never on the serving repository', async () => {
    const { dir, commits } = await createSeriesRepo();
    const repo = await openLocalRepository(dir);
    // Observes which reader each diff goes to; every read is still the real repository's.
    const calls = { serving: 0, scratch: 0, readers: 0 };
    const observed: GitRepository = Object.assign(Object.create(repo) as LocalRepository, {
      diffCommits: (from: string | null, to: string) => {
        calls.serving++;
        return repo.diffCommits(from, to);
      },
      scratch: (): GitRepository => {
        calls.readers++;
        const reader = repo.scratch();
        return Object.assign(Object.create(reader) as GitRepository, {
          diffCommits: (from: string | null, to: string) => {
            calls.scratch++;
            return reader.diffCommits(from, to);
          },
        });
      },
    });
    const index = new HistoryIndex({ branch: 'main', scratchAbove: 4, scratchBatch: 3 });
    const result = await index.extend(observed, commits.c8);
    assert.equal(result.added, 8);
    assert.deepEqual(calls, { serving: 0, scratch: 8, readers: 3 });
    // Same index as one built entirely on the repository itself.
    const plain = new HistoryIndex({ branch: 'main' });
    await plain.extend(repo, commits.c8);
    assert.deepEqual(index.toData(), plain.toData());

    // A sync's few new commits go to the serving repository, whose cache is warm.
    const next = await commitFiles(dir, { 'defaults/other.yaml': 'size: 4\n' }, 'other: one more');
    await repo.refresh();
    await index.extend(observed, next);
    assert.deepEqual(calls, { serving: 1, scratch: 8, readers: 3 });
  });

  it('diffs a first build in a child process into the same index, and a sync in process', async () => {
    const { dir } = await createSeriesRepo();
    const head = await appendCommits(dir, 12);
    const repo = await openLocalRepository(dir);
    const failures: unknown[] = [];
    const index = new HistoryIndex({
      branch: 'main',
      scratchAbove: 4,
      bulkDiff: (r, commits, o) => diffCommitsInChildProcess(r, commits, { ...o, batch: 5 }),
      onBulkDiffError: (error) => failures.push(error),
    });
    assert.equal((await index.extend(repo, head)).added, 20);
    assert.deepEqual(failures, []);
    assert.equal(index.stats().bulkDiffed, 20);
    assert.equal(index.stats().diffed, 20);
    const plain = new HistoryIndex({ branch: 'main' });
    await plain.extend(repo, head);
    assert.deepEqual(index.toData(), plain.toData());

    const next = await appendCommits(dir, 2);
    await repo.refresh();
    await index.extend(repo, next);
    assert.equal(index.stats().bulkDiffed, 20, 'two new commits are diffed in process');
    assert.equal(index.stats().diffed, 22);
    await plain.extend(repo, next);
    assert.deepEqual(index.toData(), plain.toData());
  });

  it('keeps what a diff process delivered before it was killed and diffs the rest in process', async () => {
    const { dir } = await createSeriesRepo();
    const head = await appendCommits(dir, 12);
    const repo = await openLocalRepository(dir);
    const failures: { error: unknown; progress: { delivered: number; remaining: number } }[] = [];
    let batches = 0;
    const index = new HistoryIndex({
      branch: 'main',
      scratchAbove: 4,
      bulkDiff: (r, commits, o) =>
        diffCommitsInChildProcess(r, commits, {
          batch: 5,
          onBatch: (start, changes) => {
            o.onBatch(start, changes);
            if (++batches === 2) throw new Error('no more, thanks'); // the child is killed here
          },
        }),
      onBulkDiffError: (error, progress) => failures.push({ error, progress }),
    });
    await index.extend(repo, head);
    assert.equal(failures.length, 1);
    assert.deepEqual(failures[0]!.progress, { delivered: 10, remaining: 10 });
    assert.ok(failures[0]!.error instanceof GitOperationError);
    assert.match(String(failures[0]!.error), /no more, thanks/);
    assert.deepEqual(
      { ...index.stats(), loaded: undefined },
      {
        diffed: 20,
        bulkDiffed: 10,
        bulkFailures: 1,
        builds: 1,
        rewrites: 0,
        saveFailures: 0,
        loaded: undefined,
      },
    );
    const plain = new HistoryIndex({ branch: 'main' });
    await plain.extend(repo, head);
    assert.deepEqual(index.toData(), plain.toData());
  });
});
