/**
 * Rollouts through the whole server against a real smart-HTTP remote: per-client commits at each step of a
 * 5 -> 25 -> 50 -> 100 rollout (2,000 client ids), watchers of stable clients left asleep, pause / resume /
 * promote / abort (a revert commit on the remote), Alertmanager and signal aborts, and a restart mid-rollout.
 * Tests run in order and share one remote.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bucketOf } from '../../src/rollouts/index.js';
import { signPayload } from '../../src/webhooks/index.js';
import { createConfigRepo } from '../helpers/config-repo.js';
import type { ConfigRepo } from '../helpers/config-repo.js';
import { cleanupTempDirs, run, tempDir } from '../helpers/git-repo.js';
import { waitForServed } from '../helpers/wait-for.js';
import { WRITE_FILES, bearer, startServer } from '../edits/writes-fixture.js';
import type { TestServer } from '../edits/writes-fixture.js';
import { postSigned, waitFor } from '../server/server-fixture.js';

const WEBHOOK_SECRET = 'generic-secret-for-rollout-tests';
const ALERT_TOKEN = 'alertmanager-token-for-tests-5c1d';
const SIGNAL_SECRET = 'signal-secret-for-tests-9a0e';
const MANIFEST =
  'version: 1\nenvironments:\n  production:\n    rollout: {steps: [5, 25, 50, 100], stepDuration: 1s, bakeTime: 1s}\n' +
  '  staging:\n    extends: production\n    rollout: false\n' +
  '  canary:\n    rollout: {steps: [50], stepDuration: 1h}\n';
const IDS = Array.from({ length: 2000 }, (_, i) => `pod-${i}`);

interface View {
  env: string;
  id: string;
  stable: string;
  candidate: string;
  status: string;
  share: number;
  step: number;
  startedAt: string;
  clients: { stable: number; candidate: number };
}

describe('rollouts through the server', () => {
  let repo: ConfigRepo;
  let work: string;
  let bare: string;
  let dir: string;
  let server: TestServer | null = null;
  let base = '';
  const admin = bearer('admin');

  async function start(): Promise<void> {
    server = await startServing();
    base = server.base;
  }

  function startServing(opts: { dataDir?: string; fastPath?: boolean } = {}): Promise<TestServer> {
    return startServer({
      repo: repo.url!,
      dir,
      dataDir: opts.dataDir ?? path.join(dir, 'data'),
      ...(opts.fastPath !== undefined ? { fastPath: opts.fastPath } : {}),
      env: {
        GITCFG_WEBHOOK_SECRET_GENERIC: WEBHOOK_SECRET,
        GITCFG_ALERTMANAGER_TOKEN: ALERT_TOKEN,
        GITCFG_ALERTMANAGER_LABELS: 'environment,env',
        GITCFG_SIGNAL_SECRET: SIGNAL_SECRET,
      },
    });
  }

  const served = (commit: string, at = base) => waitForServed(at, commit, admin);

  /** Commits to the work tree, pushes, tells the server and waits until it serves the commit. */
  async function push(files: Record<string, string | null>, message: string): Promise<string> {
    const oid = await repo.commit(files, message);
    const res = await postSigned(base, 'generic', WEBHOOK_SECRET, Buffer.from('{}'));
    assert.equal(res.status, 202);
    await served(oid);
    return oid;
  }

  async function rollout(env = 'production'): Promise<View | undefined> {
    const res = await fetch(`${base}/v1/rollouts`, { headers: admin });
    assert.equal(res.status, 200);
    const { rollouts } = (await res.json()) as { rollouts: View[] };
    return rollouts.find((r) => r.env === env && r.stable !== undefined);
  }

  async function control(env: string, action: string): Promise<Response> {
    return fetch(`${base}/v1/rollouts/${env}/${action}`, { method: 'POST', headers: admin });
  }

  /** The commit each client id gets for the production bundle (fast path, 32 requests at a time). */
  async function commitsOf(ids: readonly (string | undefined)[]): Promise<string[]> {
    const out: string[] = new Array<string>(ids.length);
    for (let i = 0; i < ids.length; i += 32) {
      await Promise.all(
        ids.slice(i, i + 32).map(async (id, j) => {
          const res = await fetch(`${base}/v1/bundle/production`, {
            headers: { ...bearer('appDbReader'), ...(id !== undefined ? { 'gitcfg-client-id': id } : {}) },
          });
          assert.equal(res.status, 200);
          await res.arrayBuffer();
          out[i + j] = res.headers.get('gitcfg-commit')!;
        }),
      );
    }
    return out;
  }

  before(async () => {
    repo = await createConfigRepo({ files: { ...WRITE_FILES, 'gitcfg.yaml': MANIFEST } }, { remote: true });
    work = repo.dir;
    bare = repo.bare!;
    dir = await tempDir('gitcfg-rollout-');
    await start();
    await served(repo.head);
  });

  after(async () => {
    await server?.handle.close();
    await repo?.close();
    await cleanupTempDirs();
  });

  it('a promoted commit is a candidate: shares per step, no flapping, no-id and stable watchers stay', async () => {
    const c0 = await run(work, 'rev-parse', 'HEAD');
    // Long-polls of 40 clients, opened before the candidate exists; like a real client, a watcher whose poll
    // ends with nothing new (304) polls again, so how long the steps below take does not matter.
    const watchers = IDS.slice(0, 40).map((id) => {
      const w = { id, commit: null as string | null };
      const poll = (): void => {
        void fetch(`${base}/v1/watch/production?since=${c0}&timeout=30`, {
          headers: { ...bearer('appDbReader'), 'gitcfg-client-id': id },
        }).then(
          async (res) => {
            if (res.status === 304) return poll();
            w.commit =
              res.status === 200 ? ((await res.json()) as { commit: string }).commit : `${res.status}`;
          },
          (error: unknown) => {
            w.commit = `failed: ${String(error)}`;
          },
        );
      };
      poll();
      return w;
    });
    await waitFor('40 long-polls', async () => {
      const s = (await (await fetch(`${base}/v1/status`, { headers: admin })).json()) as {
        watchers: { longpoll: number };
      };
      return s.watchers.longpoll === 40;
    });
    const c1 = await push(
      { 'environments/production/app.yaml': 'retry:\n  max: 6\n' },
      'Retry 6 in production',
    );
    const first = await rollout();
    assert.ok(first && first.stable === c0 && first.candidate === c1, JSON.stringify(first));
    assert.equal((await control('production', 'pause')).status, 200);

    let onCandidate = new Set<string>();
    for (const expected of [5, 25, 50, 100]) {
      const view = (await rollout())!;
      assert.equal(view.status, 'paused');
      assert.equal(view.share, expected);
      const commits = await commitsOf(IDS);
      const now = new Set(IDS.filter((_, i) => commits[i] === c1));
      assert.ok(
        commits.every((c) => c === c0 || c === c1),
        'every client gets the stable or the candidate',
      );
      const percent = (now.size / IDS.length) * 100;
      assert.ok(Math.abs(percent - expected) <= 3, `${percent}% on the candidate at ${expected}%`);
      for (const id of onCandidate) assert.ok(now.has(id), `${id} went back to the stable`);
      onCandidate = now;
      if (expected < 100) assert.deepEqual(await commitsOf([undefined, undefined]), [c0, c0]);
      // Watchers are told exactly when their client moves to the candidate.
      await waitFor('watchers of candidate clients answered', async () =>
        watchers.every((w) => bucketOf(w.id, view.id) < expected === (w.commit === c1)),
      );
      assert.ok(
        watchers.every((w) => w.commit === null || w.commit === c1),
        'no watcher was woken for another commit',
      );
      if (expected === 100) break;
      assert.equal((await control('production', 'resume')).status, 200);
      await waitFor(`step after ${expected}%`, async () =>
        (await rollout())!.share > expected ? true : null,
      );
      assert.equal((await control('production', 'pause')).status, 200);
    }
    const view = (await rollout())!;
    // 2,000 measured clients and 40 watchers (some of them among the 2,000), all on the candidate now.
    assert.deepEqual(view.clients, { stable: 0, candidate: 2000, other: 0 });
    // The inventory of the environment (a reader of some namespace of it may list it).
    const clients = await fetch(`${base}/v1/clients/production`, { headers: bearer('reader') });
    assert.equal(clients.status, 200);
    const inventory = (await clients.json()) as { clients: { id: string; commit: string }[] };
    assert.equal(inventory.clients.find((c) => c.id === 'pod-7')?.commit, c1);
    assert.equal((await fetch(`${base}/v1/clients/production`)).status, 401);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /gitcfg_rollout_share_percent\{env="production"\} 100/);
  });

  it('promote puts everyone on the candidate, no-id clients included', async () => {
    const view = (await rollout())!;
    assert.equal((await control('production', 'promote')).status, 200);
    assert.deepEqual(await commitsOf([undefined, 'pod-1']), [view.candidate, view.candidate]);
    assert.equal((await control('production', 'pause')).status, 409);
  });

  it('abort: everyone on the stable within one request, and a revert commit on the remote', async () => {
    const c1 = await run(work, 'rev-parse', 'HEAD');
    const c2 = await push(
      { 'environments/production/app.yaml': 'retry:\n  max: 9\n' },
      'Retry 9 in production',
    );
    const view = (await rollout())!;
    assert.equal(view.stable, c1);
    assert.equal(view.candidate, c2);
    const stableBody = await (
      await fetch(`${base}/v1/config/app/production?ref=${c1}`, { headers: bearer('reader') })
    ).text();
    const res = await control('production', 'abort');
    assert.equal(res.status, 200);
    const { revert } = (await res.json()) as { revert: { commit: string } };
    assert.match(revert.commit, /^[0-9a-f]{40}$/);
    for (const id of ['pod-1', 'pod-2', undefined]) {
      const r = await fetch(`${base}/v1/config/app/production`, {
        headers: { ...bearer('reader'), ...(id ? { 'gitcfg-client-id': id } : {}) },
      });
      assert.equal(await r.text(), stableBody);
    }
    assert.equal(await run(bare, 'rev-parse', 'main'), revert.commit);
    assert.equal(
      await run(bare, 'rev-parse', `${revert.commit}^{tree}`),
      await run(bare, 'rev-parse', `${c1}^{tree}`),
    );
    assert.match(
      await run(bare, 'log', '-1', '--format=%an %s', 'main'),
      /^admin Abort the rollout of production/,
    );
    await run(bare, 'fsck', '--strict');
    await run(work, 'pull', '--quiet', bare, 'main');
  });

  it('Alertmanager: wrong token 401, a resolved alert does nothing, a firing alert aborts', async () => {
    await push({ 'environments/production/app.yaml': 'retry:\n  max: 8\n' }, 'Retry 8 in production');
    const alert = (status: string, labels: Record<string, string>) =>
      JSON.stringify({
        version: '4',
        groupKey: '{}:{alertname="HighErrorRate"}',
        truncatedAlerts: 0,
        status,
        receiver: 'gitcfg',
        groupLabels: { alertname: 'HighErrorRate' },
        commonLabels: labels,
        commonAnnotations: {},
        externalURL: 'http://alertmanager:9093',
        alerts: [
          {
            status,
            labels: { alertname: 'HighErrorRate', ...labels },
            annotations: { summary: 'errors' },
            startsAt: '2026-01-01T00:00:00Z',
            endsAt: status === 'resolved' ? '2026-01-01T00:05:00Z' : '0001-01-01T00:00:00Z',
            generatorURL: 'http://prometheus:9090/graph',
            fingerprint: 'c0ffee',
          },
        ],
      });
    const post = (body: string, token = ALERT_TOKEN) =>
      fetch(`${base}/v1/webhooks/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
    assert.equal((await post(alert('firing', { environment: 'production' }), 'wrong')).status, 401);
    assert.equal((await rollout())!.status, 'running');
    const resolved = await post(alert('resolved', { environment: 'production' }));
    assert.equal(resolved.status, 200);
    assert.deepEqual(((await resolved.json()) as { aborted: unknown[] }).aborted, []);
    assert.equal((await rollout())!.status, 'running');
    const other = await post(alert('firing', { env: 'staging' }));
    assert.deepEqual(await other.json(), { aborted: [], ignored: ['staging'] });
    const firing = await post(alert('firing', { environment: 'production' }));
    assert.equal(firing.status, 200);
    const body = (await firing.json()) as { aborted: { env: string; revert: { commit: string } }[] };
    assert.equal(body.aborted[0]?.env, 'production');
    assert.match(await run(bare, 'log', '-1', '--format=%an', 'main'), /^alertmanager$/);
    await run(work, 'pull', '--quiet', bare, 'main');
  });

  it('a generic signal signed with the secret aborts; a bad signature is 401', async () => {
    await push({ 'environments/production/app.yaml': 'retry:\n  max: 7\n' }, 'Retry 7 in production');
    const body = JSON.stringify({ env: 'production', action: 'abort', reason: 'p99 latency' });
    const sign = (secret: string) => signPayload('generic', secret, Buffer.from(body));
    const post = (signature: string) =>
      fetch(`${base}/v1/webhooks/signal`, {
        method: 'POST',
        headers: { 'x-gitcfg-signature': signature, 'content-type': 'application/json' },
        body,
      });
    assert.equal((await post(sign('not-the-secret'))).status, 401);
    const res = await post(sign(SIGNAL_SECRET));
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { aborted: { env: string }[] }).aborted[0]?.env, 'production');
    await run(work, 'pull', '--quiet', bare, 'main');
  });

  it('a restart mid-rollout resumes at the same step and serves both commits', async () => {
    const stable = await run(work, 'rev-parse', 'HEAD');
    const candidate = await push({ 'environments/production/app.yaml': 'retry:\n  max: 4\n' }, 'Retry 4');
    assert.equal((await control('production', 'pause')).status, 200);
    const before = (await rollout())!;
    const commitsBefore = await commitsOf(IDS.slice(0, 200));
    await server!.handle.close();
    await start();
    const after = await waitFor('rollout restored', async () => (await rollout()) ?? null);
    assert.deepEqual(
      { id: after.id, startedAt: after.startedAt, share: after.share, status: after.status },
      { id: before.id, startedAt: before.startedAt, share: before.share, status: before.status },
    );
    assert.deepEqual(await commitsOf(IDS.slice(0, 200)), commitsBefore);
    assert.ok(commitsBefore.includes(stable) && commitsBefore.includes(candidate));
  });

  it("the fast path and the routes answer client-id'd reads during a rollout the same", async () => {
    const routed = await startServing({ dataDir: path.join(dir, 'data-routed'), fastPath: false });
    try {
      await served(await run(work, 'rev-parse', 'HEAD'), routed.base);
      const candidate = await repo.commit({ 'environments/canary/app.yaml': 'greeting: canary\n' }, 'Canary');
      for (const at of [base, routed.base]) {
        assert.equal((await postSigned(at, 'generic', WEBHOOK_SECRET, Buffer.from('{}'))).status, 202);
        await served(candidate, at);
      }
      const ids = [...IDS.slice(0, 40), undefined, 'not valid'];
      const answer = async (at: string, url: string, id: string | undefined, etag?: string) => {
        const res = await fetch(`${at}${url}`, {
          headers: {
            ...bearer('appDbReader'),
            ...(id !== undefined ? { 'gitcfg-client-id': id } : {}),
            ...(etag ? { 'if-none-match': etag } : {}),
          },
        });
        const headers = ['etag', 'vary', 'gitcfg-commit', 'gitcfg-rollout', 'content-type', 'content-length'];
        return {
          status: res.status,
          body: await res.text(),
          headers: headers.map((h) => res.headers.get(h)),
        };
      };
      const roles = new Set<string | null>();
      for (const url of ['/v1/config/app/canary', '/v1/bundle/canary']) {
        for (const id of ids) {
          const fast = await answer(base, url, id);
          assert.deepEqual(await answer(routed.base, url, id), fast, `${url} for ${id}`);
          const etag = fast.headers[0] ?? undefined;
          assert.deepEqual(await answer(routed.base, url, id, etag), await answer(base, url, id, etag));
          roles.add(fast.headers[3] ?? null);
        }
      }
      // Both roles were answered (the same rollout id on both servers: the same buckets).
      assert.equal([...roles].filter((r) => r !== null).length, 2, [...roles].join(' | '));
    } finally {
      await routed.handle.close();
    }
  });
});
