/**
 * The route table: every route of the built app declares its access, matches case-sensitively and strictly, is
 * documented in docs/openapi.yaml with the same access, and a route that skips the declaration (or a
 * `read-checked` route that answers without checking) fails closed.
 */
import * as assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import { parse as parseYaml } from 'yaml';
import { AccessControl, hashToken, parseTokensFile, secretResolverFromEnv } from '../../src/auth/index.js';
import { createLogger } from '../../src/log/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { assertEveryRouteDeclared, buildApp, mountRoutes } from '../../src/server/index.js';
import type { RouteSpec } from '../../src/server/index.js';
import { SnapshotStore } from '../../src/snapshot/index.js';
import { WebhookReceiver } from '../../src/webhooks/index.js';
import { LogSink } from './server-fixture.js';

const logger = () => createLogger({ level: 'fatal', destination: new LogSink() });

function builtApp() {
  const store = new SnapshotStore();
  // Route enumeration needs no sync: nothing here is called.
  const sync = {
    status: () => {
      throw new Error('not called');
    },
    isStale: false,
    trigger: async () => undefined,
    snapshotAt: async () => {
      throw new Error('not called');
    },
  };
  const access = AccessControl.withTokens(
    parseTokensFile(
      `tokens:\n  - name: r\n    email: r@example.com\n    sha256: ${hashToken('t')}\n    scopes: ["read:*/*"]\n`,
    ),
  );
  return buildApp({
    store,
    sync: sync as never,
    webhooks: new WebhookReceiver({ secrets: {}, branch: 'main' }),
    metrics: createMetrics({ processMetrics: false }),
    logger: logger(),
    history: { history: sync.snapshotAt, diff: sync.snapshotAt, explain: sync.snapshotAt } as never,
    writes: { access, secrets: secretResolverFromEnv({}, () => '') },
  });
}

/** Starts `app` on an ephemeral port; resolves to its base URL and a closer. */
async function serve(app: express.Express): Promise<{ base: string; close: () => Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function strictApp(): express.Express {
  const app = express();
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  return app;
}

describe('route table', () => {
  it('every mounted route is declared, with an access kind that fits what it touches', () => {
    const { app, routes } = builtApp();
    const mounted = assertEveryRouteDeclared(app);
    assert.deepEqual(
      mounted.map((s) => `${s.method} ${s.path}`).sort(),
      routes.specs.map((s) => `${s.method} ${s.path}`).sort(),
    );
    assert.ok(mounted.length >= 19, `${mounted.length} routes`);
    for (const spec of mounted) {
      const key = `${spec.method} ${spec.path}`;
      // Anything that names a namespace or environment reads or writes configuration: never public.
      if (/:namespace|:env|\/v1\/(bundle|diff|events)/.test(spec.path)) {
        assert.ok(
          ['read', 'read-checked', 'write', 'admin'].includes(spec.access.kind),
          `${key}: ${spec.access.kind}`,
        );
      }
      // OFREP evaluations are reads sent as POST: the protocol carries the evaluation context in the body.
      const ofrepRead = spec.path.includes('/ofrep/v1/evaluate/') && spec.access.kind === 'read-checked';
      if (spec.method !== 'GET' && !ofrepRead) {
        assert.ok(['write', 'admin', 'signature'].includes(spec.access.kind), `${key}: ${spec.access.kind}`);
      }
      if (spec.access.kind === 'read' || spec.access.kind === 'write') {
        assert.ok(spec.path.includes(`:${spec.access.namespaceParam}`), key);
        assert.ok(spec.path.includes(`:${spec.access.envParam}`), key);
      }
      if (spec.access.kind === 'public') assert.ok(!spec.path.startsWith('/v1/'), `${key} is public`);
    }
  });

  it('docs/openapi.yaml documents every route with the access it declares, and nothing else', async () => {
    const { routes } = builtApp();
    const doc = parseYaml(await readFile(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')) as {
      paths: Record<string, Record<string, { 'x-gitcfg-access'?: string }>>;
    };
    const documented = new Map<string, string | undefined>();
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        documented.set(`${method.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`, op['x-gitcfg-access']);
      }
    }
    const declared = new Map(routes.specs.map((s) => [`${s.method} ${s.path}`, s.access.kind as string]));
    assert.deepEqual(new Map([...documented].sort()), new Map([...declared].sort()));
  });

  it('a route added outside the table is refused at start-up', () => {
    const { app } = builtApp();
    app.get('/v1/sneaky', (_req, res) => void res.end('data'));
    assert.throws(() => assertEveryRouteDeclared(app), /route without declared access: \/v1\/sneaky/);
  });

  it('routes are only mounted on an app that matches case-sensitively and strictly', () => {
    const loose = express();
    const spec: RouteSpec = {
      method: 'GET',
      path: '/v1/x',
      access: { kind: 'token' },
      summary: 'x',
      handler: (_req, res) => void res.end(),
    };
    assert.throws(
      () => mountRoutes(loose, [spec], { access: AccessControl.open(), logger: logger() }),
      /case-sensitively and strictly/,
    );
  });

  it('a read-checked route that answers without checking fails closed (500, no body leaked)', async () => {
    const app = strictApp();
    const leaky: RouteSpec = {
      method: 'GET',
      path: '/v1/leaky/:env',
      access: { kind: 'read-checked' },
      summary: 'forgets its check',
      handler: (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('secret config');
      },
    };
    const careful: RouteSpec = {
      ...leaky,
      path: '/v1/careful/:env',
      handler: (req, res, { guard }) => {
        guard.read('app', String(req.params.env));
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('config');
      },
    };
    mountRoutes(app, [leaky, careful], { access: AccessControl.open(), logger: logger() });
    const { base, close } = await serve(app);
    try {
      const leaked = await fetch(`${base}/v1/leaky/production`);
      assert.equal(leaked.status, 500);
      assert.doesNotMatch(await leaked.text(), /secret config/);
      const ok = await fetch(`${base}/v1/careful/production`);
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'config');
      // Case and trailing-slash variants are other paths.
      assert.equal((await fetch(`${base}/v1/Careful/production`)).status, 404);
      assert.equal((await fetch(`${base}/v1/careful/production/`)).status, 404);
    } finally {
      await close();
    }
  });
});
