/** Messages between the pool (main thread) and an evaluation worker. */
import type { Evaluation, EvaluationProgress, Limits, SecretScopeEntry, TreeEntry } from '../engine/index.js';

/** Main thread -> worker. */
export type ToWorker =
  | {
      type: 'job';
      job: number;
      /** Which of the worker's engine caches to use (one per caller, so their generations do not mix). */
      channel: string;
      entries: readonly TreeEntry[];
      namespaces: readonly string[];
      limits?: Partial<Limits>;
      caps?: Partial<Limits>;
      /** The server's secret scopes, as plain entries (a class does not cross the thread boundary). */
      secretScopes?: readonly SecretScopeEntry[];
      /** Folder of compiled validators (and the salt their files must carry), when the caller keeps one. */
      validatorCache?: { dir: string; salt: string };
      /** false: send the pairs back without their origins (see `EvaluateOptions.origins`). */
      origins?: false;
    }
  | { type: 'blob'; job: number; request: number; bytes: Uint8Array }
  | { type: 'blob-error'; job: number; request: number; message: string };

/** Worker -> main thread. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'read'; job: number; request: number; oid: string; path: string }
  | { type: 'progress'; job: number; at: EvaluationProgress }
  /** `parses`: files the job parsed (not found in the worker's cache). */
  | { type: 'done'; job: number; evaluation: Evaluation; parses: number }
  | { type: 'failed'; job: number; message: string };
