/**
 * Read routes: probes and metrics (public), status (any token), configs, bundles and schemas (scoped reads),
 * long-poll and SSE watchers (a read somewhere in the environment), and webhooks (their own signatures).
 */
import type { Request } from 'express';
import { NotFoundError, NotReadyError, RateLimitedError, UsageError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { ServerMetrics } from '../../metrics/index.js';
import { currentVersion, renderDocument } from '../../snapshot/index.js';
import type { RenderedDocument, SnapshotStore } from '../../snapshot/index.js';
import type { PinStore } from '../../edits/index.js';
import { WEBHOOK_PROVIDERS } from '../../webhooks/index.js';
import type { WebhookProvider, WebhookReceiver } from '../../webhooks/index.js';
import { isCommitId } from '../../cluster/index.js';
import type { Fleet } from '../../cluster/index.js';
import { clientIdOf, minCommitOf } from '../config-reader.js';
import type { ConfigReader, ReaderSync } from '../config-reader.js';
import { formatOf, queryParam, sendJson, writeRendered } from '../http-io.js';
import { applyLimit } from '../route-table.js';
import type { RouteSpec, RouteTableDeps } from '../route-table.js';
import type { WatchHub } from '../watch-hub.js';

export interface ReadRouteDeps {
  store: SnapshotStore;
  sync: ReaderSync & { status(): object };
  reader: ConfigReader;
  hub: WatchHub;
  metrics: ServerMetrics;
  logger: Logger;
  webhooks: WebhookReceiver;
  pins?: PinStore | undefined;
  watch: { defaultTimeoutSeconds: number; maxTimeoutSeconds: number };
  /** The route table's limits (webhooks apply theirs once the signature is checked). */
  table: RouteTableDeps;
  /** The other replicas (`--redis`): fleet view in status, fleet-wide webhook dedupe, `/readyz?fleet=1`. */
  fleet?: AppFleet | undefined;
  /** Largest lag behind the fleet's newest commit `/readyz?fleet=1` accepts (seconds). */
  fleetMaxLagSeconds: number;
}

/** What the routes need from the fleet. */
export type AppFleet = Pick<Fleet, 'announce' | 'claimDelivery' | 'status' | 'inStep'>;

const param = (req: Request, name: string): string => String(req.params[name]);

export function readRoutes(deps: ReadRouteDeps): RouteSpec[] {
  const { store, sync, reader, hub, metrics, logger, webhooks } = deps;
  return [
    {
      method: 'GET',
      path: '/healthz',
      access: { kind: 'public' },
      summary: 'liveness',
      handler: (_req, res) => sendJson(res, 200, { status: 'ok' }, { 'Cache-Control': 'no-cache' }),
    },
    {
      method: 'GET',
      path: '/readyz',
      access: { kind: 'public' },
      summary: 'readiness: a snapshot is loaded (and with ?fleet=1, in step with the fleet)',
      handler: (req, res) => {
        const snapshot = store.current;
        if (!snapshot) throw new NotReadyError();
        const fleet = deps.fleet;
        if (queryParam(req, 'fleet') === '1' && fleet && !fleet.inStep(deps.fleetMaxLagSeconds)) {
          const { lagSeconds, newestAnnounced } = fleet.status();
          sendJson(res, 503, {
            status: 'behind-fleet',
            commit: snapshot.commit,
            newestAnnounced,
            lagSeconds,
          });
          return;
        }
        sendJson(res, 200, { status: 'ready', commit: snapshot.commit, stale: sync.isStale });
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      access: { kind: 'public' },
      summary: 'Prometheus metrics',
      handler: async (_req, res) => {
        const body = await metrics.registry.metrics();
        res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-cache' });
        res.end(body);
      },
    },
    {
      method: 'GET',
      path: '/v1/status',
      access: { kind: 'token' },
      summary: 'sync status, served and rejected commits, pins',
      handler: (_req, res) => {
        const pins = deps.pins ? { pins: deps.pins.list() } : {};
        const fleet = deps.fleet ? { fleet: deps.fleet.status() } : {};
        sendJson(res, 200, {
          ...sync.status(),
          ready: store.current !== null,
          watchers: hub.size,
          webhooks: { recent: webhooks.recentDeliveries() },
          ...pins,
          ...fleet,
        });
      },
    },
    {
      method: 'GET',
      path: '/v1/config/:namespace/:env',
      access: { kind: 'read', namespaceParam: 'namespace', envParam: 'env' },
      summary: 'merged config of a namespace in an environment',
      handler: (req, res, { guard }) =>
        reader.config(req, res, guard, param(req, 'namespace'), param(req, 'env')),
    },
    {
      method: 'GET',
      path: '/v1/bundle/:env',
      access: { kind: 'read-checked' },
      summary: 'every namespace of an environment (read on each)',
      handler: (req, res, { guard }) => reader.bundle(req, res, guard, param(req, 'env')),
    },
    {
      method: 'GET',
      path: '/v1/schemas/:namespace',
      access: { kind: 'read-checked' },
      summary: 'JSON Schema of a namespace (read in some environment)',
      handler: async (req, res, { guard }) => {
        const namespace = param(req, 'namespace');
        const ref = queryParam(req, 'ref');
        const snapshot = ref === undefined ? store.current : await sync.snapshotAt(ref);
        if (!snapshot) throw new NotReadyError();
        guard.readSomewhere(namespace, snapshot.environments);
        const schema = snapshot.schemas.get(namespace);
        if (!schema) throw new NotFoundError('namespace', namespace);
        const current = currentVersion(snapshot, namespace);
        const versionParam = queryParam(req, 'version');
        let document: RenderedDocument = schema;
        let version = current;
        if (versionParam !== undefined && Number(versionParam) !== current) {
          const old = snapshot.versions.get(namespace)?.oldSchemas[versionParam];
          if (!/^\d+$/.test(versionParam) || !old) {
            throw new UsageError(
              `no schema of version ${versionParam} for ${namespace} (current: ${current})`,
            );
          }
          document = renderDocument(old);
          version = Number(versionParam);
        }
        const format = formatOf(req);
        const headers: Record<string, string> = {
          'Gitcfg-Commit': snapshot.commit,
          'Gitcfg-Schema-Version': String(version),
          Vary: 'Accept',
        };
        if (ref === undefined && sync.isStale) headers['Gitcfg-Stale'] = 'true';
        writeRendered(req, res, document[format], format, headers);
      },
    },
    {
      method: 'GET',
      path: '/v1/watch/:env',
      access: { kind: 'read-checked' },
      summary: 'long-poll until the served commit changes (read somewhere in the environment)',
      limit: 'stream',
      handler: async (req, res, { guard }) => {
        const env = param(req, 'env');
        const snapshot = store.current;
        if (!snapshot) throw new NotReadyError();
        guard.readSomeIn(env, snapshot.namespaces);
        if (!snapshot.environments.includes(env)) throw new NotFoundError('environment', env);
        const since = queryParam(req, 'since') ?? null;
        // A watcher that moved from another replica never sees an older commit than it already had.
        const minCommit = minCommitOf(req);
        if (minCommit !== undefined) await reader.awaitCommit(minCommit);
        const timeoutParam = queryParam(req, 'timeout');
        let timeout = deps.watch.defaultTimeoutSeconds;
        if (timeoutParam !== undefined) {
          timeout = Number(timeoutParam);
          if (!Number.isFinite(timeout) || timeout < 0)
            throw new UsageError(`invalid timeout: ${timeoutParam}`);
        }
        timeout = Math.min(timeout, deps.watch.maxTimeoutSeconds);
        const pin = deps.pins?.get(env);
        const pinned: Record<string, string> = pin ? { 'Gitcfg-Pinned': pin.commit } : {};
        // During a rollout a watcher is told of the commit its client gets, not of every promotion.
        const clientId = clientIdOf(req);
        const target = () => reader.rolloutCommit(env, clientId);
        const event = await hub.wait(env, since, timeout * 1000, res, target);
        if (res.destroyed || res.writableEnded) return;
        if (!event) {
          res.writeHead(304, {
            'Cache-Control': 'no-cache',
            'Gitcfg-Commit': target() ?? store.current?.commit ?? '',
            ...pinned,
          });
          res.end();
          return;
        }
        sendJson(res, 200, event, { 'Gitcfg-Commit': event.commit, 'Cache-Control': 'no-cache', ...pinned });
      },
    },
    {
      method: 'GET',
      path: '/v1/events',
      access: { kind: 'read-checked' },
      summary: 'server-sent events of promotions (of one environment with ?env=)',
      limit: 'stream',
      handler: (req, res, { guard }) => {
        const env = queryParam(req, 'env') ?? null;
        const snapshot = store.current;
        if (env !== null) guard.readSomeIn(env, snapshot?.namespaces ?? []);
        else guard.readAny(snapshot?.namespaces ?? [], snapshot?.environments ?? []);
        const lastEventId = req.get('last-event-id') ?? queryParam(req, 'since') ?? null;
        const clientId = clientIdOf(req);
        hub.stream(
          res,
          env,
          lastEventId,
          env === null ? undefined : () => reader.rolloutCommit(env, clientId),
        );
      },
    },
    {
      method: 'POST',
      path: '/v1/webhooks/:provider',
      access: { kind: 'signature' },
      summary: 'signed push notifications from a git host',
      handler: async (req, res) => {
        const provider = param(req, 'provider');
        if (!(WEBHOOK_PROVIDERS as readonly string[]).includes(provider)) {
          throw new NotFoundError('webhook provider', provider);
        }
        const p = provider as WebhookProvider;
        const body = webhooks.enabled(p) ? await readWebhookBody(req, webhooks.bodyLimit) : Buffer.alloc(0);
        let decision = body === null ? webhooks.tooLarge() : webhooks.receive(p, req.headers, body);
        const limits = deps.table.limits;
        if (limits && decision.outcome === 'unauthorized') {
          // An unsigned flood costs one HMAC each, counted per address.
          const admission = limits.takeBadSignature(req);
          if (!admission.allowed) {
            deps.table.onLimited?.('webhook', 'anonymous');
            throw new RateLimitedError('webhook', admission.retryAfterSeconds, admission.headers);
          }
        } else if (decision.event) {
          // A signed delivery is limited per provider; over the limit it answers 429 so the git host retries.
          applyLimit(deps.table, 'webhook', { key: `webhook:${provider}`, label: provider }, res);
        }
        // A delivery id is accepted once fleet-wide (each git host delivers to one replica, but retries may not).
        const deliveryId = decision.event?.deliveryId;
        if (decision.outcome === 'accepted' && deliveryId !== undefined && deps.fleet) {
          if (!(await deps.fleet.claimDelivery(`${provider}:${deliveryId}`))) {
            decision = {
              ...decision,
              outcome: 'duplicate',
              body: { status: 'duplicate', deliveryId },
            };
          }
        }
        metrics.webhookDeliveries.inc({ provider, outcome: decision.outcome });
        webhooks.record(p, decision, new Date());
        // Never log headers or bodies here: they carry signatures and tokens.
        logger.info(
          {
            provider,
            outcome: decision.outcome,
            status: decision.status,
            deliveryId: decision.event?.deliveryId,
            event: decision.event?.eventName,
            refs: decision.event?.refs,
            after: decision.event?.after,
          },
          'webhook delivery',
        );
        if (decision.outcome === 'accepted') {
          // The other replicas fetch in parallel with this one instead of after its fetch.
          const after = decision.event?.after;
          deps.fleet?.announce(after !== undefined && isCommitId(after) ? after : null);
          void sync.trigger(`webhook:${provider}`);
        }
        if (body === null) res.setHeader('Connection', 'close');
        sendJson(res, decision.status, decision.body);
      },
    },
  ];
}

/** Reads a webhook body up to `limit` bytes; null when it is larger (a moderate excess is drained for the 413). */
function readWebhookBody(req: Request, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length']);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number.isFinite(declared) && declared > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      // Drain a moderately oversized body so the client reads our 413; cut off abusive ones.
      if (size > limit * 8) req.destroy();
      if (!over) chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', reject);
    // After 'end' this is a no-op; otherwise the body was cut off.
    req.on('close', () => resolve(null));
  });
}
