/**
 * Abuse limits: token-bucket rate limits per principal and route class, a concurrency gate for expensive work,
 * a cap on open long-lived connections, and the client address behind trusted proxies.
 */
export { clientAddress, parseTrustProxy } from './client-address.js';
export type { TrustProxy } from './client-address.js';
export {
  ConcurrencyGate,
  ConnectionLimiter,
  ROUTE_CLASSES,
  RateLimiter,
  parseRatePolicy,
} from './rate-limiter.js';
export type { Admission, RatePolicies, RatePolicy, RouteClass } from './rate-limiter.js';
export { DEFAULT_LIMITS, RequestLimits, limitSettingsFrom } from './request-limits.js';
export type { LimitSettings, PrincipalRef } from './request-limits.js';
