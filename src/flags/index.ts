/** Feature flags as config: checks of flagd flag definitions and their evaluation through `@openfeature/flagd-core`. */
export { checkFlagDocument, variantType } from './flag-checks.js';
export type { FlagProblem } from './flag-checks.js';
export { FlagSet, evaluationContextOf, flagSetOf } from './flag-set.js';
export type { FlagEvaluation, FlagFailure, FlagMetadata } from './flag-set.js';
