/**
 * Pins (admin): `POST /v1/pins {env, commit}` serves that valid commit for `env` at once (even with the remote
 * down), `DELETE /v1/pins/:env` lifts it, `GET /v1/pins` lists them. Persisted in the data dir.
 */
import { ForbiddenError, NotFoundError, UsageError } from '../../errors/index.js';
import type { PinStore } from '../../edits/index.js';
import type { Logger } from '../../log/index.js';
import type { Snapshot } from '../../snapshot/index.js';
import { parseJsonBody, readBody, sendJson } from '../http-io.js';
import type { RouteSpec } from '../route-table.js';

export interface PinRouteDeps {
  pins?: PinStore | undefined;
  sync: { snapshotAt(ref: string): Promise<Snapshot> };
  logger: Logger;
}

/** The pin routes. */
export function pinRoutes(deps: PinRouteDeps): RouteSpec[] {
  const { sync, logger } = deps;
  const store = () => {
    if (!deps.pins) throw new ForbiddenError('this server keeps no pins');
    return deps.pins;
  };
  return [
    {
      method: 'GET',
      path: '/v1/pins',
      access: { kind: 'token' },
      summary: 'list pinned environments',
      handler: (_req, res) => sendJson(res, 200, { pins: deps.pins?.list() ?? [] }),
    },
    {
      method: 'POST',
      path: '/v1/pins',
      access: { kind: 'admin' },
      summary: 'pin an environment to a valid commit',
      handler: async (req, res, { guard }) => {
        const pins = store();
        const body = parseJsonBody(await readBody(req, 64 * 1024)) as {
          env?: unknown;
          commit?: unknown;
        } | null;
        if (typeof body?.env !== 'string' || typeof body.commit !== 'string' || !body.commit) {
          throw new UsageError('the body must be {"env": "<environment>", "commit": "<commit>"}');
        }
        // Builds (and caches) the snapshot of that commit: an unknown or invalid commit is refused here.
        const snapshot = await sync.snapshotAt(body.commit);
        if (!snapshot.environments.includes(body.env)) throw new NotFoundError('environment', body.env);
        const pin = {
          env: body.env,
          commit: snapshot.commit,
          pinnedAt: new Date().toISOString(),
          by: guard.principal?.name ?? 'unknown',
        };
        await pins.set(pin);
        logger.info({ env: pin.env, commit: pin.commit, by: pin.by }, 'environment pinned');
        sendJson(res, 201, pin, { 'Gitcfg-Pinned': pin.commit });
      },
    },
    {
      method: 'DELETE',
      path: '/v1/pins/:env',
      access: { kind: 'admin' },
      summary: 'lift the pin of an environment',
      handler: async (req, res, { guard }) => {
        const env = String(req.params.env);
        if (!(await store().delete(env))) throw new NotFoundError('pin', env);
        logger.info({ env, by: guard.principal?.name }, 'environment unpinned');
        res.writeHead(204, { 'Cache-Control': 'no-store' });
        res.end();
      },
    },
  ];
}
