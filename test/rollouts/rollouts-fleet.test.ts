/**
 * Two real `gitcfg serve` processes sharing one real Redis: one rollout, one clock and the same controls, so a
 * client id gets the same commit from either replica.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import { cleanupTempDirs, cloneRepo, commitFiles, createTempRepo, run } from '../helpers/git-repo.js';
import { serveOverHttp } from '../helpers/config-repo.js';
import { WRITE_FILES, bearer } from '../edits/writes-fixture.js';
import { GITHUB_PUSH_EXAMPLE, postGithubPush, waitFor } from '../server/server-fixture.js';
import { TestRedis, startFleet } from '../cluster/fleet-fixture.js';
import type { Replica } from '../cluster/fleet-fixture.js';

const SECRET = 'rollout-fleet-secret-77b2';
const MANIFEST =
  'version: 1\nenvironments:\n  production:\n    rollout: {steps: [30, 60, 100], stepDuration: 2s}\n' +
  '  staging:\n    extends: production\n';
const IDS = Array.from({ length: 300 }, (_, i) => `node-${i}`);

interface View {
  env: string;
  id: string;
  candidate: string;
  status: string;
  share: number;
  startedAt: string;
}

describe('a rollout across two replicas sharing Redis', { timeout: 180_000 }, () => {
  let redis: TestRedis;
  let remote: GitHttpRemote;
  let clone: string;
  let fleet: Replica[] = [];

  async function rollouts(replica: Replica): Promise<View[]> {
    const res = await fetch(`${replica.url}/v1/rollouts`, { headers: bearer('admin') });
    return ((await res.json()) as { rollouts: View[] }).rollouts;
  }

  async function commitsOf(replica: Replica): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < IDS.length; i += 30) {
      const batch = await Promise.all(
        IDS.slice(i, i + 30).map(async (id) => {
          const res = await fetch(`${replica.url}/v1/config/app/production`, {
            headers: { ...bearer('reader'), 'gitcfg-client-id': id },
          });
          await res.arrayBuffer();
          return res.headers.get('gitcfg-commit')!;
        }),
      );
      out.push(...batch);
    }
    return out;
  }

  before(async () => {
    redis = await TestRedis.start();
    let bare: string;
    ({ bare, remote } = await serveOverHttp(
      await createTempRepo({ files: { ...WRITE_FILES, 'gitcfg.yaml': MANIFEST } }),
    ));
    clone = await cloneRepo(remote.url('config.git'));
    fleet = await startFleet({
      repoUrl: remote.url('config.git'),
      redisUrl: redis.url,
      webhookSecret: SECRET,
      count: 2,
    });
    const head = await run(bare, 'rev-parse', 'main');
    await waitFor('both replicas serve the head', async () => {
      const served = await Promise.all(
        fleet.map(async (r) => {
          const res = await fetch(`${r.url}/v1/status`, { headers: bearer('admin') });
          return ((await res.json()) as { served: { commit: string } | null }).served?.commit;
        }),
      );
      return served.every((c) => c === head);
    });
  });

  after(async () => {
    await Promise.all(fleet.map((r) => r.stop()));
    await redis?.kill();
    await remote?.close();
    await cleanupTempDirs();
  });

  it('the same client id gets the same commit from both replicas; a pause on one holds both', async () => {
    const [r1, r2] = fleet as [Replica, Replica];
    const commit = await commitFiles(
      clone,
      { 'environments/production/app.yaml': 'retry:\n  max: 2\n' },
      'max 2',
    );
    await run(clone, 'push', '--quiet', 'origin', 'main');
    assert.equal((await postGithubPush(r1.url, SECRET, GITHUB_PUSH_EXAMPLE, { after: commit })).status, 202);
    // One rollout, one clock: the second replica takes the first one's start time once its Redis round trip
    // returns (until then it shows its own, a promotion lag later).
    const [v1, v2] = await waitFor('both replicas run the rollout on one clock', async () => {
      const views = await Promise.all([rollouts(r1), rollouts(r2)]);
      const found = views.map((v) => v.find((r) => r.env === 'production' && r.candidate === commit));
      const running = found.every((f) => f?.status === 'running');
      return running && found[0]!.startedAt === found[1]!.startedAt ? found : null;
    });
    assert.equal(v1!.id, v2!.id);
    assert.equal(v1!.startedAt, v2!.startedAt);
    const paused = await fetch(`${r2.url}/v1/rollouts/production/pause`, {
      method: 'POST',
      headers: bearer('admin'),
    });
    assert.equal(paused.status, 200);
    const held = await waitFor('the pause reaches replica 1', async () =>
      (await rollouts(r1)).find((r) => r.env === 'production' && r.status === 'paused'),
    );
    const [a, b] = await Promise.all([commitsOf(r1), commitsOf(r2)]);
    assert.deepEqual(a, b);
    const share = (a.filter((c) => c === commit).length / IDS.length) * 100;
    assert.ok(Math.abs(share - held.share) <= 10, `${share}% on the candidate at ${held.share}%`);
  });
});
