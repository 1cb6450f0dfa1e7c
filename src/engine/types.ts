/** Shared types of the validation engine (pure core: no fs, no git, no network). */
import type { MigrationStep } from '../migrate/index.js';
import type { Issue, JsonObject, JsonValue, Origin } from '../values/index.js';

export type { Issue, IssueCode, JsonObject, JsonPrimitive, JsonValue, Origin } from '../values/index.js';

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

/** Resource limits applied while reading files (manifest `options` and API options may override them). */
export interface Limits {
  /** Largest accepted file, in bytes. */
  maxFileBytes: number;
  /** Passed to yaml's `maxAliasCount`: bounds alias expansion (`-1` disables the check, `0` forbids aliases). */
  maxAliasCount: number;
  /**
   * Most YAML nodes one file may expand to, an alias counting as the size of what it points to (bounds
   * alias bombs that stay within `maxAliasCount`).
   */
  maxNodes: number;
}

/** One environment declared in `gitcfg.yaml`. */
export interface ManifestEnvironment {
  /** Parent environment whose overrides apply below this one. */
  extends?: string;
  description?: string;
  /** Progressive delivery policy (checked by the manifest schema); false opts out of the parent's. */
  rollout?: RolloutSpec | false;
}

/** A rollout policy as the manifest writes it (durations like `10m`). */
export interface RolloutSpec {
  steps?: number[];
  exponential?: { start: number; factor?: number };
  stepDuration: string;
  bakeTime?: string;
}

/** The parsed manifest (`gitcfg.yaml`). */
export interface Manifest {
  version: 1;
  description?: string;
  environments: Record<string, ManifestEnvironment>;
  /** Namespaces holding feature flags (flagd flag definitions); empty when none. */
  flags: string[];
  options: Partial<Limits>;
}

/** The merged, validated configuration of one namespace in one environment. */
export interface ResolvedConfig {
  namespace: string;
  environment: string;
  /** Merged and validated document, `$schemaVersion` stripped. Frozen: never mutate it. */
  value: JsonObject;
  /**
   * JSON pointer of every leaf (and of every container, where its key was written) -> where it was written.
   * Empty when the evaluation was asked for without origins (`EvaluateOptions.origins`) and left them out.
   */
  origins: Map<string, Origin>;
  /** Values the environment's own override file sets; present when `origins` were left out. */
  overrides?: number;
  /** Changes iff any input (schema, layer blobs, migrations, extends chain, limits) changes. */
  inputKey: string;
  /** Layer files, lowest precedence first. */
  files: string[];
  /** Schema version of `value` (the namespace's current version). */
  version: number;
}

/** What a server needs to serve older versions of a namespace. */
export interface NamespaceVersions {
  /** `x-gitcfg-version` of `schemas/<namespace>.schema.json` (1 when absent). */
  current: number;
  /** Parsed migration steps, ascending by version. */
  steps: MigrationStep[];
  /** Schemas of older versions (`schemas/<namespace>.v<N>.schema.json`), by version. */
  oldSchemas: Map<number, JsonObject>;
}

/** Result of `evaluateRepo`. */
export interface Evaluation {
  /** `issues.length === 0`. */
  ok: boolean;
  /** Every problem, sorted by file, line, column. */
  issues: Issue[];
  /** Parsed `gitcfg.yaml` (absent when missing or invalid). */
  manifest?: Manifest;
  /** Every namespace that has a schema or defaults, sorted. */
  namespaces: string[];
  /** Every environment declared in the manifest, sorted. */
  environments: string[];
  /** Namespace -> current JSON Schema (only schemas that compiled). */
  schemas: Map<string, JsonObject>;
  /** Key `${namespace}/${environment}`; only pairs without issues. */
  configs: Map<string, ResolvedConfig>;
  /** Namespace -> versions and migrations (namespaces whose current schema compiled). */
  versions: Map<string, NamespaceVersions>;
  /** Limits in effect (defaults <- manifest options <- API options). */
  limits: Limits;
}

/** One effective change inside a pair (`path` is a JSON pointer into the merged document). */
export interface ConfigChange {
  op: 'add' | 'remove' | 'replace';
  path: string;
  from?: JsonValue;
  to?: JsonValue;
}

/** The effective difference of one namespace x environment between two evaluations. */
export interface ConfigDiff {
  namespace: string;
  environment: string;
  status: 'added' | 'removed' | 'changed';
  changes: ConfigChange[];
}

/**
 * Where compiled validators (Ajv standalone code) are kept between processes, by `validatorCodeKey` of the
 * schema's bytes, so a schema is compiled once per content rather than once per run. An optimisation only: a
 * store that misses or fails costs a compile. It must return only what it was given for that key (checked).
 */
export interface ValidatorCodeStore {
  get(key: string): Promise<StoredValidator | undefined>;
  put(key: string, stored: StoredValidator): Promise<void>;
}

/** A validator's standalone code, and V8's code cache of it once one was made (`loadValidatorCode`). */
export interface StoredValidator {
  code: string;
  /** Made by the V8 that reads it back; V8 rejects a cache of another version, and the code is compiled. */
  codeCache?: Uint8Array;
}
