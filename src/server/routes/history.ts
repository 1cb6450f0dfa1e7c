/**
 * Audit routes: `GET /v1/history/:namespace/:env` (commits that changed the effective config, newest first) and
 * `GET /v1/diff?from=&to=[&env=]` (effective changes between two commits). A diff reads names of other commits
 * than the served one: the caller must be allowed to read every pair the answer mentions.
 */
import type { Request } from 'express';
import { NotReadyError, UsageError } from '../../errors/index.js';
import type { AuditQueries } from '../../history/index.js';
import type { SnapshotStore } from '../../snapshot/index.js';
import { queryParam, sendJson } from '../http-io.js';
import type { RouteSpec } from '../route-table.js';

/** What the audit routes need. */
export interface HistoryRouteDeps {
  history: AuditQueries;
  store: SnapshotStore;
}

/** The audit routes. */
export function historyRoutes(deps: HistoryRouteDeps): RouteSpec[] {
  // Both answer about the served commit: without a snapshot there is nothing to answer about yet.
  const served = () => {
    const snapshot = deps.store.current;
    if (!snapshot) throw new NotReadyError();
    return snapshot;
  };
  const param = (req: Request, name: string) => String(req.params[name]);
  return [
    {
      method: 'GET',
      path: '/v1/history/:namespace/:env',
      access: { kind: 'read', namespaceParam: 'namespace', envParam: 'env' },
      summary: 'commits that changed the effective config of a pair',
      limit: 'expensive',
      handler: async (req, res) => {
        const at = served().commit;
        const limitParam = queryParam(req, 'limit');
        if (limitParam !== undefined && !/^[0-9]+$/.test(limitParam))
          throw new UsageError(`limit must be a positive integer: ${limitParam}`);
        const before = queryParam(req, 'before');
        const page = await deps.history.history(param(req, 'namespace'), param(req, 'env'), {
          at,
          ...(limitParam !== undefined ? { limit: Number(limitParam) } : {}),
          ...(before !== undefined ? { before } : {}),
        });
        sendJson(res, 200, page, { 'Cache-Control': 'no-cache' });
      },
    },
    {
      method: 'GET',
      path: '/v1/diff',
      access: { kind: 'read-checked' },
      summary: 'effective changes between two commits (read on every pair involved)',
      limit: 'expensive',
      handler: async (req, res, { guard }) => {
        const snapshot = served();
        const from = queryParam(req, 'from');
        if (from === undefined || from === '') throw new UsageError('missing query parameter from');
        const to = queryParam(req, 'to') || snapshot.commit;
        const env = queryParam(req, 'env');
        // A diff spans every namespace (of one environment with ?env=) of the served commit...
        for (const e of env !== undefined ? [env] : snapshot.environments) {
          for (const ns of snapshot.namespaces) guard.read(ns, e);
        }
        const diff = await deps.history.diff(from, to, env !== undefined ? { environment: env } : {});
        // ...and of both commits it compares, which may have names the served one no longer has.
        for (const pair of diff.pairs) guard.read(pair.namespace, pair.environment);
        for (const key of [...diff.invalid.from, ...diff.invalid.to]) {
          const [ns, e] = key.split('/') as [string, string];
          guard.read(ns, e);
        }
        sendJson(res, 200, diff, { 'Cache-Control': 'no-cache' });
      },
    },
  ];
}
