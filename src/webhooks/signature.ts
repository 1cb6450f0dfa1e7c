/**
 * Hand-written on purpose: the checks are a few lines over node:crypto, constant-time (`timingSafeEqual` on
 * equal-length digests) and cover every provider, where a library would cover one host each.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison that does not leak the length of `expected` through an early return. */
export function safeEqual(actual: string, expected: string): boolean {
  // Hashing both sides first makes the buffers equal-length, so timingSafeEqual never throws or short-cuts.
  const a = createHash('sha256').update(actual, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && actual.length === expected.length;
}

export function hmacHex(secret: string, body: Uint8Array): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Compares a hex digest header (case-insensitive, surrounding spaces ignored) with the expected value. */
export function hexMatches(given: string, expected: string): boolean {
  return safeEqual(given.trim().toLowerCase(), expected);
}

/** Whether an `Authorization` header is `Bearer <token>` with the expected token (constant time). */
export function verifyBearer(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  return safeEqual(m?.[1] ?? '', token);
}
