/**
 * Read section: `GET /v1/config/:ns/:env` under autocannon on loopback, against raw `node:http` writing the same
 * bytes (servers of bench/read-throughput.ts, run as its `--child`) and against a naive server that reads the
 * pair's files from git and merges them on every request (bench/lib/naive-config-server.ts). Then p50/p99
 * latency of each at 50% of its own maximum throughput.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ROOT, spawnJsonChild } from '../lib/child.js';
import { figure } from '../lib/result.js';
import type { SectionResult } from '../lib/result.js';
import { round } from '../lib/stats.js';

interface CannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  overallRate?: number;
}) => Promise<CannonResult>;

/** Options of the read section. */
export interface ReadOptions {
  /** Seconds per autocannon run. */
  duration: number;
  /** Max-throughput rounds per server (alternated). */
  rounds: number;
  connections: number;
  /** Connections of the naive server (each request spawns git processes; more only thrashes). */
  naiveConnections: number;
  log: (line: string) => void;
}

const kinds = ['raw', 'gitcfg', 'express', 'naive', 'spring'] as const;
type Kind = (typeof kinds)[number];

/** Runs the read section. */
export async function benchRead(opts: ReadOptions): Promise<SectionResult> {
  const require = createRequire(import.meta.url);
  const autocannon = require('autocannon') as Autocannon;
  const servers = await spawnJsonChild<{
    gitcfg: string;
    express: string;
    raw: string;
    spring: string;
    bytes: number;
  }>('bench/read-throughput.ts', ['--child']);
  const repo = mkdtempSync(join(tmpdir(), 'gitcfg-bench-naive-'));
  let naive: Awaited<ReturnType<typeof spawnJsonChild<{ url: string }>>> | null = null;
  try {
    cpSync(join(ROOT, 'config-repo'), repo, { recursive: true });
    const git = (...args: string[]): void =>
      void execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...args], {
        cwd: repo,
      });
    git('-c', 'init.defaultBranch=main', 'init', '--quiet', '.');
    git('add', '-A');
    git('commit', '--quiet', '-m', 'bench');
    naive = await spawnJsonChild<{ url: string }>('bench/lib/naive-config-server.ts', ['--repo', repo]);
    const path = new URL(servers.ready.gitcfg).pathname;
    const urls: Record<Kind, string> = {
      raw: servers.ready.raw,
      gitcfg: servers.ready.gitcfg,
      express: servers.ready.express,
      naive: naive.ready.url + path,
      spring: servers.ready.spring,
    };
    // Every server must answer the same configuration (the Spring Environment is another shape of it).
    const same = kinds.filter((k) => k !== 'spring');
    const bodies = await Promise.all(same.map(async (k) => (await fetch(urls[k])).json()));
    for (const body of bodies.slice(1)) {
      if (!isDeepStrictEqual(body, bodies[0])) throw new Error('the servers do not serve the same config');
    }
    const connectionsOf = (k: Kind): number => (k === 'naive' ? opts.naiveConnections : opts.connections);
    const run = (k: Kind, duration: number, overallRate?: number): Promise<CannonResult> =>
      autocannon({
        url: urls[k],
        connections: connectionsOf(k),
        duration,
        ...(overallRate ? { overallRate } : {}),
      });
    for (const k of kinds) await run(k, 1); // warm-up: JIT, sockets, OS caches
    const max: Record<Kind, CannonResult[]> = { raw: [], gitcfg: [], express: [], naive: [], spring: [] };
    for (let r = 0; r < opts.rounds; r++) {
      for (const k of kinds) {
        const result = await run(k, opts.duration);
        max[k].push(result);
        opts.log(
          `  read ${k.padEnd(8)} ${result.requests.average.toFixed(0).padStart(7)} req/s  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms`,
        );
      }
    }
    const rps = (k: Kind): number => max[k].reduce((s, r) => s + r.requests.average, 0) / max[k].length;
    const failures = (k: Kind): number => max[k].reduce((s, r) => s + r.non2xx + r.errors + r.timeouts, 0);
    // Latency at half of each server's own maximum: a realistic, unsaturated load.
    const half: Partial<Record<Kind, CannonResult>> = {};
    for (const k of ['raw', 'gitcfg', 'naive'] as const) {
      half[k] = await run(k, opts.duration, Math.max(1, Math.round(rps(k) / 2)));
      opts.log(
        `  read ${k.padEnd(8)} at ${Math.round(rps(k) / 2)} req/s: p50 ${half[k].latency.p50} ms  p99 ${half[k].latency.p99} ms`,
      );
    }
    const h = half as Record<'raw' | 'gitcfg' | 'naive', CannonResult>;
    const vsRaw = rps('gitcfg') / rps('raw');
    const vsNaive = rps('gitcfg') / rps('naive');
    return {
      section: 'read',
      figures: [
        figure(
          'GET /v1/config throughput vs raw node:http',
          'req/s',
          rps('gitcfg'),
          {
            name: 'raw node:http, same bytes',
            value: rps('raw'),
          },
          { ratioMeaning: 'gitcfg / baseline', target: '>= 0.6x', met: vsRaw >= 0.6 },
        ),
        figure(
          'GET /v1/config throughput vs naive git-per-request server',
          'req/s',
          rps('gitcfg'),
          {
            name: 'git show + merge per request',
            value: rps('naive'),
          },
          { ratioMeaning: 'gitcfg / baseline', target: '>= 50x', met: vsNaive >= 50 },
        ),
        figure(
          'GET /spring Environment throughput vs GET /v1/config',
          'req/s',
          rps('spring'),
          { name: 'GET /v1/config, same server and pair', value: rps('gitcfg') },
          {
            ratioMeaning: 'spring / baseline',
            target: '>= 0.8x',
            met: rps('spring') / rps('gitcfg') >= 0.8,
          },
        ),
        figure(
          'p50 latency at 50% of max throughput',
          'ms',
          h.gitcfg.latency.p50,
          {
            name: 'raw node:http at 50% of its max',
            value: h.raw.latency.p50,
          },
          { ratioMeaning: 'gitcfg / baseline' },
        ),
        figure(
          'p99 latency at 50% of max throughput',
          'ms',
          h.gitcfg.latency.p99,
          {
            name: 'raw node:http at 50% of its max',
            value: h.raw.latency.p99,
          },
          { ratioMeaning: 'gitcfg / baseline' },
        ),
      ],
      details: {
        path,
        bytes: servers.ready.bytes,
        connections: opts.connections,
        naiveConnections: opts.naiveConnections,
        durationSeconds: opts.duration,
        rounds: opts.rounds,
        maxThroughput: Object.fromEntries(kinds.map((k) => [k, round(rps(k))])),
        failedRequests: Object.fromEntries(kinds.map((k) => [k, failures(k)])),
        maxLoadLatencyMs: Object.fromEntries(
          kinds.map((k) => [k, { p50: max[k][0]!.latency.p50, p99: max[k][0]!.latency.p99 }]),
        ),
        halfLoadLatencyMs: Object.fromEntries(
          Object.entries(h).map(([k, r]) => [
            k,
            {
              rate: Math.round(rps(k as Kind) / 2),
              achieved: round(r.requests.average),
              p50: r.latency.p50,
              p99: r.latency.p99,
            },
          ]),
        ),
        expressRoutedVsRaw: round(rps('express') / rps('raw'), 2),
        naiveLatencyP50Ms: h.naive.latency.p50,
      },
    };
  } finally {
    await naive?.stop();
    await servers.stop();
    rmSync(repo, { recursive: true, force: true });
  }
}
