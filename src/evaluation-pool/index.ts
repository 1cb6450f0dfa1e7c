/** Public surface: isolated, bounded evaluation of untrusted repository content in worker threads. */
export { DEFAULT_POOL_HEAP_MB, DEFAULT_POOL_TIMEOUT_MS, EvaluationPool } from './evaluation-pool.js';
export type { EvaluationPoolOptions } from './evaluation-pool.js';
