/**
 * OFREP against the real server and a real smart-HTTP git remote, read through `@openfeature/server-sdk` with
 * `@openfeature/ofrep-provider`: flag types, targeting, errors, access, bulk ETags, sticky distribution, a flag
 * change arriving by webhook, and an invalid flag commit refused. Tests run in order and share one remote.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk';
import type { Client } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { createClient } from '../../src/client/index.js';
import type { GitcfgClient } from '../../src/client/index.js';
import { GitcfgFlagProvider } from '../../src/client/openfeature.js';
import { FlagSet } from '../../src/flags/index.js';
import { serveOverHttp } from '../helpers/config-repo.js';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import { cleanupTempDirs, commitFiles, createTempRepo, run, tempDir } from '../helpers/git-repo.js';
import { TOKENS, bearer, startServer } from '../edits/writes-fixture.js';
import { pathVariants } from '../helpers/path-variants.js';
import type { TestServer } from '../edits/writes-fixture.js';
import { GITHUB_PUSH_EXAMPLE, postGithubPush, waitFor } from '../server/server-fixture.js';
import type { StatusDoc } from '../server/server-fixture.js';
import { FLAGS_DEFAULTS, flagsRepo } from './flags-fixture.js';

const SECRET = 'gh-webhook-secret-for-flag-tests';

const KEYS = 100_000;
const keyOf = (i: number) => `user-${i}@example.com`;

describe('OFREP over the flags of a served repository', () => {
  let remote: GitHttpRemote;
  let work: string;
  let bare: string;
  let server: TestServer;
  let client: Client;
  /** The in-process provider's client, and the configuration-changed events it emitted. */
  let local: Client;
  let gitcfgClient: GitcfgClient;
  const changes: string[][] = [];
  const ofrep = (env: string, tail = '') => `${server.base}/v1/envs/${env}/ofrep/v1/evaluate/flags${tail}`;

  async function status(): Promise<StatusDoc> {
    const res = await fetch(`${server.base}/v1/status`, { headers: bearer('writer') });
    return (await res.json()) as StatusDoc;
  }

  function waitForServed(commit: string): Promise<StatusDoc> {
    return waitFor(`commit ${commit.slice(0, 8)} served`, async () => {
      const s = await status();
      return s.served?.commit === commit && !s.syncs.running && !s.syncs.pending ? s : null;
    });
  }

  async function push(files: Record<string, string>, message: string): Promise<string> {
    const oid = await commitFiles(work, files, message);
    await run(work, 'push', '--quiet', bare, 'main');
    const res = await postGithubPush(server.base, SECRET, GITHUB_PUSH_EXAMPLE, { after: oid });
    assert.equal(res.status, 202);
    return oid;
  }

  /** The production flag document as served, compiled in-process by the same module the server uses. */
  async function productionFlags(): Promise<FlagSet> {
    const res = await fetch(`${server.base}/v1/config/flags/production`, { headers: bearer('writer') });
    assert.equal(res.status, 200);
    return new FlagSet(await res.json());
  }

  /** Targeting keys (of the first `count`) for which `rollout` is on. */
  function onKeys(set: FlagSet, count: number): Set<number> {
    const on = new Set<number>();
    for (let i = 0; i < count; i++) {
      if (set.evaluate('rollout', { targetingKey: keyOf(i) }).value === true) on.add(i);
    }
    return on;
  }

  async function evaluateOverHttp(key: string, context: object, env = 'production') {
    const res = await fetch(ofrep(env, `/${key}`), {
      method: 'POST',
      headers: { ...bearer('writer'), 'content-type': 'application/json' },
      body: JSON.stringify({ context }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  before(async () => {
    work = await createTempRepo({ files: flagsRepo() });
    ({ bare, remote } = await serveOverHttp(work));
    const dir = await tempDir('gitcfg-flags-serve-');
    server = await startServer({
      repo: remote.url('config.git'),
      dir,
      dataDir: path.join(dir, 'data'),
      env: { GITCFG_WEBHOOK_SECRET_GITHUB: SECRET },
    });
    await waitForServed(await run(work, 'rev-parse', 'HEAD'));
    const provider = new OFREPProvider({
      baseUrl: `${server.base}/v1/envs/production`,
      headers: { Authorization: `Bearer ${TOKENS.writer}` },
    });
    await OpenFeature.setProviderAndWait('gitcfg-production', provider);
    client = OpenFeature.getClient('gitcfg-production');
    gitcfgClient = createClient({ url: server.base, env: 'production', token: TOKENS.writer });
    const inProcess = new GitcfgFlagProvider(gitcfgClient, 'flags');
    inProcess.events.addHandler(ProviderEvents.ConfigurationChanged, (e) =>
      changes.push((e as { flagsChanged?: string[] } | undefined)?.flagsChanged ?? []),
    );
    await OpenFeature.setProviderAndWait('gitcfg-in-process', inProcess);
    local = OpenFeature.getClient('gitcfg-in-process');
  });

  after(async () => {
    await OpenFeature.close();
    await gitcfgClient?.close();
    await server?.handle.close();
    await remote?.close();
    await cleanupTempDirs();
  });

  it('evaluates the same flags in-process through the gitcfg provider', async () => {
    assert.equal(await local.getBooleanValue('rollout', false, { targetingKey: 'admin@example.com' }), true);
    assert.equal(
      await local.getStringValue('theme', 'none', { targetingKey: 'u1', plan: 'enterprise' }),
      'dark',
    );
    assert.equal(await local.getNumberValue('limit', 0, { targetingKey: 'u1' }), 8);
    assert.deepEqual(await local.getObjectValue('model', {}, { targetingKey: 'u1' }), {
      name: 'large',
      tokens: 1024,
    });
    const disabled = await local.getBooleanDetails('retired', false, { targetingKey: 'u1' });
    assert.equal(disabled.value, false);
    assert.equal((await local.getBooleanDetails('no_such_flag', true, {})).errorCode, 'FLAG_NOT_FOUND');
    assert.equal(
      (await local.getStringDetails('limit', 'x', { targetingKey: 'u1' })).errorCode,
      'TYPE_MISMATCH',
    );
  });

  it('evaluates boolean, string, number and object flags through the OFREP provider', async () => {
    const admin = await client.getBooleanDetails('rollout', false, { targetingKey: 'admin@example.com' });
    assert.equal(admin.value, true);
    assert.equal(admin.variant, 'on');
    assert.equal(admin.reason, 'TARGETING_MATCH');
    assert.equal(await client.getStringValue('theme', 'none', { targetingKey: 'u1' }), 'classic');
    assert.equal(await client.getNumberValue('limit', 0, { targetingKey: 'u1' }), 8);
    const model = await client.getObjectDetails('model', {}, { targetingKey: 'u1' });
    assert.deepEqual(model.value, { name: 'large', tokens: 1024 });
    assert.equal(model.reason, 'STATIC');
    assert.deepEqual(model.flagMetadata, { owner: 'ml' });
  });

  it('targets by an attribute of the context', async () => {
    const enterprise = await client.getStringDetails('theme', 'none', {
      targetingKey: 'u1',
      plan: 'enterprise',
    });
    assert.equal(enterprise.value, 'dark');
    assert.equal(enterprise.reason, 'TARGETING_MATCH');
    assert.equal(
      await client.getStringValue('theme', 'none', { targetingKey: 'u1', plan: 'free' }),
      'classic',
    );
  });

  it('answers a disabled and an unknown flag as not found: the caller keeps its default', async () => {
    const disabled = await client.getBooleanDetails('retired', false, { targetingKey: 'u1' });
    assert.equal(disabled.value, false);
    assert.equal(disabled.errorCode, 'FLAG_NOT_FOUND');
    const unknown = await client.getBooleanDetails('no_such_flag', true, { targetingKey: 'u1' });
    assert.equal(unknown.value, true);
    assert.equal(unknown.errorCode, 'FLAG_NOT_FOUND');
    const raw = await evaluateOverHttp('no_such_flag', {});
    assert.equal(raw.status, 404);
    assert.deepEqual(raw.body, {
      key: 'no_such_flag',
      errorCode: 'FLAG_NOT_FOUND',
      errorDetails: 'flag not found: no_such_flag',
    });
  });

  it('refuses a percentage rollout without a targeting key, bad contexts and bodies, and wrong types', async () => {
    const missing = await client.getBooleanDetails('rollout', false, {});
    assert.equal(missing.errorCode, 'TARGETING_KEY_MISSING');
    assert.equal(missing.value, false);
    const raw = await evaluateOverHttp('rollout', {});
    assert.equal(raw.status, 400);
    assert.equal(raw.body.errorCode, 'TARGETING_KEY_MISSING');
    const badContext = await evaluateOverHttp('rollout', [1, 2] as unknown as object);
    assert.equal(badContext.status, 400);
    assert.equal(badContext.body.errorCode, 'INVALID_CONTEXT');
    const notJson = await fetch(ofrep('production', '/rollout'), {
      method: 'POST',
      headers: bearer('writer'),
      body: '{context',
    });
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { errorCode: string }).errorCode, 'PARSE_ERROR');
    const mismatch = await client.getStringDetails('limit', 'x', { targetingKey: 'u1' });
    assert.equal(mismatch.errorCode, 'TYPE_MISMATCH');
    assert.equal(mismatch.value, 'x');
  });

  it('needs a token with read on the flag namespace in that environment', async () => {
    const anonymous = await fetch(ofrep('production', '/limit'), { method: 'POST', body: '{}' });
    assert.equal(anonymous.status, 401);
    const reader = await fetch(ofrep('production', '/limit'), {
      method: 'POST',
      headers: bearer('reader'),
      body: '{}',
    });
    assert.equal(reader.status, 403);
    const bulk = await fetch(ofrep('production'), { method: 'POST', headers: bearer('reader'), body: '{}' });
    assert.equal(bulk.status, 403);
    const unknownEnv = await evaluateOverHttp('limit', {}, 'qa');
    assert.equal(unknownEnv.status, 404);
    // No spelling of the path evaluates anything without the scope.
    for (const canonical of [
      '/v1/envs/production/ofrep/v1/evaluate/flags/limit',
      '/v1/envs/production/ofrep/v1/evaluate/flags',
    ]) {
      for (const url of pathVariants(canonical)) {
        for (const headers of [{}, bearer('reader')]) {
          const res = await fetch(`${server.base}${url}`, { method: 'POST', headers, body: '{}' });
          assert.ok([400, 401, 403, 404].includes(res.status), `${url}: ${res.status}`);
          assert.doesNotMatch(await res.text(), /"value"/, url);
        }
      }
    }
  });

  it('selects the environment by path prefix: development has the rollout on for everyone', async () => {
    const dev = await evaluateOverHttp('rollout', {}, 'development');
    assert.equal(dev.status, 200);
    assert.deepEqual(dev.body, {
      key: 'rollout',
      value: true,
      reason: 'STATIC',
      variant: 'on',
      metadata: {},
    });
  });

  it('bulk-evaluates every enabled flag with an ETag, and answers 304 to If-None-Match', async () => {
    const post = (context: object, etag?: string) =>
      fetch(ofrep('production'), {
        method: 'POST',
        headers: { ...bearer('writer'), ...(etag ? { 'if-none-match': etag } : {}) },
        body: JSON.stringify({ context }),
      });
    const first = await post({ targetingKey: 'admin@example.com' });
    assert.equal(first.status, 200);
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const body = (await first.json()) as {
      flags: Array<{ key: string; value?: unknown; errorCode?: string }>;
    };
    assert.deepEqual(
      body.flags.map((f) => [f.key, f.value]),
      [
        ['rollout', true],
        ['theme', 'classic'],
        ['limit', 8],
        ['model', { name: 'large', tokens: 1024 }],
      ],
    );
    assert.equal((await post({ targetingKey: 'admin@example.com' }, etag)).status, 304);
    const other = await post({ targetingKey: 'admin@example.com', plan: 'enterprise' }, etag);
    assert.equal(other.status, 200);
    assert.notEqual(other.headers.get('etag'), etag);
    // Per-flag failures stay inside a successful bulk answer.
    const keyless = (await (await post({})).json()) as { flags: Array<{ key: string; errorCode?: string }> };
    assert.equal(keyless.flags.find((f) => f.key === 'rollout')?.errorCode, 'TARGETING_KEY_MISSING');
  });

  let onAt25 = new Set<number>();

  it('splits 100,000 targeting keys 25% on, and OFREP gives the in-process variant for each sampled key', async () => {
    const set = await productionFlags();
    onAt25 = onKeys(set, KEYS);
    const share = onAt25.size / KEYS;
    assert.ok(share >= 0.245 && share <= 0.255, `25% rollout gave ${(share * 100).toFixed(2)}%`);
    for (let i = 0; i < KEYS; i += 997) {
      const remoteAnswer = await evaluateOverHttp('rollout', { targetingKey: keyOf(i) });
      assert.equal(remoteAnswer.body.value, onAt25.has(i), `key ${keyOf(i)}`);
      assert.equal(remoteAnswer.body.reason, 'TARGETING_MATCH');
      const inProcess = await local.getBooleanDetails('rollout', false, { targetingKey: keyOf(i) });
      assert.equal(inProcess.value, onAt25.has(i), `in-process ${keyOf(i)}`);
      assert.equal(inProcess.variant, remoteAnswer.body.variant);
    }
  });

  it('a pushed flag change reaches OFREP after the webhook; 25% -> 50% keeps everyone who had it', async () => {
    const raised = FLAGS_DEFAULTS.replace('[["on", 25], ["off", 75]]', '[["on", 50], ["off", 50]]');
    assert.notEqual(raised, FLAGS_DEFAULTS);
    const oid = await push({ 'defaults/flags.yaml': raised }, 'rollout: 50%');
    await waitForServed(oid);
    const set = await productionFlags();
    const onAt50 = onKeys(set, KEYS);
    const share = onAt50.size / KEYS;
    assert.ok(share >= 0.495 && share <= 0.505, `50% rollout gave ${(share * 100).toFixed(2)}%`);
    const lost = [...onAt25].filter((i) => !onAt50.has(i));
    assert.deepEqual(lost, []);
    // A key that joined at 50% is on over OFREP too.
    const joined = [...onAt50].find((i) => !onAt25.has(i))!;
    assert.equal(await client.getBooleanValue('rollout', false, { targetingKey: keyOf(joined) }), true);
  });

  it('refuses an invalid flag commit before any evaluation sees it', async () => {
    const before = await status();
    const oid = await push(
      { 'environments/production/flags.yaml': 'flags:\n  limit:\n    defaultVariant: medium\n' },
      'bad default variant',
    );
    const s = await waitFor('invalid commit rejected', async () => {
      const doc = await status();
      return doc.rejected?.commit === oid ? doc : null;
    });
    assert.equal(s.served?.commit, before.served?.commit);
    assert.deepEqual(
      s.rejected!.issues.map((i) => `${i.file}:${i.line}`),
      ['environments/production/flags.yaml:3'],
    );
    assert.match(s.rejected!.messages.join('\n'), /default variant "medium" is not a variant of "limit"/);
    assert.equal(await client.getNumberValue('limit', 0, { targetingKey: 'u1' }), 8);
  });
});
