/** Shared pieces of the access-control and edit tests: a config repo with comments and a secret, tokens. */
import { hashToken } from '../../src/auth/index.js';
import type { ServeOptions } from '../../src/commands/serve.js';
import { startTestServer } from '../helpers/test-server.js';
import type { TestServer } from '../helpers/test-server.js';
import { waitForServed } from '../helpers/wait-for.js';

/** A valid configuration repository: `app` (commented YAML) and `db` (with a secret field). */
export const WRITE_FILES: Record<string, string> = {
  'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n  staging:\n    extends: production\n',
  'schemas/app.schema.json': JSON.stringify({
    type: 'object',
    required: ['greeting'],
    additionalProperties: false,
    properties: {
      greeting: { type: 'string' },
      retry: {
        type: 'object',
        additionalProperties: false,
        properties: { max: { type: 'integer', maximum: 10 }, delay: { type: 'integer' } },
      },
      counter: { type: 'integer' },
      tags: { type: 'array', items: { type: 'string' } },
    },
  }),
  'defaults/app.yaml': '# defaults of app\ngreeting: hello # the greeting\nretry:\n  max: 3\n  delay: 100\n',
  'environments/staging/app.yaml': '# staging\ngreeting: hi staging # keep it short\n',
  'environments/production/app.yaml': '# production overrides\nretry:\n  # tuned in 2025\n  max: 5 # tries\n',
  'schemas/db.schema.json': JSON.stringify({
    type: 'object',
    additionalProperties: false,
    properties: {
      host: { type: 'string' },
      password: { type: 'string', 'x-gitcfg-secret': true },
    },
  }),
  'defaults/db.yaml': 'host: db.internal\npassword: ${env:DB_PASSWORD}\n',
};

/** The secret value the server resolves `${env:DB_PASSWORD}` to. */
export const DB_PASSWORD = 'pw-Zq8vXr2LmT5s';

/** Bearer tokens of the tests, by role. */
export const TOKENS = {
  admin: 'gcfg-admin-7f3a9c1e5b2d4f6a8c0e',
  writer: 'gcfg-writer-2b4d6f8a0c1e3a5c7e9b',
  stagingWriter: 'gcfg-stg-writer-9e7c5a3f1d0b8d6f',
  reader: 'gcfg-reader-1a2b3c4d5e6f7a8b9c0d',
  secretReader: 'gcfg-secrets-5f4e3d2c1b0a9f8e7d6c',
  dbReader: 'gcfg-db-reader-0f1e2d3c4b5a6978',
  /** Reads every namespace the fixture has (`app`, `db`) and nothing else. */
  appDbReader: 'gcfg-app-db-reader-3c5e7a9b1d2f',
} as const;

/** One entry of a tokens file. */
export function tokenEntry(name: string, token: string, scopes: string[]): string {
  return `  - name: ${name}\n    email: ${name}@example.com\n    sha256: ${hashToken(token)}\n    scopes: [${scopes.map((s) => JSON.stringify(s)).join(', ')}]\n`;
}

/** The tokens file matching `TOKENS`. */
export function tokensYaml(): string {
  const entry = tokenEntry;
  return (
    'version: 1\ntokens:\n' +
    entry('admin', TOKENS.admin, ['admin']) +
    entry('writer', TOKENS.writer, ['write:*/*']) +
    entry('stagingwriter', TOKENS.stagingWriter, ['write:app/staging']) +
    entry('reader', TOKENS.reader, ['read:app/*']) +
    entry('secretreader', TOKENS.secretReader, ['read-secrets:db/*']) +
    entry('dbreader', TOKENS.dbReader, ['read:db/*']) +
    entry('appdbreader', TOKENS.appDbReader, ['read:app/*', 'read:db/*'])
  );
}

/** Authorization header of a role. */
export function bearer(role: keyof typeof TOKENS): Record<string, string> {
  return { authorization: `Bearer ${TOKENS[role]}` };
}

/** A running server with its log lines. */
export type { TestServer } from '../helpers/test-server.js';

/** Starts `gitcfg serve` on port 0 (polling off) with a tokens file unless `tokens` is false. */
export function startServer(opts: {
  repo: string;
  dir: string;
  dataDir: string;
  tokens?: boolean;
  /** The tokens file to write instead of `tokensYaml()`. */
  tokensFile?: string;
  env?: Record<string, string>;
  fastPath?: boolean;
  spring?: Pick<ServeOptions, 'spring' | 'springPrefix'>;
  /** The web console: off (`ui: false`) or served from a built folder. */
  ui?: Pick<ServeOptions, 'ui' | 'uiDir'>;
}): Promise<TestServer> {
  return startTestServer({
    repo: opts.repo,
    dir: opts.dir,
    dataDir: opts.dataDir,
    env: { DB_PASSWORD, GITCFG_SECRET_ENV: '*/*:DB_*', ...opts.env },
    ...(opts.tokens !== false ? { tokensFile: opts.tokensFile ?? tokensYaml() } : {}),
    branch: 'main',
    logLevel: 'debug',
    ...(opts.fastPath !== undefined ? { fastPath: opts.fastPath } : {}),
    ...opts.spring,
    ...opts.ui,
  });
}

/** Waits until the server serves something (any commit) and no sync runs. */
export async function waitReady(base: string, token: string): Promise<string> {
  const s = await waitForServed(base, undefined, { authorization: `Bearer ${token}` });
  return s.served!.commit;
}

/** Reads a layer file through the API: its text and ETag. */
export async function readLayer(
  base: string,
  ns: string,
  env: string,
  role: keyof typeof TOKENS = 'writer',
): Promise<{ status: number; text: string; etag: string | null }> {
  const res = await fetch(`${base}/v1/files/${ns}/${env}`, { headers: bearer(role) });
  return { status: res.status, text: await res.text(), etag: res.headers.get('gitcfg-file-etag') };
}
