/**
 * Rollouts section: (1) read throughput of `GET /v1/config/:ns/production` with a `Gitcfg-Client-Id` (10,000
 * ids in turn) while production rolls out (half the clients on each commit), against plain reads of the same
 * path before the rollout, same server, same run; (2) memory of the client inventory at 100,000 distinct ids
 * (bounded by its cap) against an empty one. The server runs in a child process, autocannon in this one.
 *
 *   node --import tsx bench/rollouts.ts [--duration 5] [--child]
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ClientInventory } from '../src/rollouts/index.js';
import { signPayload } from '../src/webhooks/index.js';
import { spawnJsonChild } from './lib/child.js';
import { configRepoCopy, serveCopy } from './lib/config-repo.js';
import { figure } from './lib/result.js';
import type { SectionResult } from './lib/result.js';
import { round } from './lib/stats.js';

const TARGET_RATIO = 0.8;
const SECRET = 'bench-rollouts-secret';

type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
  requests?: Array<{ setupRequest: (req: { headers?: Record<string, string> }) => object }>;
}) => Promise<{ requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number }>;

/** Options of the rollouts section. */
export interface RolloutBenchOptions {
  /** Seconds per autocannon run. */
  duration: number;
  connections: number;
  log: (line: string) => void;
}

/** Runs the section: reads in the child's server, inventory memory here. */
export async function benchRollouts(opts: RolloutBenchOptions): Promise<SectionResult> {
  const require = createRequire(import.meta.url);
  const autocannon = require('autocannon') as Autocannon;
  const child = await spawnJsonChild<{ url: string }>('bench/rollouts.ts', ['--child']);
  try {
    const { url } = child.ready;
    await autocannon({ url, connections: opts.connections, duration: 1 });
    // The same request generator for both runs (a header per request, 10,000 values): only its name differs.
    const load = (header: string) => {
      let n = 0;
      return autocannon({
        url,
        connections: opts.connections,
        duration: opts.duration,
        requests: [
          {
            setupRequest: (req) => ({ ...req, headers: { ...req.headers, [header]: `pod-${n++ % 10_000}` } }),
          },
        ],
      });
    };
    const plain = await load('x-request');
    child.proc.stdin!.write('rollout\n');
    const started = await child.next<{ rollout: string }>();
    const withIds = await load('gitcfg-client-id');
    if (plain.non2xx || withIds.non2xx) throw new Error('non-2xx answers in the rollout bench');
    const ratio = withIds.requests.average / plain.requests.average;
    opts.log(
      `client-id'd reads during a rollout ${round(withIds.requests.average)} req/s vs plain ${round(plain.requests.average)} req/s (${ratio.toFixed(2)}x)`,
    );
    const memory = inventoryMemory();
    opts.log(
      `inventory: ${memory.entries} entries kept of 100,000 ids, ${round(memory.bytes / 1024 / 1024, 1)} MiB (${round(memory.bytes / memory.entries)} B/entry)`,
    );
    return {
      section: 'rollouts',
      figures: [
        figure(
          'GET /v1/config with Gitcfg-Client-Id during a rollout',
          'req/s',
          round(withIds.requests.average),
          { name: 'plain reads of the same path, same server', value: round(plain.requests.average) },
          { ratioMeaning: 'higher is better', target: `>= ${TARGET_RATIO}x`, met: ratio >= TARGET_RATIO },
        ),
        figure(
          'client inventory at 100k distinct ids',
          'MiB',
          round(memory.bytes / 1024 / 1024, 1),
          {
            name: 'a plain Map of the kept ids to their commit',
            value: round(memory.mapBytes / 1024 / 1024, 1),
          },
          { ratioMeaning: 'baseline / value (1 = no overhead)', invert: true },
        ),
      ],
      details: {
        rollout: started.rollout,
        share: 50,
        connections: opts.connections,
        duration: opts.duration,
        latencyWithIds: withIds.latency,
        latencyPlain: plain.latency,
        inventoryEntries: memory.entries,
        inventoryBytesPerEntry: round(memory.bytes / memory.entries),
      },
    };
  } finally {
    await child.stop();
  }
}

/**
 * Heap taken by an inventory fed 100,000 distinct ids (default cap), and by a plain Map of the ids it kept to
 * their commit (the least any inventory needs), each after a full GC.
 */
function inventoryMemory(): { bytes: number; entries: number; mapBytes: number } {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const commits = ['a'.repeat(40), 'b'.repeat(40)];
  const id = (i: number): string => `pod-${i}-${'x'.repeat(16)}`;
  const heapAfter = (fill: () => unknown): { bytes: number; kept: unknown } => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept = fill();
    gc();
    return { bytes: process.memoryUsage().heapUsed - before, kept };
  };
  const inv = heapAfter(() => {
    const inventory = new ClientInventory();
    for (let i = 0; i < 100_000; i++) inventory.seen('production', id(i), commits[i % 2]!);
    return inventory;
  });
  const entries = (inv.kept as ClientInventory).size;
  const map = heapAfter(() => {
    const m = new Map<string, string>();
    for (let i = 100_000 - entries; i < 100_000; i++) m.set(id(i), commits[i % 2]!);
    return m;
  });
  return { bytes: inv.bytes, entries, mapBytes: map.bytes };
}

/** The child: one server of config-repo/ with a rollout policy on production; `rollout` on stdin starts one. */
async function child(): Promise<void> {
  const { work, git } = configRepoCopy('gitcfg-bench-rollouts-', (dir) => {
    const manifest = join(dir, 'gitcfg.yaml');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8').replace(
        '  production:\n    description: Live traffic.\n',
        '  production:\n    description: Live traffic.\n    rollout: {steps: [50, 100], stepDuration: 1h}\n',
      ),
    );
  });
  const handle = await serveCopy(work, { env: { GITCFG_WEBHOOK_SECRET_GENERIC: SECRET } });
  const bundle = (await (await fetch(`${handle.url}/v1/bundle/production`)).json()) as Record<
    string,
    unknown
  >;
  const url = `${handle.url}/v1/config/${Object.keys(bundle)[0]}/production`;
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line !== 'rollout') return;
    void (async () => {
      const file = join(work, 'environments/production/ai-provider.yaml');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace('fallback_after_failures: 5', 'fallback_after_failures: 6'),
      );
      git('commit', '--quiet', '-am', 'fallback after 6');
      const body = Buffer.from('{}');
      await fetch(`${handle.url}/v1/webhooks/generic`, {
        method: 'POST',
        headers: {
          'x-gitcfg-signature': signPayload('generic', SECRET, body),
          'content-type': 'application/json',
        },
        body,
      });
      // Admin routes need a tokens file: the rollout shows in the header of a client-id'd read.
      const rollout = async () =>
        (await fetch(url, { headers: { 'gitcfg-client-id': 'probe' } })).headers.get('gitcfg-rollout');
      let r = await rollout();
      for (let i = 0; i < 400 && !r; i++) {
        await new Promise((res) => setTimeout(res, 25));
        r = await rollout();
      }
      if (!r) throw new Error('the rollout did not start');
      process.stdout.write(`${JSON.stringify({ rollout: r })}\n`);
    })();
  });
  lines.on('close', () => {
    void handle.close().then(() => rmSync(work, { recursive: true, force: true }));
  });
}

// Not strict: imported by bench/run.ts, whose own flags are in argv too.
const { values } = parseArgs({
  options: { child: { type: 'boolean', default: false }, duration: { type: 'string', default: '5' } },
  strict: false,
});
if (values.child) await child();
else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await benchRollouts({
    duration: Number(values.duration),
    connections: 50,
    log: console.log,
  });
  console.log(JSON.stringify(result, null, 2));
}
