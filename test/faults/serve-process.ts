/**
 * `gitcfg serve` as a real child process (the CLI entry, built or from source), for tests that kill it and for benchmarks
 * that measure its memory apart from the load generator. The URL is read from the start-up lines on stderr.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { signPayload } from '../../src/webhooks/index.js';
import { cliEntryArgs, sourceEnv } from '../helpers/run-cli.js';

/** A running server process. */
export interface ServeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Everything written to stdout (JSON log lines) and stderr so far. */
  output(): string;
  /** Sends `signal` (default SIGKILL) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Options of {@link startServeProcess}. */
export interface ServeProcessOptions {
  /** `--repo`: URL or local path. */
  repo: string;
  dataDir: string;
  /** Working directory of the child (relative paths resolve against it). */
  cwd: string;
  /** Extra environment (webhook secrets, ...). */
  env?: Record<string, string>;
  /** Extra CLI flags. */
  args?: string[];
  /** A CLI entry (`.js`) to run with plain node (default: the fresh build, else the source through tsx). */
  cliMain?: string;
  /** Raise the soft file-descriptor limit of the child to its hard limit (many open sockets). */
  raiseFdLimit?: boolean;
}

/** Starts `gitcfg serve --port 0 --poll off` and resolves once it prints its status URL. */
export function startServeProcess(opts: ServeProcessOptions): Promise<ServeProcess> {
  const argv = [
    ...(opts.cliMain ? [opts.cliMain] : cliEntryArgs()),
    'serve',
    '--repo',
    opts.repo,
    '--data-dir',
    opts.dataDir,
    '--port',
    '0',
    '--poll',
    'off',
    '--log-level',
    'info',
    ...(opts.args ?? []),
  ];
  const env = sourceEnv(opts.env);
  const child = opts.raiseFdLimit
    ? spawn(
        'sh',
        ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...argv],
        {
          cwd: opts.cwd,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
    : spawn(process.execPath, argv, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      err += chunk;
      const match = /status:\s+(http:\/\/\S+)\/v1\/status/.exec(err);
      if (match) {
        err = '';
        resolve({
          child,
          pid: child.pid!,
          url: match[1]!,
          output: () => out,
          async kill(signal: NodeJS.Signals = 'SIGKILL') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            await exited;
          },
        });
      }
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`serve exited (${code ?? signal}) before listening:\n${out.slice(-2000)}`)),
    );
  });
}

/** Resident set size (bytes) of a live process, from /proc (Linux); NaN where unavailable. */
export function rssOf(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

let deliveries = 0;

/** Posts a signed `generic` webhook (push to `ref`) and resolves to the response. */
export function postGenericWebhook(
  base: string,
  secret: string,
  opts: { ref?: string; delivery?: string } = {},
): Promise<Response> {
  const body = Buffer.from(JSON.stringify({ ref: opts.ref ?? 'refs/heads/main' }));
  return fetch(`${base}/v1/webhooks/generic`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-gitcfg-signature': signPayload('generic', secret, body),
      'x-gitcfg-delivery': opts.delivery ?? `d-${process.pid}-${Date.now()}-${++deliveries}`,
    },
    body,
  });
}
