/** `gitcfg validate`: checks the whole configuration (working tree, index or a commit) and lists every issue. */
import { EvaluationPool } from '../evaluation-pool/index.js';
import { UsageError } from '../errors/index.js';
import type { CommandResult } from './command-io.js';
import type { ValidateOptions, ValidateReport } from './validate-check.js';

export type { ValidateOptions, ValidateReport } from './validate-check.js';
export { validatorCacheIn } from './validation-cache.js';

/** Validates and prints issues (stdout) and a summary (stderr); exit 0 valid, 1 invalid. */
export async function validateCommand(
  options: ValidateOptions,
): Promise<CommandResult & { report: ValidateReport }> {
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`unknown format: ${String(format)}`);
  // One bounded worker: a hostile file gives a validation-timeout/-memory issue instead of a hang. (Two workers
  // cost 3 s more CPU for 1,000 namespaces on a busy 2-core machine than they saved: measured, not kept.)
  // It evaluates once: merged pairs kept for a next evaluation would only live until the end (GC copying them).
  // 128 reads in flight: a cold run of 1,000 namespaces 0.92x of 16 (256 was no faster); the server keeps 16.
  const pool = new EvaluationPool({
    size: 1,
    cacheMaxBytes: 0,
    readsInFlight: 128,
    ...numberFromEnv(options.env?.GITCFG_VALIDATION_TIMEOUT_MS, 'timeoutMs'),
    ...numberFromEnv(options.env?.GITCFG_VALIDATION_HEAP_MB, 'maxHeapMb'),
  });
  try {
    // Started before this thread loads git and the engine (validate-check.ts): the two loads overlap.
    pool.warm();
    const { checkAndReport } = await import('./validate-check.js');
    return await checkAndReport(options, format, pool);
  } finally {
    await pool.close();
  }
}

/** `{ [key]: n }` when `value` is a positive integer (from the environment), else nothing. */
function numberFromEnv<K extends string>(value: string | undefined, key: K): Partial<Record<K, number>> {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? ({ [key]: n } as Record<K, number>) : {};
}
