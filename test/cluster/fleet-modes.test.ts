/**
 * Without `--redis` a server is exactly a server of one (no fleet in status or metrics); with a Redis that cannot
 * be reached it serves anyway, polls, and says why in status, metrics and logs.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { cleanupTempDirs, createTempRepo, tempDir } from '../helpers/git-repo.js';
import { WRITE_FILES, bearer, startServer, waitReady, TOKENS } from '../edits/writes-fixture.js';
import type { TestServer } from '../edits/writes-fixture.js';
import { freePort } from './fleet-fixture.js';

describe('fleet modes', () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.handle.close();
    await cleanupTempDirs();
  });

  async function start(env: Record<string, string>): Promise<TestServer> {
    const dir = await tempDir();
    const repo = await createTempRepo({ files: WRITE_FILES });
    const server = await startServer({ repo, dir, dataDir: path.join(dir, 'data'), env });
    servers.push(server);
    await waitReady(server.base, TOKENS.admin);
    return server;
  }

  it('without --redis: no fleet in status, no fleet metrics, pins stay local', async () => {
    const { base } = await start({});
    const status = (await (await fetch(`${base}/v1/status`, { headers: bearer('admin') })).json()) as object;
    assert.ok(!('fleet' in status));
    assert.doesNotMatch(await (await fetch(`${base}/metrics`)).text(), /gitcfg_fleet_/);
    assert.equal((await fetch(`${base}/readyz?fleet=1`)).status, 200);
  });

  it('with an unreachable Redis: serves, polls instead, and says why; shared pins are refused', async () => {
    const port = await freePort();
    const server = await start({
      GITCFG_REDIS_URL: `redis://127.0.0.1:${port}/0`,
      GITCFG_REPLICA_ID: 'lonely',
    });
    const res = await fetch(`${server.base}/v1/status`, { headers: bearer('admin') });
    const { fleet, served } = (await res.json()) as {
      served: { commit: string };
      fleet: {
        replicaId: string;
        connected: boolean;
        fallbackPolling: boolean;
        error?: string;
        replicas: unknown[];
      };
    };
    assert.equal(fleet.replicaId, 'lonely');
    assert.equal(fleet.connected, false);
    assert.equal(fleet.fallbackPolling, true);
    assert.equal(fleet.error, 'ECONNREFUSED');
    assert.equal(fleet.replicas.length, 1);
    const config = await fetch(`${server.base}/v1/config/app/staging`, { headers: bearer('reader') });
    assert.equal(config.status, 200);
    assert.equal(config.headers.get('gitcfg-commit'), served.commit);
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    assert.match(metrics, /^gitcfg_fleet_fallback_polling 1$/m);
    assert.match(metrics, /^gitcfg_fleet_redis_connected 0$/m);
    assert.match(metrics, /^gitcfg_fleet_replica_lag_seconds\{replica="lonely"\} 0$/m);
    const warned = server.logs.records().some((r) => String(r.msg).startsWith('redis unreachable'));
    assert.ok(warned, 'logged');
    const pin = await fetch(`${server.base}/v1/pins`, {
      method: 'POST',
      headers: { ...bearer('admin'), 'content-type': 'application/json' },
      body: JSON.stringify({ env: 'staging', commit: served.commit }),
    });
    assert.equal(pin.status, 503);
    assert.equal(((await pin.json()) as { error: { code: string } }).error.code, 'E_FLEET_UNAVAILABLE');
    assert.ok(Number(pin.headers.get('retry-after')) >= 1);
  });
});
