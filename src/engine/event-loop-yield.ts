/**
 * Cooperative yielding for long CPU-bound loops (a cold evaluation of a big repository takes seconds): health
 * checks and other requests must keep being answered meanwhile. Plain timers only, no node-only API.
 */

/** Default slice of uninterrupted work before giving the event loop a turn. */
export const DEFAULT_YIELD_SLICE_MS = 10;

/** Returned by `createYielder`: resolves at once unless the slice is used up, then after one macrotask. */
export type Yielder = () => Promise<void> | undefined;

const macrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * A function to `await` between units of work: once `sliceMs` of work ran since the last turn it waits for a
 * timer, so I/O callbacks (HTTP requests) run. `sliceMs <= 0` never yields.
 */
export function createYielder(sliceMs: number = DEFAULT_YIELD_SLICE_MS): Yielder {
  if (!(sliceMs > 0)) return () => undefined;
  let last = Date.now();
  return () => {
    if (Date.now() - last < sliceMs) return undefined;
    return macrotask().then(() => {
      last = Date.now();
    });
  };
}
