/** Public types of the git layer. */
import type * as nodeFs from 'node:fs';
import type { HttpClient } from 'isomorphic-git';
import type { RepoSource, TreeEntry } from '../engine/index.js';

/** Who wrote or committed a commit; `timestamp` in seconds since the epoch, offset in minutes (git sign). */
export interface GitIdentity {
  name: string;
  email: string;
  timestamp: number;
  timezoneOffset: number;
}

/** Identity given when creating a commit; time defaults to now, offset to the local zone. */
export interface IdentityInput {
  name: string;
  email: string;
  timestamp?: number;
  timezoneOffset?: number;
}

/** A parsed commit. */
export interface CommitInfo {
  oid: string;
  tree: string;
  parents: string[];
  message: string;
  author: GitIdentity;
  committer: GitIdentity;
}

/** One changed path between two commits (blobs, symlinks and submodules only; never trees). */
export interface TreeChange {
  path: string;
  kind: 'add' | 'modify' | 'delete';
  oldOid?: string;
  newOid?: string;
  /** Mode after the change (before it for a delete). */
  mode?: string;
  oldMode?: string;
}

/** A `RepoSource` read from a commit. */
export interface CommitSource extends RepoSource {
  readonly commit: string;
}

/** Read access to the objects of one repository. */
export interface GitRepository {
  /** Branch, tag (peeled), `HEAD`, full or abbreviated oid, with optional `~N`/`^N` suffixes -> commit oid. */
  resolveRef(ref: string): Promise<string>;
  /** Reads one commit. */
  readCommit(oid: string): Promise<CommitInfo>;
  /** Recursive listing of blob (files, symlinks) and commit (submodule) entries, sorted by path. */
  listTree(commit: string): Promise<TreeEntry[]>;
  /** Changed paths from `from` to `to` (all adds when `from` is null), sorted by path. */
  diffCommits(from: string | null, to: string): Promise<TreeChange[]>;
  /** Bytes of one blob. */
  readBlob(oid: string): Promise<Uint8Array>;
  /** Engine source at `commit`; derived incrementally from the previous call's listing. */
  source(commit: string): Promise<CommitSource>;
  /** Commits from `ref` following first parents, newest first; `depth` defaults to 100. */
  log(ref: string, opts?: { depth?: number }): Promise<CommitInfo[]>;
  /**
   * A reader of the same objects with its own object cache, for bulk reads (indexing a long history) whose
   * decompressed objects must not stay in this repository's long-lived cache; drop it when done.
   */
  scratch?(): GitRepository;
}

/** Credentials for a remote (from options only; never logged). `token` is sent as the basic-auth password. */
export interface RemoteAuth {
  username?: string;
  password?: string;
  token?: string;
}

/** Minimal fs port: the promise API of `node:fs` (what isomorphic-git needs plus a few calls of ours). */
export type FsPort = typeof nodeFs;

/** isomorphic-git HTTP client port (default: `isomorphic-git/http/node`). */
export type HttpPort = HttpClient;

/** Something the mirror reports: a recovery or a re-mirror (for logs and metrics). */
export interface MirrorEvent {
  type: 'cloned' | 'recovered' | 'remirrored' | 'cache-replaced';
  reason?: string;
  durationMs?: number;
}
