/**
 * Pins (admin): `POST /v1/pins {env, commit}` serves that valid commit for `env` at once (even with the remote
 * down), `DELETE /v1/pins/:env` lifts it, `GET /v1/pins` lists them. Persisted in the data dir.
 */
import type { Express } from 'express';
import { ForbiddenError, NotFoundError, UsageError } from '../../errors/index.js';
import { guarded, principalOf, readBody, sendJson } from './access.js';
import type { RouteContext } from './access.js';

/** Registers the pin routes. */
export function registerPinRoutes(app: Express, ctx: RouteContext): void {
  const { writes, sync, logger } = ctx;
  const store = () => {
    if (!writes.pins) throw new ForbiddenError('this server keeps no pins');
    return writes.pins;
  };

  app.get(
    '/v1/pins',
    guarded(logger, async (_req, res) => {
      sendJson(res, 200, { pins: writes.pins?.list() ?? [] });
    }),
  );

  app.post(
    '/v1/pins',
    guarded(logger, async (req, res) => {
      const principal = principalOf(res);
      writes.access.authorizeAdmin(principal);
      const pins = store();
      let body: { env?: unknown; commit?: unknown };
      try {
        body = JSON.parse((await readBody(req, 64 * 1024)).toString('utf8')) as typeof body;
      } catch (err) {
        if (err instanceof SyntaxError) throw new UsageError('the body is not valid JSON');
        throw err;
      }
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
        by: principal?.name ?? 'unknown',
      };
      await pins.set(pin);
      logger.info({ env: pin.env, commit: pin.commit, by: pin.by }, 'environment pinned');
      sendJson(res, 201, pin, { 'Gitcfg-Pinned': pin.commit });
    }),
  );

  app.delete(
    '/v1/pins/:env',
    guarded(logger, async (req, res) => {
      const principal = principalOf(res);
      writes.access.authorizeAdmin(principal);
      const env = String(req.params.env);
      if (!(await store().delete(env))) throw new NotFoundError('pin', env);
      logger.info({ env, by: principal?.name }, 'environment unpinned');
      res.removeHeader('Gitcfg-Pinned');
      res.writeHead(204, { 'Cache-Control': 'no-store' });
      res.end();
    }),
  );
}
