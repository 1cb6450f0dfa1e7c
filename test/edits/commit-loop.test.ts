/** The optimistic commit loop against a scripted `WriteTarget` (pure logic: no git, no network). */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommitLoop } from '../../src/edits/index.js';
import type { Plan, WriteTarget } from '../../src/edits/index.js';
import type { RepoSource } from '../../src/engine/index.js';
import { RefMovedError, RemoteUnreachableError } from '../../src/errors/index.js';
import { blobOid } from '../../src/git/index.js';
import type { CommitChangesOptions, GitRepository } from '../../src/git/index.js';

const FILES: Record<string, string> = {
  'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n',
  'schemas/app.schema.json': JSON.stringify({
    type: 'object',
    additionalProperties: false,
    properties: { max: { type: 'integer', maximum: 10 } },
  }),
  'defaults/app.yaml': 'max: 3\n',
};

const encoder = new TextEncoder();

function sourceOf(files: Record<string, string>): RepoSource {
  const blobs = new Map(Object.values(files).map((c) => [blobOid(encoder.encode(c)), encoder.encode(c)]));
  return {
    entries: Object.keys(files)
      .sort()
      .map((path) => ({ path, oid: blobOid(encoder.encode(files[path]!)), type: 'blob', mode: '100644' })),
    readBlob: async (oid) => blobs.get(oid)!,
  };
}

/**
 * A branch whose head moves when told: `commit` answers from `script` in order (`'moved'`: someone else
 * committed first, `'down'`: the remote is unreachable, `'ok'`: it lands), and records every call.
 */
function scriptedTarget(script: ('ok' | 'moved' | 'down')[]) {
  let head = 'c0';
  const heads = new Map([[head, FILES]]);
  const commits: CommitChangesOptions[] = [];
  const repository = { source: async (commit: string) => ({ commit, ...sourceOf(heads.get(commit)!) }) };
  const target: WriteTarget = {
    branch: 'main',
    remote: true,
    repository: async () => repository as unknown as GitRepository,
    refresh: async () => head,
    current: async () => head,
    async commit(opts) {
      commits.push(opts);
      const step = script.shift() ?? 'ok';
      const next = `c${commits.length}`;
      if (step === 'down') throw new RemoteUnreachableError('push', 'connection refused');
      const files = heads.get(head)!;
      if (step === 'moved') {
        // Another writer's commit lands first: same files, a new head.
        heads.set(next, files);
        head = next;
        throw new RefMovedError('push', 'main moved');
      }
      const changed = { ...files };
      for (const c of opts.changes) changed[c.path] = new TextDecoder().decode(c.content!);
      heads.set(next, changed);
      head = next;
      return next;
    },
  };
  return { target, commits };
}

const author = { name: 'Ada', email: 'ada@example.com' };

function loop(target: WriteTarget, maxAttempts = 3): CommitLoop {
  return new CommitLoop({
    target,
    committer: { name: 'Server', email: 'server@example.com' },
    prefix: '',
    scope: (source) => source,
    maxAttempts,
  });
}

/** A plan that sets `defaults/app.yaml` to `content`, recording the heads it was given. */
function setMax(content: string, heads: string[]): (ctx: { head: string }) => Promise<Plan> {
  return async ({ head }) => {
    heads.push(head);
    return { changes: new Map([['defaults/app.yaml', encoder.encode(content)]]), message: 'set max' };
  };
}

describe('CommitLoop', () => {
  it('redoes the plan on the new head when the branch moved, and commits there', async () => {
    const { target, commits } = scriptedTarget(['moved', 'ok']);
    const heads: string[] = [];
    const result = await loop(target).run(author, setMax('max: 5\n', heads), 'defaults/app.yaml');
    assert.deepEqual(heads, ['c0', 'c1']);
    assert.deepEqual(
      commits.map((c) => c.parent),
      ['c0', 'c1'],
    );
    assert.equal(result.committed, true);
    assert.equal(result.commit, 'c2');
    assert.equal(result.parent, 'c1');
    assert.equal(result.attempts, 2);
    assert.equal(result.etag, `"${blobOid(encoder.encode('max: 5\n'))}"`);
    assert.deepEqual(
      result.diff.flatMap((d) => d.changes.map((c) => [d.namespace, c.path, c.from, c.to])),
      [['app', '/max', 3, 5]],
    );
  });

  it('commits nothing when the result is invalid', async () => {
    const { target, commits } = scriptedTarget([]);
    await assert.rejects(loop(target).run(author, setMax('max: 11\n', [])), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'E_INVALID_CONFIG');
      return true;
    });
    assert.equal(commits.length, 0);
  });

  it('gives up with a conflict after the bound when the branch keeps moving', async () => {
    const { target, commits } = scriptedTarget(['moved', 'moved', 'moved', 'ok']);
    await assert.rejects(loop(target, 3).run(author, setMax('max: 5\n', [])), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'E_CONFLICT');
      assert.deepEqual((err as { data?: unknown }).data, { attempts: 3 });
      return true;
    });
    assert.equal(commits.length, 3);
  });

  it('does not retry other failures, and makes no commit for a no-op or a dry run', async () => {
    const down = scriptedTarget(['down']);
    await assert.rejects(loop(down.target).run(author, setMax('max: 5\n', [])), {
      code: 'E_REMOTE_UNREACHABLE',
    });
    assert.equal(down.commits.length, 1);

    const idle = scriptedTarget([]);
    const same = await loop(idle.target).run(author, setMax('max: 3\n', []));
    assert.deepEqual([same.committed, same.commit, same.files], [false, 'c0', []]);
    const dry = await loop(idle.target).run(author, async (ctx) => ({
      ...(await setMax('max: 4\n', [])(ctx)),
      dryRun: true,
    }));
    assert.deepEqual([dry.committed, dry.dryRun, dry.files], [false, true, ['defaults/app.yaml']]);
    assert.equal(idle.commits.length, 0);
  });
});
