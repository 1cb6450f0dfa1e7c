/**
 * Flag evaluation throughput on the example repository (`config-repo/`, production):
 * - OFREP single evaluations/s of `call_summaries` (fractional rollout) against `GET /v1/config` reads of the same
 *   namespace, in the same run and server (server in a child process, autocannon here);
 * - in-process evaluations/s of the same flag with `FlagSet` (what the server runs per request) against a plain
 *   property read of the same document, on one core.
 *
 *   node --import tsx bench/flags.ts [--duration 5] [--connections 50]
 */
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { spawnJsonChild } from './lib/child.js';
import { configRepoCopy, serveCopy } from './lib/config-repo.js';
import { FlagSet } from '../src/flags/index.js';

const { values } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
  },
});

type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}) => Promise<{ requests: { average: number }; latency: { p50: number }; non2xx: number; errors: number }>;

if (values.child) await child();
else await parent();

/** Serves a copy of config-repo and prints its URL. */
async function child(): Promise<void> {
  const { work } = configRepoCopy('gitcfg-bench-flags-');
  const handle = await serveCopy(work);
  process.stdout.write(`${JSON.stringify({ url: handle.url })}\n`);
  process.stdin.resume();
  process.stdin.on(
    'end',
    () => void handle.close().then(() => rmSync(work, { recursive: true, force: true })),
  );
}

/** Evaluations per second of `fn` over about `ms` milliseconds. */
function perSecond(fn: (i: number) => unknown, ms = 2000): number {
  let n = 0;
  let sink = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 10_000; i++) if (fn(n + i)) sink++;
    n += 10_000;
  }
  if (sink < 0) console.log(sink);
  return n / ((performance.now() - start) / 1000);
}

async function parent(): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const server = await spawnJsonChild<{ url: string }>('bench/flags.ts', ['--child']);
  const base = server.ready.url;
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const configUrl = `${base}/v1/config/feature-flags/production`;
  const ofrep = {
    url: `${base}/v1/envs/production/ofrep/v1/evaluate/flags/call_summaries`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ context: { targetingKey: 'user-42@example.com' } }),
  };
  await autocannon({ url: configUrl, connections, duration: 1 });
  await autocannon({ ...ofrep, connections, duration: 1 });
  const read = await autocannon({ url: configUrl, connections, duration });
  // The same read routed through express (a query string skips the pre-routed fast path), as OFREP is.
  const routed = await autocannon({ url: `${configUrl}?format=json`, connections, duration });
  const evals = await autocannon({ ...ofrep, connections, duration });
  const document = (await (await fetch(configUrl)).json()) as {
    flags: Record<string, { defaultVariant: string }>;
  };
  await server.stop();

  const set = new FlagSet(document);
  const keys = Array.from({ length: 1024 }, (_, i) => ({ targetingKey: `user-${i}@example.com` }));
  const inProcess = perSecond((i) => set.evaluate('call_summaries', keys[i & 1023]!).value);
  const plain = perSecond(
    (i) => document.flags[i & 1 ? 'call_summaries' : 'ai_assist']!.defaultVariant === 'on',
  );
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`${connections} connections, ${duration} s each`);
  console.log(
    `GET /v1/config/feature-flags/production  ${fmt(read.requests.average)} req/s  p50 ${read.latency.p50} ms  non-2xx ${read.non2xx + read.errors}`,
  );
  console.log(
    `GET /v1/config/... through express          ${fmt(routed.requests.average)} req/s  p50 ${routed.latency.p50} ms`,
  );
  console.log(
    `POST OFREP evaluate call_summaries        ${fmt(evals.requests.average)} req/s  p50 ${evals.latency.p50} ms  non-2xx ${evals.non2xx + evals.errors}`,
  );
  console.log(`in-process FlagSet.evaluate (fractional)  ${fmt(inProcess)} evaluations/s`);
  console.log(`plain property read                       ${fmt(plain)} reads/s`);
}
