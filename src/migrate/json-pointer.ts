/** JSON Pointer (RFC 6901) helpers; in migration paths a `*` segment is a wildcard over keys or items. */

export { formatPointer, parsePointer } from '../values/index.js';

/** The wildcard segment of a migration path. */
export const WILDCARD = '*';

/** Number of wildcard segments in a path. */
export function wildcardCount(segments: readonly string[]): number {
  return segments.filter((segment) => segment === WILDCARD).length;
}

/** Replaces the wildcards of `pattern`, in order, with `captures`. */
export function fillWildcards(pattern: readonly string[], captures: readonly string[]): string[] {
  let next = 0;
  return pattern.map((segment) => (segment === WILDCARD ? (captures[next++] ?? WILDCARD) : segment));
}

/** True when `prefix` is a (non-strict) prefix of `path`, segment by segment. */
export function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => segment === path[i]);
}

/** True when the pointer `key` is `base` itself or lies below it. */
export function isAtOrBelow(key: string, base: string): boolean {
  return key === base || key.startsWith(`${base}/`) || base === '';
}
