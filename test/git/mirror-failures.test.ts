import * as assert from 'node:assert/strict';
import { readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openMirror, push, commitChanges } from '../../src/git/index.js';
import type { GitMirror, MirrorEvent } from '../../src/git/index.js';
import {
  AuthFailedError,
  GitcfgError,
  NotFoundError,
  RemoteUnreachableError,
} from '../../src/errors/index.js';
import { serveOverHttp } from '../helpers/config-repo.js';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import {
  cleanupTempDirs,
  cloneRepo,
  commitFiles,
  createTempRepo,
  run,
  tempDir,
} from '../helpers/git-repo.js';

const credentials = { username: 'deploy-user', password: 's3cr3t-Pa55word' };

/** Every string an error exposes: message, stack, data, and the same for its causes. */
function exposed(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    parts.push(
      String((e as Error).message),
      String((e as Error).stack),
      JSON.stringify((e as { data?: unknown }).data ?? {}),
    );
  }
  return parts.join('\n');
}

function assertNoSecret(err: unknown): void {
  const text = exposed(err);
  assert.ok(!text.includes(credentials.password), `password leaked: ${text}`);
  assert.ok(!text.includes(encodeURIComponent(credentials.password)), 'encoded password leaked');
  assert.ok(!text.includes(`${credentials.username}:`), 'userinfo leaked');
}

describe('mirror failures: remote down, bad credentials, damaged mirror', () => {
  let remote: GitHttpRemote;
  let work: string;

  before(async () => {
    const source = await createTempRepo({ files: { 'a.yaml': 'a: 1\n', 'n/b.yaml': 'b: 1\n' } });
    remote = (await serveOverHttp(source, { auth: credentials })).remote;
    work = await cloneRepo(remote.url('config.git', credentials));
  });

  after(async () => {
    await remote.close();
    await cleanupTempDirs();
  });

  it('works with credentials in the URL or in options, and never stores them on disk', async () => {
    const dataDir = path.join(await tempDir(), 'm');
    const viaUrl = await openMirror({ url: remote.url('config.git', credentials), dataDir, branch: 'main' });
    assert.equal(viaUrl.head, await run(work, 'rev-parse', 'HEAD'));
    assert.ok(!viaUrl.remoteUrl.includes(credentials.password));
    const config = await run(dataDir, 'config', '--list');
    assert.ok(!config.includes(credentials.password), config);
    const viaAuth = await openMirror({
      url: remote.url('config.git'),
      dataDir: path.join(await tempDir(), 'm2'),
      branch: 'main',
      auth: { username: credentials.username, password: credentials.password },
    });
    assert.equal(viaAuth.head, viaUrl.head);
  });

  it('bad credentials are AuthFailedError (E_AUTH_FAILED) without the secret', async () => {
    const wrong = { username: credentials.username, password: 'wrong-password-123' };
    await assert.rejects(
      openMirror({
        url: remote.url('config.git', wrong),
        dataDir: path.join(await tempDir(), 'x'),
        branch: 'main',
      }),
      (err: unknown) => {
        assert.ok(err instanceof AuthFailedError, String(err));
        assert.equal(err.code, 'E_AUTH_FAILED');
        assert.ok(!exposed(err).includes('wrong-password-123'));
        return true;
      },
    );
  });

  it('a missing branch or repository is a typed error', async () => {
    await assert.rejects(
      openMirror({
        url: remote.url('config.git', credentials),
        dataDir: path.join(await tempDir(), 'x'),
        branch: 'nope',
      }),
      NotFoundError,
    );
    await assert.rejects(
      openMirror({
        url: remote.url('missing.git', credentials),
        dataDir: path.join(await tempDir(), 'x'),
        branch: 'main',
      }),
      (err: unknown) => err instanceof GitcfgError && err.code === 'E_GIT' && (assertNoSecret(err), true),
    );
  });

  it('remote down: fetch and push fail with RemoteUnreachableError and no credentials; recovery after restart', async () => {
    const mirror = await openMirror({
      url: remote.url('config.git', credentials),
      dataDir: path.join(await tempDir(), 'm'),
      branch: 'main',
    });
    const head = mirror.head!;
    await remote.stop();
    try {
      await assert.rejects(mirror.fetch(), (err: unknown) => {
        assert.ok(err instanceof RemoteUnreachableError, String(err));
        assert.equal(err.code, 'E_REMOTE_UNREACHABLE');
        assertNoSecret(err);
        assert.match(err.message, /127\.0\.0\.1/);
        return true;
      });
      await commitChanges(mirror, {
        branch: 'main',
        parent: head,
        changes: [{ path: 'c.yaml', content: Buffer.from('c: 1\n') }],
        author: { name: 'A', email: 'a@example.com' },
        message: 'c',
      });
      await assert.rejects(push(mirror), (err: unknown) => {
        assert.ok(err instanceof RemoteUnreachableError, String(err));
        assertNoSecret(err);
        return true;
      });
      // reads of what is already mirrored keep working while the remote is down
      assert.equal((await mirror.listTree(head)).length, 2);
      await assert.rejects(
        openMirror({
          url: remote.url('config.git', credentials),
          dataDir: path.join(await tempDir(), 'y'),
          branch: 'main',
        }),
        (err: unknown) => err instanceof RemoteUnreachableError && (assertNoSecret(err), true),
      );
    } finally {
      await remote.restart();
    }
    const next = await commitFiles(work, { 'n/b.yaml': 'b: 2\n' }, 'b2');
    await run(work, 'push', '--quiet', 'origin', 'main');
    const outcome = await mirror.fetch();
    assert.equal(outcome.head, next);
  });

  it('deferClone: opens without the remote, reads what is on disk, clones or recovers on the first fetch', async () => {
    const url = remote.url('config.git', credentials);
    const dataDir = path.join(await tempDir(), 'm');
    const events: MirrorEvent[] = [];
    const head = (await openMirror({ url, dataDir, branch: 'main' })).head!;
    // Damaged on disk (HEAD gone) and the remote down: open still succeeds, without touching the network.
    await rm(path.join(dataDir, 'HEAD'));
    const fresh = path.join(await tempDir(), 'fresh');
    await remote.stop();
    let damaged: GitMirror;
    let absent: GitMirror;
    try {
      damaged = await openMirror({
        url,
        dataDir,
        branch: 'main',
        deferClone: true,
        onEvent: (e) => events.push(e),
      });
      absent = await openMirror({ url, dataDir: fresh, branch: 'main', deferClone: true });
      assert.equal(absent.head, null);
      await assert.rejects(absent.resolveRef('main'), NotFoundError);
      await assert.rejects(absent.fetch(), (err: unknown) => {
        assert.ok(err instanceof RemoteUnreachableError, String(err));
        assertNoSecret(err);
        return true;
      });
      assert.equal(events.length, 0);
    } finally {
      await remote.restart();
    }
    assert.equal((await absent.fetch()).head, head);
    assert.equal((await damaged.fetch()).head, head);
    assert.deepEqual(
      events.map((e) => [e.type, e.reason]),
      [['recovered', 'HEAD missing or invalid']],
    );
    assert.ok((await damaged.listTree(head)).some((e) => e.path === 'a.yaml'));
  });

  it('detects a truncated pack or a missing HEAD, re-clones into a temp dir and swaps it in', async () => {
    const parent = await tempDir();
    const dataDir = path.join(parent, 'mirror');
    const url = remote.url('config.git', credentials);
    const events: MirrorEvent[] = [];
    const first = await openMirror({ url, dataDir, branch: 'main', onEvent: (e) => events.push(e) });
    assert.deepEqual(
      events.map((e) => e.type),
      ['cloned'],
    );
    const head = first.head;

    const packDir = path.join(dataDir, 'objects', 'pack');
    const pack = (await readdir(packDir)).find((f) => f.endsWith('.pack'))!;
    await truncate(path.join(packDir, pack), (await stat(path.join(packDir, pack))).size - 40);
    await assert.rejects(run(dataDir, 'fsck', '--no-progress')); // really damaged
    const second = await openMirror({ url, dataDir, branch: 'main', onEvent: (e) => events.push(e) });
    assert.equal(events.at(-1)?.type, 'recovered');
    assert.match(events.at(-1)?.reason ?? '', /truncated/);
    assert.equal(second.head, head);
    await run(dataDir, 'fsck', '--no-progress');
    assert.deepEqual(
      (await readdir(parent)).sort(),
      ['mirror'],
      'temp and old dirs are removed after the swap',
    );

    await rm(path.join(dataDir, 'HEAD'));
    const third = await openMirror({ url, dataDir, branch: 'main', onEvent: (e) => events.push(e) });
    assert.match(events.at(-1)?.reason ?? '', /HEAD/);
    assert.equal((await third.listTree(head!)).length > 0, true);

    // leftovers of a crash in the middle of a swap are cleaned up on open
    await writeFile(path.join(parent, 'mirror.tmp-dead'), 'x');
    await openMirror({ url, dataDir, branch: 'main' });
    assert.deepEqual(await readdir(parent), ['mirror']);
  });

  it('a mirror damaged under a running process recovers on the next fetch; remirror() leaves one pack', async () => {
    const dataDir = path.join(await tempDir(), 'mirror');
    const url = remote.url('config.git', credentials);
    const events: MirrorEvent[] = [];
    const mirror = await openMirror({ url, dataDir, branch: 'main', onEvent: (e) => events.push(e) });
    for (let i = 0; i < 3; i++) {
      await commitFiles(work, { 'n/b.yaml': `b: ${10 + i}\n` }, `b${i}`);
      await run(work, 'push', '--quiet', 'origin', 'main');
      await mirror.fetch();
    }
    assert.equal(await mirror.packCount(), 4, "the first fetch's pack and one per later fetch");
    // the object store is destroyed under the running process: the fetch cannot write its pack and recovers
    await rm(path.join(dataDir, 'objects'), { recursive: true });
    await writeFile(path.join(dataDir, 'objects'), 'not a directory');
    const next = await commitFiles(work, { 'n/b.yaml': 'b: 99\n' }, 'b99');
    await run(work, 'push', '--quiet', 'origin', 'main');
    const outcome = await mirror.fetch();
    assert.equal(outcome.head, next);
    assert.equal(events.at(-1)?.type, 'recovered');
    await run(dataDir, 'fsck', '--no-progress');
    assert.equal(
      Buffer.from(
        await (
          await mirror.source(next)
        ).readBlob((await mirror.listTree(next)).find((e) => e.path === 'n/b.yaml')!.oid, 'n/b.yaml'),
      ).toString(),
      'b: 99\n',
    );

    // damage a running mirror cannot notice by itself is found by a full verify(); remirror() repairs it
    await commitFiles(work, { 'n/b.yaml': 'b: 100\n' }, 'b100');
    await run(work, 'push', '--quiet', 'origin', 'main');
    await mirror.fetch();
    assert.equal(await mirror.packCount(), 2, "the recovered mirror's pack and the next fetch's");
    assert.equal(await mirror.verify(), null);
    const packDir = path.join(dataDir, 'objects', 'pack');
    const somePack = (await readdir(packDir)).find((n) => n.endsWith('.pack'))!;
    await truncate(path.join(packDir, somePack), (await stat(path.join(packDir, somePack))).size - 30);
    assert.match((await mirror.verify()) ?? '', /truncated/);
    const before = events.length;
    const res = await mirror.remirror('test');
    assert.equal(res.head, await run(work, 'rev-parse', 'HEAD'));
    assert.equal(await mirror.packCount(), 1);
    assert.equal(await mirror.verify(), null);
    assert.equal(events[before]?.type, 'remirrored');
  });

  it('source() still works when a re-mirror after a force-push dropped the last listed commit', async () => {
    const mirror = await openMirror({
      url: remote.url('config.git', credentials),
      dataDir: path.join(await tempDir(), 'mirror'),
      branch: 'main',
    });
    const doomed = await commitFiles(work, { 'doomed.yaml': 'd: 1\n' }, 'doomed');
    await run(work, 'push', '--quiet', 'origin', 'main');
    await mirror.fetch();
    await mirror.source(doomed);
    await run(work, 'reset', '--quiet', '--hard', 'HEAD~1');
    const replacement = await commitFiles(work, { 'kept.yaml': 'k: 1\n' }, 'replacement');
    await run(work, 'push', '--quiet', '--force', 'origin', 'main');
    assert.equal((await mirror.fetch()).head, replacement);
    await mirror.remirror('after force-push');
    await assert.rejects(mirror.readCommit(doomed), NotFoundError);
    const source = await mirror.source(replacement);
    assert.deepEqual(source.entries, await mirror.listTree(replacement));
    assert.ok(!source.entries.some((e) => e.path === 'doomed.yaml'));
  });
});
