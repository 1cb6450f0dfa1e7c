/** Problems found in a configuration repository, and where a value was written. */

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
  | 'yaml-node-limit'
  | 'yaml-not-mapping'
  | 'schema-missing'
  | 'schema-invalid'
  | 'defaults-missing'
  | 'override-unknown-namespace'
  | 'override-unknown-environment'
  | 'schema-violation'
  | 'migration-invalid'
  | 'migration-failed'
  | 'version-unsupported'
  | 'yaml-unsupported'
  | 'delete-misplaced'
  | 'secret-plaintext'
  | 'validation-timeout'
  | 'validation-memory'
  | 'secret-out-of-scope'
  | 'flag-invalid';

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

/** Where a value of a merged document was written. */
export interface Origin {
  file: string;
  line: number;
  column: number;
  /** Position of the key that holds a scalar value (unknown-key messages point at the key, not the value). */
  keyLine?: number;
  keyColumn?: number;
}
