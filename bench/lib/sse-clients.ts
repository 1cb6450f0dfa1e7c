/**
 * Idle watchers for the fan-out benchmark, run as a child process: opens `--count` server-sent-event streams to
 * `--url`, prints `{"connected": n, "errors": e}` once every stream is open, then records when each stream
 * receives its first `event: promotion` (wall clock, ms since the epoch, comparable across processes) and prints
 * `{"received": n, "first": t, "last": t}` once all have it or `--wait` seconds after the first one.
 *
 *   node --import tsx bench/lib/sse-clients.ts --url http://127.0.0.1:8080/v1/events?env=production --count 2500
 */
import { request } from 'node:http';
import type { ClientRequest } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    count: { type: 'string', default: '2500' },
    concurrency: { type: 'string', default: '100' },
    wait: { type: 'string', default: '20' },
    deadline: { type: 'string', default: '180' },
    // Watchers come from this many loopback addresses (127.0.1.1, ...), as pods would: the server caps open
    // streams per client address (docs/limits.md), and a real fleet is many addresses.
    addresses: { type: 'string', default: '32' },
  },
});
let streamNumber = 0;
const url = new URL(values.url ?? '');
const count = Number(values.count);
const requests: ClientRequest[] = [];
const receivedAt: number[] = [];
let connected = 0;
let errors = 0;
let reported = false;
let giveUp: NodeJS.Timeout | null = null;

function report(): void {
  if (giveUp) clearTimeout(giveUp);
  if (reported) return;
  reported = true;
  const line = {
    received: receivedAt.length,
    first: receivedAt.length ? Math.min(...receivedAt) : null,
    last: receivedAt.length ? Math.max(...receivedAt) : null,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Opens one stream; resolves once its first bytes (the connection comment) arrive. */
function open(): Promise<void> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        agent: false,
        localAddress: `127.0.1.${(streamNumber++ % Number(values.addresses)) + 1}`,
      },
      (res) => {
        let buffer = '';
        let seen = false;
        let opened = false;
        res.setEncoding('utf8').on('data', (chunk: string) => {
          if (!opened) {
            opened = true;
            connected++;
            resolve();
          }
          if (seen) return;
          buffer += chunk;
          if (buffer.includes('event: promotion')) {
            seen = true;
            buffer = '';
            receivedAt.push(Date.now());
            giveUp ??= setTimeout(report, Number(values.wait) * 1000);
            if (receivedAt.length === connected) report();
          } else if (buffer.length > 4096) buffer = buffer.slice(-64);
        });
        res.on('error', () => {});
      },
    );
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end();
    requests.push(req);
  });
}

const queue = Array.from({ length: count }, (_, i) => i);
await Promise.all(
  Array.from({ length: Number(values.concurrency) }, async () => {
    while (queue.pop() !== undefined) await open();
  }),
);
process.stdout.write(`${JSON.stringify({ connected, errors })}\n`);
// Never wait forever: report whatever arrived after `--deadline` seconds.
const deadline = setTimeout(report, Number(values.deadline) * 1000);
process.stdin.resume();
process.stdin.on('end', () => {
  report();
  clearTimeout(deadline);
  for (const req of requests) req.destroy();
});
