/**
 * Where a command finds the configuration: the git repository around `--repo`, the config root inside it
 * (`--subdir`, or `config-repo/` auto-detected), and how issue paths are shown (relative to the git root).
 */
import { existsSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Issue } from '../engine/index.js';
import { UsageError } from '../errors/index.js';
import { findRepositoryRoot } from '../git/index.js';

// Commands take the config-root view of a tree from here, like the sync and the edits.

/** The config root used when the repository root has no manifest (this project keeps its example there). */
export const AUTO_SUBDIR = 'config-repo';
/** File name of the manifest that marks a config root. */
export const MANIFEST_FILE = 'gitcfg.yaml';

/** The directory named by `--repo` and the git work tree around it. */
export interface RepoLocation {
  /** Absolute path of `--repo` (default: cwd). */
  dir: string;
  /** Absolute path of the enclosing git work tree (the directory holding `.git`), if any. */
  gitRoot?: string;
  /** `dir` relative to `gitRoot` as a `/`-separated prefix ending in `/`, or `''`. */
  prefix: string;
}

/** Resolves `--repo` against cwd and finds the git work tree around it; throws UsageError if it is missing. */
export function locateRepo(cwd: string, repo: string | undefined): RepoLocation {
  const dir = resolve(cwd, repo ?? '.');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`repository not found: ${repo ?? dir}`, { repo: repo ?? dir });
  }
  const gitRoot = findRepositoryRoot(dir);
  return { dir, gitRoot, prefix: gitRoot ? toPrefix(relative(gitRoot, dir)) : '' };
}

/** Turns a relative OS path into a `/`-separated prefix ending in `/` (or `''` for the same directory). */
export function toPrefix(relativePath: string): string {
  if (relativePath === '' || relativePath === '.') return '';
  const posix = relativePath
    .split(sep)
    .join('/')
    .replace(/^\.\/+/, '')
    .replace(/\/+$/, '');
  return posix === '' ? '' : `${posix}/`;
}

/**
 * Picks the config root inside a tree: `base + subdir` when given; else `base` if it holds a manifest; else
 * `base + config-repo/` if that holds one; else `base` (so the engine reports the missing manifest).
 */
export function chooseConfigPrefix(paths: ReadonlySet<string>, base: string, subdir?: string): string {
  if (subdir !== undefined) return base + toPrefix(subdir);
  if (paths.has(base + MANIFEST_FILE)) return base;
  const auto = `${base}${AUTO_SUBDIR}/`;
  if (paths.has(auto + MANIFEST_FILE)) return auto;
  return base;
}

/** Picks the config root directory on disk, with the same rules as {@link chooseConfigPrefix}. */
export function chooseConfigDir(dir: string, subdir?: string): string {
  if (subdir !== undefined) {
    const chosen = resolve(dir, subdir);
    if (!existsSync(chosen) || !statSync(chosen).isDirectory()) {
      throw new UsageError(`config directory not found: ${subdir}`, { subdir });
    }
    return chosen;
  }
  if (existsSync(join(dir, MANIFEST_FILE))) return dir;
  const auto = join(dir, AUTO_SUBDIR);
  if (existsSync(join(auto, MANIFEST_FILE))) return auto;
  return dir;
}

/** Prefixes every issue's file so paths are relative to the git root (clickable from where git runs hooks). */
export function relocateIssues(issues: readonly Issue[], prefix: string): Issue[] {
  if (prefix === '') return [...issues];
  return issues.map((issue) => (issue.file === undefined ? issue : { ...issue, file: prefix + issue.file }));
}
