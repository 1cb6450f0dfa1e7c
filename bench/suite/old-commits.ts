/**
 * Fault case of the sync section: reads of many distinct old commits (`?ref=`, as a client or an attacker may
 * send) must not grow the server's memory without bound, and plain reads must stay fast meanwhile. Reads every
 * chosen commit once through `GET /v1/config/:ns/production?ref=<commit>` (2 at a time), newest first or
 * shuffled, while a third client keeps reading the served config; compares the peak RSS with the steady RSS of
 * the same server before any such reads, and the p99 of the plain reads during them with their p99 before.
 */
import { runGit } from '../../test/helpers/git-repo.js';
import { rssOf } from '../../test/faults/serve-process.js';
import { processCpuMs } from '../lib/cpu.js';
import { figure } from '../lib/result.js';
import type { Figure } from '../lib/result.js';
import { percentile, round } from '../lib/stats.js';

const MB = 1024 * 1024;
/** Old-commit reads in flight at once. */
const CONCURRENCY = 2;
/** Plain reads before the old-commit reads: the steady state and the latency baseline. */
const STEADY_READS = 500;

/** Options of `readOldCommits`. */
export interface OldCommitsOptions {
  /** Base URL and pid of a `gitcfg serve` process serving the repository at `gitDir`'s `branch`. */
  url: string;
  pid: number;
  gitDir: string;
  branch: string;
  /** A namespace the repository has (its production config is read, plain and at old commits). */
  namespace: string;
  /** Distinct old commits to read (all when the history is not longer; else spread over it). */
  reads: number;
  /**
   * `newest-first`: a client walking back through history; `shuffled`: an attacker's order (fixed seed), where
   * no commit read before is near the next one.
   */
  order: 'newest-first' | 'shuffled';
  /** The steady RSS to compare with, when an earlier case measured it on the same server (default: now). */
  steadyRss?: number;
  /** `1k`... (the growth-table column) and `10003 files / 2000 commits` (the figures' label). */
  size: string;
  label: string;
  /** A same-run one-file sync median (ms), the baseline of the time per old-commit read. */
  syncMs: number;
  log: (line: string) => void;
}

/** Latencies (ms) of sequential plain reads of `url` until `until` settles (at least `min` reads). */
async function plainReads(url: string, until: Promise<unknown>, min = 0): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true)).catch(() => {});
  const latencies: number[] = [];
  while (!done || latencies.length < min) {
    const t = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`plain read of ${url} answered ${res.status}`);
    latencies.push(performance.now() - t);
  }
  return latencies;
}

/**
 * `count` of `commits` (newest first), evenly spaced over the whole history: a shorter run then samples the
 * same mix of near and far commits as reading them all.
 */
function spread<T>(commits: readonly T[], count: number): T[] {
  if (count >= commits.length) return [...commits];
  return Array.from({ length: count }, (_, i) => commits[Math.floor((i * commits.length) / count)]!);
}

/** Fisher-Yates with a fixed seed (a linear congruential generator): the same order in every run. */
function shuffle<T>(items: T[]): void {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

/** Runs the fault case; resolves to its figures and the details of the run. */
export async function readOldCommits(
  opts: OldCommitsOptions,
): Promise<{ figures: Figure[]; details: Record<string, unknown>; steadyRss: number }> {
  const plainUrl = `${opts.url}/v1/config/${opts.namespace}/production`;
  const before = await plainReads(plainUrl, Promise.resolve(), STEADY_READS);
  const steadyRss = opts.steadyRss ?? rssOf(opts.pid);
  const history = (await runGit({ cwd: opts.gitDir, args: ['rev-list', opts.branch] })).trim().split('\n');
  const commits = spread(history.slice(1), opts.reads);
  if (opts.order === 'shuffled') shuffle(commits);
  let peakRss = steadyRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOf(opts.pid))), 100);
  const statuses: Record<number, number> = {};
  let next = 0;
  const cpuBefore = processCpuMs(opts.pid);
  const started = performance.now();
  const oldReads = Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < commits.length) {
        const commit = commits[next++]!;
        const res = await fetch(`${plainUrl}?ref=${commit}`);
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
    }),
  );
  let during: number[];
  try {
    during = await plainReads(plainUrl, oldReads);
    await oldReads;
  } finally {
    clearInterval(sampler);
  }
  const ms = performance.now() - started;
  const cpuMs = processCpuMs(opts.pid) - cpuBefore;
  const endRss = rssOf(opts.pid);
  // Every commit of a generated repository is valid: anything but 200 is a failure of the case, not a figure.
  if (statuses[200] !== commits.length)
    throw new Error(`old-commit reads answered ${JSON.stringify(statuses)}`);
  const p99Before = percentile(before, 99);
  const p99During = percentile(during, 99);
  const perRead = ms / commits.length;
  opts.log(
    `  old commits ${opts.label}: ${commits.length} read ${opts.order} in ${(ms / 1000).toFixed(1)} s (server CPU ${(cpuMs / 1000).toFixed(1)} s), RSS steady ${(steadyRss / MB).toFixed(0)} MB, peak ${(peakRss / MB).toFixed(0)} MB, after ${(endRss / MB).toFixed(0)} MB; plain-read p99 ${p99Before.toFixed(1)} ms before, ${p99During.toFixed(1)} ms during`,
  );
  // The growth table shows the newest-first case; the shuffled one is in the table of figures.
  const growth = (row: 'old-commits-rss' | 'old-commits-p99' | 'old-commits-time') =>
    opts.order === 'newest-first' ? { growth: { row, size: opts.size } } : {};
  const what = `${commits.length} old commits read (?ref=, ${opts.order}), ${opts.label}`;
  return {
    steadyRss,
    figures: [
      figure(
        `peak server RSS while ${what}`,
        'MB',
        peakRss / MB,
        { name: 'steady RSS of the same server before', value: steadyRss / MB },
        {
          ratioMeaning: 'gitcfg / baseline',
          target: '< 2x steady RSS',
          met: peakRss < 2 * steadyRss,
          ...growth('old-commits-rss'),
        },
      ),
      figure(
        `p99 of plain reads while ${what}`,
        'ms',
        p99During,
        { name: `p99 of ${before.length} plain reads before`, value: p99Before },
        { ratioMeaning: 'gitcfg / baseline (lower is better)', ...growth('old-commits-p99') },
      ),
      figure(
        `time per old-commit read while ${what}, ${CONCURRENCY} at a time`,
        'ms',
        perRead,
        { name: 'one-file sync (webhook -> served)', value: opts.syncMs },
        {
          ratioMeaning: 'gitcfg / baseline (lower is better)',
          cpuMs: cpuMs / commits.length,
          ...growth('old-commits-time'),
        },
      ),
    ],
    details: {
      oldCommitsRead: commits.length,
      order: opts.order,
      concurrency: CONCURRENCY,
      statuses,
      seconds: round(ms / 1000),
      serverCpuSeconds: round(cpuMs / 1000),
      steadyRssMb: round(steadyRss / MB),
      peakRssMb: round(peakRss / MB),
      endRssMb: round(endRss / MB),
      plainReadP99Ms: { before: round(p99Before), during: round(p99During) },
      plainReads: { before: before.length, during: during.length },
    },
  };
}
