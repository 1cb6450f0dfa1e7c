/**
 * The pre-routed fast path answers exactly what the routes answer: every plain read, with open access and with
 * tokens of every kind (none, scoped, elsewhere, secret readers, invalid, malformed), of pinned and unpinned
 * environments, JSON and YAML, GET and HEAD, fresh and conditional, through a server with the fast path and one
 * without it, both mirroring the same real remote.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createConfigRepo } from '../helpers/config-repo.js';
import type { ConfigRepo } from '../helpers/config-repo.js';
import { cleanupTempDirs, tempDir } from '../helpers/git-repo.js';
import { TOKENS, WRITE_FILES, bearer, startServer, waitReady } from '../edits/writes-fixture.js';
import type { TestServer } from '../edits/writes-fixture.js';

const HEADERS = [
  'etag',
  'content-type',
  'content-length',
  'cache-control',
  'vary',
  'www-authenticate',
  'gitcfg-commit',
  'gitcfg-pinned',
  'gitcfg-secrets',
  'gitcfg-schema-version',
  'gitcfg-stale',
];

const CALLERS: Record<string, Record<string, string>> = {
  anonymous: {},
  reader: bearer('reader'),
  dbReader: bearer('dbReader'),
  secretReader: bearer('secretReader'),
  appDbReader: bearer('appDbReader'),
  admin: bearer('admin'),
  invalid: { authorization: 'Bearer not-a-token-of-this-server' },
  malformed: { authorization: 'Basic Og==' },
};

const URLS = [
  '/v1/config/app/production',
  '/v1/config/app/staging',
  '/v1/config/db/production',
  '/v1/config/db/staging',
  '/v1/config/nope/production',
  '/v1/config/app/nope',
  '/v1/bundle/production',
  '/v1/bundle/staging',
  '/v1/bundle/nope',
];

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: string;
}

async function answer(base: string, url: string, init: RequestInit): Promise<Answer> {
  const res = await fetch(`${base}${url}`, init);
  const headers: Record<string, string | null> = {};
  for (const h of HEADERS) headers[h] = res.headers.get(h);
  return { status: res.status, headers, body: await res.text() };
}

describe('fast path parity', () => {
  let repo: ConfigRepo;
  let dir: string;
  const servers: Record<string, TestServer> = {};
  let first: string;

  before(async () => {
    dir = await tempDir();
    repo = await createConfigRepo({ files: WRITE_FILES }, { remote: true });
    first = repo.head;
    await repo.commit({ 'environments/staging/app.yaml': 'greeting: newer staging\n' }, 'staging');
    for (const tokens of [true, false]) {
      for (const fastPath of [true, false]) {
        const name = `${tokens ? 'tokens' : 'open'}-${fastPath ? 'fast' : 'routed'}`;
        const server = await startServer({
          repo: repo.url!,
          dir,
          dataDir: path.join(dir, name),
          tokens,
          fastPath,
          env: { GITCFG_MIN_COMMIT_WAIT_MS: '150' },
        });
        servers[name] = server;
        await waitReady(server.base, TOKENS.admin);
        if (tokens) {
          // Staging is pinned to the first commit on both token servers.
          const res = await fetch(`${server.base}/v1/pins`, {
            method: 'POST',
            headers: { ...bearer('admin'), 'content-type': 'application/json' },
            body: JSON.stringify({ env: 'staging', commit: first }),
          });
          assert.equal(res.status, 201, await res.text());
        }
      }
    }
  });

  after(async () => {
    for (const server of Object.values(servers)) await server.handle.close();
    await repo.close();
    await cleanupTempDirs();
  });

  for (const mode of ['tokens', 'open']) {
    it(`every plain read answers the same with and without the fast path (${mode})`, async () => {
      const fast = servers[`${mode}-fast`]!.base;
      const routed = servers[`${mode}-routed`]!.base;
      let compared = 0;
      const statuses = new Set<number>();
      for (const [caller, auth] of Object.entries(CALLERS)) {
        for (const url of URLS) {
          for (const accept of [undefined, 'application/yaml']) {
            for (const method of ['GET', 'HEAD']) {
              const headers: Record<string, string> = { ...auth, ...(accept ? { accept } : {}) };
              const a = await answer(fast, url, { method, headers });
              const b = await answer(routed, url, { method, headers });
              const what = `${mode} ${caller} ${method} ${url} ${accept ?? ''}`;
              assert.deepEqual(a, b, what);
              statuses.add(a.status);
              compared++;
              const etag = a.headers.etag;
              if (etag) {
                const conditional = { method, headers: { ...headers, 'if-none-match': etag } };
                const c = await answer(fast, url, conditional);
                assert.deepEqual(c, await answer(routed, url, conditional), `${what} (conditional)`);
                statuses.add(c.status);
                compared++;
              }
            }
          }
        }
      }
      // The matrix reached answers, refusals and misses alike.
      for (const s of mode === 'tokens' ? [200, 304, 401, 403, 404] : [200, 304, 404]) {
        assert.ok(statuses.has(s), `status ${s} reached`);
      }
      assert.ok(compared > 250, `${compared} comparisons`);
    });
  }

  it('reads with Gitcfg-Min-Commit answer the same with and without the fast path', async () => {
    const head = (await (await fetch(`${servers['open-fast']!.base}/readyz`)).json()) as { commit: string };
    const statuses = new Set<number>();
    for (const mode of ['tokens', 'open']) {
      const fast = servers[`${mode}-fast`]!.base;
      const routed = servers[`${mode}-routed`]!.base;
      for (const [caller, auth] of Object.entries(CALLERS)) {
        // The served commit, an ancestor of it, one never served (bounded wait, 503), and no commit id at all.
        const mins = [
          head.commit,
          first,
          ...(caller === 'reader' || caller === 'anonymous' ? ['f'.repeat(40)] : []),
          'main',
        ];
        for (const url of ['/v1/config/app/production', '/v1/config/app/staging', '/v1/bundle/production']) {
          for (const min of mins) {
            const init = { headers: { ...auth, 'gitcfg-min-commit': min } };
            const a = await answer(fast, url, init);
            assert.deepEqual(a, await answer(routed, url, init), `${mode} ${caller} ${url} min ${min}`);
            statuses.add(a.status);
          }
        }
      }
    }
    for (const s of [200, 400, 503]) assert.ok(statuses.has(s), `status ${s} reached`);
  });
});
