/**
 * Rollouts: the controls (admin), the client inventory of an environment (a read somewhere in it), and the
 * signals that abort a rollout: Alertmanager's webhook (bearer token) and a generic HMAC-signed signal.
 */
import type { Request } from 'express';
import {
  ForbiddenError,
  NotFoundError,
  NotReadyError,
  RateLimitedError,
  UnauthorizedError,
  UsageError,
} from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { ServerMetrics } from '../../metrics/index.js';
import type { RevertAuthor, RolloutService } from '../../rollouts/index.js';
import type { SnapshotStore } from '../../snapshot/index.js';
import { parseAlertmanager, verifyBearer, verifySignature } from '../../webhooks/index.js';
import type { SignalSettings } from '../../webhooks/index.js';
import { parseJsonBody, readBody, sendJson } from '../http-io.js';
import { applyLimit } from '../route-table.js';
import type { RouteSpec, RouteTableDeps } from '../route-table.js';

export interface RolloutRouteDeps {
  rollouts?: RolloutService | undefined;
  store: SnapshotStore;
  logger: Logger;
  metrics: ServerMetrics;
  table: RouteTableDeps;
  signals?: SignalSettings | undefined;
  /** Largest accepted signal body (bytes). */
  bodyLimit: number;
}

const ACTIONS = ['pause', 'resume', 'promote', 'abort'] as const;

/** Author of an abort's revert commit made for a signal. */
const signalAuthor = (name: string): RevertAuthor => ({ name, email: `${name}@signals.gitcfg.invalid` });

export function rolloutRoutes(deps: RolloutRouteDeps): RouteSpec[] {
  const { logger, store } = deps;
  const service = (): RolloutService => {
    if (!deps.rollouts) throw new ForbiddenError('this server runs no rollouts');
    return deps.rollouts;
  };

  /**
   * Aborts the rollouts of the environments a signal from `name` names (the others are acknowledged and
   * ignored) and answers which.
   */
  async function answerSignal(
    res: Parameters<typeof sendJson>[0],
    name: string,
    signals: Array<{ env: string; reason: string }>,
  ): Promise<void> {
    const aborted: Array<{ env: string; revert: unknown }> = [];
    const ignored: string[] = [];
    for (const { env, reason } of signals) {
      if (!deps.rollouts?.abortable(env)) {
        if (!ignored.includes(env)) ignored.push(env);
        continue;
      }
      const result = await deps.rollouts.abort(env, signalAuthor(name), reason);
      aborted.push({ env, revert: result.revert });
    }
    deps.metrics.webhookDeliveries.inc({ provider: name, outcome: 'accepted' });
    logger.info({ signal: name, aborted: aborted.map((a) => a.env), ignored }, 'rollout signal');
    sendJson(res, 200, { aborted, ignored });
  }

  /** A refused signature costs one token of the bad-signature bucket of the address; a good one, of its own. */
  function limitSignal(req: Request, res: Parameters<typeof applyLimit>[3], ok: boolean, name: string) {
    const limits = deps.table.limits;
    if (!ok) {
      if (limits) {
        const admission = limits.takeBadSignature(req);
        if (!admission.allowed) {
          deps.table.onLimited?.('webhook', 'anonymous');
          throw new RateLimitedError('webhook', admission.retryAfterSeconds, admission.headers);
        }
      }
      deps.metrics.webhookDeliveries.inc({ provider: name, outcome: 'unauthorized' });
      throw new UnauthorizedError(`the ${name} signal is not authenticated`);
    }
    applyLimit(deps.table, 'webhook', { key: `signal:${name}`, label: name }, res);
  }

  return [
    {
      method: 'GET',
      path: '/v1/rollouts',
      access: { kind: 'admin' },
      limit: 'cheap',
      summary: 'running and recent rollouts: share, step, next step, clients per commit',
      handler: (_req, res) =>
        sendJson(res, 200, { rollouts: deps.rollouts?.list() ?? [] }, { 'Cache-Control': 'no-store' }),
    },
    ...ACTIONS.map((action): RouteSpec => ({
      method: 'POST',
      path: `/v1/rollouts/:env/${action}`,
      access: { kind: 'admin' },
      summary:
        action === 'abort'
          ? 'abort a rollout: everyone back on the stable, and a revert commit on the branch'
          : `${action} a rollout`,
      handler: async (req, res, { guard }) => {
        const env = String(req.params.env);
        const rollouts = service();
        const by = guard.principal;
        const name = by?.name ?? 'anonymous';
        let body: unknown;
        switch (action) {
          case 'pause':
            body = await rollouts.pause(env);
            break;
          case 'resume':
            body = await rollouts.resume(env);
            break;
          case 'promote':
            body = await rollouts.promote(env, name);
            break;
          case 'abort':
            body = await rollouts.abort(
              env,
              by ? { name: by.name, email: by.email } : signalAuthor('anonymous'),
              `aborted by ${name}`,
            );
            break;
        }
        logger.info({ env, action, by: name }, 'rollout control');
        sendJson(res, 200, body, { 'Cache-Control': 'no-store' });
      },
    })),
    {
      method: 'GET',
      path: '/v1/clients/:env',
      access: { kind: 'read-checked' },
      limit: 'cheap',
      summary:
        'clients seen recently in an environment and the commit each was served (read somewhere in it)',
      handler: (req, res, { guard }) => {
        const env = String(req.params.env);
        const snapshot = store.current;
        if (!snapshot) throw new NotReadyError();
        guard.readSomeIn(env, snapshot.namespaces);
        if (!snapshot.environments.includes(env)) throw new NotFoundError('environment', env);
        const clients = deps.rollouts?.inventory.list(env) ?? [];
        sendJson(
          res,
          200,
          {
            env,
            clients: clients.map((c) => ({ ...c, lastSeen: new Date(c.lastSeen).toISOString() })),
            byCommit: Object.fromEntries(deps.rollouts?.inventory.countByCommit(env) ?? []),
          },
          { 'Cache-Control': 'no-store' },
        );
      },
    },
    {
      method: 'POST',
      path: '/v1/webhooks/alertmanager',
      access: { kind: 'signature' },
      summary: 'Alertmanager webhook: a firing alert labelled with an environment aborts its rollout',
      handler: async (req, res) => {
        const token = deps.signals?.alertmanagerToken;
        if (!token) throw new ForbiddenError('no Alertmanager token is configured');
        limitSignal(req, res, verifyBearer(req.headers.authorization, token), 'alertmanager');
        const alerts = parseAlertmanager(await readBody(req, deps.bodyLimit), [
          ...(deps.signals?.alertmanagerLabels ?? ['env']),
        ]);
        await answerSignal(
          res,
          'alertmanager',
          alerts.map((a) => ({ env: a.env, reason: `alert ${a.alert}` })),
        );
      },
    },
    {
      method: 'POST',
      path: '/v1/webhooks/signal',
      access: { kind: 'signature' },
      summary: 'generic signed signal ({"env", "action": "abort"}, HMAC-SHA256): aborts a rollout',
      handler: async (req, res) => {
        const secret = deps.signals?.signalSecret;
        if (!secret) throw new ForbiddenError('no signal secret is configured');
        const raw = await readBody(req, deps.bodyLimit);
        limitSignal(req, res, verifySignature('generic', req.headers, raw, secret), 'signal');
        const body = parseJsonBody(raw) as { env?: unknown; action?: unknown; reason?: unknown } | null;
        if (typeof body?.env !== 'string' || body.action !== 'abort') {
          throw new UsageError(
            'the body must be {"env": "<environment>", "action": "abort", "reason"?: "..."}',
          );
        }
        const reason = typeof body.reason === 'string' ? body.reason.slice(0, 200) : 'signal';
        await answerSignal(res, 'signal', [{ env: body.env, reason }]);
      },
    },
  ];
}
