/**
 * OpenFeature provider (`gitcfg/openfeature`) that evaluates gitcfg flags in-process: from the client's watched,
 * cached copy of a flag namespace (no request per evaluation, the disk copy through an outage), with
 * `@openfeature/flagd-core`, the evaluator the server uses for OFREP, so a user gets the same variant from both.
 */
import { FlagdCore } from '@openfeature/flagd-core';
import { OpenFeatureEventEmitter, ProviderEvents } from '@openfeature/server-sdk';
import type {
  EvaluationContext,
  JsonValue,
  Logger,
  Provider,
  ResolutionDetails,
} from '@openfeature/server-sdk';
import type { GitcfgClient } from './types.js';

const ignore = (): void => {};
/** flagd-core logs every failed rule; callers see errors in the resolution details instead. */
const SILENT: Logger = { error: ignore, warn: ignore, info: ignore, debug: ignore };

export class GitcfgFlagProvider implements Provider {
  readonly metadata = { name: 'gitcfg' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  private readonly core = new FlagdCore(undefined, SILENT);
  private unwatch: (() => void) | undefined;

  /** `namespace` is the flag namespace of the repository (marked `flags:` in `gitcfg.yaml`). */
  constructor(
    private readonly client: GitcfgClient,
    private readonly namespace = 'feature-flags',
  ) {}

  /** Loads the flag set (from the server, else the client's disk copy), then follows new commits. */
  async initialize(): Promise<void> {
    this.core.setConfigurations(JSON.stringify(await this.client.get(this.namespace)));
    this.unwatch = this.client.watch(
      this.namespace,
      (doc) => {
        const flagsChanged = this.core.setConfigurations(JSON.stringify(doc));
        this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged });
      },
      { onError: (error) => this.events.emit(ProviderEvents.Stale, { message: error.message }) },
    );
  }

  async onClose(): Promise<void> {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  resolveBooleanEvaluation(key: string, fallback: boolean, context: EvaluationContext) {
    return Promise.resolve(this.core.resolveBooleanEvaluation(key, fallback, context, SILENT));
  }

  resolveStringEvaluation(key: string, fallback: string, context: EvaluationContext) {
    return Promise.resolve(this.core.resolveStringEvaluation(key, fallback, context, SILENT));
  }

  resolveNumberEvaluation(key: string, fallback: number, context: EvaluationContext) {
    return Promise.resolve(this.core.resolveNumberEvaluation(key, fallback, context, SILENT));
  }

  resolveObjectEvaluation<T extends JsonValue>(
    key: string,
    fallback: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.core.resolveObjectEvaluation(key, fallback, context, SILENT));
  }
}
