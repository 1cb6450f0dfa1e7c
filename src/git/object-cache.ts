/**
 * The `cache` object given to isomorphic-git. isomorphic-git 1.44.11 never initialises `readDepth` on pack
 * indexes loaded from an `.idx` file (`undefined++` is NaN), so its delta-base cache never fills and every read
 * of a deltified object decompresses the whole chain again. The fix lives here rather than in a patch of
 * node_modules, so an installed gitcfg gets it too: the cache notices where isomorphic-git keeps its pack
 * indexes and initialises each one as it loads. With a fixed isomorphic-git this does nothing.
 */

/** The description of isomorphic-git's private symbol for the pack index map inside a cache object. */
const PACKFILE_CACHE = 'PackfileCache';

interface PackIndexLike {
  readDepth?: unknown;
  /** Decompressed objects by pack offset: once `readDepth` passes 3, every object read is kept here. */
  offsetCache?: unknown;
}

/** A Map of filename -> promise of a pack index that initialises each index once it has loaded. */
class PackIndexMap<K> extends Map<K, Promise<PackIndexLike | undefined>> {
  /** The indexes loaded so far. */
  readonly loaded = new Set<PackIndexLike>();

  override set(key: K, loading: Promise<PackIndexLike | undefined>): this {
    // Registered before isomorphic-git awaits the promise, so the index is fixed before its first read. The
    // promise itself is stored unchanged (isomorphic-git compares it by identity to drop failed loads).
    loading.then(
      (index) => {
        if (!index) return;
        if (typeof index.readDepth !== 'number') index.readDepth = 0;
        this.loaded.add(index);
      },
      () => {},
    );
    return super.set(key, loading);
  }
}

/** The pack index map isomorphic-git keeps in each cache made here, once it made one. */
const packIndexes = new WeakMap<object, PackIndexMap<unknown>>();

/** A fresh cache object for isomorphic-git calls. */
export function createObjectCache(): object {
  const cache = new Proxy<Record<string | symbol, unknown>>(
    {},
    {
      set(target, key, value: unknown) {
        const packs =
          typeof key === 'symbol' && key.description === PACKFILE_CACHE && value instanceof Map
            ? new PackIndexMap(value)
            : value;
        if (packs instanceof PackIndexMap) packIndexes.set(cache, packs);
        target[key] = packs;
        return true;
      },
    },
  );
  return cache;
}

/**
 * Drops the decompressed objects `cache` keeps, and keeps its loaded packs and indexes (reading a big pack again
 * cost more than what it freed). False when this isomorphic-git keeps them elsewhere: replace the cache then.
 */
export function dropDecompressedObjects(cache: object): boolean {
  for (const index of packIndexes.get(cache)?.loaded ?? []) {
    if (typeof index.offsetCache !== 'object' || index.offsetCache === null) return false;
    index.offsetCache = {};
  }
  return true;
}
