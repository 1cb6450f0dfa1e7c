/**
 * Sync, memory and history sections, on generated repositories served by `gitcfg serve` (a child process, so
 * its memory is its own) from a real smart-HTTP remote:
 * - sync: signed webhook -> the new commit is served (a long-poll on /v1/watch returns it), for a one-file
 *   commit, against native `git fetch` of the same commit into a native bare clone;
 * - memory: RSS of the server once the repository is loaded, against an idle node process with the same loader;
 * - history: `GET /v1/history/:ns/:env` against native `git log -- <the pair's files>`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGitHttpRemote } from '../../test/helpers/git-http-remote.js';
import { runGit } from '../../test/helpers/git-repo.js';
import { postGenericWebhook, rssOf, startServeProcess } from '../../test/faults/serve-process.js';
import { compileSources } from '../lib/compile.js';
import { ROOT } from '../lib/child.js';
import { addCommits, changeSet, generateRepo, namespacesForFiles } from '../lib/generate-repo.js';
import { figure } from '../lib/result.js';
import type { SectionResult } from '../lib/result.js';
import { median, percentile, round, timed } from '../lib/stats.js';

const SECRET = 'bench-webhook-secret';
const MB = 1024 * 1024;

/** One repository size. */
export interface SyncSize {
  files: number;
  commits: number;
  /** Target in words and the check of the median webhook -> served time against native fetch. */
  target: string;
  meets(servedMs: number, nativeFetchMs: number): boolean;
}

/** Options of the sync section. */
export interface SyncOptions {
  sizes: SyncSize[];
  iterations: number;
  /** Only the first start and the restart (memory figures): no webhooks, no history queries. */
  firstStartOnly?: boolean;
  log: (line: string) => void;
}

const git = (cwd: string, args: string[]): Promise<string> => runGit({ cwd, args });

interface Status {
  served: { commit: string } | null;
  syncs: { running: boolean; pending: boolean };
  rejected: { messages: string[] } | null;
}

/** Waits until `commit` is served and no sync runs; resolves to the slowest status answer seen (ms). */
export async function waitServed(base: string, commit: string, tries = 12_000): Promise<number> {
  let slowest = 0;
  for (let i = 0; i < tries; i++) {
    const t = performance.now();
    // A busy server may drop a reused keep-alive connection: retry rather than fail.
    const s = (await fetch(`${base}/v1/status`)
      .then(async (res) => res.json())
      .catch(() => null)) as Status | null;
    slowest = Math.max(slowest, performance.now() - t);
    if (s?.served?.commit === commit && !s.syncs.running && !s.syncs.pending) return slowest;
    if (s?.rejected) throw new Error(`commit rejected: ${s.rejected.messages.slice(0, 3).join('; ')}`);
    await sleep(50);
  }
  throw new Error(`commit ${commit} not served`);
}

/** Peak RSS of a process so far (VmHWM), NaN when unknown. */
function peakRssOf(pid: number): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * Waits until the history index is saved in the data dir: it is built in the background after the first
 * snapshot is served, and saved once built. (A history query would also wait, but it evaluates commits too.)
 */
async function waitHistoryIndex(dataDir: string): Promise<void> {
  for (let i = 0; i < 12_000; i++) {
    if (existsSync(join(dataDir, 'history-index.json'))) return;
    await sleep(50);
  }
  throw new Error('history index not saved');
}

/** RSS of an idle node process: what any server costs before it holds anything. */
export async function idleNodeRss(): Promise<number> {
  const proc = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  try {
    await sleep(1500);
    return rssOf(proc.pid!);
  } finally {
    proc.kill('SIGKILL');
  }
}

/** The memory figures of one size: first start (with the history index) and restart, against idle node. */
function memoryFigures(
  memory: SectionResult,
  label: string,
  files: number,
  idleRss: number,
  rssLoaded: number,
  rssRestarted: number,
): void {
  const big = files >= 10_000;
  for (const [when, rss] of [
    ['first start (clone + build + history index)', rssLoaded],
    ['restart on the same data dir', rssRestarted],
  ] as const) {
    memory.figures.push(
      figure(
        `server RSS, ${label}, ${when}`,
        'MB',
        rss / MB,
        { name: 'idle node process', value: idleRss / MB },
        { ratioMeaning: 'gitcfg / baseline', ...(big ? { target: '< 250 MB', met: rss / MB < 250 } : {}) },
      ),
    );
  }
}

/** Runs the sync (and memory and history) measurements for every size. */
export async function benchSync(opts: SyncOptions): Promise<SectionResult[]> {
  const idleRss = await idleNodeRss();
  const sync: SectionResult = { section: 'sync', figures: [], details: {} };
  const memory: SectionResult = {
    section: 'memory',
    figures: [],
    details: { idleNodeRssMb: round(idleRss / MB) },
  };
  const history: SectionResult = { section: 'history', figures: [], details: {} };
  for (const size of opts.sizes) {
    const root = await mkdtemp(join(tmpdir(), 'gitcfg-bench-sync-'));
    const remote = await startGitHttpRemote({ root });
    let server: Awaited<ReturnType<typeof startServeProcess>> | null = null;
    try {
      const [gen, generateMs] = await timed(() =>
        generateRepo({
          dir: join(root, 'cfg.git'),
          bare: true,
          namespaces: namespacesForFiles(size.files),
          commits: size.commits,
        }),
      );
      const label = `${gen.files} files / ${gen.commits} commits`;
      opts.log(`  sync ${label}: generated in ${generateMs.toFixed(0)} ms`);
      const url = remote.url('cfg.git');
      const [, nativeClone] = await timed(() =>
        git(root, ['clone', '--quiet', '--bare', '--single-branch', '-b', 'main', url, 'native.git']),
      );
      const native = join(root, 'native.git');
      const serve = (): ReturnType<typeof startServeProcess> =>
        startServeProcess({
          repo: url,
          dataDir: join(root, 'data'),
          cwd: root,
          env: { GITCFG_WEBHOOK_SECRET_GENERIC: SECRET },
          cliMain: compileSources(opts.log),
        });
      let started = performance.now();
      server = await serve();
      const slowestStatusMs = await waitServed(server.url, gen.head);
      const startupMs = performance.now() - started;
      await waitHistoryIndex(join(root, 'data'));
      const rssLoaded = rssOf(server.pid);
      const peakFirstStart = peakRssOf(server.pid);
      // Restart on the same data dir: mirror and snapshot are there, nothing is cloned.
      await server.kill('SIGTERM');
      started = performance.now();
      server = await serve();
      await waitServed(server.url, gen.head);
      const restartMs = performance.now() - started;
      const rssRestarted = rssOf(server.pid);
      opts.log(
        `  sync ${label}: served and idle ${startupMs.toFixed(0)} ms after first start (native clone ${nativeClone.toFixed(0)} ms; slowest status answer meanwhile ${slowestStatusMs.toFixed(0)} ms), rss with the history index ${(rssLoaded / MB).toFixed(0)} MB (peak ${(peakFirstStart / MB).toFixed(0)} MB); after a restart ${restartMs.toFixed(0)} ms, rss ${(rssRestarted / MB).toFixed(0)} MB; idle node ${(idleRss / MB).toFixed(0)} MB`,
      );
      if (opts.firstStartOnly) {
        memoryFigures(memory, label, gen.files, idleRss, rssLoaded, rssRestarted);
        memory.details[label] = {
          rssFirstStartMb: round(rssLoaded / MB),
          rssFirstStartPeakMb: round(peakFirstStart / MB),
          rssRestartedMb: round(rssRestarted / MB),
        };
        continue;
      }

      const served: number[] = [];
      const fetched: number[] = [];
      for (let i = 0; i <= opts.iterations; i++) {
        const previous = gen.head;
        const head = await addCommits(gen, 1, 1);
        const t0 = performance.now();
        const watch = fetch(`${server.url}/v1/watch/production?since=${previous}&timeout=60`);
        const res = await postGenericWebhook(server.url, SECRET);
        if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
        const event = (await (await watch).json()) as { commit: string };
        const ms = performance.now() - t0;
        if (event.commit !== head) throw new Error(`watch returned ${event.commit}, expected ${head}`);
        const [, nativeMs] = await timed(() =>
          git(native, ['fetch', '--quiet', url, '+refs/heads/main:refs/heads/main']),
        );
        if (i === 0) continue; // warm-up
        served.push(ms);
        fetched.push(nativeMs);
      }
      await waitServed(server.url, gen.head);
      const rssAfter = rssOf(server.pid);
      const servedMs = median(served);
      const nativeMs = median(fetched);
      opts.log(
        `  sync ${label}: webhook -> served median ${servedMs.toFixed(0)} ms (p90 ${percentile(served, 90).toFixed(0)}), native fetch ${nativeMs.toFixed(0)} ms`,
      );
      sync.figures.push(
        figure(
          `webhook -> served, one-file commit, ${label}`,
          'ms',
          servedMs,
          {
            name: 'native git fetch of the same commit',
            value: nativeMs,
          },
          {
            ratioMeaning: 'gitcfg / baseline (lower is better)',
            target: size.target,
            met: size.meets(servedMs, nativeMs),
          },
        ),
      );
      sync.details[label] = {
        iterations: served.length,
        servedMs: {
          median: round(servedMs),
          p90: round(percentile(served, 90)),
          max: round(Math.max(...served)),
        },
        nativeFetchMs: { median: round(nativeMs), p90: round(percentile(fetched, 90)) },
        firstStartServedAndIdleMs: round(startupMs),
        slowestStatusAnswerDuringFirstStartMs: round(slowestStatusMs),
        restartServedAndIdleMs: round(restartMs),
        nativeBareCloneMs: round(nativeClone),
      };

      memoryFigures(memory, label, gen.files, idleRss, rssLoaded, rssRestarted);
      memory.details[label] = {
        rssFirstStartMb: round(rssLoaded / MB),
        rssFirstStartPeakMb: round(peakFirstStart / MB),
        rssRestartedMb: round(rssRestarted / MB),
        rssAfterSyncsMb: round(rssAfter / MB),
      };

      // History of a pair the last commits changed.
      const last = changeSet(gen, gen.commits - 1, 1)[0]!.path;
      const [, env, file] = /^environments\/([^/]+)\/(.+)\.yaml$/.exec(last)!;
      const ns = file!;
      const historyUrl = `${server.url}/v1/history/${ns}/${env}?limit=20`;
      const [firstRes, firstMs] = await timed(() => fetch(historyUrl));
      if (firstRes.status === 404 && gen.files > 0) {
        history.details[label] = { available: false, status: 404 };
      } else {
        const firstBody = (await firstRes.json()) as { commits?: unknown[] };
        if (firstRes.status !== 200) throw new Error(`history answered ${firstRes.status}`);
        const warm: number[] = [];
        for (let i = 0; i < 7; i++) {
          const [res, ms] = await timed(() => fetch(historyUrl));
          await res.arrayBuffer();
          warm.push(ms);
        }
        const paths = [`schemas/${ns}.schema.json`, `defaults/${ns}.yaml`, `environments/${env}/${ns}.yaml`];
        if (env === 'staging') paths.push(`environments/production/${ns}.yaml`);
        const nativeLog: number[] = [];
        for (let i = 0; i < 7; i++) {
          nativeLog.push(
            (await timed(() => git(native, ['log', '--format=%H', '-n', '20', 'main', '--', ...paths])))[1],
          );
        }
        const historyMs = median(warm);
        opts.log(
          `  history ${label}: first ${firstMs.toFixed(0)} ms, then median ${historyMs.toFixed(0)} ms (${firstBody.commits?.length ?? 0} commits); native git log ${median(nativeLog).toFixed(0)} ms`,
        );
        history.figures.push(
          figure(
            `GET /v1/history/:ns/:env?limit=20, ${label}`,
            'ms',
            historyMs,
            {
              name: 'native git log -n 20 -- <pair files>',
              value: median(nativeLog),
            },
            { ratioMeaning: 'gitcfg / baseline (lower is better)', target: '< 100 ms', met: historyMs < 100 },
          ),
        );
        history.details[label] = {
          firstQueryMs: round(firstMs),
          warmMedianMs: round(historyMs),
          commitsReturned: firstBody.commits?.length ?? 0,
          nativeLogMs: round(median(nativeLog)),
        };
      }
    } finally {
      await server?.kill('SIGKILL');
      await remote.close();
      await rm(root, { recursive: true, force: true });
    }
  }
  return [sync, memory, history];
}
