/** Opens the configuration a command reads: the working tree (default), the git index (`--staged`) or a commit. */
import { relative } from 'node:path';
import type { RepoSource } from '../engine/index.js';
import { UsageError } from '../errors/index.js';
import { openLocalRepository, stagedSource, subtreeSource, workingTreeSource } from '../git/index.js';
import { chooseConfigDir, chooseConfigPrefix, locateRepo, toPrefix } from './config-location.js';

/** Which configuration to read. */
export interface ConfigSourceOptions {
  cwd: string;
  /** `--repo`: a directory inside (or the root of) a git work tree; default cwd. */
  repo?: string;
  /** `--subdir`: the config root relative to `--repo`; default: `--repo` itself, or its `config-repo/`. */
  subdir?: string;
  /** `--ref`: a branch, tag or (abbreviated) commit id. */
  ref?: string;
  /** `--staged`: exactly the content of the git index. */
  staged?: boolean;
  /**
   * Index file for `--staged` (a pre-commit hook passes `GIT_INDEX_FILE`: `git commit -a` and `git commit
   * <paths>` stage into a temporary index); default `<gitdir>/index`.
   */
  indexFile?: string;
}

/** An opened configuration. */
export interface ConfigSource {
  /** The config root as the engine sees it (paths relative to the config root). */
  source: RepoSource;
  /** Prefix that makes engine paths relative to the git root (or to `--repo` outside git). */
  displayPrefix: string;
  /** `working tree`, `staged` or `commit abc1234`, for messages. */
  label: string;
  kind: 'working-tree' | 'staged' | 'commit';
  /** Full commit id for `--ref`. */
  commit?: string;
  /** The git work tree around `--repo`, if any. */
  gitRoot?: string;
}

/** Opens the source selected by `--ref` / `--staged` (mutually exclusive) or the working tree. */
export async function openConfigSource(options: ConfigSourceOptions): Promise<ConfigSource> {
  if (options.ref !== undefined && options.staged) {
    throw new UsageError('--ref and --staged cannot be used together');
  }
  const location = locateRepo(options.cwd, options.repo);
  if (options.ref === undefined && !options.staged) {
    const configDir = chooseConfigDir(location.dir, options.subdir);
    const source = await workingTreeSource(configDir);
    const displayPrefix = toPrefix(relative(location.gitRoot ?? location.dir, configDir));
    return { source, displayPrefix, label: 'working tree', kind: 'working-tree', gitRoot: location.gitRoot };
  }
  if (!location.gitRoot) throw new UsageError(`not a git repository: ${options.repo ?? location.dir}`);
  if (options.staged) {
    const whole = await stagedSource(
      location.gitRoot,
      options.indexFile ? { indexFile: options.indexFile } : {},
    );
    const prefix = chooseConfigPrefix(pathsOf(whole), location.prefix, options.subdir);
    return {
      source: subtreeSource(whole, prefix),
      displayPrefix: prefix,
      label: 'staged',
      kind: 'staged',
      gitRoot: location.gitRoot,
    };
  }
  const repository = await openLocalRepository(location.gitRoot);
  const commit = await repository.resolveRef(options.ref as string);
  const whole = await repository.source(commit);
  const prefix = chooseConfigPrefix(pathsOf(whole), location.prefix, options.subdir);
  return {
    source: subtreeSource(whole, prefix),
    displayPrefix: prefix,
    label: `commit ${commit.slice(0, 7)}`,
    kind: 'commit',
    commit,
    gitRoot: location.gitRoot,
  };
}

function pathsOf(source: RepoSource): Set<string> {
  return new Set(source.entries.map((entry) => entry.path));
}
