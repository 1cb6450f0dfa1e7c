/** Listening and graceful shutdown of a built app. */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerApp } from './app.js';

/** A listening server. */
export interface RunningServer {
  readonly server: Server;
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /**
   * Stops accepting connections, ends SSE streams and long-polls, lets in-flight requests finish (forcing
   * connections closed after `graceMs`) and resolves once the server is closed.
   */
  close(graceMs?: number): Promise<void>;
}

/** Listens on `host:port` (port 0 picks a free port). */
export async function listen(
  serverApp: ServerApp,
  options: { port: number; host: string },
): Promise<RunningServer> {
  const server = createServer(serverApp.handler);
  // Long-polls wait up to 60 s; keep idle keep-alive sockets a little longer than common proxies do.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  let closing: Promise<void> | null = null;
  return {
    server,
    url,
    close(graceMs = 10_000) {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets must not keep serving while we drain: answer with `Connection: close`, and drop
        // the sockets that the ended long-polls and streams leave idle.
        server.prependListener('request', (_req, res) => res.setHeader('Connection', 'close'));
        serverApp.hub.close();
        server.closeIdleConnections();
        setImmediate(() => server.closeIdleConnections());
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.once('close', () => clearTimeout(force));
      });
      return closing;
    },
  };
}
