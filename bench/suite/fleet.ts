/**
 * Fleet section: three `gitcfg serve` processes sharing a real redis-server, against one replica without Redis
 * in the same run. (1) Convergence: signed webhook to one replica -> every replica serving the commit, p50/p99
 * over N pushes, vs webhook -> served on the single replica. (2) Reads through a small round-robin Node proxy to
 * the three replicas vs the single replica directly (on a 2-core machine this measures the overhead of the
 * proxy and of three processes sharing the cores, not scale). (3) Redis messages and bytes per promotion.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { TestRedis, startFleet } from '../../test/cluster/fleet-fixture.js';
import type { Replica } from '../../test/cluster/fleet-fixture.js';
import { startGitHttpRemote } from '../../test/helpers/git-http-remote.js';
import {
  cleanupTempDirs,
  cloneRepo,
  commitFiles,
  createTempRepo,
  publishBare,
  run,
  tempDir,
} from '../../test/helpers/git-repo.js';
import { WRITE_FILES } from '../../test/edits/writes-fixture.js';
import { postGenericWebhook } from '../../test/faults/serve-process.js';
import { figure } from '../lib/result.js';
import type { SectionResult } from '../lib/result.js';
import { percentile, round } from '../lib/stats.js';

type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
}) => Promise<{ requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number }>;

/** Options of the fleet section. */
export interface FleetOptions {
  pushes: number;
  /** Seconds per read-throughput run. */
  duration: number;
  log: (line: string) => void;
}

const SECRET = 'bench-fleet-secret';
const READER = 'gcfg-reader-1a2b3c4d5e6f7a8b9c0d';

/** Resolves once every replica's `/readyz` names `commit`; the time since `t0`, ms. */
async function servedBy(replicas: Replica[], commit: string, t0: number): Promise<number> {
  const pending = new Set(replicas);
  for (let i = 0; i < 20_000 && pending.size > 0; i++) {
    for (const r of [...pending]) {
      const body = (await (await fetch(`${r.url}/readyz`)).json()) as { commit?: string };
      if (body.commit === commit) pending.delete(r);
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  if (pending.size > 0) throw new Error(`commit ${commit} never served by every replica`);
  return performance.now() - t0;
}

/** A round-robin HTTP proxy over keep-alive connections. */
async function roundRobin(targets: string[]): Promise<{ url: string; close(): Promise<void> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let next = 0;
  const server = http.createServer((req, res) => {
    const target = new URL(req.url ?? '/', targets[next++ % targets.length]);
    const upstream = http.request(target, { method: req.method, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface PublishedDoc {
  fleet: { published: Record<string, { messages: number; bytes: number }> };
}

/** Runs the fleet section. */
export async function benchFleet(opts: FleetOptions): Promise<SectionResult> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const redis = await TestRedis.start();
  const root = await tempDir('gitcfg-bench-fleet-');
  const work = await createTempRepo({ files: WRITE_FILES });
  const bares = [await publishBare(work, root, 'fleet.git'), await publishBare(work, root, 'single.git')];
  const remote = await startGitHttpRemote({ root });
  const replicas: Replica[] = [];
  try {
    const fleet = await startFleet({
      repoUrl: remote.url('fleet.git'),
      redisUrl: redis.url,
      webhookSecret: SECRET,
      count: 3,
    });
    replicas.push(...fleet);
    const [single] = await startFleet({ repoUrl: remote.url('single.git'), webhookSecret: SECRET, count: 1 });
    replicas.push(single!);
    const clones = {
      fleet: await cloneRepo(remote.url('fleet.git')),
      single: await cloneRepo(remote.url('single.git')),
    };
    const heads = await Promise.all(bares.map((b) => run(b, 'rev-parse', 'main')));
    await servedBy(fleet, heads[0]!.trim(), performance.now());
    await servedBy([single!], heads[1]!.trim(), performance.now());
    const admin = { authorization: 'Bearer gcfg-admin-7f3a9c1e5b2d4f6a8c0e' };
    const published = async () => {
      let messages = 0;
      let bytes = 0;
      for (const r of fleet) {
        const doc = (await (await fetch(`${r.url}/v1/status`, { headers: admin })).json()) as PublishedDoc;
        messages += doc.fleet.published.commit?.messages ?? 0;
        bytes += doc.fleet.published.commit?.bytes ?? 0;
      }
      return { messages, bytes };
    };
    const before = await published();

    // Alternate: a push to the single server's repository, then one to the fleet's; the same content.
    const times = { single: [] as number[], fleet: [] as number[] };
    for (let i = 0; i < opts.pushes; i++) {
      for (const kind of ['single', 'fleet'] as const) {
        const clone = clones[kind];
        const commit = await commitFiles(clone, {
          'environments/staging/app.yaml': `greeting: push ${i}\n`,
        });
        await run(clone, 'push', '--quiet', 'origin', 'main');
        const targets = kind === 'fleet' ? fleet : [single!];
        const t0 = performance.now();
        const hook = await postGenericWebhook(targets[0]!.url, SECRET);
        if (hook.status !== 202) throw new Error(`webhook answered ${hook.status}`);
        times[kind].push(await servedBy(targets, commit, t0));
      }
    }
    const after = await published();
    const per = {
      messages: (after.messages - before.messages) / opts.pushes,
      bytes: (after.bytes - before.bytes) / opts.pushes,
    };
    const p = (kind: 'single' | 'fleet', q: number) => round(percentile(times[kind], q));
    opts.log(
      `  convergence over ${opts.pushes} pushes: 3 replicas p50 ${p('fleet', 50)} ms p99 ${p('fleet', 99)} ms; ` +
        `one replica p50 ${p('single', 50)} ms p99 ${p('single', 99)} ms`,
    );
    opts.log(`  redis per promotion: ${per.messages} commit messages, ${per.bytes} bytes`);

    // Reads: one replica directly vs three behind the proxy (and, for context, one fleet replica directly and the
    // single replica behind the proxy: the cost of --redis and of the proxy apart).
    const proxied = await roundRobin(fleet.map((r) => r.url));
    const proxiedOne = await roundRobin([single!.url]);
    const reads: Record<string, number> = {};
    try {
      const targets = {
        single: single!.url,
        'replica-1': fleet[0]!.url,
        'single-proxied': proxiedOne.url,
        fleet: proxied.url,
      };
      for (const [name, base] of Object.entries(targets)) {
        const url = `${base}/v1/config/app/staging`;
        await autocannon({
          url,
          connections: 20,
          duration: 1,
          headers: { authorization: `Bearer ${READER}` },
        });
        const result = await autocannon({
          url,
          connections: 50,
          duration: opts.duration,
          headers: { authorization: `Bearer ${READER}` },
        });
        if (result.non2xx > 0) throw new Error(`${name}: ${result.non2xx} failed reads`);
        reads[name] = result.requests.average;
        opts.log(
          `  read ${name.padEnd(15)} ${result.requests.average.toFixed(0).padStart(7)} req/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms`,
        );
      }
    } finally {
      await proxied.close();
      await proxiedOne.close();
    }
    const ratio50 = percentile(times.fleet, 50) / percentile(times.single, 50);
    const ratio99 = percentile(times.fleet, 99) / percentile(times.single, 99);
    return {
      section: 'fleet',
      figures: [
        figure(
          'fleet convergence p50: webhook to 1 of 3 -> all 3 serve',
          'ms',
          p('fleet', 50),
          { name: 'one replica webhook -> served p50', value: p('single', 50) },
          { ratioMeaning: 'x the single replica', target: '<= 1.5x', met: ratio50 <= 1.5 },
        ),
        figure(
          'fleet convergence p99: webhook to 1 of 3 -> all 3 serve',
          'ms',
          p('fleet', 99),
          { name: 'one replica webhook -> served p99', value: p('single', 99) },
          { ratioMeaning: 'x the single replica', target: '<= 2x', met: ratio99 <= 2 },
        ),
        figure(
          'reads via round-robin proxy to 3 replicas (2 cores: overhead, not scale)',
          'req/s',
          round(reads.fleet!),
          { name: 'one replica, direct', value: round(reads.single!) },
          { ratioMeaning: 'x one replica direct' },
        ),
      ],
      details: {
        pushes: opts.pushes,
        convergenceMs: { fleet: times.fleet.map((t) => round(t)), single: times.single.map((t) => round(t)) },
        readsPerSecond: Object.fromEntries(Object.entries(reads).map(([k, v]) => [k, round(v)])),
        redisPerPromotion: per,
        note: 'heartbeats are separate: one message (~250 bytes) per replica per heartbeat period (2 s)',
      },
    };
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await redis.kill();
    await remote.close();
    await cleanupTempDirs();
  }
}
