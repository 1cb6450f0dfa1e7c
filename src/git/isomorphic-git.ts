/**
 * isomorphic-git, required on first use rather than imported with this module: `gitcfg validate --staged`
 * reads the index itself and its blobs with the `git` program (see `cat-file-batch.ts`), so the pre-commit
 * hook never loads it (70-140 ms of its start). Its main entry is the same CommonJS file for `import` and
 * `require` under Node, so every caller shares one copy.
 */
import { createRequire } from 'node:module';
import type * as IsomorphicGit from 'isomorphic-git';
import type * as IsomorphicGitHttp from 'isomorphic-git/http/node';
import type * as IsomorphicGitModels from 'isomorphic-git/models';

const requireFromHere = createRequire(import.meta.url);

let main: typeof IsomorphicGit | undefined;
let http: typeof IsomorphicGitHttp | undefined;
let models: typeof IsomorphicGitModels | undefined;

/** The library's API (`readBlob`, `fetch`...). */
export const isomorphicGit = (): typeof IsomorphicGit =>
  (main ??= requireFromHere('isomorphic-git') as typeof IsomorphicGit);

/** Its Node HTTP client. */
export const isomorphicGitHttp = (): typeof IsomorphicGitHttp =>
  (http ??= requireFromHere('isomorphic-git/http/node') as typeof IsomorphicGitHttp);

/** Its models (`FileSystem`). */
export const isomorphicGitModels = (): typeof IsomorphicGitModels =>
  (models ??= requireFromHere('isomorphic-git/models') as typeof IsomorphicGitModels);
