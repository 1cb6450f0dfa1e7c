/**
 * Token buckets per (route class, principal), a global concurrency gate for expensive work, and a cap on open
 * long-lived connections per principal. Pure apart from the clock, which is injected.
 */
import { BusyError, UsageError } from '../errors/index.js';

/** What a request costs the server, declared per route (and per query for reads). */
export type RouteClass = 'cheap' | 'expensive' | 'write' | 'webhook' | 'stream';

export const ROUTE_CLASSES: readonly RouteClass[] = ['cheap', 'expensive', 'write', 'webhook', 'stream'];

/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export interface RatePolicy {
  perSecond: number;
  burst: number;
}

/** Per class: a policy, or null when the class is not rate-limited. */
export type RatePolicies = Record<Exclude<RouteClass, 'stream'>, RatePolicy | null>;

const UNITS: Record<string, number> = { s: 1, sec: 1, m: 60, min: 60, h: 3600 };

/** Parses `20/s`, `600/min:100` (rate, then burst; burst defaults to one unit's worth), or `off`. */
export function parseRatePolicy(text: string, what: string): RatePolicy | null {
  const t = text.trim();
  if (t === 'off') return null;
  const m = /^(\d+(?:\.\d+)?)\/(s|sec|m|min|h)(?::(\d+))?$/.exec(t);
  if (!m || Number(m[1]) <= 0) {
    throw new UsageError(
      `invalid rate limit for ${what}: "${text}" (expected e.g. 20/s, 600/min:100 or off)`,
    );
  }
  const count = Number(m[1]);
  const perSecond = count / UNITS[m[2]!]!;
  const burst = m[3] !== undefined ? Number(m[3]) : Math.max(1, Math.ceil(count));
  if (burst < 1) throw new UsageError(`invalid burst for ${what}: "${text}"`);
  return { perSecond, burst };
}

/** The outcome of taking one token. */
export interface Admission {
  allowed: boolean;
  /** `RateLimit` and `RateLimit-Policy` headers (IETF httpapi draft), empty for an unlimited class. */
  headers: Record<string, string>;
  /** Whole seconds until one token is back (0 when allowed). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets keyed by class and principal. The key set is bounded (`maxKeys`, least recently used dropped):
 * a dropped key starts again with a full bucket, which errs on the side of the caller.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly policies: RatePolicies,
    private readonly options: { now?: () => number; maxKeys?: number } = {},
  ) {}

  private now(): number {
    return this.options.now ? this.options.now() : performance.now();
  }

  /** Whether `routeClass` is limited at all (for `principal`'s own override too). */
  limited(routeClass: Exclude<RouteClass, 'stream'>, override?: RatePolicy | null): boolean {
    return (override !== undefined ? override : this.policies[routeClass]) !== null;
  }

  /** Takes one token of `routeClass` for `principal` (`override`: the principal's own policy of that class). */
  take(
    routeClass: Exclude<RouteClass, 'stream'>,
    principal: string,
    override?: RatePolicy | null,
  ): Admission {
    const policy = override !== undefined ? override : this.policies[routeClass];
    if (!policy) return { allowed: true, headers: {}, retryAfterSeconds: 0 };
    const key = `${routeClass}\u0000${principal}`;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key);
      bucket.tokens = Math.min(policy.burst, bucket.tokens + ((now - bucket.at) / 1000) * policy.perSecond);
      bucket.at = now;
    } else {
      bucket = { tokens: policy.burst, at: now };
    }
    this.buckets.set(key, bucket);
    const max = this.options.maxKeys ?? 50_000;
    while (this.buckets.size > max) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) break;
      this.buckets.delete(oldest);
    }
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    const windowSeconds = Math.max(1, Math.ceil(policy.burst / policy.perSecond));
    const untilFull = Math.ceil((policy.burst - bucket.tokens) / policy.perSecond);
    const retryAfterSeconds = allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / policy.perSecond));
    return {
      allowed,
      retryAfterSeconds,
      headers: {
        'RateLimit-Policy': `"${routeClass}";q=${policy.burst};w=${windowSeconds}`,
        RateLimit: `"${routeClass}";r=${Math.floor(bucket.tokens)};t=${allowed ? untilFull : retryAfterSeconds}`,
      },
    };
  }
}

/**
 * At most `concurrency` expensive jobs at once; others wait in a queue of at most `maxQueue` for at most
 * `maxWaitMs`, then get BusyError, so a burst of expensive reads cannot starve cheap ones.
 */
export class ConcurrencyGate {
  private active = 0;
  private readonly queue: { resolve: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(private readonly options: { concurrency: number; maxQueue: number; maxWaitMs: number }) {}

  get running(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await job();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.options.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    const retryAfter = Math.max(1, Math.ceil(this.options.maxWaitMs / 1000));
    if (this.queue.length >= this.options.maxQueue) return Promise.reject(new BusyError(retryAfter));
    return new Promise((resolve, reject) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) this.queue.splice(i, 1);
          reject(new BusyError(retryAfter));
        }, this.options.maxWaitMs),
      };
      this.queue.push(entry);
    });
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve(); // the slot passes to the next job
    } else {
      this.active--;
    }
  }
}

/** At most `maxPerPrincipal` open long-lived connections (watch, SSE) per principal; new ones beyond are refused. */
export class ConnectionLimiter {
  private readonly open = new Map<string, number>();

  constructor(private readonly maxPerPrincipal: number | null) {}

  /** Total open connections. */
  get size(): number {
    let n = 0;
    for (const v of this.open.values()) n += v;
    return n;
  }

  /** Opens one for `principal`: a release function, or null when over the cap. */
  acquire(principal: string): (() => void) | null {
    const current = this.open.get(principal) ?? 0;
    if (this.maxPerPrincipal !== null && current >= this.maxPerPrincipal) return null;
    this.open.set(principal, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(principal) ?? 1) - 1;
      if (left <= 0) this.open.delete(principal);
      else this.open.set(principal, left);
    };
  }
}
