/** A git repository holding a copy of `config-repo/` (one commit on `main`) in a temp dir, for bench servers. */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
