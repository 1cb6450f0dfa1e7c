/** A git repository holding a copy of `config-repo/` (one commit on `main`) in a temp dir, for bench servers. */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveCommand } from '../../src/commands/serve.js';
import type { ServeHandle } from '../../src/commands/serve.js';
import { ROOT } from './child.js';

export interface ConfigRepoCopy {
  work: string;
  /** Runs git in the copy as a fixed bench identity; returns its trimmed output. */
  git(...args: string[]): string;
}

/** Copies `config-repo/`, lets `prepare` change the files, then commits them as the first commit. */
export function configRepoCopy(prefix: string, prepare: (work: string) => void = () => {}): ConfigRepoCopy {
  const work = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(ROOT, 'config-repo'), work, { recursive: true });
  prepare(work);
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...args], {
      cwd: work,
      encoding: 'utf8',
    }).trim();
  git('-c', 'init.defaultBranch=main', 'init', '--quiet', '.');
  git('add', '-A');
  git('commit', '--quiet', '-m', 'bench');
  return { work, git };
}

/** Serves the copy in `work` (port 0, polling off, silent) and resolves once it serves a snapshot. */
export async function serveCopy(
  work: string,
  opts: { env?: Record<string, string>; dataDir?: string; fastPath?: boolean } = {},
): Promise<ServeHandle> {
  const handle = await serveCommand({
    cwd: work,
    env: opts.env ?? {},
    repo: '.',
    port: 0,
    poll: 'off',
    dataDir: opts.dataDir ?? join(work, '.data'),
    logLevel: 'silent',
    print: () => {},
    ...(opts.fastPath === undefined ? {} : { fastPath: opts.fastPath }),
  });
  for (let i = 0; i < 400; i++) {
    const status = (await (await fetch(`${handle.url}/v1/status`)).json()) as { served: unknown };
    if (status.served) return handle;
    await new Promise((r) => setTimeout(r, 25));
  }
  await handle.close();
  throw new Error('no snapshot served');
}
