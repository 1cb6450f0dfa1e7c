/**
 * A least-recently-used cache bounded in bytes (entries vary in size: a snapshot of a big commit is megabytes,
 * a commit summary a few hundred bytes), with counters of hits, misses and evictions. Sizes are estimates
 * given by the owner; an entry may be resized once its real size is known (a promise that resolved).
 */

/** What a cache did, for metrics (`gitcfg_cache_*`) and tests. */
export interface BoundedCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  entries: number;
  bytes: number;
  maxBytes: number;
}

/** Told about every hit, miss and eviction (e.g. to count them in metrics). */
export type CacheObserver = (event: 'hit' | 'miss' | 'eviction') => void;

/** Options of a `BoundedCache`. */
export interface BoundedCacheOptions {
  maxBytes: number;
  /** Also bound the number of entries (default: none). */
  maxEntries?: number;
  onEvent?: CacheObserver;
}

export class BoundedCache<V> {
  readonly #map = new Map<string, { value: V; bytes: number }>();
  readonly #maxBytes: number;
  readonly #maxEntries: number;
  readonly #onEvent: CacheObserver | undefined;
  #bytes = 0;
  readonly #counts = { hits: 0, misses: 0, evictions: 0 };

  constructor(options: BoundedCacheOptions) {
    this.#maxBytes = Math.max(0, options.maxBytes);
    this.#maxEntries = Math.max(1, options.maxEntries ?? Number.POSITIVE_INFINITY);
    this.#onEvent = options.onEvent;
  }

  /** The value of `key` (now the most recently used), counting a hit or a miss. */
  get(key: string): V | undefined {
    const slot = this.#map.get(key);
    if (!slot) {
      this.#count('misses', 'miss');
      return undefined;
    }
    this.#map.delete(key);
    this.#map.set(key, slot);
    this.#count('hits', 'hit');
    return slot.value;
  }

  /** Stores `value` as `bytes` bytes, evicting the least recently used entries above the bounds. */
  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    this.#map.set(key, { value, bytes: Math.max(0, bytes) });
    this.#bytes += Math.max(0, bytes);
    this.#evict();
  }

  /** Corrects the size of an entry (no-op when it is gone); may evict others, or the entry itself. */
  resize(key: string, bytes: number): void {
    const slot = this.#map.get(key);
    if (!slot) return;
    this.#bytes += Math.max(0, bytes) - slot.bytes;
    slot.bytes = Math.max(0, bytes);
    this.#evict();
  }

  /** The value of `key`, without counting a hit or a miss or making it the most recently used. */
  peek(key: string): V | undefined {
    return this.#map.get(key)?.value;
  }

  /** The values held, least recently used first, without counting hits or changing their order. */
  *values(): IterableIterator<V> {
    for (const slot of this.#map.values()) yield slot.value;
  }

  delete(key: string): boolean {
    const slot = this.#map.get(key);
    if (!slot) return false;
    this.#map.delete(key);
    this.#bytes -= slot.bytes;
    return true;
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }

  stats(): BoundedCacheStats {
    return { ...this.#counts, entries: this.#map.size, bytes: this.#bytes, maxBytes: this.#maxBytes };
  }

  #evict(): void {
    while (this.#bytes > this.#maxBytes || this.#map.size > this.#maxEntries) {
      const oldest = this.#map.keys().next();
      if (oldest.done) return;
      this.delete(oldest.value);
      this.#count('evictions', 'eviction');
    }
  }

  #count(counter: 'hits' | 'misses' | 'evictions', event: 'hit' | 'miss' | 'eviction'): void {
    this.#counts[counter]++;
    this.#onEvent?.(event);
  }
}

/** Rough heap bytes of a JSON-like value (strings twice their length, 16 per slot): for cache sizes only. */
export function approximateBytes(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && bytes < limit) {
    const v = stack.pop();
    if (typeof v === 'string') bytes += 16 + v.length * 2;
    else if (v instanceof Uint8Array) bytes += 64 + v.byteLength;
    else if (Array.isArray(v)) {
      bytes += 16 + v.length * 8;
      for (const item of v) stack.push(item);
    } else if (v instanceof Map) {
      bytes += 32 + v.size * 16;
      for (const [k, item] of v) stack.push(k, item);
    } else if (v !== null && typeof v === 'object') {
      const record = v as Record<string, unknown>;
      for (const k of Object.keys(record)) {
        bytes += 16 + k.length * 2;
        stack.push(record[k]);
      }
    } else bytes += 8;
  }
  return bytes;
}
