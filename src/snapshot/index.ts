/** Snapshots: everything servable for one commit, rendered once; the live store and its persistence. */
export type {
  NamespaceVersions,
  Promotion,
  RenderedBody,
  RenderedBundle,
  RenderedConfig,
  RenderedDocument,
  Snapshot,
  SnapshotChange,
} from './types.js';
export { etagOf, renderBody, renderDocument, renderJson, renderYaml, subtree } from './render.js';
export {
  buildSnapshot,
  nearestSnapshot,
  snapshotBytes,
  diffSnapshots,
  snapshotDataFromEvaluation,
  snapshotFromData,
  snapshotToData,
} from './build.js';
export type { BuildResult, ConfigData, SnapshotData } from './build.js';
export { SnapshotStore } from './store.js';
export type { PromotionListener } from './store.js';
export { SNAPSHOT_FORMAT, SnapshotFile } from './persistence.js';
export type { LoadResult } from './persistence.js';
export { currentVersion, documentAtVersion } from './versions.js';
export { describeRepository } from './describe.js';
export type { EnvironmentDescription, NamespaceDescription, RepositoryDescription } from './describe.js';
export type { ManifestInfo } from './types.js';
