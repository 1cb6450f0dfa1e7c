/** A small configuration repository served by the real gitcfg server, for the client SDK tests. */
import { randomUUID } from 'node:crypto';
import { serveCommand } from '../../src/commands/serve.js';
import { signPayload } from '../../src/webhooks/index.js';
import { after, before } from 'node:test';
import { cleanupTempDirs, commitFiles, createTempRepo, run, tempDir } from '../helpers/git-repo.js';
import { waitFor } from '../helpers/wait-for.js';

/** Webhook secret of the generic provider in these tests (a test value, not a credential). */
export const WEBHOOK_SECRET = 'client-test-webhook-secret';

/** Schema of the `ml` namespace: strict, with a free-form map and an optional key absent from the YAML. */
export const ML_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['input_size', 'learning_rate', 'enabled', 'tags', 'feature_mapping'],
  properties: {
    input_size: { type: 'integer', minimum: 1 },
    learning_rate: { type: 'number' },
    enabled: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string' } },
    batch_sizes: { type: 'array', items: { type: 'integer' } },
    max_batch: { type: 'integer' },
    feature_mapping: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

/** Schema of the `retry` namespace. */
export const RETRY_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['max_retries', 'base_delay_ms'],
  properties: {
    max_retries: { type: 'integer', minimum: 0 },
    base_delay_ms: { type: 'integer', minimum: 0 },
  },
};

/** The files of the fixture repository. */
export const FIXTURE_FILES: Record<string, string> = {
  'gitcfg.yaml': 'version: 1\nenvironments:\n  development: {}\n  production: {}\n',
  'schemas/ml.schema.json': `${JSON.stringify(ML_SCHEMA, null, 2)}\n`,
  'schemas/retry.schema.json': `${JSON.stringify(RETRY_SCHEMA, null, 2)}\n`,
  'defaults/ml.yaml': [
    'input_size: 128',
    'learning_rate: 0.01',
    'enabled: true',
    'tags: [baseline, nightly]',
    'batch_sizes: [8, 16]',
    'feature_mapping:',
    '  user_id: uid',
    '  account_age_days: tenure',
    '',
  ].join('\n'),
  'environments/production/ml.yaml': 'input_size: 256\n',
  'defaults/retry.yaml': 'max_retries: 3\nbase_delay_ms: 100\n',
};

/** A running server over a local repository; `restart()` starts it again on the same port and data dir. */
export interface ServedRepo {
  repoDir: string;
  dataDir: string;
  url: string;
  port: number;
  /** Commits file changes and tells the server through a signed generic webhook; resolves to the commit. */
  push(files: Record<string, string | null>, message?: string): Promise<string>;
  /** Waits (bounded tries) until the server serves `commit`. */
  waitForCommit(commit: string): Promise<void>;
  head(): Promise<string>;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

const quiet = { write: () => undefined };

/**
 * Creates the fixture repository (or reuses `repoDir`, e.g. for a second server over the same repository) and
 * serves it on an ephemeral port; resolves once it is ready.
 */
export async function serveFixture(options: { repoDir?: string } = {}): Promise<ServedRepo> {
  const repoDir = options.repoDir ?? (await createTempRepo({ files: FIXTURE_FILES }));
  const dataDir = await tempDir('gitcfg-client-data-');
  let port = 0;
  let handle: Awaited<ReturnType<typeof serveCommand>> | undefined;
  const start = async () => {
    handle = await serveCommand({
      cwd: repoDir,
      env: { GITCFG_WEBHOOK_SECRET: WEBHOOK_SECRET },
      repo: repoDir,
      port,
      host: '127.0.0.1',
      dataDir,
      poll: 'off',
      logLevel: 'warn',
      logDestination: quiet as never,
      print: () => undefined,
    });
    port = Number(new URL(handle.url).port);
  };
  await start();
  const served: ServedRepo = {
    repoDir,
    dataDir,
    get url() {
      return handle ? handle.url : `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    head: () => run(repoDir, 'rev-parse', 'HEAD'),
    async push(files, message = 'update') {
      const commit = await commitFiles(repoDir, files, message);
      await triggerSync(served.url);
      return commit;
    },
    async waitForCommit(commit) {
      await waitFor(
        async () => {
          const res = await fetch(`${served.url}/readyz`);
          return ((await res.json()) as { commit?: string }).commit === commit;
        },
        { what: `commit ${commit} served` },
      );
    },
    async stop() {
      await handle?.close();
      handle = undefined;
    },
    async restart() {
      await start();
    },
  };
  await served.waitForCommit(await served.head());
  return served;
}

/** Asks the server to sync now (signed generic webhook). */
export async function triggerSync(url: string): Promise<void> {
  const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main' }));
  const signature = signPayload('generic', WEBHOOK_SECRET, body);
  const res = await fetch(`${url}/v1/webhooks/generic`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-gitcfg-signature': signature,
      'x-gitcfg-delivery': randomUUID(),
    },
    body,
  });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
}

/** Serves the fixture for the enclosing suite (started before its tests, stopped after); returns a getter. */
export function serveFixtureForSuite(): () => ServedRepo {
  let served: ServedRepo | undefined;
  before(async () => {
    served = await serveFixture();
  });
  after(async () => {
    await served?.stop();
    await cleanupTempDirs();
  });
  return () => served!;
}
