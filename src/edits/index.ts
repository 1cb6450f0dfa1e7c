/**
 * Edits through the API (replace / merge-patch one layer file), rollback and revert of a namespace, and pins
 * of an environment to a commit. Writes go through a `WriteTarget` port (mirror + push, or local repository).
 */
export { EditService, checkPreconditions } from './edit-service.js';
export type { EditServiceOptions, FileVersion, LayerEdit, Preconditions } from './edit-service.js';
export { CommitLoop, fileEtag } from './commit-loop.js';
export type { Author, CommitLoopOptions, EditResult, Plan, PlanContext } from './commit-loop.js';
export { applyMergePatch, applyMergePatchToYaml } from './merge-patch.js';
export { checkName, isNamespaceFile, layerFile } from './repo-paths.js';
export { WriteLock, localWriteTarget, mirrorWriteTarget } from './write-target.js';
export type { WriteTarget } from './write-target.js';
export { PinStore } from './pin-store.js';
export type { Pin, PinReplication } from './pin-store.js';
