import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { createClient, defaultClientId } from '../../src/client/index.js';

/** A fetch that records the client id of each request and answers one small document. */
function recorder(): { fetch: typeof fetch; ids: (string | null)[] } {
  const ids: (string | null)[] = [];
  const fake = (async (_url: string | URL | Request, init?: RequestInit) => {
    ids.push(new Headers(init?.headers).get('gitcfg-client-id'));
    return new Response('{"a":1}', {
      status: 200,
      headers: { 'content-type': 'application/json', etag: '"e"', 'gitcfg-commit': 'c'.repeat(40) },
    });
  }) as typeof fetch;
  return { fetch: fake, ids };
}

test('the SDK sends Gitcfg-Client-Id: given, from the environment, or hostname-pid; false sends none', async () => {
  assert.equal(defaultClientId({ GITCFG_CLIENT_ID: 'svc-a', POD_NAME: 'pod-1' }), 'svc-a');
  assert.equal(defaultClientId({ POD_NAME: 'pod-1' }), 'pod-1');
  assert.equal(defaultClientId({}), `${hostname()}-${process.pid}`);
  for (const [clientId, expected] of [
    ['checkout-7d9f', 'checkout-7d9f'],
    [false, null],
  ] as const) {
    const r = recorder();
    const client = createClient({ url: 'http://127.0.0.1:1', env: 'production', fetch: r.fetch, clientId });
    await client.get('app');
    await client.close();
    assert.deepEqual(r.ids, [expected]);
  }
  assert.throws(
    () => createClient({ url: 'http://127.0.0.1:1', env: 'production', clientId: 'has space' }),
    /clientId must be/,
  );
});
