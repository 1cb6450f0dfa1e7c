/**
 * Fault case: reads of many distinct old commits (`?ref=`, as a client or an attacker may send) must not grow
 * the server's memory without bound, and plain reads must stay fast meanwhile. Generates a repository (default
 * 10,003 files / 2,000 commits), serves it with the compiled CLI, then reads every commit once through
 * `GET /v1/config/:ns/production?ref=<commit>` (2 at a time) while a third client keeps reading the served
 * config. Prints peak RSS against the steady-state RSS of the same server before the reads, and the p99 of
 * the plain reads during the old-commit reads against their p99 before (same run).
 *
 *   node --import tsx bench/old-commits.ts [--files 10000] [--commits 2000] [--reads 2000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rssOf, startServeProcess } from '../test/faults/serve-process.js';
import { startGitHttpRemote } from '../test/helpers/git-http-remote.js';
import { runGit } from '../test/helpers/git-repo.js';
import { compileSources } from './lib/compile.js';
import { generateRepo, namespacesForFiles } from './lib/generate-repo.js';
import { percentile } from './lib/stats.js';
import { waitServed } from './suite/sync.js';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '10000' },
    commits: { type: 'string', default: '2000' },
    reads: { type: 'string', default: '2000' },
  },
});
const MB = 1024 * 1024;

/** Latencies (ms) of sequential plain reads of `url` until `until` resolves (at least `min` reads). */
async function plainReads(url: string, until: Promise<unknown>, min = 0): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const latencies: number[] = [];
  while (!done || latencies.length < min) {
    const t = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`plain read answered ${res.status}`);
    latencies.push(performance.now() - t);
  }
  return latencies;
}

const root = await mkdtemp(join(tmpdir(), 'gitcfg-bench-old-commits-'));
const remote = await startGitHttpRemote({ root });
let server: Awaited<ReturnType<typeof startServeProcess>> | null = null;
try {
  const gen = await generateRepo({
    dir: join(root, 'cfg.git'),
    bare: true,
    namespaces: namespacesForFiles(Number(values.files)),
    commits: Number(values.commits),
  });
  server = await startServeProcess({
    repo: remote.url('cfg.git'),
    dataDir: join(root, 'data'),
    cwd: root,
    cliMain: compileSources(() => {}),
  });
  await waitServed(server.url, gen.head);
  const pid = server.pid;
  const ns = gen.namespaces[0]!;
  const plainUrl = `${server.url}/v1/config/${ns}/production`;
  // Steady state: the served repository after some plain reads.
  const idle = await plainReads(plainUrl, Promise.resolve(), 500);
  const steadyRss = rssOf(pid);
  const commits = (await runGit({ cwd: gen.dir, args: ['rev-list', 'main'] }))
    .trim()
    .split('\n')
    .slice(1, 1 + Number(values.reads));
  let peakRss = steadyRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOf(pid))), 100);
  const statuses = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  const oldReads = Promise.all(
    Array.from({ length: 2 }, async () => {
      while (next < commits.length) {
        const commit = commits[next++]!;
        const res = await fetch(`${server!.url}/v1/config/${ns}/production?ref=${commit}`);
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  const during = await plainReads(plainUrl, oldReads);
  await oldReads;
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  const endRss = rssOf(pid);
  console.log(
    JSON.stringify(
      {
        files: gen.files,
        commits: gen.commits,
        oldCommitsRead: commits.length,
        statuses: Object.fromEntries(statuses),
        seconds: Math.round(seconds),
        steadyRssMb: Math.round(steadyRss / MB),
        peakRssMb: Math.round(peakRss / MB),
        endRssMb: Math.round(endRss / MB),
        peakToSteady: Math.round((peakRss / steadyRss) * 100) / 100,
        plainReadP99Ms: { before: percentile(idle, 99), during: percentile(during, 99) },
        plainReads: { before: idle.length, during: during.length },
        load: loadavg(),
      },
      null,
      2,
    ),
  );
} finally {
  await server?.kill('SIGTERM');
  await remote.close();
  await rm(root, { recursive: true, force: true });
}
