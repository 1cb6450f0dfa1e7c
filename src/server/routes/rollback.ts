/**
 * `POST /v1/rollback` (admin): `{namespace, to, env?, message?, dryRun?}` restores a namespace's files to their
 * content at `to` as one commit; `{revert, namespace?, message?, dryRun?}` reverts one commit (409 with the
 * conflicting paths when they changed since).
 */
import { ForbiddenError, UsageError } from '../../errors/index.js';
import type { JsonObject } from '../../engine/index.js';
import { parseJsonBody, readBody } from '../http-io.js';
import type { RouteSpec } from '../route-table.js';
import { authorOf, committing, sendEditResult } from './edits.js';
import type { WriteRouteDeps } from './edits.js';

function field(body: JsonObject, name: string, required: boolean): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (required) throw new UsageError(`missing field ${name}`);
    return undefined;
  }
  if (typeof value !== 'string' || value === '')
    throw new UsageError(`field ${name} must be a non-empty string`);
  return value;
}

/** The rollback route. */
export function rollbackRoutes(deps: WriteRouteDeps): RouteSpec[] {
  const { logger } = deps;
  const route: RouteSpec = {
    method: 'POST',
    path: '/v1/rollback',
    access: { kind: 'admin' },
    summary: 'restore a namespace to an earlier commit, or revert one commit',
    handler: async (req, res, { guard }) => {
      const principal = guard.principal;
      const edits = deps.edits;
      if (!edits) throw new ForbiddenError('this server accepts no edits');
      const body = parseJsonBody(await readBody(req, deps.bodyLimit ?? 1024 * 1024)) as JsonObject;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new UsageError('the body must be a JSON object');
      }
      const allowed = new Set(['namespace', 'to', 'env', 'message', 'dryRun', 'revert']);
      const unknown = Object.keys(body).filter((k) => !allowed.has(k));
      if (unknown.length > 0) throw new UsageError(`unknown field(s): ${unknown.join(', ')}`);
      if (body.dryRun !== undefined && typeof body.dryRun !== 'boolean')
        throw new UsageError('dryRun must be a boolean');
      const dryRun = body.dryRun === true;
      const message = field(body, 'message', false);
      const revert = field(body, 'revert', false);
      const author = authorOf(principal);
      let result;
      if (revert !== undefined) {
        if (body.to !== undefined || body.env !== undefined)
          throw new UsageError('revert cannot be combined with to or env');
        const namespace = field(body, 'namespace', false);
        result = await committing(() =>
          edits.revert({
            commit: revert,
            dryRun,
            author,
            ...(namespace !== undefined ? { namespace } : {}),
            ...(message !== undefined ? { message } : {}),
          }),
        );
      } else {
        const env = field(body, 'env', false);
        result = await committing(() =>
          edits.rollback({
            namespace: field(body, 'namespace', true)!,
            to: field(body, 'to', true)!,
            dryRun,
            author,
            ...(env !== undefined ? { env } : {}),
            ...(message !== undefined ? { message } : {}),
          }),
        );
      }
      logger.info(
        {
          by: principal?.name,
          revert: revert ?? null,
          commit: result.commit,
          committed: result.committed,
          dryRun,
        },
        revert !== undefined ? 'revert' : 'rollback',
      );
      sendEditResult(res, result);
    },
  };
  return [route];
}
