/** Shared types of the validation engine (pure core: no fs, no git, no network). */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Stable identifiers of every kind of problem the engine reports. */
export type IssueCode =
  | 'manifest-missing'
  | 'manifest-invalid'
  | 'env-unknown-parent'
  | 'env-extends-cycle'
  | 'layout-invalid-name'
  | 'layout-unexpected-entry'
  | 'layout-symlink'
  | 'layout-nested'
  | 'file-too-large'
  | 'file-not-utf8'
  | 'yaml-syntax'
  | 'yaml-duplicate-key'
  | 'yaml-alias-limit'
  | 'yaml-not-mapping'
  | 'schema-missing'
  | 'schema-invalid'
  | 'defaults-missing'
  | 'override-unknown-namespace'
  | 'override-unknown-environment'
  | 'schema-violation'
  | 'migration-invalid'
  | 'migration-failed'
  | 'version-unsupported';

/** One problem found in a configuration repository. Lines and columns are 1-based. */
export interface Issue {
  code: IssueCode;
  message: string;
  /** Repository-relative path of the file where the offending value was written. */
  file?: string;
  line?: number;
  column?: number;
  namespace?: string;
  environment?: string;
  /** JSON Pointer into the merged document (RFC 6901), e.g. `/retry/http/max_delay_ms`. */
  path?: string;
}

/** One entry of a git tree listing (or of a working-tree walk), recursive, with `/`-separated paths. */
export interface TreeEntry {
  path: string;
  /** Content key: the git blob oid, or any string that changes when the content changes. */
  oid: string;
  /** `blob` for files and symlinks (see `mode`), `commit` for submodules, `tree` for directories. */
  type: 'blob' | 'tree' | 'commit';
  /** Git file mode: `100644`, `100755`, `120000` (symlink), `040000` (tree), `160000` (submodule). */
  mode: string;
}

/** Where the engine reads a repository from: a commit, the git index, or a working tree. */
export interface RepoSource {
  /** Every entry of the tree (blobs, symlinks, submodules; `tree` entries optional). */
  readonly entries: readonly TreeEntry[];
  /** Returns the bytes of a blob. `path` is given for error messages and for sources keyed by path. */
  readBlob(oid: string, path: string): Promise<Uint8Array>;
}

/** Where a value of a merged document was written. */
export interface Origin {
  file: string;
  line: number;
  column: number;
}
