/**
 * The git layer: the only importer of isomorphic-git. Local repositories are read through their objects
 * directly; remotes are mirrored bare over smart HTTP. Every reader keeps one long-lived isomorphic-git `cache`
 * (`replaceCache()` drops it; mirrors replace it after `cacheMaxFetches` fetches and on re-mirror).
 */
export type {
  CommitInfo,
  CommitSource,
  FsPort,
  GitIdentity,
  GitRepository,
  HttpPort,
  IdentityInput,
  MirrorEvent,
  RemoteAuth,
  TreeChange,
} from './types.js';
export { ObjectStore } from './object-store.js';
export { createObjectCache } from './object-cache.js';
export {
  LocalRepository,
  commonGitDir,
  findRepositoryRoot,
  locateRepository,
  openLocalRepository,
} from './local-repository.js';
export type { LocalRepositoryOptions, RepoLocation } from './local-repository.js';
export { GitMirror, openMirror, push, remoteHead } from './mirror.js';
export type { FetchOutcome, MirrorOptions } from './mirror.js';
export { blobOid, stagedSource, subtreeSource, workingTreeSource } from './sources.js';
export type { StagedSourceOptions, WorkingTreeSourceOptions } from './sources.js';
export { commitChanges, moveBranch } from './commit-changes.js';
export { diffCommitsInChildProcess } from './diff-process.js';
export type { ChildDiffOptions, CommitPair } from './diff-process.js';
export { initRepository, readConfigValue, updateWorkTree } from './native-git.js';
export type { GitEnv } from './native-git.js';
export type { CommitChangesOptions, FileChange } from './commit-changes.js';
