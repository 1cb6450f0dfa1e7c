/** Memoisation across evaluations: parsed files by blob oid, compiled schemas by oid, resolved pairs by inputKey. */
import { createAjv } from './schema-validator.js';
import type { Issue, ResolvedConfig } from './types.js';

interface Slot {
  value: unknown;
  gen: number;
  /** Estimated heap bytes of `value` (see `EngineCacheOptions.maxBytes`). */
  bytes: number;
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
  /**
   * Lookups answered from the cache, lookups that were not, and entries dropped (unused by the last
   * `keepGenerations` evaluations, or the least recently used past `maxBytes`).
   */
  hits: number;
  misses: number;
  evictions: number;
  /** Entries currently held, and their estimated bytes. */
  entries: number;
  bytes: number;
}

type Counter =
  'blobReads' | 'parses' | 'compiles' | 'codeLoads' | 'merges' | 'reused' | 'hits' | 'misses' | 'evictions';

/*
 * Heap bytes per source byte of what the cache holds, measured with heap snapshots of the generated
 * repositories of bench/ (1,000 namespaces): a parsed YAML file with its positions ~17x its source, a compiled
 * schema with its validator ~13x. Estimates: they only need to be proportional for the bound to hold.
 */
export const PARSED_YAML_PER_BYTE = 18;
export const COMPILED_SCHEMA_PER_BYTE = 14;
/** Heap bytes of one origin (pointer, file, position) in an origins map. */
const ORIGIN_BYTES = 200;

/** Estimated heap bytes of something made from `sourceBytes` of a file (`perByte` from above). */
export function heapEstimate(sourceBytes: number, perByte: number): number {
  return 256 + sourceBytes * perByte;
}

/** Estimated heap bytes of a document or pair result: its origins and issues (values are mostly shared). */
export function originsEstimate(origins: number, issues: number): number {
  return 256 + origins * ORIGIN_BYTES + issues * 256;
}

/** A merged + validated pair, or the issues that prevented it. */
export interface PairResult {
  config?: ResolvedConfig;
  issues: Issue[];
}

/** Tables whose entries an evaluation makes once per key: only a later evaluation can hit them. */
const REUSED_ACROSS_EVALUATIONS_ONLY = new Set(['prepared', 'pair']);

/** Options of an `EngineCache`. */
export interface EngineCacheOptions {
  /** How many recent evaluations keep their entries alive (default 2, minimum 1). */
  keepGenerations?: number;
  /**
   * Estimated heap bytes the entries may hold between evaluations (default: no bound but `keepGenerations`):
   * when an evaluation ends, the least recently used entries go until the rest fit. Evaluations of many
   * different old commits would otherwise keep several whole trees of parsed documents. 0 keeps nothing after
   * an evaluation, and during one keeps only what it shares by blob (parsed files, compiled schemas), not the
   * checked documents and merged pairs only a later evaluation would reuse: for a process that evaluates once
   * (`gitcfg validate`), where those lived to the end and every garbage collection copied them.
   */
  maxBytes?: number;
}

/**
 * Reuse one `EngineCache` across `evaluateRepo` calls (e.g. one per server). Entries not used by the last
 * `keepGenerations` evaluations are dropped, so memory follows the size of the current tree; with `maxBytes`,
 * least recently used entries are dropped past that size too.
 */
export class EngineCache {
  /** `${table}\0${key}` -> entry, least recently used first (a hit moves its entry to the end). */
  readonly #slots = new Map<string, Slot>();
  readonly #inflight = new Map<string, Promise<unknown>>();
  readonly #keepGenerations: number;
  readonly #maxBytes: number;
  #bytes = 0;
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
    hits: 0,
    misses: 0,
    evictions: 0,
  };

  constructor(options: EngineCacheOptions = {}) {
    this.#keepGenerations = Math.max(1, options.keepGenerations ?? 2);
    this.#maxBytes = Math.max(0, options.maxBytes ?? Number.POSITIVE_INFINITY);
  }

  /** Counters since creation (or the last `clear`). */
  stats(): EngineCacheStats {
    return { ...this.#stats, entries: this.#slots.size, bytes: this.#bytes };
  }

  /** Drops every entry and resets the counters. */
  clear(): void {
    this.#slots.clear();
    this.#inflight.clear();
    this.#bytes = 0;
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
    for (const [id, slot] of this.#slots) if (slot.gen < oldest) this.#drop(id, slot);
    this.#evict();
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
    const id = `${table}\0${key}`;
    const slot = this.#slots.get(id);
    if (!slot) {
      this.#stats.misses++;
      return undefined;
    }
    this.#stats.hits++;
    slot.gen = this.#gen;
    this.#slots.delete(id);
    this.#slots.set(id, slot);
    return slot.value as T;
  }

  /** @internal Stores a value of about `bytes` heap bytes. */
  set<T>(table: string, key: string, value: T, bytes = 0): T {
    if (this.#maxBytes === 0 && REUSED_ACROSS_EVALUATIONS_ONLY.has(table)) return value;
    const id = `${table}\0${key}`;
    const old = this.#slots.get(id);
    if (old) this.#drop(id, old, false);
    this.#slots.set(id, { value, gen: this.#gen, bytes });
    this.#bytes += bytes;
    // During an evaluation nothing goes: what earlier ones kept may still be hit by it (evicting it to make
    // room turned a tree bigger than the bound into no hits at all). The bound is restored when it ends.
    if (this.#active === 0) this.#evict();
    return value;
  }

  /** Drops least recently used entries while above `maxBytes`. */
  #evict(): void {
    for (const [id, slot] of this.#slots) {
      if (this.#bytes <= this.#maxBytes) return;
      this.#drop(id, slot);
    }
  }

  #drop(id: string, slot: Slot, evicted = true): void {
    this.#slots.delete(id);
    this.#bytes -= slot.bytes;
    if (evicted) this.#stats.evictions++;
  }

  /** @internal Returns the cached value or computes it once (concurrent callers share the same promise). */
  async getOrLoad<T>(
    table: string,
    key: string,
    load: () => Promise<T>,
    bytesOf: (value: T) => number = () => 0,
  ): Promise<T> {
    const hit = this.get<T>(table, key);
    if (hit !== undefined) return hit;
    const id = `${table}\0${key}`;
    const pending = this.#inflight.get(id) as Promise<T> | undefined;
    if (pending) return pending;
    const p = load().then(
      (v) => {
        this.#inflight.delete(id);
        return this.set(table, key, v, bytesOf(v));
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
