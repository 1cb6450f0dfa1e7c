/**
 * Edits, rollback, revert and pins through the HTTP API of a real server mirroring a real smart-HTTP remote.
 * Every commit the server makes is checked with native git. Tests run in order and share one remote.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import {
  cleanupTempDirs,
  cloneRepo,
  commitFiles,
  createTempRepo,
  run,
  tempDir,
} from '../helpers/git-repo.js';
import { serveOverHttp } from '../helpers/config-repo.js';
import {
  DB_PASSWORD,
  TOKENS,
  WRITE_FILES,
  bearer,
  readLayer,
  startServer,
  waitReady,
} from './writes-fixture.js';
import type { TestServer } from './writes-fixture.js';

/** A plaintext secret someone tries to store; it must never come back out. */
const PLAINTEXT = 'plain-Secret-9Xk2q';

describe('edits through the API against a smart-HTTP remote', () => {
  let remote: GitHttpRemote;
  let bare: string;
  let dir: string;
  let server: TestServer | null = null;
  let initial: string;
  const bodies: string[] = [];

  const head = () => run(bare, 'rev-parse', 'refs/heads/main');
  const show = (rev: string, file: string) => run(bare, 'show', `${rev}:${file}`);
  const base = () => server!.base;

  async function start(): Promise<void> {
    server = await startServer({ repo: remote.url('config.git'), dir, dataDir: path.join(dir, 'data') });
    await waitReady(base(), TOKENS.admin);
  }

  /** fetch that keeps every response body, to look for secrets at the end. */
  async function call(
    url: string,
    init: RequestInit = {},
    // Answers of many shapes, read field by field in the assertions.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<{ status: number; headers: Headers; json: any; text: string }> {
    const res = await fetch(`${base()}${url}`, init);
    const text = await res.text();
    bodies.push(text);
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // YAML or empty
    }
    return { status: res.status, headers: res.headers, json, text };
  }

  function put(ns: string, env: string, body: string, headers: Record<string, string>) {
    return call(`/v1/config/${ns}/${env}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml', ...headers },
      body,
    });
  }

  function patch(ns: string, env: string, body: unknown, headers: Record<string, string>) {
    return call(`/v1/config/${ns}/${env}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json', ...headers },
      body: JSON.stringify(body),
    });
  }

  async function assertCommitSound(commit: string, author: string): Promise<void> {
    await run(bare, 'fsck', '--strict', '--no-progress');
    const line = await run(bare, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%P', commit);
    const [a, c, parents] = line.split('|');
    assert.equal(a, `${author} <${author}@example.com>`);
    assert.equal(c, 'gitcfg server <gitcfg@localhost>');
    assert.equal(parents!.split(' ').length, 1);
  }

  before(async () => {
    dir = await tempDir();
    const work = await createTempRepo({ files: WRITE_FILES });
    ({ bare, remote } = await serveOverHttp(work));
    initial = await head();
    await start();
  });

  after(async () => {
    await server?.handle.close();
    await remote.close();
    await cleanupTempDirs();
  });

  it('PUT replaces a file: the caller authors, the server commits, native git reads it, it is served', async () => {
    const file = await readLayer(base(), 'app', 'staging');
    assert.equal(file.status, 200);
    assert.match(file.text, /# staging/);
    assert.equal(file.etag, `"${await run(bare, 'rev-parse', 'main:environments/staging/app.yaml')}"`);
    const body = '# staging, rewritten\ngreeting: hello from staging\n';
    const res = await put('app', 'staging', body, {
      ...bearer('writer'),
      'if-match': file.etag!,
      'gitcfg-message': encodeURIComponent('Greet staging\n\nAsked by the team.'),
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.committed, true);
    assert.equal(res.json.commit, await head());
    assert.equal(res.headers.get('gitcfg-commit'), res.json.commit);
    await assertCommitSound(res.json.commit, 'writer');
    assert.equal(await show(res.json.commit, 'environments/staging/app.yaml'), body.trimEnd());
    assert.equal(
      (await run(bare, 'log', '-1', '--format=%B', res.json.commit)).trim(),
      'Greet staging\n\nAsked by the team.',
    );
    assert.deepEqual(res.json.diff, [
      {
        namespace: 'app',
        environment: 'staging',
        status: 'changed',
        changes: [{ op: 'replace', path: '/greeting', from: 'hi staging', to: 'hello from staging' }],
      },
    ]);
    // The answer comes once the commit is served.
    assert.equal(res.json.served, res.json.commit);
    const served = await call('/v1/config/app/staging', { headers: bearer('reader') });
    assert.equal(served.json.greeting, 'hello from staging');
    assert.equal(served.headers.get('gitcfg-commit'), res.json.commit);
    // The new ETag is the one to send next.
    assert.equal(res.json.etag, (await readLayer(base(), 'app', 'staging')).etag);
  });

  it('PATCH applies a merge patch and keeps comments and key order of the rest', async () => {
    const file = await readLayer(base(), 'app', 'production');
    const res = await patch(
      'app',
      'production',
      { retry: { max: 7, delay: 250 }, tags: ['a', 'b'] },
      {
        ...bearer('writer'),
        'if-match': file.etag!,
      },
    );
    assert.equal(res.status, 200, res.text);
    await assertCommitSound(res.json.commit, 'writer');
    const text = await show(res.json.commit, 'environments/production/app.yaml');
    assert.match(text, /^# production overrides\nretry:\n {2}# tuned in 2025\n {2}max: 7 # tries\n/);
    assert.deepEqual(parseYaml(text), { retry: { max: 7, delay: 250 }, tags: ['a', 'b'] });
    const removed = await patch(
      'app',
      'production',
      { tags: null },
      {
        ...bearer('writer'),
        'if-match': res.json.etag,
      },
    );
    assert.equal(removed.status, 200, removed.text);
    const after = await show(removed.json.commit, 'environments/production/app.yaml');
    assert.deepEqual(parseYaml(after), { retry: { max: 7, delay: 250 } });
    assert.match(after, /# tuned in 2025/);
  });

  it('creates a file with If-None-Match: *, and answers 428 without a precondition and 412 when stale', async () => {
    const before = await head();
    const missing = await put('db', 'staging', 'host: db.staging\n', bearer('writer'));
    assert.equal(missing.status, 428);
    assert.equal(missing.json.error.code, 'E_PRECONDITION_REQUIRED');
    const created = await put('db', 'staging', 'host: db.staging\n', {
      ...bearer('writer'),
      'if-none-match': '*',
    });
    assert.equal(created.status, 201, created.text);
    const again = await put('db', 'staging', 'host: db.other\n', {
      ...bearer('writer'),
      'if-none-match': '*',
    });
    assert.equal(again.status, 412);
    const stale = await put('app', 'staging', 'greeting: stale\n', {
      ...bearer('writer'),
      'if-match': `"${'0'.repeat(40)}"`,
    });
    assert.equal(stale.status, 412);
    assert.equal(stale.json.error.code, 'E_PRECONDITION_FAILED');
    assert.equal(stale.headers.get('gitcfg-file-etag'), (await readLayer(base(), 'app', 'staging')).etag);
    assert.equal(await run(bare, 'rev-list', '--count', `${before}..main`), '1');
  });

  it('answers 422 with every issue and commits nothing when the result is invalid', async () => {
    const before = await head();
    const file = await readLayer(base(), 'app', 'production');
    const res = await put('app', 'production', 'greeting: 5\nretry:\n  max: 50\nunknown: true\n', {
      ...bearer('writer'),
      'if-match': file.etag!,
    });
    assert.equal(res.status, 422, res.text);
    const paths = (res.json.error.issues as { path?: string; environment?: string }[]).map(
      (i) => `${i.environment}${i.path}`,
    );
    for (const expected of ['production/greeting', 'production/retry/max', 'staging/retry/max']) {
      assert.ok(paths.includes(expected), `${expected} in ${paths.join(', ')}`);
    }
    assert.ok(res.json.error.issues.length >= 4);
    assert.equal(await head(), before);
  });

  it('refuses without a token (401), with a bad one (401) and outside its scopes (403)', async () => {
    const noToken = await call('/v1/config/app/staging');
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers.get('www-authenticate'), 'Bearer');
    const bad = await call('/v1/config/app/staging', { headers: { authorization: 'Bearer not-a-token' } });
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    assert.equal((await call('/v1/status')).status, 401);
    assert.equal((await call('/v1/bundle/staging', { headers: bearer('reader') })).status, 403);
    assert.equal((await call('/v1/config/db/staging', { headers: bearer('reader') })).status, 403);
    assert.equal((await call('/v1/history/db/staging', { headers: bearer('reader') })).status, 403);
    assert.equal((await call(`/v1/diff?from=${initial}&to=main`, { headers: bearer('reader') })).status, 403);
    assert.equal((await call('/v1/history/app/staging', { headers: bearer('reader') })).status, 200);
    const file = await readLayer(base(), 'app', 'production');
    const forbidden = [
      await put('app', 'production', 'retry:\n  max: 1\n', { ...bearer('reader'), 'if-match': file.etag! }),
      await put('app', 'production', 'retry:\n  max: 1\n', {
        ...bearer('stagingWriter'),
        'if-match': file.etag!,
      }),
      await put('app', 'defaults', 'greeting: x\n', { ...bearer('stagingWriter'), 'if-match': '*' }),
      await call('/v1/rollback', {
        method: 'POST',
        headers: { ...bearer('writer'), 'content-type': 'application/json' },
        body: JSON.stringify({ namespace: 'app', to: initial }),
      }),
      await call('/v1/pins', {
        method: 'POST',
        headers: { ...bearer('writer'), 'content-type': 'application/json' },
        body: JSON.stringify({ env: 'production', commit: initial }),
      }),
    ];
    assert.deepEqual(
      forbidden.map((r) => r.status),
      [403, 403, 403, 403, 403],
    );
    const staging = await readLayer(base(), 'app', 'staging', 'stagingWriter');
    const allowed = await put('app', 'staging', 'greeting: staging writer was here\n', {
      ...bearer('stagingWriter'),
      'if-match': staging.etag!,
    });
    assert.equal(allowed.status, 200, allowed.text);
    await assertCommitSound(allowed.json.commit, 'stagingwriter');
    // Webhooks keep their own checks: no bearer token needed to reach them.
    const hook = await call('/v1/webhooks/github', { method: 'POST', body: '{}' });
    assert.notEqual(hook.status, 401);
  });

  it('serves secret references to readers and resolved values only to read-secrets tokens', async () => {
    const plain = await call('/v1/config/db/production', { headers: bearer('dbReader') });
    assert.equal(plain.status, 200);
    assert.equal(plain.json.password, '${env:DB_PASSWORD}');
    const resolved = await call('/v1/config/db/production', { headers: bearer('secretReader') });
    assert.equal(resolved.status, 200);
    assert.equal(resolved.json.password, DB_PASSWORD);
    assert.equal(resolved.headers.get('cache-control'), 'no-store');
    assert.equal(resolved.headers.get('gitcfg-secrets'), 'resolved');
    bodies.splice(bodies.indexOf(resolved.text), 1); // the one answer allowed to carry it
    const yaml = await fetch(`${base()}/v1/config/db/production?format=yaml&path=password`, {
      headers: bearer('secretReader'),
    });
    assert.equal((await yaml.text()).trim(), DB_PASSWORD);
    // A reader right after still gets the reference: nothing resolved was cached.
    const reader = await call('/v1/config/db/production', { headers: bearer('dbReader') });
    assert.equal(reader.json.password, '${env:DB_PASSWORD}');
  });

  it('turns a remote outage into 503 and leaves no commit the remote does not have', async () => {
    const before = await head();
    const file = await readLayer(base(), 'app', 'staging');
    await remote.stop();
    try {
      const res = await put('app', 'staging', 'greeting: during the outage\n', {
        ...bearer('writer'),
        'if-match': file.etag!,
      });
      assert.equal(res.status, 503, res.text);
      assert.match(res.json.error.message, /nothing was committed/);
      const mirror = path.join(dir, 'data', 'mirror');
      assert.equal(await run(mirror, 'rev-parse', 'refs/heads/main'), before);
      assert.equal(await run(mirror, 'for-each-ref', '--format=%(objectname)', 'refs/heads/'), before);
    } finally {
      await remote.restart();
    }
    assert.equal(await head(), before);
  });

  it('serialises 24 concurrent PUTs of one file: each is committed or gets 412/409, none is lost', async () => {
    const start = await head();
    const file = await readLayer(base(), 'app', 'staging');
    // Someone pushes with native git meanwhile: the server must fetch, redo and retry.
    const clone = await cloneRepo(remote.url('config.git'));
    const outside = commitFiles(clone, { 'README.md': 'pushed from outside\n' }, 'outside change').then(() =>
      run(clone, 'push', '--quiet', 'origin', 'main'),
    );
    const requests = Array.from({ length: 24 }, (_, i) =>
      put('app', 'staging', `# edit ${i}\ngreeting: writer ${i}\n`, {
        ...bearer('writer'),
        // a third say "the version I read" (at most one of them can win), the rest "whatever it is now"
        'if-match': i % 3 === 0 ? file.etag! : '*',
      }),
    );
    const results = await Promise.all(requests);
    await outside.catch(() => undefined); // may lose the race against the server's pushes; that is fine
    const ok = results.map((r, i) => ({ r, i })).filter(({ r }) => r.status === 200);
    for (const { r } of results.map((r) => ({ r }))) assert.ok([200, 409, 412].includes(r.status), r.text);
    // Every PUT with If-Match: * applies (or 409s if the branch kept moving); of those with the same ETag at most one.
    assert.ok(ok.length >= 16, `${ok.length} accepted`);
    assert.ok(results.filter((r, i) => i % 3 === 0 && r.status === 200).length <= 1);
    assert.equal(await run(bare, 'log', '--merges', '--format=%H', `${start}..main`), '');
    const chain = (await run(bare, 'rev-list', '--first-parent', `${start}..main`)).split('\n');
    const all = (await run(bare, 'rev-list', `${start}..main`)).split('\n');
    assert.deepEqual(chain, all);
    for (const { r, i } of ok) {
      assert.ok(chain.includes(r.json.commit), `commit of request ${i} is on main`);
      const text = await show(r.json.commit, 'environments/staging/app.yaml');
      assert.equal(parseYaml(text).greeting, `writer ${i}`);
    }
    assert.equal(new Set(ok.map(({ r }) => r.json.commit)).size, ok.length);
    await run(bare, 'fsck', '--strict', '--no-progress');
  });

  it('rolls a namespace back (dry run first) and reverts a commit; a conflicting revert is 409', async () => {
    const admin = { ...bearer('admin'), 'content-type': 'application/json' };
    const dry = await call('/v1/rollback', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ namespace: 'app', to: initial, dryRun: true }),
    });
    assert.equal(dry.status, 200, dry.text);
    assert.equal(dry.json.committed, false);
    const before = await head();
    assert.equal(dry.json.commit, before);
    const envs = (dry.json.diff as { environment: string }[]).map((d) => d.environment).sort();
    assert.deepEqual(envs, ['production', 'staging']);
    const done = await call('/v1/rollback', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ namespace: 'app', to: initial, message: 'Back to the start' }),
    });
    assert.equal(done.status, 200, done.text);
    await assertCommitSound(done.json.commit, 'admin');
    for (const f of [
      'defaults/app.yaml',
      'environments/staging/app.yaml',
      'environments/production/app.yaml',
    ]) {
      assert.equal(await show(done.json.commit, f), WRITE_FILES[f]!.trimEnd());
    }
    // db files are untouched by a rollback of app
    assert.equal(await show(done.json.commit, 'environments/staging/db.yaml'), 'host: db.staging');
    const served = await call('/v1/config/app/staging', { headers: bearer('reader') });
    assert.equal(served.json.greeting, 'hi staging');

    // Revert one commit: it changed db's staging file only.
    const edit = await patch(
      'db',
      'staging',
      { host: 'db2.staging' },
      { ...bearer('writer'), 'if-match': '*' },
    );
    assert.equal(edit.status, 200);
    const reverted = await call('/v1/rollback', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ revert: edit.json.commit }),
    });
    assert.equal(reverted.status, 200, reverted.text);
    assert.equal(await show(reverted.json.commit, 'environments/staging/db.yaml'), 'host: db.staging');
    assert.match(
      await run(bare, 'log', '-1', '--format=%B', reverted.json.commit),
      new RegExp(`This reverts commit ${edit.json.commit}`),
    );

    // A commit whose file changed since cannot be reverted.
    const first = await patch('db', 'staging', { host: 'one' }, { ...bearer('writer'), 'if-match': '*' });
    await patch('db', 'staging', { host: 'two' }, { ...bearer('writer'), 'if-match': '*' });
    const tip = await head();
    const conflict = await call('/v1/rollback', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ revert: first.json.commit }),
    });
    assert.equal(conflict.status, 409, conflict.text);
    assert.deepEqual(conflict.json.error.paths, ['environments/staging/db.yaml']);
    assert.equal(await head(), tip);
  });

  it('pins an environment to a commit: served at once, in the header and status, survives a restart, then deleted', async () => {
    const admin = { ...bearer('admin'), 'content-type': 'application/json' };
    const pinned = await call('/v1/pins', {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ env: 'production', commit: initial.slice(0, 10) }),
    });
    assert.equal(pinned.status, 201, pinned.text);
    assert.equal(pinned.json.commit, initial);
    const check = async () => {
      const prod = await call('/v1/config/app/production', { headers: bearer('reader') });
      assert.equal(prod.status, 200, prod.text);
      assert.equal(prod.headers.get('gitcfg-pinned'), initial);
      assert.equal(prod.headers.get('gitcfg-commit'), initial);
      assert.deepEqual(prod.json.retry, { max: 5, delay: 100 });
      const staging = await call('/v1/config/app/staging', { headers: bearer('reader') });
      assert.equal(staging.headers.get('gitcfg-pinned'), null);
      assert.notEqual(staging.headers.get('gitcfg-commit'), initial);
      const st = await call('/v1/status', { headers: bearer('reader') });
      assert.deepEqual(
        st.json.pins.map((p: { env: string; commit: string }) => [p.env, p.commit]),
        [['production', initial]],
      );
    };
    await check();
    // Move production on: the pin still wins.
    const file = await readLayer(base(), 'app', 'production');
    const moved = await patch(
      'app',
      'production',
      { retry: { max: 9 } },
      { ...bearer('writer'), 'if-match': file.etag! },
    );
    assert.equal(moved.status, 200, moved.text);
    await check();
    // Restart with the remote down: the pin is read back from the data dir and still served.
    await server!.handle.close();
    await remote.stop();
    try {
      server = await startServer({ repo: remote.url('config.git'), dir, dataDir: path.join(dir, 'data') });
      // The very first request is answered from the pin, before any sync could succeed.
      const first = await fetch(`${base()}/v1/config/app/production`, { headers: bearer('reader') });
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('gitcfg-pinned'), initial);
      assert.equal(first.headers.get('gitcfg-commit'), initial);
      await check();
    } finally {
      await remote.restart();
    }
    const deleted = await call('/v1/pins/production', { method: 'DELETE', headers: bearer('admin') });
    assert.equal(deleted.status, 204);
    const prod = await call('/v1/config/app/production', { headers: bearer('reader') });
    assert.equal(prod.headers.get('gitcfg-pinned'), null);
    assert.equal(prod.json.retry.max, 9);
    assert.equal(
      (await call('/v1/pins/production', { method: 'DELETE', headers: bearer('admin') })).status,
      404,
    );
  });

  it('refuses plaintext in a secret field, and never echoes it, even once pushed around the API', async () => {
    const file = await readLayer(base(), 'db', 'defaults');
    const refused = await put('db', 'defaults', `host: db.internal\npassword: ${PLAINTEXT}\n`, {
      ...bearer('writer'),
      'if-match': file.etag!,
    });
    assert.equal(refused.status, 422, refused.text);
    assert.deepEqual(
      refused.json.error.issues.map((i: { code: string; path: string }) => [i.code, i.path]),
      [
        ['secret-plaintext', '/password'],
        ['secret-plaintext', '/password'],
      ],
    );
    // Someone pushes it with native git: never served; an admin fixes it through the API.
    const clone = await cloneRepo(remote.url('config.git'));
    await commitFiles(clone, { 'defaults/db.yaml': `host: db.internal\npassword: ${PLAINTEXT}\n` }, 'oops');
    await run(clone, 'push', '--quiet', 'origin', 'main');
    const bad = await head();
    const fix = await put('db', 'defaults', 'host: db.internal\npassword: ${env:DB_PASSWORD}\n', {
      ...bearer('admin'),
      'if-match': '*',
    });
    assert.equal(fix.status, 200, fix.text);
    assert.equal(fix.json.parent, bad);
    for (const url of [
      '/v1/history/db/production',
      `/v1/diff?from=${bad}~1&to=${bad}`,
      `/v1/diff?from=${bad}&to=${fix.json.commit}`,
    ]) {
      const res = await call(url, { headers: bearer('admin') });
      assert.ok(res.status < 500, `${url}: ${res.text}`);
    }
  });

  it('never shows a secret or a token in any answer, history entry or log line', async () => {
    for (const url of [
      '/v1/history/db/production',
      '/v1/history/db/staging',
      `/v1/diff?from=${initial}&to=main`,
      '/v1/config/db/production?explain=1',
      '/v1/status',
    ]) {
      const res = await call(url, { headers: bearer('admin') });
      assert.equal(res.status, 200, `${url}: ${res.text}`);
    }
    const everything = [...bodies, ...server!.logs.lines].join('\n');
    assert.ok(!everything.includes(DB_PASSWORD), 'secret value leaked');
    assert.ok(!everything.includes(PLAINTEXT), 'plaintext secret leaked');
    for (const token of Object.values(TOKENS)) assert.ok(!everything.includes(token), 'token leaked');
    assert.ok(server!.logs.lines.length > 0);
  });
});
