/**
 * An edit whose push reached the remote but whose answer was lost: the server asks the remote before answering.
 * A proxy between the server and a real smart-HTTP remote forwards the push and then drops the connection
 * (or drops the push unforwarded, or goes down entirely afterwards).
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import { cleanupTempDirs, createTempRepo, run, tempDir } from '../helpers/git-repo.js';
import { serveOverHttp } from '../helpers/config-repo.js';
import { TOKENS, WRITE_FILES, bearer, readLayer, startServer, waitReady } from './writes-fixture.js';
import type { TestServer } from './writes-fixture.js';

/** What the proxy does with the next push (POST .../git-receive-pack); everything else is forwarded. */
type PushMode = 'forward' | 'lose-reply' | 'lose-reply-then-down' | 'drop';

interface Proxy {
  url: string;
  mode: PushMode;
  down: boolean;
  close(): Promise<void>;
}

async function startProxy(upstreamPort: number): Promise<Proxy> {
  const state = { mode: 'forward' as PushMode, down: false };
  const server = http.createServer((req, res) => {
    if (state.down) return void req.socket.destroy();
    const isPush = req.method === 'POST' && req.url?.endsWith('/git-receive-pack');
    const mode = isPush ? state.mode : 'forward';
    if (mode === 'drop') return void req.socket.destroy();
    const upstream = http.request(
      { host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        if (mode === 'forward') {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        // The remote has taken the pack and answered: the answer never reaches the server.
        answer.resume();
        answer.on('end', () => {
          if (mode === 'lose-reply-then-down') state.down = true;
          req.socket.destroy();
        });
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/config.git`,
    get mode() {
      return state.mode;
    },
    set mode(m: PushMode) {
      state.mode = m;
    },
    get down() {
      return state.down;
    },
    set down(d: boolean) {
      state.down = d;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The parts of an edit's answer the tests read. */
interface EditAnswer {
  commit?: string;
  error: { code: string; message: string; commit?: string };
}

describe('push outcomes of edits', () => {
  let remote: GitHttpRemote;
  let proxy: Proxy;
  let bare: string;
  let server: TestServer;

  const remoteHead = () => run(bare, 'rev-parse', 'refs/heads/main');

  async function edit(greeting: string): Promise<{ status: number; body: EditAnswer }> {
    const file = await readLayer(server.base, 'app', 'staging');
    const res = await fetch(`${server.base}/v1/config/app/staging`, {
      method: 'PUT',
      headers: { ...bearer('writer'), 'content-type': 'application/yaml', 'if-match': file.etag! },
      body: `greeting: ${greeting}\n`,
    });
    return { status: res.status, body: (await res.json()) as EditAnswer };
  }

  /** One edit with the proxy doing `mode` to its push; the proxy forwards everything again afterwards. */
  async function editThrough(mode: PushMode, greeting: string): ReturnType<typeof edit> {
    proxy.mode = mode;
    try {
      return await edit(greeting);
    } finally {
      proxy.mode = 'forward';
    }
  }

  before(async () => {
    const dir = await tempDir();
    ({ bare, remote } = await serveOverHttp(await createTempRepo({ files: WRITE_FILES })));
    proxy = await startProxy(remote.port);
    server = await startServer({ repo: proxy.url, dir, dataDir: path.join(dir, 'data') });
    await waitReady(server.base, TOKENS.admin);
  });

  after(async () => {
    await server.handle.close();
    await proxy.close();
    await remote.close();
    await cleanupTempDirs();
  });

  it('a push that landed but whose answer was lost is a success', async () => {
    const before = await remoteHead();
    const res = await editThrough('lose-reply', 'landed');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const head = await remoteHead();
    assert.notEqual(head, before);
    assert.equal(res.body.commit, head);
    assert.equal(await run(bare, 'show', `${head}:environments/staging/app.yaml`), 'greeting: landed');
  });

  it('a push that never reached the remote answers 503: nothing was committed', async () => {
    const before = await remoteHead();
    const res = await editThrough('drop', 'dropped');
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.match(res.body.error.message, /nothing was committed/);
    assert.equal(await remoteHead(), before);
    // The mirror was put back: the next edit builds on the remote's head.
    assert.equal((await edit('after drop')).status, 200);
  });

  it('when the remote cannot be asked afterwards: 504 unknown outcome, naming the commit', async () => {
    const before = await remoteHead();
    const res = await editThrough('lose-reply-then-down', 'unknown');
    proxy.down = false;
    assert.equal(res.status, 504, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'E_PUSH_OUTCOME_UNKNOWN');
    assert.doesNotMatch(res.body.error.message, /nothing was committed/);
    const landed = await remoteHead();
    assert.notEqual(landed, before, 'the push did land');
    assert.equal(res.body.error.commit, landed);
    assert.match(
      res.body.error.message,
      new RegExp(`commit ${landed}.*outcome unknown|outcome unknown.*${landed}`),
    );
    proxy.down = false;
    proxy.mode = 'forward';
  });
});
