/**
 * The client SDK: reads merged config from a gitcfg server with ETag revalidation, keeps the last good copy in
 * memory and (optionally) on disk, follows changes with long-polls, and applies environment-variable overrides.
 * Only global `fetch` and node:fs: services import this, so it stays small. `ConfigClient` wires the parts:
 * transport (HTTP), namespace copies (memory and disk), override renderer, watcher.
 */
import type { JsonObject, JsonValue } from '../values/index.js';
import { valueAtPath } from '../values/index.js';
import { CommitOrder } from './commit-order.js';
import { parseEnvOverrides } from './env-overrides.js';
import type { AppliedOverride } from './env-overrides.js';
import { GitcfgClientError } from './errors.js';
import { NAME, NamespaceCopies } from './namespace-copies.js';
import { OverrideRenderer } from './override-renderer.js';
import { HttpTransport } from './transport.js';
import type {
  ClientOptions,
  ConfigChange,
  ConfigMetadata,
  ConfigResult,
  GetOptions,
  GitcfgClient,
  UntypedNamespaces,
  WatchOptions,
} from './types.js';
import { Watcher } from './watcher.js';

class ConfigClient {
  readonly environment: string;
  readonly #transport: HttpTransport;
  readonly #copies: NamespaceCopies;
  readonly #renderer: OverrideRenderer;
  readonly #watcher: Watcher;

  constructor(options: ClientOptions) {
    if (!options || typeof options.url !== 'string')
      throw new GitcfgClientError('E_USAGE', 'createClient: url is required');
    if (typeof options.env !== 'string' || !NAME.test(options.env)) {
      throw new GitcfgClientError(
        'E_USAGE',
        `createClient: env must match ${NAME.source}, got ${JSON.stringify(options.env)}`,
      );
    }
    const environment = options.env;
    this.environment = environment;
    const commits = new CommitOrder();
    const transport = new HttpTransport(options, () => commits.newest);
    const overrides =
      options.envOverrides === false ? new Map() : parseEnvOverrides(options.envOverrides ?? process.env);
    const { logger } = options;
    const copies = new NamespaceCopies({
      transport,
      commits,
      environment,
      maxAgeMs: options.maxAgeMs ?? 0,
      cacheDir: options.cacheDir,
      versions: options.versions,
      logger,
    });
    const renderer = new OverrideRenderer({ transport, copies, environment, overrides, logger });
    this.#watcher = new Watcher({
      transport,
      copies,
      render: (state, entry) => renderer.render(state, entry),
      commits,
      environment,
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? 30,
      timeoutMs: transport.timeoutMs,
      logger,
    });
    this.#transport = transport;
    this.#copies = copies;
    this.#renderer = renderer;
  }

  async get(namespace: string, options: GetOptions = {}): Promise<JsonValue> {
    return (await this.getWithMetadata(namespace, options)).value;
  }

  async getWithMetadata(namespace: string, options: GetOptions = {}): Promise<ConfigResult<JsonValue>> {
    const state = this.#copies.state(namespace, options.version);
    const entry = await this.#copies.load(state, false);
    const rendered = await this.#renderer.render(state, entry);
    let value: JsonValue = rendered.value;
    if (options.path !== undefined && options.path !== '') {
      const sub = valueAtPath(rendered.value, options.path);
      if (sub === undefined) {
        throw new GitcfgClientError(
          'E_NOT_FOUND',
          `path not found: ${options.path} in ${namespace}/${this.environment}`,
          { namespace, environment: this.environment, path: options.path },
        );
      }
      value = sub;
    }
    return { value, metadata: this.#copies.metadata(namespace, entry), overrides: [...rendered.applied] };
  }

  status(namespace: string, options: { version?: number } = {}): ConfigMetadata | undefined {
    const entry = this.#copies.find(namespace, options.version)?.entry;
    return entry ? this.#copies.metadata(namespace, entry) : undefined;
  }

  overrides(namespace: string, options: { version?: number } = {}): AppliedOverride[] {
    return [...(this.#copies.find(namespace, options.version)?.applied ?? [])];
  }

  watch(
    namespace: string,
    callback: (doc: JsonObject, change: ConfigChange) => void | Promise<void>,
    options: WatchOptions = {},
  ): () => void {
    const state = this.#copies.state(namespace, options.version);
    if (typeof callback !== 'function')
      throw new GitcfgClientError('E_USAGE', 'watch: callback must be a function');
    return this.#watcher.watch(state, callback, options.onError);
  }

  async close(): Promise<void> {
    if (this.#transport.closed) return;
    this.#transport.close();
    this.#watcher.close();
    // The watch loop ends by itself now that its request is aborted; not awaited, so a watch callback may call
    // close() without waiting on itself.
    await this.#copies.flush();
  }
}

/**
 * Creates a client for one environment of a gitcfg server. Pass the generated `GitcfgNamespaces` interface
 * (`gitcfg types`) as `N` for typed documents; without it every namespace is a plain JSON object.
 */
export function createClient<N extends object = UntypedNamespaces>(options: ClientOptions): GitcfgClient<N> {
  return new ConfigClient(options) as unknown as GitcfgClient<N>;
}
