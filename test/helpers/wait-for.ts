/**
 * The one polling helper of the tests (and the wait every server test needs, built on it): a bounded number of
 * attempts, never a wall-clock assertion. The bound is the test run's: `GITCFG_TEST_WAIT_TRIES` (e.g. raised on a
 * slow CI machine), else 400 attempts 25 ms apart.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** What is awaited, for the error on giving up ("commit abc served"). */
  what: string;
  /** Attempts before giving up; defaults to the run's bound. */
  tries?: number;
  /** Pause between attempts. */
  intervalMs?: number;
  /** Stops waiting when aborted (pass the test context's `signal`). */
  signal?: AbortSignal;
}

const DEFAULT_TRIES = 400;

/** The attempts a wait makes unless told otherwise: the run's `GITCFG_TEST_WAIT_TRIES`, else 400. */
export function waitBound(): number {
  const fromRun = Number.parseInt(process.env.GITCFG_TEST_WAIT_TRIES ?? '', 10);
  return Number.isInteger(fromRun) && fromRun > 0 ? fromRun : DEFAULT_TRIES;
}

/**
 * Calls `predicate` until it returns a truthy value and resolves to that value. A throw counts as "not yet" (the
 * last one is named in the error). Throws `gave up waiting for <what>` once the bound is spent.
 */
export async function waitFor<T>(
  predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: WaitForOptions,
): Promise<T> {
  const tries = opts.tries ?? waitBound();
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    if (opts.signal?.aborted) break;
    try {
      const value = await predicate();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (i < tries - 1) await sleep(opts.intervalMs ?? 25);
  }
  const reason = opts.signal?.aborted ? ' (test aborted)' : ` after ${tries} attempts`;
  throw new Error(`gave up waiting for ${opts.what}${reason}${last ? `: ${String(last)}` : ''}`);
}

/** The parts of `GET /v1/status` a wait reads. */
export interface ServedStatus {
  served: { commit: string } | null;
  syncs: { running: boolean; pending: boolean };
}

/**
 * Waits until `base` serves `commit` (any commit when omitted) with no sync running or pending; resolves to that
 * status document. `headers` carry the token when the status needs one.
 */
export function waitForServed<T extends ServedStatus = ServedStatus>(
  base: string,
  commit?: string,
  headers: Record<string, string> = {},
): Promise<T> {
  const what = commit ? `commit ${commit.slice(0, 8)} served by ${base}` : `a commit served by ${base}`;
  return waitFor(
    async () => {
      const s = (await (await fetch(`${base}/v1/status`, { headers })).json()) as T;
      const idle = !s.syncs.running && !s.syncs.pending;
      return s.served && idle && (commit === undefined || s.served.commit === commit) ? s : null;
    },
    { what },
  );
}
