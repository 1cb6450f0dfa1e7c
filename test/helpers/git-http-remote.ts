/**
 * A real smart-HTTP git remote for tests: node:http on 127.0.0.1:0 running `git http-backend` as CGI for the
 * repositories under `root`. Works for clone, fetch and push from native git and isomorphic-git.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { gitEnv } from './git-repo.js';

/** A running remote. */
export interface GitHttpRemote {
  /** Port it listens on (kept across `stop()`/`restart()`). */
  readonly port: number;
  /** URL of repository `repoName` (a directory under `root`); with `credentials`, embedded as user:password. */
  url(repoName: string, credentials?: { username: string; password: string }): string;
  /** Number of HTTP requests served so far. */
  readonly requests: number;
  /** Stops listening and drops open connections (simulates the remote being down); the port is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  /** Stops for good. */
  close(): Promise<void>;
}

let backendPath: string | undefined;

function httpBackend(): string {
  backendPath ??= path.join(
    execFileSync('git', ['--exec-path'], { encoding: 'utf8' }).trim(),
    'git-http-backend',
  );
  return backendPath;
}

/**
 * Starts the remote. With `auth`, every request must carry those basic-auth credentials (401 otherwise).
 * Receive-pack is enabled for every served repository (`http.receivepack=true`).
 */
export async function startGitHttpRemote(opts: {
  root: string;
  auth?: { username: string; password: string };
}): Promise<GitHttpRemote> {
  const root = path.resolve(opts.root);
  const children = new Set<ChildProcess>();
  let requests = 0;

  const server = http.createServer((req, res) => {
    requests++;
    if (opts.auth) {
      const expected =
        'Basic ' + Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64');
      if (req.headers.authorization !== expected) {
        req.resume();
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
        res.end('authentication required\n');
        return;
      }
    }
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const env: NodeJS.ProcessEnv = {
      ...gitEnv,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.receivepack',
      GIT_CONFIG_VALUE_0: 'true',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(u.pathname),
      QUERY_STRING: u.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      REMOTE_USER: opts.auth?.username ?? '',
      SERVER_PROTOCOL: 'HTTP/1.1',
    };
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
    if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);
    const child = spawn(httpBackend(), [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    child.on('error', () => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
    child.stderr.resume();
    req.pipe(child.stdin);
    child.stdin.on('error', () => {}); // backend may exit before reading everything (e.g. a 403)

    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const lf = head.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
      if (end < 0) return;
      const sepLen = end === crlf ? 4 : 2;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
        else headers[name] = value;
      }
      headersDone = true;
      res.writeHead(status, headers);
      const rest = head.subarray(end + sepLen);
      if (rest.length) res.write(rest);
    });
    child.stdout.on('end', () => {
      if (!headersDone && !res.headersSent) res.writeHead(502);
      res.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let listening = true;

  async function stop(): Promise<void> {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const c of children) c.kill();
    await closed;
  }

  return {
    port,
    get requests() {
      return requests;
    },
    url(repoName, credentials) {
      const auth = credentials
        ? `${encodeURIComponent(credentials.username)}:${encodeURIComponent(credentials.password)}@`
        : '';
      return `http://${auth}127.0.0.1:${port}/${repoName.replace(/^\/+/, '')}`;
    },
    stop,
    async restart() {
      if (listening) return;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      listening = true;
    },
    close: stop,
  };
}
