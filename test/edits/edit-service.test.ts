/** EditService over a local repository whose config lives in a subdirectory: rollback and revert of adds/deletes. */
import * as assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EditService, localWriteTarget } from '../../src/edits/index.js';
import { EngineCache } from '../../src/engine/index.js';
import { openLocalRepository } from '../../src/git/index.js';
import { cleanupTempDirs, commitFiles, createTempRepo, run } from '../helpers/git-repo.js';
import { underSubdir } from '../helpers/config-repo.js';
import { WRITE_FILES } from './writes-fixture.js';

const author = { name: 'Ada', email: 'ada@example.com' };

/** A fresh bare repository with the config under `cfg/`, and an edit service on it (one per test). */
async function setup(): Promise<{ repo: string; service: EditService; initial: string }> {
  const repo = await createTempRepo({
    bare: true,
    files: { ...underSubdir(WRITE_FILES, 'cfg'), 'README.md': 'outside\n' },
  });
  const initial = await run(repo, 'rev-parse', 'main');
  const local = await openLocalRepository(repo, { branch: 'main' });
  const service = new EditService({
    target: localWriteTarget(async () => local),
    subdir: 'cfg',
    committer: { name: 'Server', email: 'server@example.com' },
    cache: new EngineCache(),
  });
  return { repo, service, initial };
}

/** Creates the `db` layer of `env` (it must not exist yet). */
function createDbLayer(service: EditService, env: string, content: string) {
  return service.replaceFile({ namespace: 'db', env, content, preconditions: { ifNoneMatch: '*' }, author });
}

describe('EditService (local repository, config in a subdirectory)', () => {
  after(cleanupTempDirs);

  it('edits files under the subdirectory and leaves the rest alone', async () => {
    const { repo, service } = await setup();
    const file = await service.readFile('db', 'production');
    assert.equal(file.etag, null);
    assert.equal(file.path, 'cfg/environments/production/db.yaml');
    const created = await createDbLayer(service, 'production', 'host: db.prod\n');
    assert.deepEqual(created.files, ['cfg/environments/production/db.yaml']);
    assert.equal(await run(repo, 'show', 'main:cfg/environments/production/db.yaml'), 'host: db.prod');
    assert.equal(
      await run(repo, 'log', '-1', '--format=%an|%cn|%s', 'main'),
      'Ada|Server|Update cfg/environments/production/db.yaml',
    );
    const same = await service.replaceFile({
      namespace: 'db',
      env: 'production',
      content: 'host: db.prod\n',
      preconditions: { ifMatch: created.etag! },
      author,
    });
    assert.equal(same.committed, false, 'no empty commit');
    assert.equal(same.commit, created.commit);
  });

  it('a rollback deletes files added since and restores deleted ones', async () => {
    const { repo, service, initial } = await setup();
    await createDbLayer(service, 'production', 'host: db.prod\n');
    await commitFilesBare(repo, {
      'cfg/environments/staging/app.yaml': null,
      'cfg/migrations/app/2.yaml': null,
    });
    const dry = await service.rollback({ namespace: 'db', to: initial, dryRun: true, author });
    assert.deepEqual(dry.files, ['cfg/environments/production/db.yaml']);
    assert.equal(dry.committed, false);
    const app = await service.rollback({ namespace: 'app', to: initial, author });
    assert.deepEqual(app.files, ['cfg/environments/staging/app.yaml']);
    assert.equal(
      await run(repo, 'show', 'main:cfg/environments/staging/app.yaml'),
      WRITE_FILES['environments/staging/app.yaml']!.trimEnd(),
    );
    const db = await service.rollback({ namespace: 'db', to: initial, author, message: 'drop prod db' });
    assert.equal(
      await run(repo, 'ls-tree', '--name-only', 'main', 'cfg/environments/production/'),
      'cfg/environments/production/app.yaml',
    );
    assert.equal(await run(repo, 'log', '-1', '--format=%s', db.commit), 'drop prod db');
    assert.equal(await run(repo, 'show', 'main:README.md'), 'outside');
  });

  it('a revert of an addition deletes the file; unknown revisions are 404s', async () => {
    const { repo, service, initial } = await setup();
    const add = await createDbLayer(service, 'staging', 'host: db.staging\n');
    const reverted = await service.revert({ commit: add.commit, author });
    assert.deepEqual(reverted.files, ['cfg/environments/staging/db.yaml']);
    assert.equal(
      await run(repo, 'ls-tree', '--name-only', 'main', 'cfg/environments/staging/'),
      'cfg/environments/staging/app.yaml',
    );
    await assert.rejects(service.rollback({ namespace: 'db', to: 'no-such-ref', author }), {
      code: 'E_NOT_FOUND',
    });
    await assert.rejects(
      service.revert({ commit: initial.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')), author }),
      {
        code: 'E_NOT_FOUND',
      },
    );
  });

  it('masks secret fields in the effective diff it answers', async () => {
    const { service } = await setup();
    const file = await service.readFile('db', 'defaults');
    const res = await service.replaceFile({
      namespace: 'db',
      env: 'defaults',
      content: 'host: db.internal\npassword: ${env:OTHER_PASSWORD}\n',
      preconditions: { ifMatch: file.etag! },
      author,
    });
    const changes = res.diff.flatMap((d) => d.changes);
    assert.ok(changes.length >= 2);
    for (const c of changes) assert.deepEqual([c.path, c.from, c.to], ['/password', '***', '***']);
  });
});

/** Commits to a bare repository through a temporary clone. */
async function commitFilesBare(bare: string, files: Record<string, string | null>): Promise<string> {
  const work = await createTempRepo();
  await run(work, 'fetch', '--quiet', bare, 'main');
  await run(work, 'checkout', '--quiet', '-B', 'main', 'FETCH_HEAD');
  const oid = await commitFiles(work, files, 'native change');
  await run(work, 'push', '--quiet', bare, 'main');
  return oid;
}
