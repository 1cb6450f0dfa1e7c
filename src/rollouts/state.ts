/**
 * The rollout state machine, as data: the share of clients on the candidate at time t is a pure function of the
 * state and t. Every transition returns a new state (nothing is mutated) or throws a ConflictError.
 */
import { createHash } from 'node:crypto';
import { ConflictError } from '../errors/index.js';
import type { RolloutPolicy } from './policy.js';

/** One rollout of an environment from `stable` to `candidate` (times in ms since the epoch). */
export interface RolloutState {
  env: string;
  id: string;
  stable: string;
  candidate: string;
  policy: RolloutPolicy;
  startedAt: number;
  pausedAt?: number;
  /** Time spent paused before the current pause. */
  pausedMs: number;
  promotedAt?: number;
  abortedAt?: number;
  /** Who promoted or aborted it (a token name, or the signal that fired). */
  by?: string;
}

export type RolloutStatus = 'running' | 'paused' | 'baking' | 'completed' | 'promoted' | 'aborted';

/** Where a rollout stands at one instant. */
export interface RolloutPhase {
  status: RolloutStatus;
  /** Percent of clients on the candidate. */
  share: number;
  /** Index of the current step in `policy.steps`. */
  step: number;
  /** When the next step (or, at the last, the end of the bake) is due; null when paused or finished. */
  nextAt: number | null;
}

/** A rollout id: the same for every replica that sees the same promotion. */
export function rolloutId(env: string, stable: string, candidate: string): string {
  return createHash('sha256').update(`${env}\0${stable}\0${candidate}`).digest('hex').slice(0, 16);
}

/** A new rollout, at its first step from `now`. */
export function startRollout(
  env: string,
  stable: string,
  candidate: string,
  policy: RolloutPolicy,
  now: number,
): RolloutState {
  return {
    env,
    id: rolloutId(env, stable, candidate),
    stable,
    candidate,
    policy,
    startedAt: now,
    pausedMs: 0,
  };
}

/** Running time (pauses excluded) at `t`. */
function activeMs(state: RolloutState, t: number): number {
  const paused = state.pausedAt !== undefined ? Math.max(0, t - state.pausedAt) : 0;
  return Math.max(0, t - state.startedAt - state.pausedMs - paused);
}

/** The phase of `state` at `t`. */
export function phaseAt(state: RolloutState, t: number): RolloutPhase {
  const { steps, stepMs, bakeMs } = state.policy;
  const last = steps.length - 1;
  if (state.abortedAt !== undefined) return { status: 'aborted', share: 0, step: 0, nextAt: null };
  if (state.promotedAt !== undefined) return { status: 'promoted', share: 100, step: last, nextAt: null };
  const elapsed = activeMs(state, t);
  const end = last * stepMs + bakeMs;
  if (elapsed >= end) return { status: 'completed', share: 100, step: last, nextAt: null };
  const step = Math.min(Math.floor(elapsed / stepMs), last);
  const paused = state.pausedAt !== undefined;
  const nextIn = step < last ? (step + 1) * stepMs - elapsed : end - elapsed;
  return {
    status: paused ? 'paused' : step === last ? 'baking' : 'running',
    share: steps[step]!,
    step,
    nextAt: paused ? null : t + nextIn,
  };
}

/** Whether the rollout still decides who gets what (running, paused or baking). */
export function isActive(state: RolloutState, t: number): boolean {
  const { status } = phaseAt(state, t);
  return status === 'running' || status === 'paused' || status === 'baking';
}

function assertActive(state: RolloutState, t: number, action: string): void {
  const { status } = phaseAt(state, t);
  if (status === 'completed' || status === 'promoted' || status === 'aborted') {
    throw new ConflictError(`cannot ${action} the rollout of ${state.env}: it is ${status}`);
  }
}

export function pauseRollout(state: RolloutState, t: number): RolloutState {
  assertActive(state, t, 'pause');
  if (state.pausedAt !== undefined) return state;
  return { ...state, pausedAt: t };
}

export function resumeRollout(state: RolloutState, t: number): RolloutState {
  assertActive(state, t, 'resume');
  if (state.pausedAt === undefined) return state;
  const { pausedAt: at, ...rest } = state;
  return { ...rest, pausedMs: state.pausedMs + Math.max(0, t - at) };
}

/** Everyone on the candidate at once. */
export function promoteRollout(state: RolloutState, t: number, by: string): RolloutState {
  assertActive(state, t, 'promote');
  return { ...state, promotedAt: t, by };
}

/** Everyone back on the stable at once. */
export function abortRollout(state: RolloutState, t: number, by: string): RolloutState {
  assertActive(state, t, 'abort');
  return { ...state, abortedAt: t, by };
}

/** A stable point of `clientId` in [0, 100) for one rollout (sha256 of the id and the rollout's id). */
export function bucketOf(clientId: string, rolloutId: string): number {
  const digest = createHash('sha256').update(clientId).update('\0').update(rolloutId).digest();
  return (digest.readUInt32BE(0) / 0x1_0000_0000) * 100;
}

/**
 * Whether `clientId` gets the candidate at `t`. The share only grows while a rollout runs, so a client that got
 * the candidate keeps it. No client id: the stable until the rollout is over (completed or promoted).
 */
export function onCandidate(
  state: RolloutState,
  clientId: string | undefined,
  t: number,
  bucket: (clientId: string) => number = (id) => bucketOf(id, state.id),
): boolean {
  const { status, share } = phaseAt(state, t);
  if (status === 'completed' || status === 'promoted') return true;
  if (clientId === undefined || share <= 0) return false;
  return share >= 100 || bucket(clientId) < share;
}

/** A rollout state read from disk or Redis (untrusted), or null when it is not one. */
export function checkedState(value: unknown): RolloutState | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  const sha = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{40}$/.test(x);
  const time = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  const p = v.policy as Record<string, unknown> | undefined;
  if (
    typeof v.env !== 'string' ||
    !/^[a-z][a-z0-9-]{0,63}$/.test(v.env) ||
    typeof v.id !== 'string' ||
    !/^[0-9a-f]{16}$/.test(v.id) ||
    !sha(v.stable) ||
    !sha(v.candidate) ||
    !time(v.startedAt) ||
    !time(v.pausedMs) ||
    !p ||
    !Array.isArray(p.steps) ||
    p.steps.length === 0 ||
    p.steps.length > 50 ||
    !p.steps.every((s) => typeof s === 'number' && s > 0 && s <= 100) ||
    p.steps[p.steps.length - 1] !== 100 ||
    !time(p.stepMs) ||
    (p.stepMs as number) < 1 ||
    !time(p.bakeMs)
  ) {
    return null;
  }
  for (const k of ['pausedAt', 'promotedAt', 'abortedAt'] as const) {
    if (v[k] !== undefined && !time(v[k])) return null;
  }
  return {
    env: v.env,
    id: v.id,
    stable: v.stable,
    candidate: v.candidate,
    policy: { steps: p.steps as number[], stepMs: p.stepMs as number, bakeMs: p.bakeMs as number },
    startedAt: v.startedAt,
    pausedMs: v.pausedMs,
    ...(v.pausedAt !== undefined ? { pausedAt: v.pausedAt as number } : {}),
    ...(v.promotedAt !== undefined ? { promotedAt: v.promotedAt as number } : {}),
    ...(v.abortedAt !== undefined ? { abortedAt: v.abortedAt as number } : {}),
    ...(typeof v.by === 'string' ? { by: v.by.slice(0, 200) } : {}),
  };
}
