import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chmod } from 'node:fs/promises';
import * as path from 'node:path';
import { openMirror } from '../../src/git/index.js';
import type { GitMirror } from '../../src/git/index.js';
import { NotFoundError } from '../../src/errors/index.js';
import { serveOverHttp } from '../helpers/config-repo.js';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import { cleanupTempDirs, commitFiles, createTempRepo, run, runGit, tempDir } from '../helpers/git-repo.js';

/** Native `git ls-tree -r` of a commit as `mode type oid\tpath` lines, sorted by path. */
async function nativeListing(dir: string, rev: string): Promise<string[]> {
  const out = await run(dir, 'ls-tree', '-r', '--full-tree', rev);
  return out
    .split('\n')
    .filter(Boolean)
    .sort((a, b) => (a.split('\t')[1]! < b.split('\t')[1]! ? -1 : 1));
}

/** Native `git diff --name-status` (no rename detection) as `S\tpath` lines, sorted. */
async function nativeDiff(dir: string, from: string, to: string): Promise<string[]> {
  const out = await run(dir, 'diff', '--no-renames', '--name-status', '--no-ext-diff', from, to);
  return out.split('\n').filter(Boolean).sort();
}

describe('mirror over smart HTTP: clone, fetch, reads', () => {
  let remote: GitHttpRemote;
  let work: string;
  let bare: string;
  let mirror: GitMirror;
  const commits: string[] = [];

  before(async () => {
    work = await createTempRepo({
      files: {
        'gitcfg.yaml': 'version: 1\n',
        'namespaces/payments/defaults.yaml': 'retries: 3\n',
        'namespaces/payments/envs/prod.yaml': 'retries: 5\n',
        'namespaces/search/defaults.yaml': 'size: 10\n',
        'docs/readme.md': '# docs\n',
        'tool.sh': '#!/bin/sh\n',
      },
    });
    commits.push(await run(work, 'rev-parse', 'HEAD'));
    ({ bare, remote } = await serveOverHttp(work));
    mirror = await openMirror({
      url: remote.url('config.git'),
      dataDir: path.join(await tempDir(), 'mirror'),
      branch: 'main',
    });
  });

  after(async () => {
    await remote.close();
    await cleanupTempDirs();
  });

  it('clones the branch into a bare mirror at the remote head', async () => {
    assert.equal(mirror.head, commits[0]);
    assert.equal(await run(mirror.dir, 'rev-parse', '--is-bare-repository'), 'true');
    assert.equal(await run(mirror.dir, 'rev-parse', 'refs/heads/main'), commits[0]);
    // native git can read everything isomorphic-git wrote
    await run(mirror.dir, 'fsck', '--no-progress');
  });

  it('lists a tree exactly like `git ls-tree -r`', async () => {
    const mine = (await mirror.listTree(commits[0]!)).map((e) => `${e.mode} ${e.type} ${e.oid}\t${e.path}`);
    assert.deepEqual(mine, await nativeListing(work, commits[0]!));
  });

  it('fetches new commits (one per fetch and several at once) and diffs like `git diff --name-status`', async () => {
    await chmod(path.join(work, 'tool.sh'), 0o755);
    commits.push(
      await commitFiles(
        work,
        {
          'namespaces/payments/envs/prod.yaml': 'retries: 7\n',
          'namespaces/payments/envs/dev.yaml': 'retries: 1\n',
          'namespaces/search/defaults.yaml': null,
          'docs/readme.md': null,
          docs: 'docs is now a file\n',
        },
        'second',
      ),
    );
    await run(work, 'push', '--quiet', bare, 'main');
    const first = await mirror.fetch();
    assert.deepEqual(
      { head: first.head, previous: first.previous, changed: first.changed },
      { head: commits[1], previous: commits[0], changed: true },
    );

    commits.push(await commitFiles(work, { 'namespaces/search/defaults.yaml': 'size: 20\n' }, 'third'));
    commits.push(await commitFiles(work, { 'namespaces/ads/defaults.yaml': 'on: true\n' }, 'fourth'));
    await run(work, 'push', '--quiet', bare, 'main');
    const second = await mirror.fetch();
    assert.equal(second.head, commits[3]);
    assert.equal(second.previous, commits[1]);

    const third = await mirror.fetch();
    assert.equal(third.changed, false);

    const letter = { add: 'A', modify: 'M', delete: 'D' } as const;
    for (const [from, to] of [
      [commits[0]!, commits[1]!],
      [commits[1]!, commits[3]!],
      [commits[0]!, commits[3]!],
      [commits[3]!, commits[0]!],
    ] as const) {
      const mine = (await mirror.diffCommits(from, to)).map((c) => `${letter[c.kind]}\t${c.path}`).sort();
      assert.deepEqual(mine, await nativeDiff(work, from, to), `${from}..${to}`);
    }
    // the mode-only change is a modify with both modes
    const modeChange = (await mirror.diffCommits(commits[0]!, commits[1]!)).find((c) => c.path === 'tool.sh');
    assert.deepEqual(
      [modeChange?.kind, modeChange?.oldMode, modeChange?.mode],
      ['modify', '100644', '100755'],
    );
    // from null: every file is an add
    const all = await mirror.diffCommits(null, commits[3]!);
    assert.ok(all.every((c) => c.kind === 'add'));
    assert.deepEqual(
      all.map((c) => c.path),
      (await nativeListing(work, commits[3]!)).map((l) => l.split('\t')[1]),
    );
  });

  it('derives sources incrementally and they match a full listing, in any order of commits', async () => {
    for (const c of [commits[0]!, commits[3]!, commits[1]!, commits[2]!, commits[2]!, commits[0]!]) {
      const source = await mirror.source(c);
      assert.equal(source.commit, c);
      assert.deepEqual(source.entries, await mirror.listTree(c));
      const prod = source.entries.find((e) => e.path === 'namespaces/payments/envs/prod.yaml')!;
      assert.equal(
        Buffer.from(await source.readBlob(prod.oid, prod.path)).toString(),
        await runGit({ cwd: work, args: ['show', `${c}:namespaces/payments/envs/prod.yaml`] }),
      );
    }
  });

  it('resolves branches, tags (peeled), full and short oids, suffixes; unknown refs are NotFoundError', async () => {
    await run(work, 'tag', 'light', commits[1]!);
    await run(work, 'tag', '-a', '-m', 'release', 'v1.0', commits[2]!);
    await run(work, 'push', '--quiet', bare, '--tags');
    // tags need a mirror that fetches them
    const tagged = await openMirror({
      url: remote.url('config.git'),
      dataDir: path.join(await tempDir(), 'tagged'),
      branch: 'main',
      tags: true,
    });
    assert.equal(await tagged.resolveRef('light'), commits[1]);
    assert.equal(await tagged.resolveRef('v1.0'), commits[2]);
    await assert.rejects(mirror.resolveRef('light'), NotFoundError);
    await run(work, 'tag', 'later', commits[3]!);
    await run(work, 'push', '--quiet', bare, '--tags');
    assert.equal((await tagged.fetch()).changed, false);
    assert.equal(await tagged.resolveRef('later'), commits[3]);
    assert.equal(await mirror.resolveRef('main'), commits[3]);
    assert.equal(await mirror.resolveRef('refs/heads/main'), commits[3]);
    assert.equal(await mirror.resolveRef('HEAD'), commits[3]);
    assert.equal(await tagged.resolveRef('refs/tags/v1.0'), commits[2]);
    assert.equal(await mirror.resolveRef(commits[2]!), commits[2]);
    assert.equal(await mirror.resolveRef(commits[2]!.slice(0, 8)), commits[2]);
    assert.equal(await mirror.resolveRef('main~2'), await run(work, 'rev-parse', 'main~2'));
    assert.equal(await tagged.resolveRef('v1.0^'), await run(work, 'rev-parse', 'v1.0^{commit}^'));
    for (const unknown of ['nope', 'main~9', 'deadbeef', '0'.repeat(40), 'refs/heads/nope']) {
      await assert.rejects(mirror.resolveRef(unknown), (err: unknown) => {
        assert.ok(err instanceof NotFoundError, String(err));
        assert.equal(err.code, 'E_NOT_FOUND');
        return true;
      });
    }
  });

  it('reads commits and first-parent logs like native git', async () => {
    const c = await mirror.readCommit(commits[1]!);
    assert.equal(c.tree, await run(work, 'rev-parse', `${commits[1]}^{tree}`));
    assert.deepEqual(c.parents, [commits[0]]);
    assert.equal(c.message, 'second\n');
    assert.equal(c.author.email, await run(work, 'show', '-s', '--format=%ae', commits[1]!));
    assert.equal(String(c.committer.timestamp), await run(work, 'show', '-s', '--format=%ct', commits[1]!));
    const log = await mirror.log('main', { depth: 3 });
    assert.deepEqual(
      log.map((e) => e.oid),
      (await run(work, 'log', '--first-parent', '-n', '3', '--format=%H', 'main')).split('\n'),
    );
  });
});
