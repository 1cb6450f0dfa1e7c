/** Result types of the audit queries (history, effective diff, explain). */
import type { ConfigChange, ConfigDiff, JsonValue } from '../engine/index.js';

/** Who and when, from the commit. */
export interface CommitSummary {
  commit: string;
  /** First parent (null for a root commit). */
  parent: string | null;
  author: { name: string; email: string };
  /** Author time, ISO 8601 (UTC). */
  time: string;
  /** Full commit message without trailing newlines. */
  message: string;
}

/** One commit that changed the effective configuration of a pair, with what it changed. */
export interface HistoryEntry extends CommitSummary {
  /** `added`: the pair appeared; `removed`: it disappeared; `changed`: its merged value differs. */
  status: 'added' | 'removed' | 'changed';
  /** Effective changes (JSON pointers into the merged document); secret fields masked. */
  changes: ConfigChange[];
}

/** A page of a pair's history, newest first. */
export interface PairHistory {
  namespace: string;
  environment: string;
  /** The commit the history ends at (the served commit on the server). */
  at: string;
  commits: HistoryEntry[];
  /** Pass as `before` to get the next page; null when the history is exhausted. */
  next: string | null;
}

/** Effective change of every pair between two commits. */
export interface EffectiveDiff {
  from: string;
  to: string;
  /** Changed pairs (secret fields masked), sorted by namespace then environment. */
  pairs: ConfigDiff[];
  /** Pairs left out because they do not validate at one side (`namespace/environment`). */
  invalid: { from: string[]; to: string[] };
}

/** Provenance of one leaf of a merged document. */
export interface ExplainedValue {
  /** JSON pointer of the leaf (scalars, arrays and empty maps are leaves: arrays are replaced whole). */
  path: string;
  /** The merged value (secret fields masked). */
  value: JsonValue;
  /** Layer file that set it (relative to the config root), with 1-based line and column. */
  file: string | null;
  line: number | null;
  column: number | null;
  /** The newest commit (at or before the explained one) whose change to `file` altered this leaf. */
  commit: CommitSummary | null;
  /** False when `commit` is only the newest commit touching `file` (search budget exhausted or unknown). */
  exact: boolean;
}

/** Every leaf of a pair with its origin and last change. */
export interface Explanation {
  namespace: string;
  environment: string;
  commit: string;
  /** Layer files, lowest precedence first. */
  files: string[];
  values: ExplainedValue[];
}

/** The audit queries the HTTP API needs (implemented by `HistoryService`). */
export interface AuditQueries {
  history(
    namespace: string,
    environment: string,
    query: { at: string; limit?: number; before?: string },
  ): Promise<PairHistory>;
  diff(from: string, to: string, options?: { environment?: string }): Promise<EffectiveDiff>;
  explain(namespace: string, environment: string, options: { at: string }): Promise<Explanation>;
}
