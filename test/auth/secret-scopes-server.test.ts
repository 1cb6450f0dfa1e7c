/**
 * The scoped-secrets attack against a real server: a staging writer (or any committer) points a staging secret
 * field at the production variable. The edit and the commit are refused; a snapshot that still holds such a
 * reference (served from before the scopes were narrowed) never resolves it; production keeps its own.
 */
import * as assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashToken } from '../../src/auth/index.js';
import { cleanupTempDirs, commitFiles, createTempRepo, run, tempDir } from '../helpers/git-repo.js';
import { waitFor } from '../server/server-fixture.js';
import type { StatusDoc } from '../server/server-fixture.js';
import { WRITE_FILES, startServer, waitReady } from '../edits/writes-fixture.js';
import type { TestServer } from '../edits/writes-fixture.js';

const PROD_KEY = 'sk-prod-Vb71xQ0aLw3';
const STAGING_KEY = 'sk-staging-Yt55pR9e';
const NARROW = '*/*:DB_*,ai-provider/production:OPENAI_API_KEY,ai-provider/staging:STAGING_*';
const FILES: Record<string, string> = {
  ...WRITE_FILES,
  'schemas/ai-provider.schema.json': JSON.stringify({
    type: 'object',
    additionalProperties: false,
    properties: { model: { type: 'string' }, api_key: { type: 'string', 'x-gitcfg-secret': true } },
  }),
  'defaults/ai-provider.yaml': 'model: small\n',
  'environments/production/ai-provider.yaml': 'api_key: ${env:OPENAI_API_KEY}\n',
  'environments/staging/ai-provider.yaml': 'api_key: ${env:STAGING_OPENAI_KEY}\n',
};
const STAGING_FILE = 'environments/staging/ai-provider.yaml';
const ATTACK = 'api_key: ${env:OPENAI_API_KEY}\n';
const TOKENS = {
  admin: 'gcfg-scopes-admin-4c1d9e7b2a',
  staging: 'gcfg-scopes-staging-8e2f6a0c5d',
  production: 'gcfg-scopes-prod-1b7a3c9e4f',
};

function tokensFile(): string {
  const entry = (name: string, token: string, scopes: string[]) =>
    `  - name: ${name}\n    email: ${name}@example.com\n    sha256: ${hashToken(token)}\n    scopes: [${scopes.map((s) => JSON.stringify(s)).join(', ')}]\n`;
  return (
    'version: 1\ntokens:\n' +
    entry('admin', TOKENS.admin, ['admin']) +
    entry('staging', TOKENS.staging, [
      'read:ai-provider/staging',
      'write:ai-provider/staging',
      'read-secrets:ai-provider/staging',
    ]) +
    entry('production', TOKENS.production, [
      'read:ai-provider/production',
      'read-secrets:ai-provider/production',
    ])
  );
}

async function adminStatus(base: string): Promise<StatusDoc> {
  const res = await fetch(`${base}/v1/status`, { headers: { authorization: `Bearer ${TOKENS.admin}` } });
  return (await res.json()) as StatusDoc;
}

async function readSecret(
  base: string,
  env: string,
  token: string,
): Promise<{ key: unknown; secrets: string | null }> {
  const res = await fetch(`${base}/v1/config/ai-provider/${env}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200);
  const text = await res.text();
  return {
    key: (JSON.parse(text) as { api_key?: unknown }).api_key,
    secrets: res.headers.get('gitcfg-secrets'),
  };
}

describe('secret scopes on the server', () => {
  let repo: string;
  let dir: string;
  let server: TestServer | null = null;
  let env: Record<string, string>;

  before(async () => {
    repo = await createTempRepo({ bare: true, files: FILES });
    dir = await tempDir();
    const tokens = path.join(dir, 'tokens.yaml');
    await writeFile(tokens, tokensFile());
    env = {
      GITCFG_TOKENS_FILE: tokens,
      OPENAI_API_KEY: PROD_KEY,
      STAGING_OPENAI_KEY: STAGING_KEY,
      GITCFG_SECRET_ENV: NARROW,
    };
  });

  after(async () => {
    await server?.handle.close();
    await cleanupTempDirs();
  });

  const start = async (dataDir: string, scopes: string) => {
    server = await startServer({
      repo,
      dir,
      dataDir,
      tokens: false,
      env: { ...env, GITCFG_SECRET_ENV: scopes },
    });
    return waitReady(server.base, TOKENS.admin);
  };
  const stop = async () => {
    await server?.handle.close();
    server = null;
  };

  it('each environment resolves its own key; a staging edit naming the production variable is refused', async () => {
    await start(path.join(dir, 'data-edit'), NARROW);
    const base = server!.base;
    assert.deepEqual(await readSecret(base, 'production', TOKENS.production), {
      key: PROD_KEY,
      secrets: 'resolved',
    });
    assert.deepEqual(await readSecret(base, 'staging', TOKENS.staging), {
      key: STAGING_KEY,
      secrets: 'resolved',
    });
    const head = await run(repo, 'rev-parse', 'main');
    const file = await fetch(`${base}/v1/files/ai-provider/staging`, {
      headers: { authorization: `Bearer ${TOKENS.staging}` },
    });
    const put = await fetch(`${base}/v1/config/ai-provider/staging`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${TOKENS.staging}`,
        'content-type': 'application/yaml',
        'if-match': file.headers.get('gitcfg-file-etag')!,
      },
      body: ATTACK,
    });
    const text = await put.text();
    assert.equal(put.status, 422, text);
    assert.ok(!text.includes(PROD_KEY));
    const issues = (JSON.parse(text) as { error: { issues: { code: string; file: string; line: number }[] } })
      .error.issues;
    assert.deepEqual(
      issues.map((i) => [i.code, i.file, i.line]),
      [['secret-out-of-scope', STAGING_FILE, 1]],
    );
    assert.equal(await run(repo, 'rev-parse', 'main'), head, 'nothing was committed');
    await stop();
  });

  it('a commit naming it is rejected; a snapshot still holding it never resolves it', async () => {
    const work = await createTempRepo();
    await run(work, 'fetch', '--quiet', repo, 'main');
    await run(work, 'checkout', '--quiet', '-B', 'main', 'FETCH_HEAD');
    const attack = await commitFiles(work, { [STAGING_FILE]: ATTACK }, 'staging: use the production key');
    await run(work, 'push', '--quiet', repo, 'main');

    // A committer: the server validating with the scopes rejects the commit and keeps serving the previous one.
    const narrowData = path.join(dir, 'data-narrow');
    server = await startServer({ repo, dir, dataDir: narrowData, tokens: false, env });
    const rejected = await waitFor('commit rejected', async () => {
      const s = await adminStatus(server!.base);
      return s.rejected?.commit === attack ? s : null;
    });
    assert.equal(rejected.served?.commit ?? null, null, 'the first sync had nothing valid to serve');
    assert.deepEqual(
      rejected.rejected!.issues.map((i) => [i.file, i.line]),
      [[STAGING_FILE, 1]],
    );
    assert.match(
      rejected.rejected!.messages.join('\n'),
      /OPENAI_API_KEY\} is not in the secret scopes of ai-provider\/staging/,
    );
    await stop();

    // The scopes were wider when this snapshot was built and persisted; they were narrowed since.
    const dataDir = path.join(dir, 'data-widened');
    assert.equal(await start(dataDir, '*/*:*'), attack);
    await stop();
    server = await startServer({ repo, dir, dataDir, tokens: false, env });
    const base = server.base;
    // The head is the commit already served: the start-up sync has nothing new to validate.
    assert.equal(await waitReady(base, TOKENS.admin), attack);
    assert.deepEqual(await readSecret(base, 'staging', TOKENS.staging), {
      key: '${env:OPENAI_API_KEY}',
      secrets: 'unresolved=OPENAI_API_KEY',
    });
    assert.deepEqual(await readSecret(base, 'production', TOKENS.production), {
      key: PROD_KEY,
      secrets: 'resolved',
    });
  });
});
