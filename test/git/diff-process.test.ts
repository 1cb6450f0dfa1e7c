/** Diffs of many commits in a child process: the answers, and every way the child can fail. */
import * as assert from 'node:assert/strict';
import * as nodeFs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { GitOperationError, UsageError } from '../../src/errors/index.js';
import { ObjectStore, diffCommitsInChildProcess, openLocalRepository } from '../../src/git/index.js';
import type { CommitPair, FsPort, LocalRepository, TreeChange } from '../../src/git/index.js';
import { cleanupTempDirs, commitFiles, createTempRepo } from '../helpers/git-repo.js';

describe('diffCommitsInChildProcess', () => {
  let repo: LocalRepository;
  let commits: CommitPair[];
  before(async () => {
    const dir = await createTempRepo();
    const c1 = await commitFiles(dir, { 'a.yaml': 'a: 1\n', 'd/b.yaml': 'b: 1\n' }, 'one');
    const c2 = await commitFiles(dir, { 'a.yaml': 'a: 2\n', 'd/b.yaml': null, 'd/c.yaml': 'c: 1\n' }, 'two');
    const c3 = await commitFiles(dir, { 'e/f/g.yaml': 'g: 1\n' }, 'three');
    repo = await openLocalRepository(dir);
    commits = [
      { oid: c1, parent: null },
      { oid: c2, parent: c1 },
      { oid: c3, parent: c2 },
    ];
  });
  after(cleanupTempDirs);

  /** Runs the child, collecting what it delivered before it ended. */
  async function collect(
    pairs: readonly CommitPair[],
    options: { batch?: number; idleTimeoutMs?: number; maxHeapMb?: number } = {},
  ): Promise<{ delivered: TreeChange[][]; error?: unknown }> {
    const delivered: TreeChange[][] = [];
    try {
      await diffCommitsInChildProcess(repo, pairs, {
        ...options,
        onBatch: (start, changes) => {
          assert.equal(start, delivered.length, 'batches arrive in order');
          delivered.push(...changes);
        },
      });
      return { delivered };
    } catch (error) {
      return { delivered, error };
    }
  }

  it('answers what the repository diffs in process, batch by batch, then what it failed on', async () => {
    const missing = 'f'.repeat(40);
    const { delivered, error } = await collect([...commits, { oid: missing, parent: commits[2]!.oid }], {
      batch: 1,
    });
    const expected = await Promise.all(commits.map((c) => repo.diffCommits(c.parent, c.oid)));
    assert.deepEqual(delivered, expected);
    assert.deepEqual(
      delivered[1]!.map((c) => `${c.kind} ${c.path}`),
      ['modify a.yaml', 'delete d/b.yaml', 'add d/c.yaml'],
    );
    assert.ok(error instanceof GitOperationError);
    assert.match(error.message, new RegExp(`not found: ${missing}`));
  });

  it('kills a child that stays silent or runs out of heap, and says so', async () => {
    const silent = await collect(commits, { idleTimeoutMs: 1 });
    assert.ok(silent.error instanceof GitOperationError);
    assert.match(silent.error.message, /sent nothing for 1 ms/);
    assert.deepEqual(silent.delivered, []);

    const starved = await collect(commits, { maxHeapMb: 4 });
    assert.ok(starved.error instanceof GitOperationError);
    assert.match(starved.error.message, /diff process ended \(SIG[A-Z]+\).*out of memory/);
  });

  it('refuses a repository another process cannot read', async () => {
    const elsewhere = new ObjectStore({ fs: { promises: nodeFs.promises } as FsPort, gitdir: repo.gitdir });
    await assert.rejects(
      diffCommitsInChildProcess(elsewhere, commits, { onBatch: () => {} }),
      (e) => e instanceof UsageError,
    );
  });
});
