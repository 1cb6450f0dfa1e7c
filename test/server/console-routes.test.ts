/**
 * The console's server side: `/ui/` static files with their security headers, `/` for browsers and programs,
 * `GET /v1/namespaces` filtered by the caller's read scopes, `GET /v1/whoami`, and dry-run edits.
 */
import * as assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { cleanupTempDirs, createTempRepo, run, tempDir } from '../helpers/git-repo.js';
import { TOKENS, WRITE_FILES, bearer, readLayer, startServer, waitReady } from '../edits/writes-fixture.js';
import type { TestServer } from '../edits/writes-fixture.js';

/** A GET without fetch's automatic decompression, to see the bytes on the wire. */
function rawGet(url: string, headers: Record<string, string> = {}) {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
  }>((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    })
      .on('error', reject)
      .end();
  });
}

describe('console routes and discovery', () => {
  let repo: string;
  let dir: string;
  let uiDir: string;
  let server: TestServer;

  before(async () => {
    repo = await createTempRepo({ bare: true, files: WRITE_FILES });
    dir = await tempDir();
    uiDir = path.join(dir, 'ui');
    await mkdir(path.join(uiDir, 'assets'), { recursive: true });
    await writeFile(
      path.join(uiDir, 'index.html'),
      '<!doctype html><script type="module" src="assets/main-AB12.js"></script>',
    );
    await writeFile(path.join(uiDir, 'assets', 'main-AB12.js'), 'console.log("gitcfg console");'.repeat(20));
    await writeFile(path.join(dir, 'secret.txt'), 'not for the web');
    server = await startServer({ repo, dir, dataDir: path.join(dir, 'data'), ui: { uiDir } });
    await waitReady(server.base, TOKENS.admin);
  });

  after(async () => {
    await server?.handle.close();
    await cleanupTempDirs();
  });

  it('serves the page with a strict CSP, no framing, no referrer and a revalidated HTML', async () => {
    const res = await rawGet(`${server.base}/ui/`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.match(res.body.toString(), /main-AB12\.js/);
  });

  it('serves hashed assets for a year, gzipped when asked', async () => {
    const res = await rawGet(`${server.base}/ui/assets/main-AB12.js`, { 'accept-encoding': 'gzip' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.match(String(res.headers['cache-control']), /max-age=31536000, immutable/);
    assert.match(gunzipSync(res.body).toString(), /gitcfg console/);
    assert.ok(res.body.length < 200);
  });

  it('answers 404 for anything it did not build, without reading the disk', async () => {
    for (const p of [
      '/ui/assets/nope.js',
      '/ui/assets/..%2f..%2fsecret.txt',
      '/ui/secret.txt',
      '/ui/index.html',
    ]) {
      const res = await rawGet(`${server.base}${p}`);
      assert.ok(res.status === 404 || res.status === 400, `${p}: ${res.status}`);
      assert.doesNotMatch(res.body.toString(), /not for the web/);
    }
  });

  it('sends browsers from / to the console and programs to the links', async () => {
    const browser = await rawGet(`${server.base}/`, { accept: 'text/html,application/xhtml+xml' });
    assert.equal(browser.status, 302);
    assert.equal(browser.headers.location, '/ui/');
    const program = await fetch(`${server.base}/`);
    const body = (await program.json()) as { links: Record<string, string> };
    assert.equal(body.links.namespaces, '/v1/namespaces');
    assert.equal(body.links.console, '/ui/');
    assert.equal((await fetch(`${server.base}/ui`, { redirect: 'manual' })).headers.get('location'), '/ui/');
  });

  it('lists namespaces and environments within the read scopes, with descriptions and extends', async () => {
    const all = (await (
      await fetch(`${server.base}/v1/namespaces`, { headers: bearer('writer') })
    ).json()) as {
      environments: { name: string; extends?: string }[];
      namespaces: {
        name: string;
        schemaVersion: number;
        environments: { name: string; files: string[]; overrides?: number }[];
      }[];
    };
    assert.deepEqual(
      all.namespaces.map((n) => n.name),
      ['app', 'db'],
    );
    assert.deepEqual(all.environments, [{ name: 'production' }, { name: 'staging', extends: 'production' }]);
    const app = all.namespaces[0]!;
    assert.equal(app.schemaVersion, 1);
    assert.deepEqual(app.environments.find((e) => e.name === 'staging')?.files, [
      'defaults/app.yaml',
      'environments/production/app.yaml',
      'environments/staging/app.yaml',
    ]);
    // Values each environment's own file sets: `retry.max` in production (not `retry` itself), `greeting` in staging.
    assert.deepEqual(
      app.environments.map((e) => [e.name, e.overrides]),
      [
        ['production', 1],
        ['staging', 1],
      ],
    );
    const db = (await (
      await fetch(`${server.base}/v1/namespaces`, { headers: bearer('dbReader') })
    ).json()) as {
      namespaces: { name: string }[];
    };
    assert.deepEqual(
      db.namespaces.map((n) => n.name),
      ['db'],
    );
    assert.equal((await fetch(`${server.base}/v1/namespaces`)).status, 401);
  });

  it('says who the token is', async () => {
    const me = (await (await fetch(`${server.base}/v1/whoami`, { headers: bearer('reader') })).json()) as {
      name: string;
      scopes: string[];
    };
    assert.equal(me.name, 'reader');
    assert.deepEqual(me.scopes, ['read:app/*']);
  });

  it('a dry-run edit answers the effective diff of every environment reached and commits nothing', async () => {
    const head = await run(repo, 'rev-parse', 'main');
    const file = await readLayer(server.base, 'app', 'defaults');
    const res = await fetch(`${server.base}/v1/config/app/defaults?dryRun=true`, {
      method: 'PATCH',
      headers: {
        ...bearer('writer'),
        'content-type': 'application/merge-patch+json',
        'if-match': file.etag!,
      },
      body: JSON.stringify({ retry: { delay: 250 } }),
    });
    assert.equal(res.status, 200);
    const result = (await res.json()) as {
      committed: boolean;
      dryRun: boolean;
      diff: { environment: string }[];
    };
    assert.equal(result.committed, false);
    assert.equal(result.dryRun, true);
    assert.deepEqual(result.diff.map((d) => d.environment).sort(), ['production', 'staging']);
    const bad = await fetch(`${server.base}/v1/config/app/defaults?dryRun=1`, {
      method: 'PATCH',
      headers: {
        ...bearer('writer'),
        'content-type': 'application/merge-patch+json',
        'if-match': file.etag!,
      },
      body: JSON.stringify({ retry: { delay: 'slow' } }),
    });
    assert.equal(bad.status, 422);
    const issues = ((await bad.json()) as { error: { issues: { file: string; line: number }[] } }).error
      .issues;
    assert.equal(issues[0]?.file, 'defaults/app.yaml');
    assert.equal(typeof issues[0]?.line, 'number');
    assert.equal(await run(repo, 'rev-parse', 'main'), head);
  });

  it('--no-ui turns the console off', async () => {
    const off = await startServer({
      repo,
      dir,
      dataDir: path.join(dir, 'data-off'),
      ui: { ui: false, uiDir },
    });
    try {
      assert.equal((await fetch(`${off.base}/ui/`)).status, 404);
      const root = await rawGet(`${off.base}/`, { accept: 'text/html' });
      assert.equal(root.status, 200);
    } finally {
      await off.handle.close();
    }
  });
});
