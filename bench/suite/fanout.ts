/**
 * Watch fan-out section: N idle SSE watchers (`GET /v1/events?env=production`, spread over several client
 * processes so no process needs more than a few thousand sockets) on `gitcfg serve`, all told of one promotion;
 * against a bare `node:http` server writing the same kind of event to the same number of streams.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { postGenericWebhook, rssOf, startServeProcess } from '../../test/faults/serve-process.js';
import { compileSources } from '../lib/compile.js';
import { spawnJsonChild } from '../lib/child.js';
import { configRepoCopy } from '../lib/config-repo.js';
import type { JsonChild } from '../lib/child.js';
import { figure } from '../lib/result.js';
import type { SectionResult } from '../lib/result.js';
import { round } from '../lib/stats.js';

const SECRET = 'bench-fanout-secret';

/** Options of the fan-out section. */
export interface FanoutOptions {
  watchers: number;
  /** Client processes the watchers are spread over. */
  processes: number;
  log: (line: string) => void;
}

interface Told {
  received: number;
  first: number | null;
  last: number | null;
}

/** Connects `total` watchers to `url` over `processes` client processes; resolves once all are open. */
async function connectWatchers(
  url: string,
  total: number,
  processes: number,
): Promise<JsonChild<{ connected: number; errors: number }>[]> {
  const per = Math.ceil(total / processes);
  const clients = await Promise.all(
    Array.from({ length: processes }, (_, i) =>
      spawnJsonChild<{ connected: number; errors: number }>(
        'bench/lib/sse-clients.ts',
        ['--url', url, '--count', String(Math.min(per, total - i * per))],
        { raiseFdLimit: true },
      ),
    ),
  );
  const connected = clients.reduce((s, c) => s + c.ready.connected, 0);
  if (connected !== total) {
    await Promise.all(clients.map((c) => c.stop()));
    throw new Error(`only ${connected} of ${total} watchers connected`);
  }
  return clients;
}

async function collect(
  clients: JsonChild<unknown>[],
): Promise<{ received: number; last: number; first: number }> {
  const told = await Promise.all(clients.map((c) => c.next<Told>()));
  return {
    received: told.reduce((s, t) => s + t.received, 0),
    first: Math.min(...told.map((t) => t.first ?? Infinity)),
    last: Math.max(...told.map((t) => t.last ?? -Infinity)),
  };
}

/** Runs the fan-out section. */
export async function benchFanout(opts: FanoutOptions): Promise<SectionResult> {
  // Baseline first, on another loopback address, so the two runs never compete for ephemeral ports.
  const raw = await spawnJsonChild<{ url: string }>('bench/lib/raw-sse-server.ts', ['--host', '127.0.0.2'], {
    raiseFdLimit: true,
  });
  let rawResult: { told: number; fanoutMs: number };
  try {
    const clients = await connectWatchers(`${raw.ready.url}/events`, opts.watchers, opts.processes);
    try {
      const fired = (await (await fetch(`${raw.ready.url}/fire`, { method: 'POST' })).json()) as {
        at: number;
      };
      const told = await collect(clients);
      rawResult = { told: told.received, fanoutMs: told.last - fired.at };
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
  } finally {
    await raw.stop();
  }
  opts.log(
    `  fan-out raw node:http: ${rawResult.told} of ${opts.watchers} told within ${rawResult.fanoutMs} ms`,
  );

  const { work, git } = configRepoCopy('gitcfg-bench-fanout-');
  let server: Awaited<ReturnType<typeof startServeProcess>> | null = null;
  try {
    server = await startServeProcess({
      repo: work,
      dataDir: join(work, '.data'),
      cwd: work,
      env: { GITCFG_WEBHOOK_SECRET_GENERIC: SECRET },
      raiseFdLimit: true,
      cliMain: compileSources(opts.log),
    });
    const base = server.url;
    for (let i = 0; i < 400; i++) {
      const s = (await (await fetch(`${base}/v1/status`)).json()) as { served: unknown };
      if (s.served) break;
      await sleep(50);
    }
    const clients = await connectWatchers(`${base}/v1/events?env=production`, opts.watchers, opts.processes);
    try {
      const before = (await (await fetch(`${base}/v1/status`)).json()) as { watchers: { sse: number } };
      if (before.watchers.sse !== opts.watchers)
        throw new Error(`server counts ${before.watchers.sse} watchers, expected ${opts.watchers}`);
      const rssIdle = rssOf(server.pid);
      git('commit', '--quiet', '--allow-empty', '-m', 'promote');
      const head = git('rev-parse', 'HEAD');
      const sent = Date.now();
      const res = await postGenericWebhook(base, SECRET);
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
      const told = await collect(clients);
      const status = (await (await fetch(`${base}/v1/status`)).json()) as {
        served: { commit: string; promotedAt: string };
      };
      if (status.served.commit !== head) throw new Error('the new commit was not promoted');
      const promotedAt = Date.parse(status.served.promotedAt);
      const fanoutMs = told.last - promotedAt;
      opts.log(
        `  fan-out gitcfg: ${told.received} of ${opts.watchers} told within ${fanoutMs} ms of the promotion (${told.last - sent} ms after the webhook); rss ${(rssIdle / 1048576).toFixed(0)} MB with ${opts.watchers} idle watchers`,
      );
      return {
        section: 'fanout',
        figures: [
          figure(
            `${opts.watchers} idle SSE watchers: promotion -> last watcher told`,
            'ms',
            fanoutMs,
            {
              name: `bare node:http writing one event to ${opts.watchers} streams`,
              value: rawResult.fanoutMs,
            },
            {
              ratioMeaning: 'gitcfg / baseline (lower is better)',
              target: 'all told < 1 s',
              met: told.received === opts.watchers && fanoutMs < 1000,
            },
          ),
        ],
        details: {
          watchers: opts.watchers,
          clientProcesses: opts.processes,
          told: told.received,
          baselineTold: rawResult.told,
          promotionToFirstMs: told.first - promotedAt,
          promotionToLastMs: fanoutMs,
          webhookToLastMs: told.last - sent,
          serverRssWithWatchersMb: round(rssIdle / 1048576),
        },
      };
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
  } finally {
    await server?.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
}
