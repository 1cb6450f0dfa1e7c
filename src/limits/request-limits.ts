/**
 * The abuse limits of one server: rate limits per principal and route class, the expensive-work gate, the cap on
 * open streams, and who the principal of a request is (a token's name, or the client's address without one).
 */
import type { IncomingMessage } from 'node:http';
import { clientAddress } from './client-address.js';
import type { TrustProxy } from './client-address.js';
import { ConcurrencyGate, ConnectionLimiter, RateLimiter, parseRatePolicy } from './rate-limiter.js';
import type { Admission, RatePolicies, RatePolicy, RouteClass } from './rate-limiter.js';

/** Settings of `RequestLimits` (flags / `GITCFG_LIMIT_*`, see docs/limits.md). */
export interface LimitSettings {
  rates: RatePolicies;
  /** Webhook deliveries whose signature fails, per client address. */
  badSignatures: RatePolicy | null;
  /** Open watch/SSE connections per principal (null: no cap). */
  streamsPerPrincipal: number | null;
  expensive: { concurrency: number; maxQueue: number; maxWaitMs: number };
  trustProxy: TrustProxy | null;
}

/** Defaults: generous enough that a service, the console and the benchmarks' read loads never meet them. */
export const DEFAULT_LIMITS: Readonly<Omit<LimitSettings, 'trustProxy'>> = {
  rates: {
    // Answered from memory in microseconds: not limited unless the operator says so.
    cheap: null,
    expensive: { perSecond: 20, burst: 40 },
    write: { perSecond: 5, burst: 60 },
    webhook: { perSecond: 20, burst: 100 },
  },
  badSignatures: { perSecond: 5, burst: 50 },
  streamsPerPrincipal: 1000,
  expensive: { concurrency: 2, maxQueue: 64, maxWaitMs: 10_000 },
};

/** Reads `GITCFG_LIMIT_<CLASS>` (`20/s:40`, `off`), `GITCFG_LIMIT_STREAMS` (a count or `off`) over the defaults. */
export function limitSettingsFrom(
  values: Partial<Record<RouteClass | 'streams' | 'bad-signatures' | 'expensive-concurrency', string>>,
  trustProxy: TrustProxy | null,
): LimitSettings {
  const rates = { ...DEFAULT_LIMITS.rates };
  for (const cls of ['cheap', 'expensive', 'write', 'webhook'] as const) {
    const v = values[cls];
    if (v !== undefined) rates[cls] = parseRatePolicy(v, cls);
  }
  const streams = values.streams?.trim();
  const concurrency = values['expensive-concurrency']?.trim();
  return {
    rates,
    badSignatures:
      values['bad-signatures'] !== undefined
        ? parseRatePolicy(values['bad-signatures'], 'bad signatures')
        : DEFAULT_LIMITS.badSignatures,
    streamsPerPrincipal:
      streams === undefined
        ? DEFAULT_LIMITS.streamsPerPrincipal
        : streams === 'off'
          ? null
          : positive(streams),
    expensive: {
      ...DEFAULT_LIMITS.expensive,
      ...(concurrency !== undefined ? { concurrency: positive(concurrency) } : {}),
    },
    trustProxy,
  };
}

function positive(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`expected a positive whole number: ${text}`);
  return n;
}

/** Who a request counts against. */
export interface PrincipalRef {
  /** `token:<name>` or `address:<ip>`. */
  key: string;
  /** Metric label: the token's name, or `anonymous` (addresses never become labels). */
  label: string;
  /** The token's own policies, from the tokens file. */
  overrides?: Partial<Record<RouteClass, RatePolicy | null>> | undefined;
}

export class RequestLimits {
  private readonly limiter: RateLimiter;
  readonly gate: ConcurrencyGate;
  readonly streams: ConnectionLimiter;

  constructor(
    private readonly settings: LimitSettings,
    options: { now?: () => number } = {},
  ) {
    this.limiter = new RateLimiter({ ...settings.rates }, options.now ? { now: options.now } : {});
    this.gate = new ConcurrencyGate(settings.expensive);
    this.streams = new ConnectionLimiter(settings.streamsPerPrincipal);
  }

  private readonly parsedOverrides = new WeakMap<object, PrincipalRef['overrides']>();

  /** The principal of a request: the token's name when one authenticated, else the client address. */
  principal(
    req: IncomingMessage,
    token: { name: string; limits?: Readonly<Record<string, string>> | undefined } | null,
  ): PrincipalRef {
    if (!token) return { key: `address:${clientAddress(req, this.settings.trustProxy)}`, label: 'anonymous' };
    const limits = token.limits;
    let overrides: PrincipalRef['overrides'];
    if (limits) {
      overrides = this.parsedOverrides.get(limits);
      if (!overrides) {
        overrides = {};
        for (const [cls, text] of Object.entries(limits)) {
          overrides[cls as RouteClass] = parseRatePolicy(text, `${cls} of token ${token.name}`);
        }
        this.parsedOverrides.set(limits, overrides);
      }
    }
    return { key: `token:${token.name}`, label: token.name, overrides };
  }

  /** Takes one request of `routeClass` for `who`. */
  take(routeClass: Exclude<RouteClass, 'stream'>, who: PrincipalRef): Admission {
    const override = who.overrides?.[routeClass];
    return this.limiter.take(routeClass, who.key, override);
  }

  /**
   * A cheap read answered before routing: its `RateLimit` headers, or null when over the limit (the routes then
   * answer, and count, the 429).
   */
  admitPlainRead(
    req: IncomingMessage,
    token: { name: string; limits?: Readonly<Record<string, string>> | undefined } | null,
  ): Record<string, string> | null {
    const admission = this.take('cheap', this.principal(req, token));
    return admission.allowed ? admission.headers : null;
  }

  /** Counts a webhook delivery whose signature failed, per address. */
  takeBadSignature(req: IncomingMessage): Admission {
    const address = clientAddress(req, this.settings.trustProxy);
    return this.limiter.take('webhook', `bad-signature:${address}`, this.settings.badSignatures);
  }
}
