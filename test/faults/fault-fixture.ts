/**
 * Shared set-up of the fault tests: a real smart-HTTP remote holding a small valid configuration repository, a
 * clone to push commits from (over HTTP, force allowed), and the server (`serveCommand`, in process) mirroring it.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { serveCommand } from '../../src/commands/serve.js';
import type { ServeHandle } from '../../src/commands/serve.js';
import { startGitHttpRemote } from '../helpers/git-http-remote.js';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import { cloneRepo, commitFiles, createTempRepo, publishBare, run, tempDir } from '../helpers/git-repo.js';
import { CONFIG_FILES, LogSink, postGithubPush } from '../server/server-fixture.js';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as {
  name: string;
  examples: Record<string, unknown>[];
}[];
/** A real GitHub push payload (the ref and `after` are replaced per delivery). */
export const PUSH_EXAMPLE = examples.find((e) => e.name === 'push')?.examples[0] as Record<string, unknown>;

/** Webhook secrets the fault servers run with, one per provider. */
export const SECRETS = {
  github: 'fault-github-secret',
  gitlab: 'fault-gitlab-secret',
  gitea: 'fault-gitea-secret',
  bitbucket: 'fault-bitbucket-secret',
  generic: 'fault-generic-secret',
} as const;

/** Environment of a server with every provider's secret set. */
export const SECRET_ENV: Record<string, string> = {
  GITCFG_WEBHOOK_SECRET_GITHUB: SECRETS.github,
  GITCFG_WEBHOOK_SECRET_GITLAB: SECRETS.gitlab,
  GITCFG_WEBHOOK_SECRET_GITEA: SECRETS.gitea,
  GITCFG_WEBHOOK_SECRET_BITBUCKET: SECRETS.bitbucket,
  GITCFG_WEBHOOK_SECRET_GENERIC: SECRETS.generic,
};

/** A remote with one repository `config.git`, and a clone of it to commit and push from. */
export interface FaultRemote {
  remote: GitHttpRemote;
  /** Bare repository served by the remote. */
  bare: string;
  /** Its smart-HTTP URL. */
  url: string;
  /** Clone (work tree) pushing to `url`. */
  work: string;
  /** Writes/deletes files, commits and pushes (`--force`); resolves to the new commit. */
  push(files: Record<string, string | Uint8Array | null>, message: string): Promise<string>;
  /** Head of the work tree. */
  head(): Promise<string>;
}

/** Starts a remote holding `files` (default: a valid two-namespace repository). */
export async function startFaultRemote(files: Record<string, string> = CONFIG_FILES): Promise<FaultRemote> {
  const root = await tempDir('gitcfg-faults-remote-');
  const seed = await createTempRepo({ files });
  const bare = await publishBare(seed, root, 'config.git');
  const remote = await startGitHttpRemote({ root });
  const url = remote.url('config.git');
  const work = await cloneRepo(url);
  return {
    remote,
    bare,
    url,
    work,
    async push(changes, message) {
      const oid = await commitFiles(work, changes, message);
      await run(work, 'push', '--quiet', '--force', 'origin', 'HEAD:main');
      return oid;
    },
    head: () => run(work, 'rev-parse', 'HEAD'),
  };
}

/** Starts `serveCommand` on `url` with every webhook secret set and polling off; logs go to `logs`. */
export async function startFaultServer(opts: {
  url: string;
  dataDir?: string;
  logs?: LogSink;
}): Promise<{ handle: ServeHandle; base: string; logs: LogSink; dataDir: string }> {
  const logs = opts.logs ?? new LogSink();
  const dataDir = opts.dataDir ?? path.join(await tempDir('gitcfg-faults-data-'), 'data');
  const handle = await serveCommand({
    cwd: path.dirname(dataDir),
    env: SECRET_ENV,
    repo: opts.url,
    branch: 'main',
    port: 0,
    host: '127.0.0.1',
    dataDir,
    poll: 'off',
    logLevel: 'debug',
    logDestination: logs,
    print: () => {},
  });
  return { handle, base: handle.url, logs, dataDir };
}

/** Posts a signed GitHub push delivery for `after` on main. */
export function notifyPush(base: string, after: string): Promise<Response> {
  return postGithubPush(base, SECRETS.github, PUSH_EXAMPLE, { after });
}
