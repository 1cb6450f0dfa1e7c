/**
 * Read throughput of `GET /v1/config/:namespace/:env` (real snapshot of `config-repo/`) against raw `node:http`
 * writing the same bytes and headers, in one run: the server as `gitcfg serve` runs it (plain config GETs are
 * answered before express routing) and, for reference, with every request routed through express. The servers run in a child process,
 * autocannon in this one, so the load generator does not share the servers' event loop.
 *
 *   node --import tsx bench/read-throughput.ts [--duration 5] [--connections 50] [--rounds 2]
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configRepoCopy, serveCopy } from './lib/config-repo.js';

const TARGET_RATIO = 0.6;
const SPRING_TARGET_RATIO = 0.8;
const root = fileURLToPath(new URL('..', import.meta.url));

interface Urls {
  /** The server as started by `gitcfg serve` (hot reads answered before express routing). */
  gitcfg: string;
  /** The same with every request routed through express. */
  express: string;
  /** The Spring `Environment` of the same namespace and environment, from the first server. */
  spring: string;
  raw: string;
  bytes: number;
}

interface CannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
}) => Promise<CannonResult>;

const { values } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '2' },
  },
});

if (values.child) await child();
else await parent();

/** Serves the same config two ways and prints their URLs as one JSON line. */
async function child(): Promise<void> {
  const { work } = configRepoCopy('gitcfg-bench-');
  const start = (fastPath: boolean) =>
    serveCopy(work, { dataDir: join(work, fastPath ? '.data-fast' : '.data'), fastPath });
  const handle = await start(true);
  const plain = await start(false);
  const bundle = (await (await fetch(`${handle.url}/v1/bundle/production`)).json()) as Record<
    string,
    unknown
  >;
  const namespace = Object.keys(bundle)[0];
  const path = `/v1/config/${namespace}/production`;
  const res = await fetch(`${handle.url}${path}`);
  const body = Buffer.from(await res.arrayBuffer());
  const headers = {
    ETag: res.headers.get('etag') ?? '',
    'Gitcfg-Commit': res.headers.get('gitcfg-commit') ?? '',
    'Cache-Control': 'no-cache',
    Vary: 'Accept',
    'Gitcfg-Schema-Version': res.headers.get('gitcfg-schema-version') ?? '1',
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(body.length),
  };
  const raw = createServer((req, out) => {
    if (req.url !== path) {
      out.writeHead(404).end();
      return;
    }
    out.writeHead(200, headers);
    out.end(body);
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  const rawUrl = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
  const urls: Urls = {
    gitcfg: handle.url + path,
    express: plain.url + path,
    spring: `${handle.url}/spring/${namespace}/production`,
    raw: rawUrl + path,
    bytes: body.length,
  };
  process.stdout.write(`${JSON.stringify(urls)}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    raw.close();
    raw.closeAllConnections();
    void Promise.all([handle.close(), plain.close()]).then(() =>
      rmSync(work, { recursive: true, force: true }),
    );
  });
}

/** Starts the child, loads both servers alternately, prints the figures and the ratio. */
async function parent(): Promise<void> {
  const require = createRequire(import.meta.url);
  const autocannon = require('autocannon') as Autocannon;
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child'], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const urls = await new Promise<Urls>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line) as Urls);
    });
    proc.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
  const bodies = await Promise.all(
    [urls.raw, urls.gitcfg, urls.express].map(async (u) => (await fetch(u)).text()),
  );
  if (new Set(bodies).size !== 1) throw new Error('the servers do not serve the same bytes');

  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const run = (url: string): Promise<CannonResult> => autocannon({ url, connections, duration });
  // Warm both up (JIT, sockets), then alternate so drift affects both alike.
  const kinds = ['raw', 'gitcfg', 'express', 'spring'] as const;
  for (const kind of kinds) await run(urls[kind]);
  const results: Record<(typeof kinds)[number], CannonResult[]> = {
    raw: [],
    gitcfg: [],
    express: [],
    spring: [],
  };
  for (let i = 0; i < Number(values.rounds); i++) {
    for (const kind of kinds) results[kind].push(await run(urls[kind]));
  }
  proc.stdin.end();
  await new Promise((r) => proc.once('exit', r));

  const mean = (rs: CannonResult[], f: (r: CannonResult) => number): number =>
    rs.reduce((s, r) => s + f(r), 0) / rs.length;
  const line = (name: string, rs: CannonResult[]): string =>
    `${name.padEnd(10)} ${mean(rs, (r) => r.requests.average)
      .toFixed(0)
      .padStart(
        8,
      )} req/s   p50 ${mean(rs, (r) => r.latency.p50).toFixed(1)} ms   p99 ${mean(rs, (r) => r.latency.p99).toFixed(1)} ms   non-2xx ${rs.reduce((s, r) => s + r.non2xx + r.errors, 0)}`;
  const rps = (kind: (typeof kinds)[number]): number => mean(results[kind], (r) => r.requests.average);
  const ratio = rps('gitcfg') / rps('raw');
  console.log(
    `GET ${new URL(urls.express).pathname} (${urls.bytes} bytes), ${connections} connections, ${duration} s x ${values.rounds} rounds`,
  );
  console.log(line('node:http', results.raw));
  console.log(line('gitcfg', results.gitcfg));
  console.log(line('express', results.express));
  console.log(line('spring', results.spring));
  console.log(`ratio gitcfg / node:http = ${ratio.toFixed(2)} (target >= ${TARGET_RATIO})`);
  console.log(
    `ratio express-routed / node:http = ${(rps('express') / rps('raw')).toFixed(2)} (for reference)`,
  );
  console.log(
    `ratio spring Environment / gitcfg /v1/config = ${(rps('spring') / rps('gitcfg')).toFixed(2)} (target >= ${SPRING_TARGET_RATIO})`,
  );
  if (ratio < TARGET_RATIO) process.exitCode = 1;
}
