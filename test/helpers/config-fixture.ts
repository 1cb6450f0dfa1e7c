/** The project's example configuration repository (`config-repo/`) as a throwaway git repository. */
import { cp } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createTempRepo, run, runGit } from './git-repo.js';

/** Location of the example configuration repository in this project. */
export const exampleConfigRepoDir = fileURLToPath(new URL('../../config-repo/', import.meta.url));

/**
 * Copies `config-repo/` into a new temp dir (removed by `cleanupTempDirs()`) and makes it a git repository on
 * `main` with one commit ("initial"). Resolves to the work tree directory; serve it over HTTP with
 * `publishBare(dir, remoteRoot, name)` from `git-repo.ts`.
 */
export async function copyExampleConfigRepo(): Promise<string> {
  const dir = await createTempRepo();
  await cp(exampleConfigRepoDir, dir, { recursive: true, filter: (src) => !/[\\/]\.git([\\/]|$)/.test(src) });
  await run(dir, 'add', '-A');
  await runGit({ cwd: dir, args: ['commit', '--quiet', '-m', 'initial'] });
  return dir;
}
