import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ConfigChange, JsonObject } from '../../src/client/index.js';
import { createClient } from '../../src/client/index.js';
import { cleanupTempDirs, tempDir } from '../helpers/git-repo.js';
import type { ServedRepo } from './client-fixture.js';
import { serveFixture, serveFixtureForSuite } from './client-fixture.js';

const CLIENT_ENTRY = pathToFileURL(fileURLToPath(new URL('../../src/client/index.ts', import.meta.url))).href;

/** Runs an ES module in a child node (with tsx); a generous kill timer is only a safety net against hangs. */
function runChild(
  source: string,
  args: string[],
): Promise<{ code: number | null; killed: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', source, '--', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const safety = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(safety);
      resolve({ code, killed, stdout, stderr });
    });
  });
}

/** Watches with a long-poll in flight and another client in backoff, closes both, then just returns. */
const CLOSE_SCRIPT = `
import { createClient } from ${JSON.stringify(CLIENT_ENTRY)};
const [url, cacheDir] = process.argv.slice(-2);
let pollStarted;
const polling = new Promise((resolve) => (pollStarted = resolve));
const live = createClient({
  url, env: 'production', cacheDir, envOverrides: false,
  fetch: (input, init) => {
    if (String(input).includes('/v1/watch/')) pollStarted();
    return fetch(input, init);
  },
});
const ml = await live.get('ml');
live.watch('ml', () => {});
await polling;
let failed;
const failing = new Promise((resolve) => (failed = resolve));
// Nothing listens on port 1: this watch fails and then sleeps in a long backoff timer.
const down = createClient({ url: 'http://127.0.0.1:1', env: 'production', envOverrides: false,
  backoff: { baseMs: 600000, maxMs: 600000, random: () => 0.99 } });
down.watch('ml', () => {}, { onError: () => failed() });
await failing;
await Promise.all([live.close(), down.close()]);
const after = await live.get('ml').then(() => 'resolved', (error) => error.code);
console.log(JSON.stringify({ inputSize: ml.input_size, after }));
`;

describe('client lifecycle', () => {
  const served = serveFixtureForSuite();

  it('close() aborts the long-poll and the backoff timer: the process exits on its own', async () => {
    const cacheDir = await tempDir('gitcfg-client-child-');
    const result = await runChild(CLOSE_SCRIPT, [served().url, cacheDir]);
    assert.equal(result.killed, false, `the child did not exit on its own; stderr: ${result.stderr}`);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.trim()), { inputSize: 256, after: 'E_CLOSED' });
  });
});

describe('watch ordering', () => {
  let primary: ServedRepo;
  let lagging: ServedRepo;
  let proxy: http.Server;
  let proxyUrl: string;
  const clients: { close(): Promise<void> }[] = [];
  /** Where the proxy sends `/v1/config/*`: the up-to-date server or a replica that stopped syncing. */
  let configTarget: () => string;
  /** `since` of every long-poll that went through the proxy. */
  const pollsSince: string[] = [];

  before(async () => {
    primary = await serveFixture();
    // Same repository, but never told about pushes: it keeps serving the first commit.
    lagging = await serveFixture({ repoDir: primary.repoDir });
    configTarget = () => primary.url;
    // A real HTTP hop in front of two real servers, like a load balancer with one replica behind.
    proxy = http.createServer((req, res) => {
      const target = req.url?.startsWith('/v1/config/') ? configTarget() : primary.url;
      if (req.url?.startsWith('/v1/watch/'))
        pollsSince.push(new URL(req.url, primary.url).searchParams.get('since') ?? '');
      const headers: Record<string, string> = {};
      if (typeof req.headers['if-none-match'] === 'string')
        headers['if-none-match'] = req.headers['if-none-match'];
      fetch(`${target}${req.url}`, { headers })
        .then(async (upstream) => {
          const body = Buffer.from(await upstream.arrayBuffer());
          const out: Record<string, string> = {};
          for (const name of ['etag', 'gitcfg-commit', 'gitcfg-stale', 'content-type']) {
            const value = upstream.headers.get(name);
            if (value !== null) out[name] = value;
          }
          res.writeHead(upstream.status, out);
          res.end(body);
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await Promise.all([primary.stop(), lagging.stop()]);
    await cleanupTempDirs();
  });

  it('never delivers a superseded commit, even when a lagging replica answers', async () => {
    const first = await primary.head();
    const client = createClient({
      url: proxyUrl,
      env: 'production',
      envOverrides: false,
      backoff: { baseMs: 10, maxMs: 50 },
    });
    clients.push(client);
    const seen: { doc: JsonObject; change: ConfigChange }[] = [];
    let notify: (() => void) | undefined;
    const next = async (count: number) => {
      while (seen.length < count) await new Promise<void>((resolve) => (notify = resolve));
    };
    assert.equal((await client.get('ml')).input_size, 256);
    client.watch('ml', (doc, change) => {
      seen.push({ doc, change });
      notify?.();
    });

    const second = await primary.push({ 'environments/production/ml.yaml': 'input_size: 2\n' });
    await next(1);
    assert.deepEqual([seen[0]!.doc.input_size, seen[0]!.change.commit], [2, second]);

    // The replica still serves the first commit: after the next notification the client reads it, and must
    // not hand the watcher a document older than the one it already has.
    configTarget = () => lagging.url;
    const third = await primary.push({ 'environments/production/ml.yaml': 'input_size: 3\n' });
    // Done with that notification once the client polls again from the third commit.
    for (let i = 0; i < 400 && !pollsSince.includes(third); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(pollsSince.includes(third), 'the client went back to polling');
    assert.equal(client.status('ml')?.commit, first, 'the client did read the lagging replica');
    assert.equal((await client.get('ml')).input_size, 256, 'get returns what the server answers');

    configTarget = () => primary.url;
    const fourth = await primary.push({ 'environments/production/ml.yaml': 'input_size: 4\n' });
    await next(2);
    assert.deepEqual(
      seen.map((s) => [s.doc.input_size, s.change.commit]),
      [
        [2, second],
        [4, fourth],
      ],
    );
    assert.notEqual(third, fourth);
    assert.equal(seen[1]!.change.previousCommit, second);
  });
});
