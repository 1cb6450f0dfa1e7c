/**
 * The whole server against a real smart-HTTP remote: clone, serve, webhooks, rejection of invalid commits,
 * remote outages, restarts from the data dir, watchers. Tests run in order and share one remote.
 */
import * as assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { serveCommand } from '../../src/commands/serve.js';
import type { ServeHandle } from '../../src/commands/serve.js';
import { SnapshotFile } from '../../src/snapshot/index.js';
import { serveOverHttp } from '../helpers/config-repo.js';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import { cleanupTempDirs, commitFiles, createTempRepo, run, tempDir } from '../helpers/git-repo.js';
import {
  CONFIG_FILES,
  LogSink,
  getJson,
  postGithubPush,
  postSigned,
  readEvents,
  status,
  waitFor,
  waitForIdle,
  waitForServed,
} from './server-fixture.js';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as {
  name: string;
  examples: Record<string, unknown>[];
}[];
const pushExample = examples.find((e) => e.name === 'push')?.examples[0] as Record<string, unknown>;
const pingExample = examples.find((e) => e.name === 'ping')?.examples[0] as Record<string, unknown>;

const SECRET = 'gh-webhook-secret-for-tests';
const GENERIC_SECRET = 'generic-secret-for-tests';

describe('serve against a smart-HTTP remote', () => {
  let remote: GitHttpRemote;
  let work: string;
  let bare: string;
  let dataDir: string;
  let handle: ServeHandle | null = null;
  let base = '';
  let logs = new LogSink();
  const commits: string[] = [];

  async function start(): Promise<void> {
    logs = new LogSink();
    handle = await serveCommand({
      cwd: dataDir,
      env: { GITCFG_WEBHOOK_SECRET_GITHUB: SECRET, GITCFG_WEBHOOK_SECRET_GENERIC: GENERIC_SECRET },
      repo: remote.url('config.git'),
      branch: 'main',
      port: 0,
      host: '127.0.0.1',
      dataDir: path.join(dataDir, 'data'),
      poll: 'off',
      logLevel: 'debug',
      logDestination: logs,
      print: () => {},
    });
    base = handle.url;
  }

  async function stop(): Promise<void> {
    await handle?.close();
    handle = null;
  }

  async function pushCommit(files: Record<string, string | null>, message: string): Promise<string> {
    const oid = await commitFiles(work, files, message);
    await run(work, 'push', '--quiet', bare, 'main');
    commits.push(oid);
    return oid;
  }

  before(async () => {
    work = await createTempRepo({ files: CONFIG_FILES });
    commits.push(await run(work, 'rev-parse', 'HEAD'));
    ({ bare, remote } = await serveOverHttp(work));
    dataDir = await tempDir('gitcfg-serve-');
  });

  after(async () => {
    await stop();
    await remote?.close();
    await cleanupTempDirs();
  });

  it('clones on first start and serves merged config with its headers', async () => {
    await start();
    const served = await waitForServed(base, commits[0]!);
    assert.equal(served.stale, false);
    assert.deepEqual(served.counts, { namespaces: 2, environments: 2, configs: 4 });
    const res = await fetch(`${base}/v1/config/app/staging`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { greeting: 'hi staging', retry: { max: 3 } });
    assert.match(res.headers.get('etag') ?? '', /^"[A-Za-z0-9_-]{43}"$/);
    assert.equal(res.headers.get('gitcfg-commit'), commits[0]);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('gitcfg-stale'), null);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  it('answers If-None-Match with 304 and serves YAML, subtrees, bundles and schemas', async () => {
    const first = await fetch(`${base}/v1/config/app/production`);
    const etag = first.headers.get('etag') ?? '';
    const again = await fetch(`${base}/v1/config/app/production`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('etag'), etag);
    const other = await fetch(`${base}/v1/config/app/production`, { headers: { 'if-none-match': '"nope"' } });
    assert.equal(other.status, 200);

    const yaml = await fetch(`${base}/v1/config/app/production?format=yaml`);
    assert.match(yaml.headers.get('content-type') ?? '', /^application\/yaml/);
    assert.deepEqual(parseYaml(await yaml.text()), { greeting: 'hello', retry: { max: 3 } });
    assert.notEqual(yaml.headers.get('etag'), etag);
    const accept = await fetch(`${base}/v1/config/app/production`, {
      headers: { accept: 'application/yaml' },
    });
    assert.equal(accept.headers.get('etag'), yaml.headers.get('etag'));

    assert.equal(await (await fetch(`${base}/v1/config/app/production?path=retry.max`)).json(), 3);
    assert.equal(await (await fetch(`${base}/v1/config/app/production?path=/retry/max`)).json(), 3);
    const missing = await fetch(`${base}/v1/config/app/production?path=retry.min`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'E_NOT_FOUND');

    for (const url of [
      '/v1/config/nope/production',
      '/v1/config/app/nope',
      '/v1/bundle/nope',
      '/v1/schemas/nope',
    ]) {
      const res = await fetch(`${base}${url}`);
      assert.equal(res.status, 404, url);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'E_NOT_FOUND');
      assert.match(body.error.message, /nope/);
    }

    const bundle = await getJson(`${base}/v1/bundle/staging`);
    assert.deepEqual(bundle, {
      app: { greeting: 'hi staging', retry: { max: 3 } },
      db: { host: 'db.internal' },
    });
    const schema = await getJson(`${base}/v1/schemas/app`);
    assert.deepEqual(schema, JSON.parse(CONFIG_FILES['schemas/app.schema.json']!));
  });

  it('rejects unsigned, forged, oversized, malformed and unconfigured deliveries', async () => {
    const before = await status(base);
    const payload = { ...pushExample, ref: 'refs/heads/main' };
    assert.equal((await postGithubPush(base, SECRET, payload, { sign: false })).status, 401);
    assert.equal((await postGithubPush(base, 'forged-secret', payload)).status, 401);
    const big = Buffer.alloc(1024 * 1024 + 10, 0x20);
    const tooBig = await postSigned(base, 'github', SECRET, big, { 'x-github-event': 'push' });
    assert.equal(tooBig.status, 413);
    const malformed = await postSigned(base, 'github', SECRET, Buffer.from('{"ref": "refs/heads/'), {
      'x-github-event': 'push',
    });
    assert.equal(malformed.status, 400);
    const gitlab = await postSigned(base, 'gitlab', 'whatever', Buffer.from('{}'), {
      'x-gitlab-event': 'Push Hook',
    });
    assert.equal(gitlab.status, 403);
    assert.match(
      ((await gitlab.json()) as { error: { message: string } }).error.message,
      /GITCFG_WEBHOOK_SECRET/,
    );
    assert.equal((await fetch(`${base}/v1/webhooks/sourcehut`, { method: 'POST', body: '{}' })).status, 404);

    const ping = await postGithubPush(base, SECRET, pingExample, { event: 'ping' });
    assert.equal(ping.status, 200);
    const other = await postGithubPush(base, SECRET, payload, { ref: 'refs/heads/feature' });
    assert.equal(other.status, 202);
    assert.equal(((await other.json()) as { status: string }).status, 'ignored');
    const delivery = `dup-${Date.now()}`;
    assert.equal((await postGithubPush(base, SECRET, payload, { delivery })).status, 202);
    const dup = await postGithubPush(base, SECRET, payload, { delivery });
    assert.equal(dup.status, 202);
    assert.equal(((await dup.json()) as { status: string }).status, 'duplicate');

    // Only the one accepted delivery may have started a sync.
    const after = await waitForIdle(base);
    assert.equal(after.syncs.total, before.syncs.total + 1);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const outcome of [
      'unauthorized',
      'too-large',
      'malformed',
      'disabled',
      'ping',
      'ignored',
      'duplicate',
    ]) {
      assert.match(
        metrics,
        new RegExp(`gitcfg_webhook_deliveries_total\\{provider="\\w+",outcome="${outcome}"\\} [1-9]`),
      );
    }
    const joined = logs.lines.join('\n');
    assert.equal(joined.includes(SECRET), false);
    assert.equal(/sha256=[0-9a-f]{64}/.test(joined), false);
  });

  it('serves a pushed commit after a signed webhook; watch and SSE see the promotion', async () => {
    const previous = commits.at(-1)!;
    const longPoll = fetch(`${base}/v1/watch/staging?since=${previous}&timeout=60`);
    const prodPoll = fetch(`${base}/v1/watch/production?since=${previous}&timeout=60`);
    let next = '';
    const events = readEvents(
      `${base}/v1/events?env=staging`,
      (event) => event.event === 'promotion',
      async () => {
        next = await pushCommit(
          { 'environments/staging/app.yaml': 'greeting: hi again\n' },
          'staging greeting',
        );
        const res = await postGithubPush(base, SECRET, pushExample, { after: next });
        assert.equal(res.status, 202);
      },
    );
    const [event] = await events;
    const watched = await longPoll;
    assert.equal(watched.status, 200);
    const body = (await watched.json()) as { commit: string; changed: unknown[] };
    assert.deepEqual(body, {
      commit: next,
      previousCommit: previous,
      changed: [{ namespace: 'app', environment: 'staging' }],
    });
    // Production did not change but the commit did: the watcher is told, with nothing changed for it.
    assert.deepEqual(((await (await prodPoll).json()) as { changed: unknown[] }).changed, []);
    assert.deepEqual(JSON.parse(event!.data), body);
    // The watcher was told only once the commit was servable.
    const res = await fetch(`${base}/v1/config/app/staging`);
    assert.equal(res.headers.get('gitcfg-commit'), next);
    assert.deepEqual(await res.json(), { greeting: 'hi again', retry: { max: 3 } });
    const immediate = await fetch(`${base}/v1/watch/staging?since=${previous}`);
    assert.equal(immediate.status, 200);
    const timeout = await fetch(`${base}/v1/watch/staging?since=${next}&timeout=0.2`);
    assert.equal(timeout.status, 304);
  });

  it('keeps serving the previous snapshot when a commit is invalid, and promotes the fix', async () => {
    const good = commits.at(-1)!;
    const before = (await status(base)).syncs.total;
    const bad = await pushCommit({ 'defaults/app.yaml': 'greeting: 42\nretry:\n  max: 3\n' }, 'break it');
    assert.equal((await postGithubPush(base, SECRET, pushExample, { after: bad })).status, 202);
    const rejected = await waitFor('rejection', async () => {
      const s = await status(base);
      return s.rejected?.commit === bad ? s : null;
    });
    assert.equal(rejected.served?.commit, good);
    assert.equal(rejected.branchHead, bad);
    assert.equal(rejected.syncs.total, before + 1);
    assert.ok(rejected.rejected!.issues.some((i) => i.file === 'defaults/app.yaml' && i.line === 1));
    assert.ok(rejected.rejected!.messages.some((m) => m.startsWith('defaults/app.yaml:1:')));
    const res = await fetch(`${base}/v1/config/app/production`);
    assert.equal(res.headers.get('gitcfg-commit'), good);
    assert.equal(((await res.json()) as { greeting: string }).greeting, 'hello');
    assert.match(await (await fetch(`${base}/metrics`)).text(), /gitcfg_rejected_commits_total 1/);
    assert.ok(logs.records().some((r) => r.msg?.toString().includes('rejected') && r.commit === bad));

    // ?ref= of the invalid commit answers 422 with its issues; of an old good commit, the old config.
    const invalid = await fetch(`${base}/v1/config/app/production?ref=${bad}`);
    assert.equal(invalid.status, 422);
    const problem = (await invalid.json()) as { error: { code: string; issues: { file: string }[] } };
    assert.equal(problem.error.code, 'E_INVALID_CONFIG');
    assert.equal(problem.error.issues[0]?.file, 'defaults/app.yaml');
    const old = await fetch(`${base}/v1/config/app/staging?ref=${commits[0]!.slice(0, 10)}`);
    assert.equal(old.headers.get('gitcfg-commit'), commits[0]);
    assert.deepEqual(await old.json(), { greeting: 'hi staging', retry: { max: 3 } });
    const oldYaml = await fetch(`${base}/v1/config/app/staging?ref=${commits[0]}&format=yaml&path=greeting`);
    assert.equal(parseYaml(await oldYaml.text()), 'hi staging');
    assert.equal((await fetch(`${base}/v1/config/app/staging?ref=no-such-branch`)).status, 404);

    const fix = await pushCommit(
      { 'defaults/app.yaml': 'greeting: hello fixed\nretry:\n  max: 3\n' },
      'fix it',
    );
    await postGithubPush(base, SECRET, pushExample, { after: fix });
    const fixed = await waitForServed(base, fix);
    assert.equal(fixed.rejected, null);
    assert.equal(
      ((await getJson(`${base}/v1/config/app/production`)) as { greeting: string }).greeting,
      'hello fixed',
    );
  });

  it('coalesces a burst of webhooks into at most one running and one pending sync', async () => {
    const before = await waitForIdle(base);
    const next = await pushCommit({ 'defaults/db.yaml': 'host: db2.internal\n' }, 'burst');
    const responses = await Promise.all(
      Array.from({ length: 25 }, () => postGithubPush(base, SECRET, pushExample, { after: next })),
    );
    assert.ok(responses.every((r) => r.status === 202));
    const after = await waitForServed(base, next);
    const syncs = after.syncs.total - before.syncs.total;
    assert.ok(syncs >= 1 && syncs <= 2, `expected 1 or 2 syncs for 25 deliveries, got ${syncs}`);
  });

  it('flags the snapshot stale while the remote is down and recovers when it is back', async () => {
    const served = commits.at(-1)!;
    await remote.stop();
    const generic = (): Promise<Response> =>
      postSigned(base, 'generic', GENERIC_SECRET, Buffer.from('{"ref":"main"}'), {
        'x-gitcfg-delivery': `g-${Math.random()}`,
      });
    assert.equal((await generic()).status, 202);
    const down = await waitFor('failed fetch', async () => {
      const s = await status(base);
      return s.lastFetch?.ok === false && !s.syncs.running ? s : null;
    });
    assert.equal(down.stale, true);
    assert.ok(down.lastFetch?.error?.code);
    const res = await fetch(`${base}/v1/config/db/production`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('gitcfg-stale'), 'true');
    assert.equal(res.headers.get('gitcfg-commit'), served);

    await remote.restart();
    const next = await pushCommit({ 'defaults/db.yaml': 'host: db3.internal\n' }, 'after outage');
    assert.equal((await generic()).status, 202);
    const back = await waitForServed(base, next);
    assert.equal(back.stale, false);
    assert.equal(back.lastFetch?.ok, true);
    const fresh = await fetch(`${base}/v1/config/db/production`);
    assert.equal(fresh.headers.get('gitcfg-stale'), null);
  });

  it('restarts with the remote down and serves the persisted snapshot at once', async () => {
    const served = commits.at(-1)!;
    await stop();
    await remote.stop();
    await start();
    // No waiting: the snapshot comes from the data dir before the first sync.
    const res = await fetch(`${base}/v1/config/db/production`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('gitcfg-commit'), served);
    assert.equal(res.headers.get('gitcfg-stale'), 'true');
    assert.deepEqual(await res.json(), { host: 'db3.internal' });
    const s = await waitFor('first fetch attempt', async () => {
      const st = await status(base);
      return st.lastFetch && !st.syncs.running ? st : null;
    });
    assert.equal(s.lastFetch?.ok, false);
    assert.equal(s.served?.from, 'data-dir');
    assert.equal(s.stale, true);

    await remote.restart();
    await postSigned(base, 'generic', GENERIC_SECRET, Buffer.from('{}'));
    const back = await waitFor('fresh after restart', async () => {
      const st = await status(base);
      return st.lastFetch?.ok && !st.stale ? st : null;
    });
    assert.equal(back.served?.commit, served);
  });

  it('detects a damaged persisted snapshot and rebuilds it from git', async () => {
    const served = commits.at(-1)!;
    await stop();
    const file = new SnapshotFile(path.join(dataDir, 'data'));
    const bytes = await readFile(file.path);
    // Flip one byte of the payload (after the header line).
    const at = bytes.indexOf(0x0a) + 20;
    bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
    await writeFile(file.path, bytes);
    assert.equal((await file.load()).status, 'corrupt');

    await start();
    await waitForServed(base, served);
    assert.ok(logs.records().some((r) => r.reason === 'checksum mismatch'));
    const reloaded = await waitFor('snapshot rewritten', async () => {
      const result = await file.load();
      return result.status === 'loaded' ? result : null;
    });
    assert.equal(reloaded.snapshot.commit, served);
    const s = await status(base);
    assert.equal(s.served?.from, 'git');
  });
});
