/**
 * The documents a service sees: a copy with its environment overrides applied, coerced by the namespace's JSON
 * Schema (fetched once per copy, kept on disk with it), memoised per served copy.
 */
import { isJsonObject } from '../values/index.js';
import type { JsonObject, JsonValue } from '../values/index.js';
import { applyEnvOverrides, envKey } from './env-overrides.js';
import type { EnvOverride } from './env-overrides.js';
import { deepFreeze } from './namespace-copies.js';
import type { CopyState, Entry, NamespaceCopies, Rendered } from './namespace-copies.js';
import { AbortedError, closedError, describe } from './transport.js';
import type { Transport } from './transport.js';
import type { ClientLogger } from './types.js';

export interface OverrideRendererOptions {
  transport: Transport;
  /** Where a fetched schema is kept (on disk, with the copy). */
  copies: Pick<NamespaceCopies, 'persist'>;
  environment: string;
  /** Override variables by normalised namespace (`parseEnvOverrides`). */
  overrides: Map<string, EnvOverride[]>;
  logger?: ClientLogger;
}

export class OverrideRenderer {
  readonly #transport: Transport;
  readonly #copies: Pick<NamespaceCopies, 'persist'>;
  readonly #environment: string;
  readonly #overrides: Map<string, EnvOverride[]>;
  readonly #logger?: ClientLogger;
  /** Variables already told to the logger. */
  readonly #logged = new Set<string>();

  constructor(options: OverrideRendererOptions) {
    this.#transport = options.transport;
    this.#copies = options.copies;
    this.#environment = options.environment;
    this.#overrides = options.overrides;
    this.#logger = options.logger;
  }

  /** Applies the environment overrides of the namespace (memoised per served copy and schema). */
  async render(state: CopyState, entry: Entry): Promise<Rendered> {
    const namespace = state.namespace;
    const overrides = this.#overrides.get(envKey(namespace)) ?? [];
    if (overrides.length === 0) {
      state.applied = [];
      return { key: '', value: entry.value, applied: [] };
    }
    const schema = await this.#schema(state);
    const key =
      entry.commit !== undefined || entry.etag !== undefined
        ? `${entry.commit ?? ''}|${entry.etag ?? ''}|${schema ? 'schema' : 'values'}`
        : undefined;
    if (key !== undefined && state.rendered?.key === key) {
      state.applied = state.rendered.applied;
      return state.rendered;
    }
    const { value, applied } = applyEnvOverrides(namespace, entry.value, schema ?? undefined, overrides);
    for (const a of applied) {
      if (this.#logged.has(a.variable)) continue;
      this.#logged.add(a.variable);
      this.#logger?.warn(
        `gitcfg client: ${a.variable} overrides ${namespace}.${a.path} (${this.#environment})`,
      );
    }
    const rendered = { key: key ?? '', value: deepFreeze(value), applied };
    if (key !== undefined) state.rendered = rendered;
    state.applied = applied;
    return rendered;
  }

  /** The namespace's JSON Schema, fetched once; null when it cannot be had (overrides then follow value types). */
  #schema(state: CopyState): Promise<JsonObject | null> {
    if (state.schema !== undefined) return Promise.resolve(state.schema);
    state.schemaLoading ??= this.#fetchSchema(state).finally(() => {
      state.schemaLoading = undefined;
    });
    return state.schemaLoading;
  }

  async #fetchSchema(state: CopyState): Promise<JsonObject | null> {
    const namespace = state.namespace;
    try {
      const version = state.version === undefined ? '' : `?version=${state.version}`;
      const answer = await this.#transport.request(`/v1/schemas/${encodeURIComponent(namespace)}${version}`);
      const schema = answer.status === 200 ? (JSON.parse(answer.body) as JsonValue) : undefined;
      if (isJsonObject(schema)) {
        state.schema = schema;
        if (state.entry) this.#copies.persist(state);
        return schema;
      }
      this.#logger?.warn(
        `gitcfg client: no schema for ${namespace} (HTTP ${answer.status}); overrides follow value types`,
      );
    } catch (error) {
      if (error instanceof AbortedError || this.#transport.closed) throw closedError();
      this.#logger?.warn(`gitcfg client: cannot fetch the schema of ${namespace}: ${describe(error)}`);
    }
    // Not remembered as final: the next load tries again.
    return null;
  }
}
