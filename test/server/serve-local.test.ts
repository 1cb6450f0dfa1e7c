/** The server on a local repository: config root in a sub-directory, cron polling, graceful shutdown. */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { serveCommand } from '../../src/commands/serve.js';
import type { ServeHandle } from '../../src/commands/serve.js';
import { underSubdir } from '../helpers/config-repo.js';
import { cleanupTempDirs, commitFiles, createTempRepo, run, tempDir } from '../helpers/git-repo.js';
import { startTestServer } from '../helpers/test-server.js';
import {
  CONFIG_FILES,
  LogSink,
  getJson,
  postSigned,
  status,
  waitFor,
  waitForServed,
} from './server-fixture.js';

const SECRET = 'local-generic-secret';

/** `gitcfg serve` of the local repository `work` on a free port, polling off, logs kept out of the output. */
async function serveQuietly(work: string, env: Record<string, string> = {}): Promise<ServeHandle> {
  return (
    await startTestServer({
      cwd: work,
      env: { GITCFG_POLL: 'off', ...env },
      repo: '.',
      dataDir: await tempDir(),
    })
  ).handle;
}

describe('serve a local repository', () => {
  after(cleanupTempDirs);

  it('reads the config root from --subdir and follows new commits on a generic webhook', async () => {
    const work = await createTempRepo({
      files: { 'README.md': '# project\n', ...underSubdir(CONFIG_FILES, 'config-repo') },
    });
    const first = await run(work, 'rev-parse', 'HEAD');
    const { handle } = await startTestServer({
      cwd: work,
      env: {
        GITCFG_REPO: '.',
        GITCFG_SUBDIR: 'config-repo',
        GITCFG_WEBHOOK_SECRET: SECRET,
        GITCFG_POLL: 'off',
      },
      dataDir: await tempDir(),
    });
    try {
      const s = await waitForServed(handle.url, first);
      assert.equal(s.counts.configs, 4);
      assert.deepEqual(await getJson(`${handle.url}/v1/config/db/staging`), { host: 'db.internal' });
      const next = await commitFiles(work, { 'config-repo/defaults/db.yaml': 'host: local.internal\n' });
      // A change outside the config root makes a new commit but changes nothing served.
      const res = await postSigned(handle.url, 'generic', SECRET, Buffer.from('{"ref":"refs/heads/main"}'));
      assert.equal(res.status, 202);
      await waitForServed(handle.url, next);
      assert.deepEqual(await getJson(`${handle.url}/v1/config/db/staging`), { host: 'local.internal' });
      const ignored = await postSigned(handle.url, 'generic', SECRET, Buffer.from('{"ref":"other"}'));
      assert.equal(((await ignored.json()) as { status: string }).status, 'ignored');
    } finally {
      await handle.close();
    }
  });

  it('takes the config root from a --repo path inside the repository and picks up commits by polling', async () => {
    const work = await createTempRepo({ files: underSubdir(CONFIG_FILES, 'cfg') });
    const { handle } = await startTestServer({
      cwd: work,
      env: {},
      repo: 'cfg',
      dataDir: path.join(await tempDir(), 'data'),
      poll: '* * * * * *',
      pollJitterMs: 0,
    });
    try {
      await waitForServed(handle.url, await run(work, 'rev-parse', 'HEAD'));
      assert.equal((await status(handle.url)).counts.namespaces, 2);
      const next = await commitFiles(work, {
        'cfg/environments/production/db.yaml': 'host: polled.internal\n',
      });
      await waitFor(
        'poll to pick up the commit',
        async () => (await status(handle.url)).served?.commit === next,
      );
      assert.deepEqual(await getJson(`${handle.url}/v1/config/db/staging`), { host: 'polled.internal' });
    } finally {
      await handle.close();
    }
  });

  it('drains on close: long-polls and event streams end, the server stops accepting', async () => {
    const work = await createTempRepo({ files: CONFIG_FILES });
    const handle = await serveQuietly(work);
    const head = await run(work, 'rev-parse', 'HEAD');
    await waitForServed(handle.url, head);
    const poll = fetch(`${handle.url}/v1/watch/production?since=${head}&timeout=60`);
    const events = await fetch(`${handle.url}/v1/events`);
    await waitFor('watchers registered', async () => {
      const s = (await getJson(`${handle.url}/v1/status`)) as { watchers: { longpoll: number; sse: number } };
      return s.watchers.longpoll === 1 && s.watchers.sse === 1;
    });
    await handle.close();
    assert.equal((await poll).status, 304);
    const text = await events.text();
    assert.match(text, /^retry: 3000/);
    await assert.rejects(fetch(`${handle.url}/healthz`));
    await handle.closed;
  });

  it('serves older schema versions migrated down, with their own ETag and version header', async () => {
    const work = await createTempRepo({
      files: {
        'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n',
        'schemas/app.schema.json': JSON.stringify({
          'x-gitcfg-version': 2,
          type: 'object',
          additionalProperties: false,
          properties: {
            greeting: { type: 'string' },
            retry: {
              type: 'object',
              additionalProperties: false,
              properties: { attempts: { type: 'integer' } },
            },
          },
        }),
        'migrations/app/2.yaml': 'operations:\n  - rename: { from: /retry/max, to: /retry/attempts }\n',
        'defaults/app.yaml': 'greeting: hello\nretry:\n  max: 3\n',
      },
    });
    const handle = await serveQuietly(work);
    try {
      await waitForServed(handle.url, await run(work, 'rev-parse', 'HEAD'));
      const current = await fetch(`${handle.url}/v1/config/app/production`);
      assert.equal(current.headers.get('gitcfg-schema-version'), '2');
      assert.deepEqual(await current.json(), { greeting: 'hello', retry: { attempts: 3 } });
      const v1 = await fetch(`${handle.url}/v1/config/app/production?version=1`);
      assert.equal(v1.status, 200);
      assert.equal(v1.headers.get('gitcfg-schema-version'), '1');
      assert.notEqual(v1.headers.get('etag'), current.headers.get('etag'));
      assert.deepEqual(await v1.json(), { greeting: 'hello', retry: { max: 3 } });
      const again = await fetch(`${handle.url}/v1/config/app/production?version=1`, {
        headers: { 'if-none-match': v1.headers.get('etag') ?? '' },
      });
      assert.equal(again.status, 304);
      const same = await fetch(`${handle.url}/v1/config/app/production?version=2`);
      assert.equal(same.headers.get('etag'), current.headers.get('etag'));
      for (const bad of ['3', '0', 'x']) {
        const res = await fetch(`${handle.url}/v1/config/app/production?version=${bad}`);
        assert.equal(res.status, 400, bad);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'E_USAGE');
      }
    } finally {
      await handle.close();
    }
  });

  it('checks a migrated-down document against the old schema the repository keeps', async () => {
    const work = await createTempRepo({
      files: {
        'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n  development: {}\n',
        'schemas/app.schema.json': JSON.stringify({
          'x-gitcfg-version': 2,
          type: 'object',
          additionalProperties: false,
          properties: { attempts: { type: 'integer', maximum: 100 } },
        }),
        // Version 1 clients could only handle up to 5 attempts.
        'schemas/app.v1.schema.json': JSON.stringify({
          'x-gitcfg-version': 1,
          type: 'object',
          additionalProperties: false,
          properties: { max: { type: 'integer', maximum: 5 } },
        }),
        'migrations/app/2.yaml': 'operations:\n  - rename: { from: /max, to: /attempts }\n',
        'defaults/app.yaml': '$schemaVersion: 2\nattempts: 3\n',
        'environments/production/app.yaml': '$schemaVersion: 2\nattempts: 50\n',
      },
    });
    const handle = await serveQuietly(work);
    try {
      await waitForServed(handle.url, await run(work, 'rev-parse', 'HEAD'));
      const fits = await fetch(`${handle.url}/v1/config/app/development?version=1`);
      assert.equal(fits.status, 200);
      assert.deepEqual(await fits.json(), { max: 3 });
      const tooMany = await fetch(`${handle.url}/v1/config/app/production?version=1`);
      assert.equal(tooMany.status, 400);
      const body = (await tooMany.json()) as { error: { message: string } };
      assert.match(JSON.stringify(body), /app\.v1\.schema\.json/);
      assert.match(JSON.stringify(body), /5/);
    } finally {
      await handle.close();
    }
  });

  it('answers plain reads identically with and without the pre-routed fast path', async () => {
    const work = await createTempRepo({ files: CONFIG_FILES });
    const head = await run(work, 'rev-parse', 'HEAD');
    const start = async (fastPath: boolean) =>
      (
        await startTestServer({
          cwd: work,
          env: { GITCFG_POLL: 'off' },
          repo: '.',
          dataDir: path.join(work, fastPath ? '.fast' : '.plain'),
          fastPath,
        })
      ).handle;
    const [fast, plain] = await Promise.all([start(true), start(false)]);
    try {
      await Promise.all([waitForServed(fast.url, head), waitForServed(plain.url, head)]);
      const requests: [string, Record<string, string>][] = [
        ['/v1/config/app/staging', {}],
        ['/v1/config/app/staging', { accept: 'application/yaml' }],
        ['/v1/bundle/production', {}],
        ['/v1/config/app/nope', {}],
        ['/v1/config/APP/staging', {}],
      ];
      for (const [url, headers] of requests) {
        const [a, b] = await Promise.all([
          fetch(fast.url + url, { headers }),
          fetch(plain.url + url, { headers }),
        ]);
        assert.equal(a.status, b.status, url);
        for (const name of [
          'etag',
          'content-type',
          'gitcfg-commit',
          'gitcfg-schema-version',
          'cache-control',
          'vary',
        ]) {
          assert.equal(a.headers.get(name), b.headers.get(name), `${url} ${name}`);
        }
        assert.equal(await a.text(), await b.text(), url);
        const etag = a.headers.get('etag');
        if (etag) {
          const c = await fetch(fast.url + url, {
            headers: { ...headers, 'if-none-match': `W/${etag}, "x"` },
          });
          assert.equal(c.status, 304);
        }
      }
      // Negotiation honours q-values (q=0 means "not acceptable"); JSON stays the default.
      const negotiated: [string, RegExp][] = [
        ['application/json;q=0, application/yaml', /^application\/yaml/],
        ['application/yaml, */*', /^application\/yaml/],
        ['text/yaml, application/json', /^application\/json/],
        ['*/*', /^application\/json/],
      ];
      for (const base of [fast.url, plain.url]) {
        for (const [accept, type] of negotiated) {
          const answer = await fetch(`${base}/v1/config/app/staging`, { headers: { accept } });
          assert.match(answer.headers.get('content-type') ?? '', type, `${base} ${accept}`);
          await answer.arrayBuffer();
        }
      }
      const metrics = await (await fetch(`${fast.url}/metrics`)).text();
      assert.match(
        metrics,
        /gitcfg_http_request_duration_seconds_count\{route="\/v1\/config\/:namespace\/:env",method="GET",status="200",protocol="gitcfg"\} [1-9]/,
      );
    } finally {
      await Promise.all([fast.close(), plain.close()]);
    }
  });

  it('accepts pushes from GitLab, Gitea and Bitbucket with their own headers and payloads', async () => {
    const work = await createTempRepo({ files: CONFIG_FILES });
    const handle = await serveQuietly(work, { GITCFG_WEBHOOK_SECRET: SECRET });
    try {
      await waitForServed(handle.url, await run(work, 'rev-parse', 'HEAD'));
      const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
      const deliveries: [Parameters<typeof postSigned>[1], Buffer, Record<string, string>][] = [
        [
          'gitlab',
          json({ object_kind: 'push', ref: 'refs/heads/main', after: 'a'.repeat(40) }),
          {
            'x-gitlab-event': 'Push Hook',
            'x-gitlab-event-uuid': 'gl-1',
          },
        ],
        [
          'gitea',
          json({ ref: 'refs/heads/main', after: 'b'.repeat(40) }),
          {
            'x-gitea-event': 'push',
            'x-gitea-delivery': 'gt-1',
          },
        ],
        [
          'bitbucket',
          json({ push: { changes: [{ new: { type: 'branch', name: 'main', target: { hash: 'c' } } }] } }),
          {
            'x-event-key': 'repo:push',
            'x-request-uuid': 'bb-1',
          },
        ],
      ];
      for (const [provider, body, headers] of deliveries) {
        const first = await postSigned(handle.url, provider, SECRET, body, headers);
        assert.equal(first.status, 202, provider);
        assert.equal(((await first.json()) as { status: string }).status, 'accepted', provider);
        const again = await postSigned(handle.url, provider, SECRET, body, headers);
        assert.equal(((await again.json()) as { status: string }).status, 'duplicate', provider);
        const forged = await postSigned(handle.url, provider, `${SECRET}x`, body, {
          ...headers,
          'x-request-uuid': 'n',
        });
        assert.equal(forged.status, 401, provider);
      }
      const ping = await postSigned(handle.url, 'bitbucket', SECRET, json({}), {
        'x-event-key': 'diagnostics:ping',
      });
      assert.equal(ping.status, 200);
      const gitlabTest = await postSigned(
        handle.url,
        'gitlab',
        SECRET,
        json({ event_name: 'project_create' }),
        {
          'x-gitlab-event': 'System Hook',
        },
      );
      assert.equal(gitlabTest.status, 200);
    } finally {
      await handle.close();
    }
  });

  it('tells a thousand idle long-polls about one promotion', async () => {
    const work = await createTempRepo({ files: CONFIG_FILES });
    const handle = await serveQuietly(work, { GITCFG_WEBHOOK_SECRET: SECRET });
    try {
      const head = await run(work, 'rev-parse', 'HEAD');
      await waitForServed(handle.url, head);
      const polls = Array.from({ length: 1000 }, () =>
        fetch(`${handle.url}/v1/watch/staging?since=${head}&timeout=60`).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as { commit: string },
        })),
      );
      await waitFor('watchers registered', async () => {
        const s = (await getJson(`${handle.url}/v1/status`)) as { watchers: { longpoll: number } };
        return s.watchers.longpoll === 1000;
      });
      const next = await commitFiles(work, { 'defaults/db.yaml': 'host: many.internal\n' });
      await postSigned(handle.url, 'generic', SECRET, Buffer.from('{}'));
      const answers = await Promise.all(polls);
      assert.ok(answers.every((a) => a.status === 200 && a.body.commit === next));
      const s = (await getJson(`${handle.url}/v1/status`)) as { watchers: { longpoll: number } };
      assert.equal(s.watchers.longpoll, 0);
    } finally {
      await handle.close();
    }
  });

  it('refuses bad options before listening', async () => {
    const cwd = await tempDir();
    const base = { cwd, env: {}, port: 0, logDestination: new LogSink(), print: () => {} };
    await assert.rejects(serveCommand(base), { code: 'E_USAGE', message: /--repo/ });
    await assert.rejects(serveCommand({ ...base, repo: cwd, port: '80a' }), { code: 'E_USAGE' });
    await assert.rejects(serveCommand({ ...base, repo: cwd, poll: 'every minute' }), { code: 'E_USAGE' });
    await assert.rejects(serveCommand({ ...base, repo: cwd, logLevel: 'loud' }), { code: 'E_USAGE' });
    // Every problem at once, so one round of fixes is enough.
    await assert.rejects(
      serveCommand({ ...base, repo: cwd, port: '80a', poll: 'every minute', validationWorkers: '0' }),
      (err: unknown) => {
        const { code, message, data } = err as {
          code: string;
          message: string;
          data: { problems: string[] };
        };
        assert.equal(code, 'E_USAGE');
        assert.equal(data.problems.length, 3, message);
        assert.match(message, /^3 problems/);
        for (const what of [/invalid port: 80a/, /invalid poll schedule/, /invalid validation workers: 0/])
          assert.ok(
            data.problems.some((p) => what.test(p)),
            `${String(what)} in ${message}`,
          );
        return true;
      },
    );
    await assert.rejects(serveCommand({ ...base, repo: cwd }), {
      code: 'E_USAGE',
      message: /not a git repository/,
    });
  });
});
