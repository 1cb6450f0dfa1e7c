/** Effective history, effective diff and explain over a real repository with a known series of commits. */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidConfigError, NotFoundError, UsageError } from '../../src/errors/index.js';
import { openLocalRepository } from '../../src/git/index.js';
import type { LocalRepository } from '../../src/git/index.js';
import { HistoryIndex, HistoryService } from '../../src/history/index.js';
import type { ExplainedValue, PairHistory } from '../../src/history/index.js';
import { cleanupTempDirs, commitFiles } from '../helpers/git-repo.js';
import { createSeriesRepo } from './history-fixture.js';
import type { SeriesCommits } from './history-fixture.js';

describe('audit queries', () => {
  let dir: string;
  let commits: SeriesCommits;
  let repo: LocalRepository;
  let service: HistoryService;
  let names: Map<string, string>;
  const named = (page: PairHistory) => page.commits.map((c) => names.get(c.commit) ?? c.commit);

  before(async () => {
    ({ dir, commits } = await createSeriesRepo());
    names = new Map(Object.entries(commits).map(([name, oid]) => [oid, name]));
    repo = await openLocalRepository(dir);
    service = new HistoryService({ index: new HistoryIndex({ branch: 'main' }), repository: repo });
    await service.extend(repo.head!);
  });
  after(cleanupTempDirs);

  it('lists the commits that changed each environment, including through defaults and extends', async () => {
    const at = commits.c8;
    // c2 (defaults) is in every environment; c3 (production) reaches staging through extends; c6 only
    // development; c4 (reformat), c5 (other namespace) and c8 (override equal to the inherited value) nowhere.
    assert.deepEqual(named(await service.history('app', 'production', { at })), ['c7', 'c3', 'c2', 'c1']);
    assert.deepEqual(named(await service.history('app', 'staging', { at })), ['c7', 'c3', 'c2', 'c1']);
    assert.deepEqual(named(await service.history('app', 'development', { at })), ['c7', 'c6', 'c2', 'c1']);
    assert.deepEqual(named(await service.history('other', 'staging', { at })), ['c5', 'c1']);

    const staging = await service.history('app', 'staging', { at });
    assert.equal(staging.next, null);
    const [c7, c3, c2, c1] = staging.commits;
    assert.deepEqual(c3!.changes, [{ op: 'replace', path: '/greeting', from: 'hello', to: 'welcome' }]);
    assert.deepEqual(c2!.changes, [{ op: 'replace', path: '/retry/delay_ms', from: 100, to: 250 }]);
    assert.equal(c3!.status, 'changed');
    assert.equal(c1!.status, 'added');
    assert.equal(c3!.message, 'production: new greeting');
    assert.equal(c3!.parent, commits.c2);
    assert.deepEqual(c3!.author, { name: 'Test Author', email: 'author@example.com' });
    assert.match(c3!.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    // The secret changed, and the change is listed, but neither value is shown.
    assert.deepEqual(c7!.changes, [{ op: 'replace', path: '/db/password', from: '***', to: '***' }]);
    assert.ok(!JSON.stringify(staging).includes('vault:'));
  });

  it('ends the history at the given commit', async () => {
    const page = await service.history('app', 'staging', { at: commits.c5 });
    assert.deepEqual(named(page), ['c3', 'c2', 'c1']);
    assert.equal(page.at, commits.c5);
  });

  it('pages with limit and before', async () => {
    const at = commits.c8;
    const first = await service.history('app', 'development', { at, limit: 2 });
    assert.deepEqual(named(first), ['c7', 'c6']);
    assert.equal(first.next, commits.c6);
    const second = await service.history('app', 'development', { at, limit: 2, before: first.next! });
    assert.deepEqual(named(second), ['c2', 'c1']);
    const third = await service.history('app', 'development', { at, limit: 2, before: second.next! });
    assert.deepEqual(named(third), []);
    assert.equal(third.next, null);
    // A page boundary on a commit without effect for this pair.
    assert.deepEqual(named(await service.history('app', 'staging', { at, before: commits.c5 })), [
      'c3',
      'c2',
      'c1',
    ]);
    await assert.rejects(service.history('app', 'staging', { at, limit: 0 }), UsageError);
    await assert.rejects(service.history('app', 'staging', { at, limit: 101 }), UsageError);
    await assert.rejects(service.history('app', 'staging', { at, before: 'f'.repeat(40) }), NotFoundError);
    await assert.rejects(service.history('nope', 'staging', { at }), NotFoundError);
    await assert.rejects(service.history('app', 'nope', { at }), NotFoundError);
  });

  it('ends a page early at the evaluation budget, and the pages still add up to the whole history', async () => {
    const small = new HistoryService({
      index: new HistoryIndex({ branch: 'main' }),
      repository: repo,
      maxEvaluations: 2,
    });
    const pages: string[][] = [];
    let before: string | undefined;
    do {
      const page = await small.history('app', 'staging', { at: commits.c8, ...(before ? { before } : {}) });
      pages.push(named(page));
      before = page.next ?? undefined;
    } while (before && pages.length < 20);
    // A page ends after two evaluations; commits without effect on the pair use them up and add nothing.
    assert.deepEqual(pages, [[], ['c7'], [], [], ['c3'], ['c2', 'c1']]);
    assert.deepEqual(pages.flat(), ['c7', 'c3', 'c2', 'c1']);
  });

  it('diffs the effective configuration of every pair between two commits, secrets masked', async () => {
    const diff = await service.diff(commits.c1, commits.c3);
    assert.equal(diff.from, commits.c1);
    assert.deepEqual(
      diff.pairs.map((p) => `${p.namespace}/${p.environment}`),
      ['app/development', 'app/production', 'app/staging'],
    );
    const staging = diff.pairs.find((p) => p.environment === 'staging')!;
    assert.deepEqual(staging.changes, [
      { op: 'replace', path: '/greeting', from: 'hello', to: 'welcome' },
      { op: 'replace', path: '/retry/delay_ms', from: 100, to: 250 },
    ]);
    const only = await service.diff(commits.c1, commits.c3, { environment: 'development' });
    assert.deepEqual(
      only.pairs.map((p) => p.changes),
      [[{ op: 'replace', path: '/retry/delay_ms', from: 100, to: 250 }]],
    );
    const secret = await service.diff(commits.c6, 'main');
    assert.equal(secret.pairs.length, 3);
    assert.ok(!JSON.stringify(secret).includes('vault:'));
    assert.deepEqual((await service.diff(commits.c3, commits.c4)).pairs, []);
    await assert.rejects(service.diff(commits.c1, commits.c3, { environment: 'nope' }), NotFoundError);
    await assert.rejects(service.diff('no-such-ref', commits.c3), NotFoundError);
  });

  it('explains every leaf: file, line and the commit whose change to that file set it', async () => {
    const explanation = await service.explain('app', 'staging', { at: commits.c8 });
    assert.deepEqual(explanation.files, [
      'defaults/app.yaml',
      'environments/production/app.yaml',
      'environments/staging/app.yaml',
    ]);
    const byPath = new Map(explanation.values.map((v) => [v.path, v]));
    const brief = (v: ExplainedValue | undefined) =>
      v && { value: v.value, at: `${v.file}:${v.line}`, commit: names.get(v.commit!.commit), exact: v.exact };
    assert.deepEqual(brief(byPath.get('/greeting')), {
      value: 'welcome',
      at: 'environments/production/app.yaml:1',
      commit: 'c3',
      exact: true,
    });
    // Reformatted by c4 (it moved to line 7) but last changed by c2.
    assert.deepEqual(brief(byPath.get('/retry/delay_ms')), {
      value: 250,
      at: 'defaults/app.yaml:7',
      commit: 'c2',
      exact: true,
    });
    // Set by staging's own file since c8, even though the value is the inherited one.
    assert.deepEqual(brief(byPath.get('/retry/max')), {
      value: 3,
      at: 'environments/staging/app.yaml:3',
      commit: 'c8',
      exact: true,
    });
    assert.deepEqual(brief(byPath.get('/db/password')), {
      value: '***',
      at: 'defaults/app.yaml:4',
      commit: 'c7',
      exact: true,
    });
    assert.deepEqual(brief(byPath.get('/db/host')), {
      value: 'db.prod',
      at: 'environments/production/app.yaml:3',
      commit: 'c1',
      exact: true,
    });
    assert.deepEqual(brief(byPath.get('/tags')), {
      value: ['s'],
      at: 'environments/staging/app.yaml:1',
      commit: 'c1',
      exact: true,
    });
    assert.equal(explanation.values.length, 6);
    // At an older commit the same leaf has an older story.
    const old = await service.explain('app', 'staging', { at: commits.c3 });
    const max = old.values.find((v) => v.path === '/retry/max')!;
    assert.equal(max.file, 'defaults/app.yaml');
    assert.equal(names.get(max.commit!.commit), 'c1');
  });

  it('skips commits where the pair does not validate and compares with the last valid state', async () => {
    const bad = await commitFiles(
      dir,
      { 'environments/production/app.yaml': 'greeting: 5\ndb:\n  host: db.prod\n' },
      'broken',
    );
    const fixed = await commitFiles(
      dir,
      { 'environments/production/app.yaml': 'greeting: bonjour\ndb:\n  host: db.prod\n' },
      'fixed',
    );
    await repo.refresh();
    const page = await service.history('app', 'staging', { at: fixed, limit: 2 });
    assert.deepEqual(
      page.commits.map((c) => c.commit),
      [fixed, commits.c7],
    );
    assert.deepEqual(page.commits[0]!.changes, [
      { op: 'replace', path: '/greeting', from: 'welcome', to: 'bonjour' },
    ]);
    await assert.rejects(service.explain('app', 'staging', { at: bad }), InvalidConfigError);
  });
});

describe('audit queries with the config root in a sub-directory', () => {
  after(cleanupTempDirs);

  it('maps repository paths to the config root and ignores commits outside it', async () => {
    const { dir, commits } = await createSeriesRepo('config/');
    const outside = await commitFiles(dir, { 'README.md': '# readme\n' }, 'docs');
    const repo = await openLocalRepository(dir);
    const service = new HistoryService({
      index: new HistoryIndex({ branch: 'main' }),
      repository: repo,
      subdir: 'config',
    });
    await service.extend(repo.head!);
    const page = await service.history('app', 'staging', { at: outside });
    assert.deepEqual(
      page.commits.map((c) => c.commit),
      [commits.c7, commits.c3, commits.c2, commits.c1],
    );
    const explanation = await service.explain('app', 'staging', { at: outside });
    const greeting = explanation.values.find((v) => v.path === '/greeting')!;
    assert.equal(greeting.file, 'environments/production/app.yaml');
    assert.equal(greeting.commit?.commit, commits.c3);
  });
});
