/**
 * Baseline of the fan-out benchmark, run as a child process: a bare `node:http` server holding event streams
 * (`GET /events`) and writing one promotion event to all of them on `POST /fire` (answers `{"at": <ms>}`, the
 * wall-clock time the writes began). Prints `{"url": ...}` when listening.
 *
 *   node --import tsx bench/lib/raw-sse-server.ts [--host 127.0.0.2]
 */
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { host: { type: 'string', default: '127.0.0.1' } } });
const streams = new Set<ServerResponse>();
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url?.startsWith('/events')) {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    streams.add(res);
    res.once('close', () => streams.delete(res));
    return;
  }
  if (req.method === 'POST' && req.url === '/fire') {
    const at = Date.now();
    const event = { commit: 'c'.repeat(40), previousCommit: 'p'.repeat(40), changed: [] };
    for (const stream of streams) {
      stream.write(`id: ${event.commit}\nevent: promotion\ndata: ${JSON.stringify(event)}\n\n`);
    }
    res
      .writeHead(200, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ at, streams: streams.size }));
    return;
  }
  res.writeHead(404).end();
});
server.maxConnections = 100_000;
server.listen(0, values.host, () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://${values.host}:${port}` })}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => {
  server.close();
  server.closeAllConnections();
});
