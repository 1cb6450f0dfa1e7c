/**
 * Three real `gitcfg serve` processes, one real Redis and one real smart-HTTP git remote: fan-out of webhooks,
 * shared pins, fleet-wide webhook dedupe, read-your-writes, concurrent edits, and the failure cases (Redis and a
 * replica killed with SIGKILL, an invalid commit).
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import { cleanupTempDirs, cloneRepo, commitFiles, createTempRepo, run } from '../helpers/git-repo.js';
import { serveOverHttp } from '../helpers/config-repo.js';
import { WRITE_FILES, bearer } from '../edits/writes-fixture.js';
import { GITHUB_PUSH_EXAMPLE, postGithubPush, waitFor } from '../server/server-fixture.js';
import { TestRedis, startFleet } from './fleet-fixture.js';
import type { Replica } from './fleet-fixture.js';

const SECRET = 'fleet-webhook-secret-4e1a';

/** Three processes share two cores with their validations: a longer bound than the default (tries, not time). */
const until = <T>(what: string, check: () => Promise<T | undefined | null | false>): Promise<T> =>
  waitFor(what, check, 1200);

interface FleetStatusDoc {
  served: { commit: string } | null;
  rejected: { commit: string } | null;
  syncs: { running: boolean; pending: boolean };
  fleet: {
    connected: boolean;
    fallbackPolling: boolean;
    replicas: { id: string; served: string | null }[];
  };
  pins: { env: string; commit: string }[];
}

describe('three replicas sharing one Redis', { timeout: 240_000 }, () => {
  let redis: TestRedis;
  let remote: GitHttpRemote;
  let bare: string;
  let clone: string;
  let fleet: Replica[];
  let r1: Replica;
  let r2: Replica;
  let r3: Replica;

  async function status(replica: Replica): Promise<FleetStatusDoc> {
    const res = await fetch(`${replica.url}/v1/status`, { headers: bearer('admin') });
    assert.equal(res.status, 200);
    return (await res.json()) as FleetStatusDoc;
  }

  const served = async (replica: Replica) => (await status(replica)).served?.commit;

  function waitServed(replicas: Replica[], commit: string, what = `all serve ${commit.slice(0, 8)}`) {
    return until(what, async () => (await Promise.all(replicas.map(served))).every((c) => c === commit));
  }

  async function push(files: Record<string, string>, message: string): Promise<string> {
    await run(clone, 'pull', '--quiet', '--rebase', 'origin', 'main');
    const commit = await commitFiles(clone, files, message);
    await run(clone, 'push', '--quiet', 'origin', 'main');
    return commit;
  }

  async function greeting(replica: Replica, headers: Record<string, string> = {}) {
    const res = await fetch(`${replica.url}/v1/config/app/staging`, {
      headers: { ...bearer('reader'), ...headers },
    });
    const body = res.status === 200 ? ((await res.json()) as { greeting: string }).greeting : undefined;
    return { status: res.status, greeting: body, commit: res.headers.get('gitcfg-commit'), res };
  }

  before(async () => {
    redis = await TestRedis.start();
    ({ bare, remote } = await serveOverHttp(await createTempRepo({ files: WRITE_FILES })));
    clone = await cloneRepo(remote.url('config.git'));
    fleet = await startFleet({
      repoUrl: remote.url('config.git'),
      redisUrl: redis.url,
      webhookSecret: SECRET,
      count: 3,
    });
    [r1, r2, r3] = fleet as [Replica, Replica, Replica];
    const head = await run(bare, 'rev-parse', 'main');
    await waitServed(fleet, head);
    await until('every replica sees the others', async () => {
      const views = await Promise.all(fleet.map(status));
      return views.every((s) => s.fleet.connected && s.fleet.replicas.length === 3);
    });
  });

  after(async () => {
    await Promise.all((fleet ?? []).map((r) => r.stop()));
    await redis?.kill();
    await remote?.close();
    await cleanupTempDirs();
  });

  it('a webhook to replica 1 makes replicas 2 and 3 serve the commit, with polling off', async () => {
    const commit = await push({ 'environments/staging/app.yaml': 'greeting: fanned out\n' }, 'fan-out');
    const hook = await postGithubPush(r1.url, SECRET, GITHUB_PUSH_EXAMPLE, { after: commit });
    assert.equal(hook.status, 202);
    await waitServed([r2, r3], commit);
    for (const replica of [r2, r3]) assert.equal((await greeting(replica)).greeting, 'fanned out');
    await waitServed([r1], commit);
  });

  it('a pin through replica 2 is served by 1 and 3, and so is the unpin', async () => {
    const pinned = (await run(bare, 'rev-list', '--max-parents=0', 'main')).trim();
    const res = await fetch(`${r2.url}/v1/pins`, {
      method: 'POST',
      headers: { ...bearer('admin'), 'content-type': 'application/json' },
      body: JSON.stringify({ env: 'staging', commit: pinned }),
    });
    assert.equal(res.status, 201, await res.text());
    for (const replica of [r1, r3]) {
      const answer = await until(`pin on ${replica.id}`, async () => {
        const a = await greeting(replica);
        return a.res.headers.get('gitcfg-pinned') === pinned ? a : null;
      });
      assert.equal(answer.greeting, 'hi staging');
      assert.equal(answer.commit, pinned);
    }
    const unpin = await fetch(`${r2.url}/v1/pins/staging`, { method: 'DELETE', headers: bearer('admin') });
    assert.equal(unpin.status, 204);
    for (const replica of [r1, r3]) {
      await until(
        `unpin on ${replica.id}`,
        async () => (await greeting(replica)).res.headers.get('gitcfg-pinned') === null,
      );
      assert.deepEqual((await status(replica)).pins, []);
    }
  });

  it('the same delivery id sent to all three replicas is accepted once and a duplicate twice', async () => {
    const commit = await push({ 'environments/staging/app.yaml': 'greeting: once\n' }, 'dedupe');
    const delivery = `fleet-dedupe-${process.pid}`;
    const answers = await Promise.all(
      fleet.map((r) => postGithubPush(r.url, SECRET, GITHUB_PUSH_EXAMPLE, { after: commit, delivery })),
    );
    const outcomes = await Promise.all(
      answers.map(async (a) => ((await a.json()) as { status: string }).status),
    );
    assert.deepEqual(outcomes.sort(), ['accepted', 'duplicate', 'duplicate']);
    await waitServed(fleet, commit);
  });

  it('an edit through replica 1 is read from replica 3 with Gitcfg-Min-Commit: the new value, never the old', async () => {
    const res = await fetch(`${r1.url}/v1/config/app/staging`, {
      method: 'PUT',
      headers: { ...bearer('writer'), 'content-type': 'application/yaml', 'if-match': '*' },
      body: 'greeting: written via r1\n',
    });
    assert.equal(res.status, 200, await res.text());
    const commit = res.headers.get('gitcfg-commit')!;
    assert.match(commit, /^[0-9a-f]{40}$/);
    const viaHeader = await greeting(r3, { 'gitcfg-min-commit': commit });
    assert.equal(viaHeader.status, 200);
    assert.equal(viaHeader.greeting, 'written via r1');
    const viaQuery = await fetch(`${r2.url}/v1/bundle/staging?minCommit=${commit}`, {
      headers: bearer('writer'),
    });
    assert.equal(viaQuery.status, 200);
    assert.equal(((await viaQuery.json()) as { app: { greeting: string } }).app.greeting, 'written via r1');
    // A commit no replica will ever serve: a bounded wait, then 503 with Retry-After instead of an older value.
    const never = await greeting(r3, { 'gitcfg-min-commit': 'f'.repeat(40) });
    assert.equal(never.status, 503);
    assert.ok(Number(never.res.headers.get('retry-after')) >= 1);
    assert.equal(((await never.res.json()) as { error: { code: string } }).error.code, 'E_COMMIT_NOT_SERVED');
  });

  it('30 concurrent edits over the three replicas: 200/409/412 only, linear history, none lost, git fsck', async () => {
    const start = (await run(bare, 'rev-parse', 'main')).trim();
    const results = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const replica = fleet[i % 3]!;
        const res = await fetch(`${replica.url}/v1/config/app/staging`, {
          method: 'PUT',
          headers: { ...bearer('writer'), 'content-type': 'application/yaml', 'if-match': '*' },
          body: `greeting: edit ${i}\n`,
        });
        const text = await res.text();
        return { i, status: res.status, text, commit: res.headers.get('gitcfg-commit') };
      }),
    );
    for (const r of results) assert.ok([200, 409, 412].includes(r.status), `${r.status} ${r.text}`);
    const ok = results.filter((r) => r.status === 200);
    assert.ok(ok.length > 0);
    assert.equal(await run(bare, 'log', '--merges', '--format=%H', `${start}..main`), '');
    const chain = (await run(bare, 'rev-list', '--first-parent', `${start}..main`)).split('\n');
    assert.deepEqual(chain, (await run(bare, 'rev-list', `${start}..main`)).split('\n'));
    for (const r of ok) {
      assert.ok(chain.includes(r.commit!), `edit ${r.i} is on main`);
      const text = await run(bare, 'show', `${r.commit}:environments/staging/app.yaml`);
      assert.equal((parseYaml(text) as { greeting: string }).greeting, `edit ${r.i}`);
    }
    assert.equal(new Set(ok.map((r) => r.commit)).size, ok.length);
    await run(bare, 'fsck', '--strict', '--no-progress');
    await waitServed(fleet, chain[0]!);
  });

  it('an invalid commit is rejected by all three, which keep serving the previous one', async () => {
    const previous = (await run(bare, 'rev-parse', 'main')).trim();
    await waitServed(fleet, previous);
    const bad = await push({ 'environments/staging/app.yaml': 'greeting: 42\nunknown: field\n' }, 'invalid');
    await postGithubPush(r2.url, SECRET, GITHUB_PUSH_EXAMPLE, { after: bad });
    await until('every replica rejects it', async () =>
      (await Promise.all(fleet.map(status))).every((s) => s.rejected?.commit === bad),
    );
    for (const replica of fleet) assert.equal(await served(replica), previous);
    const fixed = await push({ 'environments/staging/app.yaml': 'greeting: fixed\n' }, 'fix');
    await postGithubPush(r3.url, SECRET, GITHUB_PUSH_EXAMPLE, { after: fixed });
    await waitServed(fleet, fixed);
  });

  it('Redis killed: replicas keep serving and poll; Redis back: they rejoin and fan-out works again', async () => {
    const pinned = (await run(bare, 'rev-list', '--max-parents=0', 'main')).trim();
    const pin = await fetch(`${r1.url}/v1/pins`, {
      method: 'POST',
      headers: { ...bearer('admin'), 'content-type': 'application/json' },
      body: JSON.stringify({ env: 'production', commit: pinned }),
    });
    assert.equal(pin.status, 201);
    await until('pin everywhere', async () =>
      (await Promise.all(fleet.map(status))).every((s) => s.pins.some((p) => p.env === 'production')),
    );
    await redis.kill();
    await until('fallback polling', async () =>
      (await Promise.all(fleet.map(status))).every((s) => !s.fleet.connected && s.fleet.fallbackPolling),
    );
    const metrics = await (await fetch(`${r2.url}/metrics`)).text();
    assert.match(metrics, /^gitcfg_fleet_fallback_polling 1$/m);
    assert.match(metrics, /^gitcfg_fleet_redis_connected 0$/m);
    // Shared state cannot be written while Redis is away: refused rather than diverging.
    const refused = await fetch(`${r3.url}/v1/pins/production`, {
      method: 'DELETE',
      headers: bearer('admin'),
    });
    assert.equal(refused.status, 503);
    // No webhook at all: the fallback poll finds the commit on every replica.
    const polled = await push(
      { 'environments/staging/app.yaml': 'greeting: polled\n' },
      'while redis is down',
    );
    await waitServed(fleet, polled);
    for (const replica of fleet) assert.equal((await greeting(replica)).greeting, 'polled');

    await redis.restart();
    await until('rejoined', async () =>
      (await Promise.all(fleet.map(status))).every(
        (s) => s.fleet.connected && !s.fleet.fallbackPolling && s.fleet.replicas.length === 3,
      ),
    );
    // Redis lost the pin; it came back from the replicas' local copies (else rejoining would have dropped it).
    for (const s of await Promise.all(fleet.map(status))) {
      assert.deepEqual(
        s.pins.map((p) => [p.env, p.commit]),
        [['production', pinned]],
      );
    }
    // Unpinning through one replica reaches all.
    const unpin = await fetch(`${r3.url}/v1/pins/production`, { method: 'DELETE', headers: bearer('admin') });
    assert.equal(unpin.status, 204);
    await until('unpinned everywhere', async () =>
      (await Promise.all(fleet.map(status))).every((s) => s.pins.length === 0),
    );
    const commit = await push(
      { 'environments/staging/app.yaml': 'greeting: after rejoin\n' },
      'after rejoin',
    );
    await postGithubPush(r2.url, SECRET, GITHUB_PUSH_EXAMPLE, { after: commit });
    await waitServed(fleet, commit);
  });

  it('a replica killed with SIGKILL during a sync: the others are unaffected and it rejoins in step', async () => {
    const commit = await push({ 'environments/staging/app.yaml': 'greeting: survivor\n' }, 'kill -9');
    await postGithubPush(r1.url, SECRET, GITHUB_PUSH_EXAMPLE, { after: commit });
    await until('replica 3 syncing', async () => {
      const s = await status(r3);
      return s.syncs.running || s.served?.commit === commit;
    });
    await r3.kill();
    await waitServed([r1, r2], commit);
    assert.equal((await greeting(r2)).greeting, 'survivor');
    await until('r3 leaves the fleet view', async () => (await status(r1)).fleet.replicas.length === 2);
    await r3.start();
    await waitServed(fleet, commit);
    await until('r3 back in the fleet view', async () =>
      (await status(r1)).fleet.replicas.some((r) => r.id === 'r3' && r.served === commit),
    );
    const ready = await fetch(`${r3.url}/readyz?fleet=1`);
    assert.equal(ready.status, 200);
  });
});
