/**
 * The audit endpoints on the real server: a bare mirror of a smart-HTTP remote, the sync service extending the
 * history index after each fetch, the index persisted in the data dir across restarts (and rebuilt when damaged).
 */
import * as assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serveCommand } from '../../src/commands/serve.js';
import { EngineCache } from '../../src/engine/index.js';
import { openMirror } from '../../src/git/index.js';
import { HistoryIndex, HistoryIndexFile, HistoryService } from '../../src/history/index.js';
import type { EffectiveDiff, Explanation, PairHistory } from '../../src/history/index.js';
import { createLogger } from '../../src/log/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { SnapshotStore } from '../../src/snapshot/index.js';
import { SyncService } from '../../src/sync/index.js';
import type { SyncOrigin } from '../../src/sync/index.js';
import { WebhookReceiver } from '../../src/webhooks/index.js';
import { serveOverHttp } from '../helpers/config-repo.js';
import type { ServedRepo } from '../helpers/config-repo.js';
import { cleanupTempDirs, commitFiles, run, tempDir } from '../helpers/git-repo.js';
import { startTestApp } from '../helpers/test-server.js';
import { LogSink, waitFor, waitForServed } from '../server/server-fixture.js';
import { appendCommits, createSeriesRepo } from './history-fixture.js';
import type { SeriesCommits } from './history-fixture.js';

interface Stack {
  url: string;
  index: HistoryIndex;
  history: HistoryService;
  sync: SyncService;
  close(): Promise<void>;
}

/** Server + sync + mirror + persisted history index, as `gitcfg serve` wires them, with the parts reachable. */
async function startStack(remoteUrl: string, dataDir: string): Promise<Stack> {
  const mirror = await openMirror({ url: remoteUrl, dataDir: path.join(dataDir, 'mirror'), branch: 'main' });
  const origin: SyncOrigin = {
    description: remoteUrl,
    remote: true,
    repository: mirror,
    async update() {
      await mirror.fetch();
      return mirror.head;
    },
  };
  const index = new HistoryIndex({ branch: 'main', store: new HistoryIndexFile(dataDir) });
  const history = new HistoryService({ index, repository: async () => mirror });
  const logger = createLogger({ level: 'warn', destination: new LogSink() });
  const metrics = createMetrics({ processMetrics: false });
  const store = new SnapshotStore();
  const sync = new SyncService({
    origin,
    branch: 'main',
    store,
    file: null,
    cache: new EngineCache(),
    logger,
    metrics,
    history,
  });
  const webhooks = new WebhookReceiver({ secrets: {}, branch: 'main' });
  const running = await startTestApp({ store, sync, webhooks, metrics, logger, history });
  assert.equal(await sync.trigger('startup'), 'promoted');
  // The sync extends the index in the background, right after promoting.
  await waitFor('history index at the branch head', async () => index.head === sync.status().branchHead);
  return {
    url: running.base,
    index,
    history,
    sync,
    async close() {
      await running.close();
      await sync.close();
    },
  };
}

async function get<T>(url: string, status = 200): Promise<T> {
  const res = await fetch(url);
  const text = await res.text();
  assert.equal(res.status, status, `${url}: ${text}`);
  // Whatever the endpoint, secret values never leave the server.
  assert.ok(!text.includes('vault:'), `${url} leaks a secret`);
  return JSON.parse(text) as T;
}

describe('audit endpoints', () => {
  let served: ServedRepo;
  let work: string;
  let bare: string;
  let commits: SeriesCommits;
  let remoteUrl: string;
  let dataDir: string;

  before(async () => {
    ({ dir: work, commits } = await createSeriesRepo());
    served = await serveOverHttp(work);
    ({ bare, url: remoteUrl } = served);
    dataDir = await tempDir();
  });
  after(async () => {
    await served.close();
    await cleanupTempDirs();
  });

  it('serves history, diff and explain, and extends the index incrementally after a sync', async () => {
    const stack = await startStack(remoteUrl, dataDir);
    try {
      assert.equal(stack.index.stats().builds, 1);
      assert.equal(stack.index.stats().diffed, 8);
      const base = stack.url;
      const history = await get<PairHistory>(`${base}/v1/history/app/staging`);
      assert.equal(history.at, commits.c8);
      assert.deepEqual(
        history.commits.map((c) => c.commit),
        [commits.c7, commits.c3, commits.c2, commits.c1],
      );
      assert.deepEqual(history.commits[1]!.changes, [
        { op: 'replace', path: '/greeting', from: 'hello', to: 'welcome' },
      ]);
      assert.equal(history.commits[1]!.author.email, 'author@example.com');
      assert.equal(history.commits[1]!.message, 'production: new greeting');

      const page1 = await get<PairHistory>(`${base}/v1/history/app/development?limit=2`);
      assert.deepEqual(
        page1.commits.map((c) => c.commit),
        [commits.c7, commits.c6],
      );
      assert.equal(page1.next, commits.c6);
      const page2 = await get<PairHistory>(`${base}/v1/history/app/development?limit=2&before=${page1.next}`);
      assert.deepEqual(
        page2.commits.map((c) => c.commit),
        [commits.c2, commits.c1],
      );
      await get(`${base}/v1/history/app/nope`, 404);
      await get(`${base}/v1/history/app/staging?limit=abc`, 400);
      await get(`${base}/v1/history/app/staging?limit=101`, 400);
      await get(`${base}/v1/history/app/staging?before=${'e'.repeat(40)}`, 404);

      const diff = await get<EffectiveDiff>(`${base}/v1/diff?from=${commits.c1}&to=${commits.c3}`);
      assert.deepEqual(
        diff.pairs.map((p) => `${p.namespace}/${p.environment}`),
        ['app/development', 'app/production', 'app/staging'],
      );
      const staging = await get<EffectiveDiff>(
        `${base}/v1/diff?from=${commits.c1}&to=${commits.c3}&env=staging`,
      );
      assert.equal(staging.pairs.length, 1);
      assert.equal(staging.pairs[0]!.changes.length, 2);
      const toServed = await get<EffectiveDiff>(`${base}/v1/diff?from=${commits.c6}`);
      assert.equal(toServed.to, commits.c8);
      assert.deepEqual(toServed.pairs[0]!.changes, [
        { op: 'replace', path: '/db/password', from: '***', to: '***' },
      ]);
      await get(`${base}/v1/diff`, 400);
      await get(`${base}/v1/diff?from=${'e'.repeat(40)}`, 404);

      const explained = await get<Explanation>(`${base}/v1/config/app/staging?explain=1`);
      assert.equal(explained.commit, commits.c8);
      const greeting = explained.values.find((v) => v.path === '/greeting')!;
      assert.deepEqual(
        [greeting.file, greeting.line, greeting.commit?.commit],
        ['environments/production/app.yaml', 1, commits.c3],
      );
      assert.equal(explained.values.find((v) => v.path === '/db/password')!.value, '***');

      // A new commit on the remote, then a sync: one more commit diffed, no rebuild.
      const next = await commitFiles(
        work,
        { 'environments/production/app.yaml': 'greeting: good day\ndb:\n  host: db.prod\n' },
        'production: formal greeting',
      );
      await run(work, 'push', '--quiet', bare, 'main:main');
      assert.equal(await stack.sync.trigger('test'), 'promoted');
      await waitFor('history index extended by the sync', async () => stack.index.head === next);
      assert.equal(stack.index.stats().diffed, 9);
      assert.equal(stack.index.stats().builds, 1);
      const after = await get<PairHistory>(`${base}/v1/history/app/staging?limit=1`);
      assert.equal(after.commits[0]!.commit, next);
      assert.deepEqual(after.commits[0]!.changes, [
        { op: 'replace', path: '/greeting', from: 'welcome', to: 'good day' },
      ]);
    } finally {
      await stack.close();
    }
  });

  it('reloads the persisted index on restart, and rebuilds it when the file is damaged', async () => {
    const file = new HistoryIndexFile(dataDir);
    const restarted = await startStack(remoteUrl, dataDir);
    let expected: string[];
    try {
      assert.equal(restarted.index.stats().loaded, 'loaded');
      assert.equal(restarted.index.stats().diffed, 0, 'nothing re-diffed after a restart');
      expected = (await get<PairHistory>(`${restarted.url}/v1/history/app/staging`)).commits.map(
        (c) => c.commit,
      );
      assert.equal(expected.length, 5);
    } finally {
      await restarted.close();
    }

    const bytes = await readFile(file.path);
    await writeFile(file.path, bytes.subarray(0, bytes.length >> 1));
    const rebuilt = await startStack(remoteUrl, dataDir);
    try {
      assert.equal(rebuilt.index.stats().loaded, 'corrupt');
      assert.equal(rebuilt.index.stats().builds, 1);
      assert.equal(rebuilt.index.stats().diffed, 9);
      const history = await get<PairHistory>(`${rebuilt.url}/v1/history/app/staging`);
      assert.deepEqual(
        history.commits.map((c) => c.commit),
        expected,
      );
      assert.deepEqual(await readFile(file.path), bytes, 'the rebuilt index is saved again');
    } finally {
      await rebuilt.close();
    }
  });
});

describe('audit endpoints after a force-push', () => {
  let served: ServedRepo;
  after(async () => {
    await served.close();
    await cleanupTempDirs();
  });

  it('drops the rewritten commits from the index and re-indexes only the new ones', async () => {
    const { dir: work, commits } = await createSeriesRepo();
    served = await serveOverHttp(work);
    const { bare } = served;
    const stack = await startStack(served.url, await tempDir());
    try {
      assert.equal(stack.index.stats().diffed, 8);
      await run(work, 'reset', '--hard', '--quiet', commits.c5);
      const rewritten = await commitFiles(
        work,
        { 'environments/production/app.yaml': 'greeting: hey\ndb:\n  host: db.prod\n' },
        'production: casual greeting',
      );
      await run(work, 'push', '--quiet', '--force', bare, 'main:main');
      assert.equal(await stack.sync.trigger('test'), 'promoted');
      await waitFor('history index rewritten', async () => stack.index.head === rewritten);
      assert.equal(stack.index.stats().rewrites, 1);
      assert.equal(stack.index.stats().diffed, 9, 'only the new commit is diffed');
      const history = await get<PairHistory>(`${stack.url}/v1/history/app/staging`);
      assert.deepEqual(
        history.commits.map((c) => c.commit),
        [rewritten, commits.c3, commits.c2, commits.c1],
      );
    } finally {
      await stack.close();
    }
  });
});

describe('gitcfg serve wiring', () => {
  after(cleanupTempDirs);

  it('keeps the history index in the data dir and answers the audit endpoints', async () => {
    const { dir, commits } = await createSeriesRepo();
    // A history longer than a sync's: the first build diffs it in a child process.
    const head = await appendCommits(dir, 70);
    const dataDir = await tempDir();
    const logs = new LogSink();
    const handle = await serveCommand({
      cwd: dir,
      env: { GITCFG_REPO: '.', GITCFG_POLL: 'off' },
      port: 0,
      dataDir,
      logDestination: logs,
      print: () => {},
    });
    try {
      await waitForServed(handle.url, head);
      // Usually asked while the index is still being built: the answer waits for it.
      const history = await get<PairHistory>(`${handle.url}/v1/history/app/production`);
      assert.deepEqual(
        history.commits.map((c) => c.commit),
        [commits.c7, commits.c3, commits.c2, commits.c1],
      );
      const other = await get<PairHistory>(`${handle.url}/v1/history/other/production?limit=2`);
      assert.deepEqual(
        other.commits.map((c) => c.message),
        ['bulk 69', 'bulk 68'],
      );
      const explained = await get<Explanation>(`${handle.url}/v1/config/app/production?explain=1`);
      assert.equal(explained.values.find((v) => v.path === '/retry/delay_ms')!.commit?.commit, commits.c2);
      assert.ok((await readdir(dataDir)).includes('history-index.json'));
      const messages = logs.records().map((r) => String(r.msg));
      assert.ok(
        messages.includes('history index: diffing the history in a child process'),
        messages.join('\n'),
      );
      assert.ok(!messages.some((m) => m.includes('diff process failed')), messages.join('\n'));
    } finally {
      await handle.close();
    }
  });
});
