/**
 * Explain credits each leaf to the commit that last changed it even when the parent of a commit was never served:
 * a rejected commit followed by its fix, or the commit that created the config root in an existing repository.
 */
import * as assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openLocalRepository } from '../../src/git/index.js';
import { HistoryIndex, HistoryService } from '../../src/history/index.js';
import type { Explanation } from '../../src/history/index.js';
import { cleanupTempDirs, commitFiles, createTempRepo } from '../helpers/git-repo.js';
import { createSeriesRepo } from './history-fixture.js';

async function explainAt(dir: string, namespace: string, env: string, subdir = ''): Promise<Explanation> {
  const repo = await openLocalRepository(dir);
  const service = new HistoryService({
    index: new HistoryIndex({ branch: 'main' }),
    repository: repo,
    subdir,
  });
  await service.extend(repo.head!);
  return service.explain(namespace, env, { at: repo.head! });
}

const credits = (explanation: Explanation) =>
  Object.fromEntries(explanation.values.map((v) => [v.path, { commit: v.commit?.commit, exact: v.exact }]));

describe('exact explain', () => {
  after(cleanupTempDirs);

  it('credits values untouched by a rejected commit and its fix to the commit that last changed them', async () => {
    const { dir, commits } = await createSeriesRepo();
    // Rejected: greeting is not a string. The fix changes greeting only; db.host, in the same file, is untouched.
    await commitFiles(
      dir,
      { 'environments/production/app.yaml': 'greeting: 5\ndb:\n  host: db.prod\n' },
      'bad',
    );
    const fix = await commitFiles(
      dir,
      { 'environments/production/app.yaml': 'greeting: bonjour\ndb:\n  host: db.prod\n' },
      'fix',
    );
    const byPath = credits(await explainAt(dir, 'app', 'production'));
    assert.deepEqual(byPath['/db/host'], { commit: commits.c1, exact: true });
    assert.deepEqual(byPath['/greeting'], { commit: fix, exact: true });
    assert.deepEqual(byPath['/retry/delay_ms'], { commit: commits.c2, exact: true });
  });

  it('marks a leaf inexact only when a version of its file cannot be read', async () => {
    const { dir } = await createSeriesRepo();
    await commitFiles(dir, { 'environments/production/app.yaml': 'greeting: "unclosed\n' }, 'broken yaml');
    const fix = await commitFiles(
      dir,
      { 'environments/production/app.yaml': 'greeting: bonjour\ndb:\n  host: db.prod\n' },
      'fix',
    );
    const byPath = credits(await explainAt(dir, 'app', 'production'));
    assert.deepEqual(byPath['/db/host'], { commit: fix, exact: false });
  });

  it('credits the commit that created the config root inside an older repository exactly', async () => {
    const dir = await createTempRepo({ files: { 'README.md': '# project\n' } });
    const created = await commitFiles(
      dir,
      {
        'config/gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n',
        'config/schemas/db.schema.json': '{"type": "object"}',
        'config/defaults/db.yaml': 'host: db.internal\nport: 5432\n',
      },
      'add configuration',
    );
    const byPath = credits(await explainAt(dir, 'db', 'production', 'config'));
    assert.deepEqual(byPath, {
      '/host': { commit: created, exact: true },
      '/port': { commit: created, exact: true },
    });
  });
});
