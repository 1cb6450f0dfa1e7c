/** The client address a request is limited by: the socket's peer, or `X-Forwarded-For` through trusted proxies. */
import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import { UsageError } from '../errors/index.js';

/** Which proxies may name the client: none (default), a hop count, or addresses/CIDRs (`loopback`, `10.0.0.0/8`). */
export type TrustProxy = (addr: string, hop: number) => boolean;

/** Parses `--trust-proxy`: `off`, a number of hops, or a comma-separated list of addresses, CIDRs or presets. */
export function parseTrustProxy(text: string | undefined): TrustProxy | null {
  const t = (text ?? 'off').trim();
  if (t === '' || t === 'off' || t === 'false') return null;
  if (/^\d+$/.test(t)) {
    const hops = Number(t);
    return (_addr, hop) => hop < hops;
  }
  try {
    return proxyaddr.compile(t.split(',').map((s) => s.trim()));
  } catch (err) {
    throw new UsageError(`invalid --trust-proxy "${t}": ${(err as Error).message}`);
  }
}

/** The address of the client of `req`. */
export function clientAddress(req: IncomingMessage, trust: TrustProxy | null): string {
  if (!trust) return req.socket.remoteAddress ?? 'unknown';
  return proxyaddr(req, trust);
}
