import * as assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commitChanges, moveBranch, openLocalRepository, openMirror, push } from '../../src/git/index.js';
import type { GitMirror } from '../../src/git/index.js';
import { GitcfgError, RefMovedError, UsageError } from '../../src/errors/index.js';
import { createConfigRepo } from '../helpers/config-repo.js';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import {
  cleanupTempDirs,
  cloneRepo,
  commitFiles,
  createTempRepo,
  run,
  tempDir,
} from '../helpers/git-repo.js';

const author = {
  name: 'Ada Config',
  email: 'ada@example.com',
  timestamp: 1_700_000_000,
  timezoneOffset: -120,
};

describe('commitChanges and push', () => {
  let remote: GitHttpRemote;
  let bare: string;
  let mirror: GitMirror;

  before(async () => {
    const repo = await createConfigRepo(
      {
        files: {
          'gitcfg.yaml': 'version: 1\n',
          'namespaces/pay/defaults.yaml': 'retries: 3\n',
          'namespaces/pay/envs/prod.yaml': 'retries: 5\n',
          'namespaces/old/defaults.yaml': 'x: 1\n',
          'run.sh': '#!/bin/sh\n',
        },
      },
      { remote: true },
    );
    remote = repo.remote!;
    bare = repo.bare!;
    mirror = await openMirror({
      url: remote.url('config.git'),
      dataDir: path.join(await tempDir(), 'm'),
      branch: 'main',
    });
  });

  after(async () => {
    await remote.close();
    await cleanupTempDirs();
  });

  it('commits by rewriting only touched paths; native git reads the pushed commit', async () => {
    const parent = mirror.head!;
    const before = await mirror.readCommit(parent);
    const oid = await commitChanges(mirror, {
      branch: 'main',
      parent,
      changes: [
        { path: 'namespaces/pay/envs/prod.yaml', content: Buffer.from('retries: 9\n') },
        { path: 'namespaces/new/defaults.yaml', content: Buffer.from('n: 1\n') },
        { path: 'namespaces/old/defaults.yaml', content: null },
        { path: 'run.sh', content: Buffer.from('#!/bin/sh\necho hi\n') },
      ],
      author,
      message: 'Tune retries',
    });
    assert.equal(await mirror.resolveRef('main'), oid);
    const after = await mirror.readCommit(oid);
    assert.deepEqual(after.parents, [parent]);
    // untouched subtree keeps its oid; the emptied directory disappears
    const [oldRoot, newRoot] = [
      await mirror.readTreeEntries(before.tree),
      await mirror.readTreeEntries(after.tree),
    ];
    const ns = (entries: typeof oldRoot) => entries.find((e) => e.path === 'namespaces')!.oid;
    const nsOld = await mirror.readTreeEntries(ns(oldRoot));
    const nsNew = await mirror.readTreeEntries(ns(newRoot));
    assert.equal(nsNew.find((e) => e.path === 'pay')?.type, 'tree');
    assert.equal(
      nsNew.find((e) => e.path === 'old'),
      undefined,
    );
    assert.ok(nsOld.find((e) => e.path === 'old'));
    assert.equal(
      oldRoot.find((e) => e.path === 'gitcfg.yaml')!.oid,
      newRoot.find((e) => e.path === 'gitcfg.yaml')!.oid,
    );

    await push(mirror, { branch: 'main' });
    assert.equal(await run(bare, 'rev-parse', 'main'), oid);
    await run(bare, 'fsck', '--strict', '--no-progress');
    assert.equal(
      (await run(bare, 'log', '-1', '--format=%an <%ae> %at %ai%n%B', 'main')).trimEnd(),
      'Ada Config <ada@example.com> 1700000000 2023-11-15 00:13:20 +0200\nTune retries',
    );
    assert.equal(await run(bare, 'show', 'main:namespaces/pay/envs/prod.yaml'), 'retries: 9');
    assert.equal(
      await run(bare, 'diff-tree', '--no-commit-id', '-r', '--name-status', 'main'),
      [
        'D\tnamespaces/old/defaults.yaml',
        'A\tnamespaces/new/defaults.yaml',
        'M\tnamespaces/pay/envs/prod.yaml',
        'M\trun.sh',
      ]
        .sort((a, b) => (a.slice(2) < b.slice(2) ? -1 : 1))
        .join('\n'),
    );
    assert.match(await run(bare, 'ls-tree', 'main', 'run.sh'), /^100644 blob/);
  });

  it('refuses to move a branch that no longer points at the parent (E_REF_MOVED)', async () => {
    const stale = (await mirror.readCommit('main')).parents[0]!;
    await assert.rejects(
      commitChanges(mirror, {
        branch: 'main',
        parent: stale,
        changes: [{ path: 'a.yaml', content: Buffer.from('a: 1\n') }],
        author,
        message: 'stale',
      }),
      (err: unknown) => err instanceof RefMovedError && err.code === 'E_REF_MOVED',
    );
    // a commit creating a new branch needs parent null; an existing branch is a moved ref
    const first = await commitChanges(mirror, {
      branch: 'feature/x',
      parent: null,
      changes: [{ path: 'only.yaml', content: Buffer.from('o: 1\n') }],
      author,
      message: 'root',
    });
    assert.deepEqual((await mirror.readCommit(first)).parents, []);
    assert.equal(await run(mirror.dir, 'rev-parse', 'refs/heads/feature/x'), first);
    await assert.rejects(
      commitChanges(mirror, { branch: 'feature/x', parent: null, changes: [], author, message: 'again' }),
      RefMovedError,
    );
    // native git's ref lock is honoured
    const lock = path.join(mirror.dir, 'refs', 'heads', 'main.lock');
    await writeFile(lock, '');
    await assert.rejects(
      commitChanges(mirror, {
        branch: 'main',
        parent: mirror.head ?? null,
        changes: [],
        author,
        message: 'locked',
      }),
      RefMovedError,
    );
    await rm(lock);
    await assert.rejects(
      commitChanges(mirror, {
        branch: 'main',
        parent: null,
        changes: [{ path: '../x', content: null }],
        author,
        message: 'm',
      }),
      UsageError,
    );
  });

  it('rejects a push when the remote moved (E_PUSH_REJECTED); after a fetch the mirror follows the remote', async () => {
    const clone = await cloneRepo(remote.url('config.git'));
    const theirs = await commitFiles(clone, { 'theirs.yaml': 't: 1\n' }, 'theirs');
    await run(clone, 'push', '--quiet', 'origin', 'main');
    const mine = await commitChanges(mirror, {
      branch: 'main',
      parent: await mirror.resolveRef('main'),
      changes: [{ path: 'mine.yaml', content: Buffer.from('m: 1\n') }],
      author,
      message: 'mine',
    });
    await assert.rejects(push(mirror), (err: unknown) => {
      assert.ok(err instanceof GitcfgError);
      assert.equal(err.code, 'E_PUSH_REJECTED');
      return true;
    });
    assert.equal(await run(bare, 'rev-parse', 'main'), theirs);
    // the unpushed commit can be taken back, compare-and-swap again
    const base = (await mirror.readCommit(mine)).parents[0]!;
    await assert.rejects(moveBranch(mirror, 'main', base, base), RefMovedError);
    await moveBranch(mirror, 'main', mine, base);
    assert.equal(await run(mirror.dir, 'rev-parse', 'refs/heads/main'), base);
    await moveBranch(mirror, 'feature/x', await mirror.resolveRef('feature/x'), '0'.repeat(40));
    await assert.rejects(run(mirror.dir, 'rev-parse', '--verify', '--quiet', 'refs/heads/feature/x'));
    const fetched = await mirror.fetch();
    assert.equal(fetched.head, theirs);
    assert.notEqual(fetched.head, mine);
  });

  it('sees objects written by another instance on the same directory (commit in one, push from the other)', async () => {
    const writer = await openMirror({ url: remote.url('config.git'), dataDir: mirror.dir, branch: 'main' });
    await writer.fetch();
    await mirror.fetch();
    // make `mirror` remember every loose-object directory as it is now: one lookup per fan-out dir
    const port = mirror.objectFs.port as unknown as { read(p: string): Promise<unknown> };
    for (let i = 0; i < 256; i++) {
      const missing = path.join(mirror.dir, 'objects', i.toString(16).padStart(2, '0'), '0'.repeat(38));
      assert.equal(await port.read(missing), null);
    }
    const oid = await commitChanges(writer, {
      branch: 'main',
      parent: writer.head,
      changes: [{ path: 'other-instance.yaml', content: Buffer.from('o: 1\n') }],
      author,
      message: 'from another instance',
    });
    await push(mirror);
    assert.equal(await run(bare, 'rev-parse', 'main'), oid);
    assert.equal((await mirror.readCommit(oid)).message, 'from another instance\n');
  });

  it('commits into a local bare repository too (no remote involved)', async () => {
    const dir = await createTempRepo({ bare: true, files: { 'a.yaml': 'a: 1\n' } });
    const repo = await openLocalRepository(dir);
    const oid = await commitChanges(repo, {
      branch: 'main',
      parent: repo.head,
      changes: [{ path: 'deep/er/b.yaml', content: Buffer.from('b: 1\n') }],
      author,
      committer: { name: 'Bot', email: 'bot@example.com' },
      message: 'add b\n\nbody',
    });
    await run(dir, 'fsck', '--strict', '--no-progress');
    assert.equal((await run(dir, 'log', '-1', '--format=%cn|%s|%b', oid)).trimEnd(), 'Bot|add b|body');
    assert.equal(await run(dir, 'show', `${oid}:deep/er/b.yaml`), 'b: 1');
    // an explicit mode is written; a later content change keeps it
    const exec = await commitChanges(repo, {
      branch: 'main',
      parent: oid,
      changes: [{ path: 'deep/run.sh', content: Buffer.from('#!/bin/sh\n'), mode: '100755' }],
      author,
      message: 'script',
    });
    const edited = await commitChanges(repo, {
      branch: 'main',
      parent: exec,
      changes: [{ path: 'deep/run.sh', content: Buffer.from('#!/bin/sh\necho\n') }],
      author,
      message: 'edit script',
    });
    assert.match(await run(dir, 'ls-tree', edited, 'deep/run.sh'), /^100755 blob/);
    assert.equal(await run(dir, 'rev-parse', 'main'), edited);
  });
});
