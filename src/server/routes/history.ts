/**
 * Audit routes: `GET /v1/history/:namespace/:env` (commits that changed the effective config, newest first) and
 * `GET /v1/diff?from=&to=[&env=]` (effective changes between two commits). Both read the served snapshot's
 * commit and delegate to the history module; errors go to the app's error handler.
 */
import type { Express, Request, Response } from 'express';
import { UsageError } from '../../errors/index.js';
import type { AuditQueries } from '../../history/index.js';
import type { SnapshotStore } from '../../snapshot/index.js';

/** What the audit routes need. */
export interface HistoryRouteDeps {
  history: AuditQueries;
  store: SnapshotStore;
}

function query(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UsageError(`query parameter ${name} must be given once`);
  return value;
}

function send(res: Response, body: unknown, status = 200): void {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(bytes.length),
    'Cache-Control': 'no-cache',
  });
  res.end(bytes);
}

/** Registers the audit routes on `app` (before its 404 fallback). */
export function registerHistoryRoutes(app: Express, deps: HistoryRouteDeps): void {
  // Both answer about the served commit: without a snapshot there is nothing to answer about yet.
  const notReady = (res: Response): boolean => {
    if (deps.store.current) return false;
    send(res, { error: { code: 'E_NOT_READY', message: 'no snapshot loaded yet' } }, 503);
    return true;
  };

  app.get('/v1/history/:namespace/:env', async (req, res) => {
    if (notReady(res)) return;
    const limitParam = query(req, 'limit');
    if (limitParam !== undefined && !/^[0-9]+$/.test(limitParam))
      throw new UsageError(`limit must be a positive integer: ${limitParam}`);
    const before = query(req, 'before');
    const page = await deps.history.history(String(req.params.namespace), String(req.params.env), {
      at: deps.store.current!.commit,
      ...(limitParam !== undefined ? { limit: Number(limitParam) } : {}),
      ...(before !== undefined ? { before } : {}),
    });
    send(res, page);
  });

  app.get('/v1/diff', async (req, res) => {
    if (notReady(res)) return;
    const from = query(req, 'from');
    if (from === undefined || from === '') throw new UsageError('missing query parameter from');
    const to = query(req, 'to') || deps.store.current!.commit;
    const env = query(req, 'env');
    send(res, await deps.history.diff(from, to, env !== undefined ? { environment: env } : {}));
  });
}
