/** Reconnect delays: exponential backoff with full jitter (every client picks a random point of the window). */

/** Options of `backoffDelay`. */
export interface BackoffOptions {
  /** First window, in ms (default 500). */
  baseMs?: number;
  /** Largest window, in ms (default 30,000). */
  maxMs?: number;
  /** Random source in [0, 1) (default Math.random), injectable for tests. */
  random?: () => number;
}

/** Delay before retry number `attempt` (0-based): uniform in [0, min(maxMs, baseMs * 2^attempt)). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs = 500, maxMs = 30_000, random = Math.random } = options;
  // Cap the exponent so 2^attempt never overflows into Infinity for long outages.
  const window = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(random() * window);
}
