/**
 * The initial fetch of a mirror in a short-lived child process. isomorphic-git's fetch holds the whole pack and
 * resolves every delta in memory (for a 2,000-commit history of a 10k-file repository ~200 MB at its peak, of
 * which the server would keep most as resident memory long after it is garbage); a process that exits gives it
 * all back. The child only runs isomorphic-git's init + fetch on the node fs and http; credentials reach it over
 * the IPC channel, never its arguments or environment.
 */
import { spawn } from 'node:child_process';

/** What the child is asked to do. */
export interface CloneRequest {
  gitdir: string;
  /** The URL with credentials, as isomorphic-git needs it. */
  url: string;
  /** The URL stored in the repository's config (without credentials). */
  configUrl: string;
  branch: string;
  tags: boolean;
  headers: Record<string, string>;
}

/** A failure of the child, rebuilt with what the error mapping reads (`code`, `data`). */
interface CloneFailure {
  name?: string;
  code?: string;
  message: string;
  data?: unknown;
}

type CloneReply = { ok: true; fetchHead: string | null } | { ok: false; error: CloneFailure };

// Plain JavaScript run with `node -e`: the same in a compiled install and when running from TypeScript source,
// and it loads nothing but isomorphic-git.
const CHILD = `
const [git, { default: http }, fs] = await Promise.all([
  import(process.env.GITCFG_CLONE_GIT), import(process.env.GITCFG_CLONE_HTTP), import('node:fs'),
]);
process.on('disconnect', () => process.exit(1));
process.once('message', async (o) => {
  let reply;
  try {
    await git.init({ fs, dir: o.gitdir, gitdir: o.gitdir, bare: true, defaultBranch: o.branch });
    await git.addRemote({ fs, gitdir: o.gitdir, remote: 'origin', url: o.configUrl, force: true });
    const r = await git.fetch({ fs, gitdir: o.gitdir, http, url: o.url, headers: o.headers, remote: 'origin',
      ref: o.branch, singleBranch: !o.tags, tags: o.tags, cache: {} });
    reply = { ok: true, fetchHead: r.fetchHead ?? null };
  } catch (e) {
    let data;
    try { data = JSON.parse(JSON.stringify(e?.data ?? null)); } catch {}
    reply = { ok: false, error: { name: e?.name, code: e?.code, message: String(e?.message ?? e), data } };
  }
  process.send(reply, () => process.exit(0));
});
`;

/** Environment variables that decide how node verifies TLS (and node flags such as `--use-openssl-ca`). */
const TLS_ENV = [
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_USE_SYSTEM_CA',
  'NODE_TLS_REJECT_UNAUTHORIZED',
  'NODE_OPTIONS',
] as const;

function pick(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * Runs init + fetch of `request.branch` into `request.gitdir` in a child process; resolves to the fetched head.
 * A failure is rethrown as an Error carrying the child's `code` and `data` (as isomorphic-git's own errors do).
 */
export function cloneInChildProcess(request: CloneRequest): Promise<{ fetchHead: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // Nothing of the server's environment (it holds credentials) but where the modules are and the TLS trust
      // settings, so a git host behind an internal CA is reached as the server itself would reach it.
      env: {
        ...pick(process.env, TLS_ENV),
        GITCFG_CLONE_GIT: import.meta.resolve('isomorphic-git'),
        GITCFG_CLONE_HTTP: import.meta.resolve('isomorphic-git/http/node'),
      },
    });
    let reply: CloneReply | null = null;
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    child.on('message', (message: CloneReply) => (reply ??= message));
    child.on('error', reject);
    child.on('spawn', () => child.send(request));
    child.on('exit', (code, signal) => {
      const answer = reply as CloneReply | null;
      if (answer?.ok) return resolve({ fetchHead: answer.fetchHead });
      if (answer) {
        const { code: errorCode, data, message, name } = answer.error;
        return reject(Object.assign(new Error(message), { name: name ?? 'Error', code: errorCode, data }));
      }
      // stderr may quote the URL; the caller scrubs every message before it is shown or logged.
      const why = stderr.trim().split('\n').slice(-3).join(' ');
      reject(new Error(`clone process ended (${signal ?? `code ${code}`})${why ? `: ${why}` : ''}`));
    });
  });
}
