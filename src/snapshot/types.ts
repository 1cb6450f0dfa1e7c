/** Types of served snapshots: everything the HTTP API answers for one commit, rendered once. */
import type { JsonObject, RolloutSpec } from '../engine/index.js';
import type { MigrationStep } from '../migrate/index.js';

/** One rendered body and its strong ETag (quoted, e.g. `"q1w2..."`). */
export interface RenderedBody {
  readonly body: Buffer;
  readonly etag: string;
}

/** A JSON document rendered as JSON and as YAML. */
export interface RenderedDocument {
  readonly value: JsonObject;
  readonly json: RenderedBody;
  readonly yaml: RenderedBody;
}

/** The merged, validated configuration of one namespace in one environment. */
export interface RenderedConfig extends RenderedDocument {
  readonly namespace: string;
  readonly environment: string;
  /** The engine's `inputKey`: unchanged inputs give the same key, so the rendering is reused. */
  readonly inputKey: string;
  /** Layer files, lowest precedence first. */
  readonly files: readonly string[];
  /** Values the environment's own override file sets (absent for snapshots persisted before it was counted). */
  readonly overrides?: number;
}

/** Every namespace of one environment in one document: `{ <namespace>: <config> }`. */
export interface RenderedBundle extends RenderedDocument {
  readonly environment: string;
}

/** Schema versions of a namespace: the current one and the migration steps that lead to it. */
export interface NamespaceVersions {
  readonly current: number;
  readonly steps: readonly MigrationStep[];
  /** JSON Schemas of older versions, by version number. */
  readonly oldSchemas: Readonly<Record<string, JsonObject>>;
}

/** What the manifest says about the repository and its environments (for discovery). */
export interface ManifestInfo {
  readonly description?: string;
  readonly environments: Readonly<
    Record<
      string,
      { readonly extends?: string; readonly description?: string; readonly rollout?: RolloutSpec | false }
    >
  >;
}

/** Everything servable for one commit. Immutable once built. */
export interface Snapshot {
  readonly commit: string;
  /** ISO time the snapshot was built (or restored). */
  readonly builtAt: string;
  readonly namespaces: readonly string[];
  readonly environments: readonly string[];
  /** Namespaces the manifest marks as feature flags. */
  readonly flagNamespaces: readonly string[];
  /** The manifest's description of the repository and of each environment (parent and description). */
  readonly manifestInfo: ManifestInfo;
  /** Key `${namespace}/${environment}`. */
  readonly configs: ReadonlyMap<string, RenderedConfig>;
  /** Key: environment. */
  readonly bundles: ReadonlyMap<string, RenderedBundle>;
  /** Key: namespace; the JSON Schema. */
  readonly schemas: ReadonlyMap<string, RenderedDocument>;
  /** Key: namespace; only namespaces with versioned schemas. */
  readonly versions: ReadonlyMap<string, NamespaceVersions>;
}

/** One namespace x environment pair whose served document changed (added, removed or different). */
export interface SnapshotChange {
  namespace: string;
  environment: string;
}

/** What `SnapshotStore` listeners are told once a new snapshot is live. */
export interface Promotion {
  commit: string;
  previousCommit: string | null;
  changed: SnapshotChange[];
  promotedAt: string;
}
