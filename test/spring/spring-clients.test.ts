/**
 * The npm Spring Cloud Config clients (`cloud-config-client`, `spring-cloud-config`) against the real server on a
 * real smart-HTTP remote: what each client loads equals what `GET /v1/config` answers. Tests in a describe share
 * one remote and server and run in order.
 */
import * as assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServeHandle } from '../../src/commands/serve.js';
import { createConfigRepo } from '../helpers/config-repo.js';
import type { ConfigRepo } from '../helpers/config-repo.js';
import { cleanupTempDirs, commitFiles, createTempRepo, run, tempDir } from '../helpers/git-repo.js';
import { postGithubPush, waitFor, waitForServed } from '../server/server-fixture.js';
import type { StatusDoc } from '../server/server-fixture.js';
import {
  DB_PASSWORD,
  SPRING_FILES,
  SPRING_TOKENS,
  WEBHOOK_SECRET,
  startSpringServer,
} from './spring-fixture.js';

type Json = Record<string, unknown>;
const require = createRequire(import.meta.url);
const cloudConfigClient = require('cloud-config-client') as {
  load(options: Json): Promise<{ toObject(): Json; properties: Json }>;
};
const springCloudConfig = require('spring-cloud-config') as {
  load(options: { configPath: string; activeProfiles: string[]; level: string }): Promise<Json>;
};
const examples = require('@octokit/webhooks-examples') as { name: string; examples: Json[] }[];
const pushExample = examples.find((e) => e.name === 'push')?.examples[0] as Json;

interface Load {
  profiles: string[];
  label?: string;
  name?: string;
  /** The token, sent as the Basic password. */
  token?: string;
}

/** `cloud-config-client`: the object its `toObject()` rebuilds. */
async function loadCloudConfigClient(base: string, opts: Load): Promise<Json> {
  const config = await cloudConfigClient.load({
    endpoint: `${base}/spring`,
    name: opts.name ?? 'orders',
    profiles: opts.profiles,
    ...(opts.label ? { label: opts.label } : {}),
    ...(opts.token ? { auth: { user: 'service', pass: opts.token } } : {}),
  });
  return config.toObject();
}

/**
 * `spring-cloud-config`: it splits keys on `.` only, so `users[0]` stays a literal key; rebuild the arrays it
 * leaves as `x[i]` keys, and drop its own bootstrap properties and the local file's.
 */
async function loadSpringCloudConfig(base: string, opts: Load): Promise<Json> {
  const dir = await tempDir('gitcfg-scc-');
  const auth = opts.token ? `      auth:\n        user: service\n        pass: ${opts.token}\n` : '';
  const label = opts.label ? `      label: ${JSON.stringify(opts.label)}\n` : '';
  await writeFile(
    path.join(dir, 'bootstrap.yml'),
    `spring:\n  cloud:\n    config:\n      enabled: true\n      fail-fast: true\n      name: ${opts.name ?? 'orders'}\n      endpoint: ${base}/spring\n${label}${auth}`,
  );
  await writeFile(path.join(dir, 'application.yml'), 'local-only: true\n');
  const loaded = await springCloudConfig.load({
    configPath: dir,
    activeProfiles: opts.profiles,
    level: 'error',
  });
  const { spring: _spring, 'local-only': local, ...rest } = loaded;
  assert.equal(local, true, 'the local file is still loaded below the server');
  return rebuildIndexedKeys(rest) as Json;
}

function rebuildIndexedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rebuildIndexedKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [key, child] of Object.entries(value)) {
    const m = /^(.+)\[(\d+)\]$/.exec(key);
    if (!m) {
      out[key] = rebuildIndexedKeys(child);
      continue;
    }
    const list = (out[m[1]!] ??= []) as unknown[];
    list[Number(m[2])] = rebuildIndexedKeys(child);
  }
  return out;
}

const CLIENTS = [
  ['cloud-config-client', loadCloudConfigClient],
  ['spring-cloud-config', loadSpringCloudConfig],
] as const;

async function v1Config(base: string, ns: string, env: string, token?: string): Promise<Json> {
  const res = await fetch(`${base}/v1/config/${ns}/${env}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  assert.equal(res.status, 200, `${ns}/${env}`);
  return (await res.json()) as Json;
}

/** What a single-profile load must equal: the namespace's config with the shared `application` config beside it. */
async function expectedFor(base: string, env: string, token?: string): Promise<Json> {
  return {
    ...(await v1Config(base, 'application', env, token)),
    ...(await v1Config(base, 'orders', env, token)),
  };
}

describe('Spring clients against an open server', () => {
  let repo: ConfigRepo;
  let handle: ServeHandle;
  let base = '';
  let first = '';

  const push = (files: Record<string, string | null>, message: string) => repo.commit(files, message);

  before(async () => {
    repo = await createConfigRepo({ files: SPRING_FILES }, { remote: true });
    first = repo.head;
    ({ handle, base } = await startSpringServer({ repo: repo.url!, dir: await tempDir() }));
    await waitForServed(base, first);
  });

  after(async () => {
    await handle?.close();
    await repo?.close();
    await cleanupTempDirs();
  });

  for (const [client, load] of CLIENTS) {
    it(`${client}: one profile equals GET /v1/config (nested maps, lists of objects, secret reference)`, async () => {
      for (const env of ['dev', 'mysql', 'production']) {
        const expected = await expectedFor(base, env);
        assert.deepEqual(await load(base, { profiles: [env] }), expected, env);
      }
      assert.equal(((await load(base, { profiles: ['dev'] })).db as Json).password, '${env:DB_PASSWORD}');
    });

    it(`${client}: with several profiles the last one wins, in both orders`, async () => {
      const [dev, mysql, sharedDev, sharedMysql] = await Promise.all([
        v1Config(base, 'orders', 'dev'),
        v1Config(base, 'orders', 'mysql'),
        v1Config(base, 'application', 'dev'),
        v1Config(base, 'application', 'mysql'),
      ]);
      const devMysql = await load(base, { profiles: ['dev', 'mysql'] });
      // mysql's merged document holds every key of the defaults, so it wins them all; dev adds `features`.
      assert.deepEqual(devMysql, { ...sharedDev, ...sharedMysql, ...dev, ...mysql });
      assert.deepEqual([(devMysql.server as Json).port, (devMysql.shared as Json).region], [8080, 'eu']);
      const mysqlDev = await load(base, { profiles: ['mysql', 'dev'] });
      assert.deepEqual(mysqlDev, { ...sharedMysql, ...sharedDev, ...mysql, ...dev });
      assert.deepEqual([(mysqlDev.server as Json).port, (mysqlDev.shared as Json).region], [8081, 'eu-dev']);
      assert.equal((mysqlDev.db as Json).host, 'db.internal');
    });

    it(`${client}: a commit label`, async () => {
      assert.deepEqual(await load(base, { profiles: ['dev'], label: first }), await expectedFor(base, 'dev'));
    });

    it(`${client}: an unknown application loads nothing; an unknown label is an error, not a crash`, async () => {
      const unknown = await load(base, { profiles: ['dev'], name: 'no-such-app' });
      // Only the shared namespace applies to an application gitcfg does not know.
      assert.deepEqual(unknown, await v1Config(base, 'application', 'dev'));
      await assert.rejects(load(base, { profiles: ['dev'], label: 'no-such-branch' }), /404/);
      assert.deepEqual(await load(base, { profiles: ['dev'] }), await expectedFor(base, 'dev'));
    });
  }

  it('answers the same bytes and ETag before routing as through the routes', async () => {
    for (const path of [
      '/spring/orders/dev%2Cmysql',
      '/spring/orders/production',
      '/spring/application/dev',
    ]) {
      const fast = await fetch(`${base}${path}`);
      // A query string keeps a request off the pre-routed path; the routes ignore it.
      const routed = await fetch(`${base}${path}?routed=1`);
      assert.equal(fast.status, 200, path);
      assert.equal(await fast.text(), await routed.text(), path);
      for (const h of ['etag', 'gitcfg-commit', 'cache-control', 'content-type']) {
        assert.equal(fast.headers.get(h), routed.headers.get(h), `${path} ${h}`);
      }
    }
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /route="\/spring\/:application\/:profiles"/);
  });

  it('ignores any Authorization header without a tokens file', async () => {
    for (const authorization of ['Basic Og==', 'Basic dXNlcjpub3BlCg==', 'Bearer whatever']) {
      const res = await fetch(`${base}/spring/orders/dev`, { headers: { authorization } });
      assert.equal(res.status, 200, authorization);
    }
  });

  it('after a push and a webhook the next load has the new values; a rejected commit never arrives', async () => {
    const good = await push({ 'environments/dev/orders.yaml': 'server:\n  port: 8082\n' }, 'dev port');
    assert.equal((await postGithubPush(base, WEBHOOK_SECRET, pushExample, { after: good })).status, 202);
    await waitForServed(base, good);
    for (const [client, load] of CLIENTS) {
      const loaded = await load(base, { profiles: ['dev'] });
      assert.equal((loaded.server as Json).port, 8082, client);
      assert.deepEqual(loaded, await expectedFor(base, 'dev'), client);
    }
    const bad = await push({ 'environments/dev/orders.yaml': 'server:\n  port: not-a-port\n' }, 'bad');
    assert.equal((await postGithubPush(base, WEBHOOK_SECRET, pushExample, { after: bad })).status, 202);
    await waitFor('bad commit rejected', async () => {
      const s = (await (await fetch(`${base}/v1/status`)).json()) as StatusDoc;
      return s.rejected?.commit === bad && !s.syncs.running && !s.syncs.pending;
    });
    for (const [client, load] of CLIENTS) {
      assert.equal(((await load(base, { profiles: ['dev'] })).server as Json).port, 8082, client);
    }
    const env = await fetch(`${base}/spring/orders/dev`);
    assert.equal(env.headers.get('gitcfg-commit'), good);
  });
});

describe('Spring labels on a served local repository (every branch and tag is readable)', () => {
  let handle: ServeHandle;
  let base = '';

  before(async () => {
    const work = await createTempRepo({ files: SPRING_FILES });
    const head = await run(work, 'rev-parse', 'HEAD');
    await run(work, 'tag', 'v1');
    await run(work, 'checkout', '--quiet', '-b', 'feature/x');
    await commitFiles(work, { 'environments/dev/orders.yaml': 'server:\n  port: 9000\n' }, 'feature');
    await run(work, 'checkout', '--quiet', 'main');
    ({ handle, base } = await startSpringServer({ repo: work, dir: await tempDir() }));
    await waitForServed(base, head);
  });

  after(async () => {
    await handle?.close();
    await cleanupTempDirs();
  });

  for (const [client, load] of CLIENTS) {
    it(`${client}: a branch label with / and a tag label`, async () => {
      const feature = await load(base, { profiles: ['dev'], label: 'feature/x' });
      assert.equal((feature.server as Json).port, 9000);
      const res = await fetch(`${base}/v1/config/orders/dev?ref=feature/x`);
      assert.deepEqual(feature, {
        ...(await v1Config(base, 'application', 'dev')),
        ...((await res.json()) as Json),
      });
      const tagged = await load(base, { profiles: ['dev'], label: 'v1' });
      assert.deepEqual(tagged, await expectedFor(base, 'dev'));
    });
  }

  it('answers the protocol shapes: Environment JSON, (_) and %2F labels, no profile, flat files, ETags', async () => {
    const res = await fetch(`${base}/spring/orders/dev%2Cmysql/feature(_)x`);
    assert.equal(res.status, 200);
    const env = (await res.json()) as Json & { propertySources: { name: string; source: Json }[] };
    assert.deepEqual(
      { ...env, propertySources: env.propertySources.map((s) => s.name.replace(/@.*/, '')) },
      {
        name: 'orders',
        profiles: ['dev', 'mysql'],
        label: 'feature/x',
        version: res.headers.get('gitcfg-commit'),
        state: null,
        propertySources: [
          'gitcfg:orders/mysql',
          'gitcfg:orders/dev',
          'gitcfg:application/mysql',
          'gitcfg:application/dev',
        ],
      },
    );
    assert.equal(env.propertySources[1]?.source['server.port'], 9000);
    assert.equal(env.propertySources[0]?.source['users[1].roles[0]'], 'ops');
    const encoded = await fetch(`${base}/spring/orders/dev%2Cmysql/feature%2Fx`);
    assert.equal(await encoded.text(), JSON.stringify(env));

    const none = (await (await fetch(`${base}/spring/orders/`)).json()) as Json;
    assert.deepEqual([none.profiles, none.propertySources], [['default'], []]);

    const etag = res.headers.get('etag') ?? '';
    const again = await fetch(`${base}/spring/orders/dev%2Cmysql/feature(_)x`, {
      headers: { 'if-none-match': etag },
    });
    assert.equal(again.status, 304);

    const expected = await expectedFor(base, 'dev');
    const json = await fetch(`${base}/spring/orders-dev.json`);
    assert.deepEqual(await json.json(), expected);
    const yml = await fetch(`${base}/spring/orders-dev.yml`);
    assert.match(yml.headers.get('content-type') ?? '', /^application\/yaml/);
    assert.match(await yml.text(), /^shared:\n {2}region: eu-dev\n/);
    const properties = await (await fetch(`${base}/spring/v1/orders-dev.properties`)).text();
    assert.match(properties, /^server\.port=8081$/m);
    assert.match(properties, /^users\[1\]\.roles\[1\]=on-call$/m);
    assert.match(properties, /^db\.password=\$\{env\\:DB_PASSWORD\}$|^db\.password=\$\{env:DB_PASSWORD\}$/m);
    assert.equal((await fetch(`${base}/spring/orders-dev.txt`)).status, 404);
    assert.equal((await fetch(`${base}/spring/orders/dev/no-such-tag`)).status, 404);
    assert.equal((await fetch(`${base}/spring/orders/dev/%E0%A4%A`)).status, 400);
  });
});

describe('Spring clients with a tokens file (HTTP Basic, token as password)', () => {
  let repo: ConfigRepo;
  let handle: ServeHandle;
  let base = '';

  before(async () => {
    repo = await createConfigRepo({ files: SPRING_FILES }, { remote: true });
    ({ handle, base } = await startSpringServer({ repo: repo.url!, dir: await tempDir(), tokens: true }));
    await waitForServed(base, repo.head, { authorization: `Bearer ${SPRING_TOKENS.reader}` });
  });

  after(async () => {
    await handle?.close();
    await repo?.close();
    await cleanupTempDirs();
  });

  for (const [client, load] of CLIENTS) {
    it(`${client}: a token reads references; a read-secrets token reads the secret, as /v1/config`, async () => {
      const asReader = await load(base, { profiles: ['dev'], token: SPRING_TOKENS.reader });
      assert.deepEqual(asReader, await expectedFor(base, 'dev', SPRING_TOKENS.reader));
      assert.equal((asReader.db as Json).password, '${env:DB_PASSWORD}');
      const asSecretReader = await load(base, { profiles: ['dev'], token: SPRING_TOKENS.secretReader });
      assert.deepEqual(asSecretReader, await expectedFor(base, 'dev', SPRING_TOKENS.secretReader));
      assert.equal((asSecretReader.db as Json).password, DB_PASSWORD);
    });

    it(`${client}: no token, a wrong token or a token without scope is refused`, async () => {
      await assert.rejects(load(base, { profiles: ['dev'] }), /401/);
      await assert.rejects(load(base, { profiles: ['dev'], token: 'gcfg-not-a-token' }), /401/);
      await assert.rejects(load(base, { profiles: ['dev'], token: SPRING_TOKENS.paymentsOnly }), /403/);
    });
  }

  it('answers 401 without a redirect, never caches resolved secrets, and hides which applications exist', async () => {
    const basic = (token: string) => ({
      authorization: `Basic ${Buffer.from(`u:${token}`).toString('base64')}`,
    });
    const refused: Record<string, string>[] = [{}, { authorization: 'Basic Og==' }, basic('wrong-token')];
    for (const headers of refused) {
      const res = await fetch(`${base}/spring/orders/dev`, { headers, redirect: 'manual' });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('location'), null);
      assert.doesNotMatch(await res.text(), /wrong-token/);
    }
    const bearer = await fetch(`${base}/spring/orders/dev`, {
      headers: { authorization: `Bearer ${SPRING_TOKENS.reader}` },
    });
    assert.equal(bearer.status, 200);
    const secret = await fetch(`${base}/spring/orders/dev`, { headers: basic(SPRING_TOKENS.secretReader) });
    assert.equal(secret.headers.get('cache-control'), 'no-store');
    assert.match(await secret.text(), new RegExp(DB_PASSWORD));
    const plain = await fetch(`${base}/spring/orders/dev`, { headers: basic(SPRING_TOKENS.reader) });
    assert.equal(plain.headers.get('cache-control'), 'no-cache');
    assert.doesNotMatch(await plain.text(), new RegExp(DB_PASSWORD));

    const unknown = await fetch(`${base}/spring/no-such-app/dev`, { headers: basic(SPRING_TOKENS.reader) });
    assert.equal(unknown.status, 200);
    const known = await fetch(`${base}/spring/orders/dev`, { headers: basic(SPRING_TOKENS.paymentsOnly) });
    const other = await fetch(`${base}/spring/no-such-app/dev`, {
      headers: basic(SPRING_TOKENS.paymentsOnly),
    });
    assert.deepEqual([known.status, other.status], [403, 403]);
  });
});

describe('Spring prefix', () => {
  it('serves under --spring-prefix and not at all with --no-spring', async () => {
    const repo = await createConfigRepo({ files: SPRING_FILES }, { remote: true });
    const head = repo.head;
    const custom = await startSpringServer({
      repo: repo.url!,
      dir: await tempDir(),
      extra: { springPrefix: '/config/spring' },
    });
    const off = await startSpringServer({
      repo: repo.url!,
      dir: await tempDir(),
      extra: { spring: false },
    });
    try {
      await waitForServed(custom.base, head);
      await waitForServed(off.base, head);
      assert.equal((await fetch(`${custom.base}/config/spring/orders/dev`)).status, 200);
      assert.equal((await fetch(`${custom.base}/spring/orders/dev`)).status, 404);
      assert.equal((await fetch(`${off.base}/spring/orders/dev`)).status, 404);
    } finally {
      await custom.handle.close();
      await off.handle.close();
      await repo.close();
      await cleanupTempDirs();
    }
  });
});
