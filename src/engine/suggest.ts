/** "Did you mean" suggestions for names a person typed: keys, environments, namespaces. */
import { distance } from 'fastest-levenshtein';

/**
 * The candidate closest to `typed`, if it is close enough to be a likely typo: at most a third of the
 * longer name's characters differ (rounded up, at most three: a swap of two letters counts two), and no other candidate is as close.
 */
export function closestName(typed: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  let tie = false;
  for (const candidate of candidates) {
    if (candidate === typed) continue;
    const d = distance(typed.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
      tie = false;
    } else if (d === bestDistance) tie = true;
  }
  if (best === undefined || tie) return undefined;
  const allowed = Math.min(3, Math.ceil(Math.max(typed.length, best.length) / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** `; did you mean "x"?` when a candidate is close to `typed`, else the empty string. */
export function didYouMean(typed: string, candidates: Iterable<string>): string {
  const name = closestName(typed, candidates);
  return name === undefined ? '' : `; did you mean "${name}"?`;
}
