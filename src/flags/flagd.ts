/**
 * flagd-core, loaded on first use: most evaluations hold no flag namespace, and its module graph (JsonLogic,
 * semver) was a tenth of an evaluation worker's start.
 */
import { createRequire } from 'node:module';
import type * as FlagdModule from '@openfeature/flagd-core';
import type { FlagdCore } from '@openfeature/flagd-core';
import { SILENT_LOGGER } from './silent-logger.js';

const requireHere = createRequire(import.meta.url);
let flagd: typeof FlagdModule | undefined;

/** A new flagd evaluator that logs nothing (gitcfg reports through issues and OFREP answers). */
export function newFlagdCore(): FlagdCore {
  flagd ??= requireHere('@openfeature/flagd-core') as typeof FlagdModule;
  return new flagd.FlagdCore(undefined, SILENT_LOGGER);
}
