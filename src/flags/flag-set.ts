/**
 * A compiled flag set: the merged flag document of one environment, compiled once by `@openfeature/flagd-core`
 * and evaluated many times. Immutable: a new snapshot compiles a new set, so readers never see a half-updated one.
 */
import type { EvaluationContext, FlagValue } from '@openfeature/core';
import {
  FlagContextInvalidError,
  FlagNotFoundError,
  FlagTargetingError,
  FlagTargetingKeyMissingError,
} from '../errors/index.js';
import type { FlagEvaluationError } from '../errors/index.js';
import { newFlagdCore } from './flagd.js';
import { SILENT_LOGGER } from './silent-logger.js';

/** Flag metadata: strings, numbers and booleans, as flagd allows. */
export type FlagMetadata = Record<string, string | number | boolean>;

/** A successful evaluation, shaped as OFREP's evaluation success response. */
export interface FlagEvaluation {
  key: string;
  value: FlagValue;
  reason: string;
  variant: string;
  metadata: FlagMetadata;
}

/** A failed evaluation inside a bulk answer, shaped as OFREP's evaluation failure. */
export interface FlagFailure {
  key: string;
  errorCode: string;
  errorDetails: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isMap = (v: unknown): v is { [key: string]: Json } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether `node` holds a `fractional` that buckets by the targeting key (no explicit bucketing value). */
function splitsByTargetingKey(
  node: Json | undefined,
  evaluators: { [key: string]: Json },
  depth = 0,
): boolean {
  if (depth > 64 || node === undefined) return false;
  if (Array.isArray(node)) return node.some((n) => splitsByTargetingKey(n, evaluators, depth + 1));
  if (!isMap(node)) return false;
  const f = node.fractional;
  if (Array.isArray(f) && Array.isArray(f[0])) return true;
  if (typeof node.$ref === 'string' && Object.hasOwn(evaluators, node.$ref)) {
    return splitsByTargetingKey(evaluators[node.$ref], evaluators, depth + 1);
  }
  return Object.values(node).some((n) => splitsByTargetingKey(n, evaluators, depth + 1));
}

/** Checks a request's evaluation context: a mapping (absent = empty); `targetingKey` a string when present. */
export function evaluationContextOf(context: unknown, key?: string): EvaluationContext {
  if (context === undefined || context === null) return {};
  if (!isMap(context)) throw new FlagContextInvalidError('context must be a JSON object', key);
  const tk = context.targetingKey;
  if (tk !== undefined && typeof tk !== 'string') {
    throw new FlagContextInvalidError('context.targetingKey must be a string', key);
  }
  return context as EvaluationContext;
}

export class FlagSet {
  private readonly core = newFlagdCore();
  private readonly needsTargetingKey = new Set<string>();

  /** Compiles a validated flag document (`{flags, $evaluators?, metadata?}`); throws if flagd refuses it. */
  constructor(document: unknown) {
    this.core.setConfigurations(JSON.stringify(document));
    const doc = isMap(document) ? document : {};
    const evaluators = isMap(doc.$evaluators) ? doc.$evaluators : {};
    const flags = isMap(doc.flags) ? doc.flags : {};
    for (const [key, flag] of Object.entries(flags)) {
      if (isMap(flag) && splitsByTargetingKey(flag.targeting, evaluators)) this.needsTargetingKey.add(key);
    }
  }

  /** Keys of every flag, enabled or not. */
  get keys(): string[] {
    return [...this.core.getFlags().keys()];
  }

  /** Whether the set defines `key` (enabled or not). */
  has(key: string): boolean {
    return this.core.getFlag(key) !== undefined;
  }

  /** Evaluates one flag; throws a `FlagEvaluationError` (not found, disabled, key missing, targeting failed). */
  evaluate(key: string, context: EvaluationContext): FlagEvaluation {
    const flag = this.core.getFlag(key);
    // Disabled flags are answered as absent, as flagd does: the caller falls back to its code default.
    if (!flag) throw new FlagNotFoundError(key);
    if (flag.state === 'DISABLED') throw new FlagNotFoundError(key, true);
    if (this.needsTargetingKey.has(key) && !context.targetingKey) throw new FlagTargetingKeyMissingError(key);
    const r = flag.evaluate(context, SILENT_LOGGER);
    if (r.reason === 'ERROR' || r.value === undefined || r.variant === undefined) {
      throw new FlagTargetingError(key, `flag ${key}: targeting chose no variant`);
    }
    return {
      key,
      value: r.value as FlagValue,
      reason: r.reason ?? 'STATIC',
      variant: r.variant,
      metadata: r.flagMetadata as FlagMetadata,
    };
  }

  /** Evaluates every enabled flag; a flag that fails is reported in place (OFREP bulk semantics). */
  evaluateAll(context: EvaluationContext): Array<FlagEvaluation | FlagFailure> {
    const out: Array<FlagEvaluation | FlagFailure> = [];
    for (const [key, flag] of this.core.getFlags()) {
      if (flag.state === 'DISABLED') continue;
      try {
        out.push(this.evaluate(key, context));
      } catch (err) {
        const e = err as FlagEvaluationError;
        out.push({ key, errorCode: e.ofrepCode, errorDetails: e.message });
      }
    }
    return out;
  }
}

const compiled = new WeakMap<object, FlagSet>();

/** The flag set of a frozen document, compiled on first use and shared by every reader of that document. */
export function flagSetOf(document: object): FlagSet {
  let set = compiled.get(document);
  if (!set) compiled.set(document, (set = new FlagSet(document)));
  return set;
}
