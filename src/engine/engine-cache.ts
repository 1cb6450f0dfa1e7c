/** Memoisation across evaluations: parsed files by blob oid, compiled schemas by oid, resolved pairs by inputKey. */
import { createAjv } from './schema-validator.js';
import type { Issue, ResolvedConfig } from './types.js';

interface Slot<T> {
  value: T;
  gen: number;
}

/** Counters of the work an `EngineCache` did and avoided (for metrics and tests). */
export interface EngineCacheStats {
  /** `readBlob` calls made through the cache. */
  blobReads: number;
  /** Files parsed (YAML or JSON). */
  parses: number;
  /** Schemas compiled. */
  compiles: number;
  /** Validators loaded from stored standalone code instead of compiled. */
  codeLoads: number;
  /** Pairs merged and validated. */
  merges: number;
  /** Pairs reused from a previous evaluation. */
  reused: number;
  /** Entries currently held. */
  entries: number;
}

type Counter = 'blobReads' | 'parses' | 'compiles' | 'codeLoads' | 'merges' | 'reused';

/** A merged + validated pair, or the issues that prevented it. */
export interface PairResult {
  config?: ResolvedConfig;
  issues: Issue[];
}

/**
 * Reuse one `EngineCache` across `evaluateRepo` calls (e.g. one per server). Entries not used by the last
 * `keepGenerations` evaluations are dropped, so memory follows the size of the current tree.
 */
export class EngineCache {
  readonly #tables = new Map<string, Map<string, Slot<unknown>>>();
  readonly #inflight = new Map<string, Promise<unknown>>();
  readonly #keepGenerations: number;
  #gen = 0;
  #active = 0;
  #ajv: ReturnType<typeof createAjv> | undefined;
  readonly #stats: Record<Counter, number> = {
    blobReads: 0,
    parses: 0,
    compiles: 0,
    codeLoads: 0,
    merges: 0,
    reused: 0,
  };

  /** `keepGenerations`: how many recent evaluations keep their entries alive (default 2, minimum 1). */
  constructor(options: { keepGenerations?: number } = {}) {
    this.#keepGenerations = Math.max(1, options.keepGenerations ?? 2);
  }

  /** Counters since creation (or the last `clear`). */
  stats(): EngineCacheStats {
    let entries = 0;
    for (const t of this.#tables.values()) entries += t.size;
    return { ...this.#stats, entries };
  }

  /** Drops every entry and resets the counters. */
  clear(): void {
    this.#tables.clear();
    this.#inflight.clear();
    this.#ajv = undefined;
    for (const k of Object.keys(this.#stats) as Counter[]) this.#stats[k] = 0;
  }

  /** @internal Marks the start of an evaluation (entries touched from now on belong to the new generation). */
  begin(): void {
    if (this.#active++ === 0) this.#gen++;
  }

  /** @internal Marks the end of an evaluation and prunes entries older than `keepGenerations`. */
  end(): void {
    if (--this.#active > 0) return;
    const oldest = this.#gen - this.#keepGenerations + 1;
    for (const table of this.#tables.values()) {
      for (const [k, slot] of table) if (slot.gen < oldest) table.delete(k);
    }
  }

  /** @internal Shared Ajv instance (schemas are removed from its registry after compiling). */
  ajv(): ReturnType<typeof createAjv> {
    return (this.#ajv ??= createAjv());
  }

  /** @internal Increments a counter. */
  count(name: Counter, n = 1): void {
    this.#stats[name] += n;
  }

  /** @internal Looks a key up in a table, marking it used. */
  get<T>(table: string, key: string): T | undefined {
    const slot = this.#tables.get(table)?.get(key);
    if (!slot) return undefined;
    slot.gen = this.#gen;
    return slot.value as T;
  }

  /** @internal Stores a value. */
  set<T>(table: string, key: string, value: T): T {
    let t = this.#tables.get(table);
    if (!t) this.#tables.set(table, (t = new Map()));
    t.set(key, { value, gen: this.#gen });
    return value;
  }

  /** @internal Returns the cached value or computes it once (concurrent callers share the same promise). */
  async getOrLoad<T>(table: string, key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.get<T>(table, key);
    if (hit !== undefined) return hit;
    const id = `${table}\0${key}`;
    const pending = this.#inflight.get(id) as Promise<T> | undefined;
    if (pending) return pending;
    const p = load().then(
      (v) => {
        this.#inflight.delete(id);
        return this.set(table, key, v);
      },
      (err: unknown) => {
        this.#inflight.delete(id);
        throw err;
      },
    );
    this.#inflight.set(id, p);
    return p;
  }
}
