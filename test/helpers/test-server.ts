/**
 * The one server helper of the tests: `gitcfg serve` (or a built app) in this process on `127.0.0.1:0`, with its
 * base URL, the token the test talks with, its log lines, and a `close()` to await (or `withServer`, which does).
 */
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { serveCommand } from '../../src/commands/serve.js';
import type { ServeHandle, ServeOptions } from '../../src/commands/serve.js';
import { buildApp, listen } from '../../src/server/index.js';
import type { AppDeps } from '../../src/server/index.js';
import { tempDir } from './git-repo.js';
import { LogSink } from './log-sink.js';
import { waitForServed } from './wait-for.js';
import type { ServedStatus } from './wait-for.js';

/** Options of {@link startTestServer}: any serve option, plus what the kit fills in. */
export interface TestServerOptions extends Partial<ServeOptions> {
  /** Working directory of the server (default: a new temp dir); the data dir defaults to `<dir>/data`. */
  dir?: string;
  /** A tokens file (its text) to write to `<dir>/tokens.yaml` and point `GITCFG_TOKENS_FILE` at. */
  tokensFile?: string;
  /** The bearer token the test's own requests (`served`, `get`) carry. */
  token?: string;
}

/** A running server. */
export interface TestServer {
  handle: ServeHandle;
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  base: string;
  /** The token of {@link TestServerOptions.token}, if any. */
  token?: string;
  logs: LogSink;
  /** Waits until `commit` (default: any commit) is served and no sync runs or waits; resolves to the status. */
  served(commit?: string): Promise<ServedStatus>;
  /** Drains and closes the server. */
  close(): Promise<void>;
}

/** `gitcfg serve` on port 0 of 127.0.0.1, polling off, logs kept (not printed); resolves once it listens. */
export async function startTestServer(opts: TestServerOptions): Promise<TestServer> {
  const { dir: givenDir, tokensFile, token, ...serve } = opts;
  const dir = givenDir ?? opts.cwd ?? (await tempDir('gitcfg-serve-'));
  const env: Record<string, string | undefined> = { ...serve.env };
  if (tokensFile !== undefined) {
    const file = path.join(dir, 'tokens.yaml');
    await writeFile(file, tokensFile);
    env.GITCFG_TOKENS_FILE = file;
  }
  const logs = serve.logDestination instanceof LogSink ? serve.logDestination : new LogSink();
  const handle = await serveCommand({
    cwd: dir,
    port: 0,
    host: '127.0.0.1',
    dataDir: path.join(dir, 'data'),
    poll: 'off',
    logDestination: logs,
    print: () => {},
    ...serve,
    env,
  });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return {
    handle,
    base: handle.url,
    ...(token ? { token } : {}),
    logs,
    served: (commit) => waitForServed(handle.url, commit, headers),
    close: () => handle.close(),
  };
}

/** Runs `fn` against a started server and always awaits its close. */
export async function withTestServer<T>(
  opts: TestServerOptions,
  fn: (server: TestServer) => Promise<T>,
): Promise<T> {
  const server = await startTestServer(opts);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

/** A built app (`buildApp(deps)`) listening on port 0 of 127.0.0.1. */
export async function startTestApp(deps: AppDeps): Promise<{ base: string; close(): Promise<void> }> {
  const running = await listen(buildApp(deps), { port: 0, host: '127.0.0.1' });
  return { base: running.url, close: () => running.close() };
}
