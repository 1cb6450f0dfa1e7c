/**
 * Progressive delivery of promoted commits: policies (`environments.<env>.rollout`), the state machine and the
 * per-client assignment (pure), the client inventory, and `RolloutService` (promotions, persistence, controls).
 */
export { effectivePolicy, parseDuration, policyOf } from './policy.js';
export type { PolicyEnvironments, RolloutPolicy } from './policy.js';
export {
  abortRollout,
  bucketOf,
  checkedState,
  isActive,
  onCandidate,
  pauseRollout,
  phaseAt,
  promoteRollout,
  resumeRollout,
  rolloutId,
  startRollout,
} from './state.js';
export type { RolloutPhase, RolloutState, RolloutStatus } from './state.js';
export { ClientInventory } from './inventory.js';
export type { ClientEntry, InventoryOptions } from './inventory.js';
export { RolloutService } from './rollout-service.js';
export type {
  RevertAuthor,
  RolloutDecision,
  RolloutReplication,
  RolloutServiceDeps,
  RolloutView,
} from './rollout-service.js';
