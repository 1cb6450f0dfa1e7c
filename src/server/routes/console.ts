/**
 * The web console and discovery: `GET /ui/...` (the built single-page app, public static files with strict
 * security headers), `GET /` and `GET /v1` (links; browsers are sent to the console), `GET /v1/namespaces`
 * (what the caller may read) and `GET /v1/whoami` (who the token is and what it may do).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Request, Response } from 'express';
import { ENABLE_WRITES_HINT } from '../../auth/index.js';
import type { AccessControl, Scope } from '../../auth/index.js';
import { NotFoundError, NotReadyError } from '../../errors/index.js';
import { describeRepository } from '../../snapshot/index.js';
import type { SnapshotStore } from '../../snapshot/index.js';
import { sendJson } from '../http-io.js';
import type { RouteSpec } from '../route-table.js';

/** One file of the built console, with its gzip rendering. */
interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  /** Hashed names never change content: cached for a year. The HTML is revalidated every time. */
  immutable: boolean;
}

/** The built console, held in memory (a few hundred KB). */
export interface ConsoleAssets {
  readonly files: ReadonlyMap<string, Asset>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
};

/** No inline script or style, no eval, nothing from elsewhere, never framed. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Loads the built console from `dir` (`index.html` plus hashed assets); null when it was not built. Files are
 * read once at start: requests never touch the disk, so no request path can reach outside the console.
 */
export function loadConsoleAssets(dir: string): ConsoleAssets | null {
  let index: Buffer;
  try {
    index = readFileSync(join(dir, 'index.html'));
  } catch {
    return null;
  }
  const files = new Map<string, Asset>();
  const add = (rel: string, body: Buffer) => {
    const type = TYPES[extname(rel)];
    if (!type) return;
    files.set(rel, { body, gzip: gzipSync(body, { level: 9 }), type, immutable: rel !== 'index.html' });
  };
  add('index.html', index);
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub))) {
      const path = join(dir, sub, name);
      // Assets are flat (`/ui/assets/:file`): a sub-folder is not served.
      if (statSync(path).isFile()) add(`${sub}/${name}`, readFileSync(path));
    }
  };
  try {
    walk('assets');
  } catch {
    // No assets folder: a page without scripts still loads.
  }
  return { files };
}

function sendAsset(req: Request, res: Response, asset: Asset): void {
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? asset.gzip : asset.body;
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': asset.type,
    'Content-Length': String(body.length),
    'Cache-Control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    Vary: 'Accept-Encoding',
    ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** A scope as the tokens file spells it. */
function scopeText(scope: Scope): string {
  return scope.kind === 'admin' ? 'admin' : `${scope.kind}:${scope.namespace}/${scope.environment}`;
}

export interface ConsoleRouteDeps {
  store: SnapshotStore;
  access: AccessControl;
  /** The built console; null: `/ui/` is off (`--no-ui`) or was not built. */
  assets: ConsoleAssets | null;
  /** Why the console is not served, for its 404 (e.g. "started with --no-ui"). */
  offReason?: string;
}

export function consoleRoutes(deps: ConsoleRouteDeps): RouteSpec[] {
  const { store, access, assets } = deps;
  const links = {
    namespaces: '/v1/namespaces',
    status: '/v1/status',
    whoami: '/v1/whoami',
    openapi: 'docs/openapi.yaml in the gitcfg package',
    ...(assets ? { console: '/ui/' } : {}),
  };
  const index = (_req: Request, res: Response) =>
    sendJson(res, 200, { name: 'gitcfg', links }, { Vary: 'Accept' });
  const uiFile = (rel: string) => (req: Request, res: Response) => {
    const asset = assets?.files.get(rel);
    if (!asset) {
      throw new NotFoundError('console file', assets ? `/ui/${rel}` : (deps.offReason ?? 'console is off'));
    }
    sendAsset(req, res, asset);
  };
  return [
    {
      method: 'GET',
      path: '/',
      access: { kind: 'public' },
      summary: 'links to the API; a browser (Accept: text/html) is redirected to the console',
      handler: (req, res) => {
        if (assets && /\btext\/html\b/.test(String(req.headers.accept ?? ''))) {
          res.writeHead(302, { Location: '/ui/', 'Cache-Control': 'no-cache', Vary: 'Accept' });
          res.end();
          return;
        }
        index(req, res);
      },
    },
    {
      method: 'GET',
      path: '/v1',
      access: { kind: 'public' },
      summary: 'links to the API',
      handler: index,
    },
    {
      method: 'GET',
      path: '/ui',
      access: { kind: 'public' },
      summary: 'redirect to /ui/',
      handler: (_req, res) => {
        if (!assets) throw new NotFoundError('console', deps.offReason ?? 'console is off');
        res.writeHead(301, { Location: '/ui/', 'Cache-Control': 'no-cache' });
        res.end();
      },
    },
    {
      method: 'GET',
      path: '/ui/',
      access: { kind: 'public' },
      summary: 'the web console (static page, no configuration data)',
      handler: uiFile('index.html'),
    },
    {
      method: 'GET',
      path: '/ui/assets/:file',
      access: { kind: 'public' },
      summary: 'the web console: scripts and styles (hashed names)',
      handler: (req, res) => uiFile(`assets/${String(req.params.file)}`)(req, res),
    },
    {
      method: 'GET',
      path: '/v1/namespaces',
      access: { kind: 'token' },
      summary: 'namespaces and environments the caller may read (descriptions, schema versions, extends)',
      handler: (_req, res, { guard }) => {
        const snapshot = store.current;
        if (!snapshot) throw new NotReadyError();
        sendJson(res, 200, describeRepository(snapshot, guard.canRead), {
          'Gitcfg-Commit': snapshot.commit,
        });
      },
    },
    {
      method: 'GET',
      path: '/v1/whoami',
      access: { kind: 'token' },
      summary: 'the caller: token name, email and scopes (or that the server has no tokens)',
      handler: (_req, res, { guard }) => {
        const principal = guard.principal;
        if (!access.enabled) {
          sendJson(res, 200, { tokens: false, name: null, scopes: [], writes: ENABLE_WRITES_HINT });
          return;
        }
        sendJson(res, 200, {
          tokens: true,
          name: principal?.name ?? null,
          email: principal?.email ?? null,
          scopes: (principal?.scopes ?? []).map(scopeText),
        });
      },
    },
  ];
}
