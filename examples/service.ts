/**
 * Example service: reads its HTTP retry policy from a gitcfg server, then follows changes.
 *
 *   npm start                                   # terminal 1: serves config-repo/ on http://127.0.0.1:8080
 *   node --import tsx examples/service.ts       # terminal 2
 *
 * Then edit `config-repo/environments/development/retry.yaml` (or `defaults/retry.yaml`), commit it, and let the
 * server pick the commit up (its poll runs every minute, or send it a webhook, see docs/client.md): the service
 * prints the new policy. Ctrl-C closes the client and the process exits on its own.
 *
 * Environment: GITCFG_URL (default http://127.0.0.1:8080), GITCFG_ENV (default development),
 * GITCFG_CACHE_DIR (default .gitcfg-client-cache). Try an override:
 *   GITCFG__RETRY__OPERATIONS__HTTP__MAX_RETRIES=7 node --import tsx examples/service.ts
 */
import { createClient } from '../src/client/index.js'; // in a service: `from 'gitcfg/client'`

/** The part of the `retry` namespace this service uses (`gitcfg types` generates the full interfaces). */
interface RetryConfig {
  operations: Record<
    string,
    { max_retries: number; base_delay_ms: number; max_delay_ms: number } | undefined
  >;
}

const client = createClient<{ retry: RetryConfig }>({
  url: process.env.GITCFG_URL ?? 'http://127.0.0.1:8080',
  env: process.env.GITCFG_ENV ?? 'development',
  cacheDir: process.env.GITCFG_CACHE_DIR ?? '.gitcfg-client-cache',
  logger: console, // says once which GITCFG__ variables override what
});

function describePolicy(config: RetryConfig): string {
  const http = config.operations.http;
  return http
    ? `${http.max_retries} retries, ${http.base_delay_ms}..${http.max_delay_ms} ms`
    : 'no http policy';
}

const { value, metadata } = await client.getWithMetadata('retry');
console.log(
  `[${client.environment}] http retry policy: ${describePolicy(value)}` +
    ` (commit ${metadata.commit?.slice(0, 7) ?? '?'}, from ${metadata.source}${metadata.stale ? ', STALE' : ''})`,
);
for (const o of client.overrides('retry')) console.log(`  overridden by ${o.variable}: ${o.path}`);

client.watch(
  'retry',
  (doc, change) => {
    console.log(
      `[${client.environment}] commit ${change.commit?.slice(0, 7)}: http retry policy is now ${describePolicy(doc)}`,
    );
  },
  { onError: (error) => console.warn(`watch: ${error.message} (retrying)`) },
);
console.log('watching for changes; Ctrl-C to stop');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void client.close().then(() => console.log('client closed'));
  });
}
