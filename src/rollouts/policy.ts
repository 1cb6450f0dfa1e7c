/** Rollout policies: the manifest's `rollout` of an environment (or inherited from its parents) as numbers. */
import type { RolloutSpec } from '../engine/index.js';
import { UsageError } from '../errors/index.js';

/** A policy in milliseconds and percents; `steps` increase and end at 100. */
export interface RolloutPolicy {
  steps: number[];
  stepMs: number;
  bakeMs: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `10m`, `30s`, `1h`, `500ms` -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^([1-9][0-9]{0,6})(ms|s|m|h)$/.exec(text);
  if (!m) throw new UsageError(`invalid duration: ${text} (a number and ms, s, m or h)`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Steps of an exponential policy: start, start*factor, ... (below 100), then 100. */
function exponentialSteps(start: number, factor: number): number[] {
  const steps: number[] = [];
  for (let s = start; s < 100 && steps.length < 49; s *= factor) steps.push(Math.round(s * 100) / 100);
  return [...steps, 100];
}

/** The policy a manifest spec describes (already checked by the manifest schema). */
export function policyOf(spec: RolloutSpec): RolloutPolicy {
  let steps = spec.steps
    ? [...spec.steps]
    : exponentialSteps(spec.exponential?.start ?? 1, spec.exponential?.factor ?? 2);
  if (steps[steps.length - 1] !== 100) steps = [...steps, 100];
  return {
    steps,
    stepMs: parseDuration(spec.stepDuration),
    bakeMs: spec.bakeTime === undefined ? 0 : parseDuration(spec.bakeTime),
  };
}

/** What the policy lookup needs from the manifest: each environment's parent and own `rollout`. */
export type PolicyEnvironments = Readonly<
  Record<string, { readonly extends?: string; readonly rollout?: RolloutSpec | false }>
>;

/**
 * The policy of `env`: its own `rollout`, else its parent's (recursively); `rollout: false` opts out (and stops
 * the inheritance for its children too). Null: all-at-once promotion.
 */
export function effectivePolicy(envs: PolicyEnvironments, env: string): RolloutPolicy | null {
  const seen = new Set<string>();
  for (let cur: string | undefined = env; cur !== undefined && !seen.has(cur); cur = envs[cur]?.extends) {
    seen.add(cur);
    const own = envs[cur]?.rollout;
    if (own === false) return null;
    if (own !== undefined) return policyOf(own);
  }
  return null;
}
