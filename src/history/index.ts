/**
 * Audit trail: a persisted commit -> changed paths index of the served branch, and the queries built on it
 * (effective history of a pair, effective diff between commits, provenance of every leaf), with secrets masked.
 */
export { HistoryIndex } from './history-index.js';
export type {
  BulkDiff,
  ExtendResult,
  HistoryIndexOptions,
  HistoryIndexStats,
  HistoryView,
  IndexedCommit,
} from './history-index.js';
export { HISTORY_INDEX_FORMAT, HistoryIndexFile, checkIndexData } from './index-file.js';
export type { HistoryIndexData, HistoryIndexLoad, HistoryIndexStore } from './index-file.js';
export { CommitEvaluator, isNamespaceInput, pairState } from './commit-evaluator.js';
export type { CommitEvaluatorOptions, PairState } from './commit-evaluator.js';
export { HISTORY_LIMITS, HistoryService } from './history-service.js';
export type { HistoryQuery, HistoryServiceOptions } from './history-service.js';

export type {
  AuditQueries,
  CommitSummary,
  EffectiveDiff,
  ExplainedValue,
  Explanation,
  HistoryEntry,
  PairHistory,
} from './types.js';
