/** A view of a repository source rooted at a sub-directory (the config root inside a larger repository). */
import type { RepoSource, TreeEntry } from '../engine/index.js';

/** Entries under `subdir/`, with paths relative to it; blob reads map back to the full path. */
export function subdirSource(source: RepoSource, subdir: string): RepoSource {
  const prefix = `${subdir.replace(/^\/+|\/+$/g, '')}/`;
  const entries: TreeEntry[] = [];
  for (const entry of source.entries) {
    if (entry.path.startsWith(prefix) && entry.path.length > prefix.length) {
      entries.push({ ...entry, path: entry.path.slice(prefix.length) });
    }
  }
  return {
    entries,
    readBlob: (oid, path) => source.readBlob(oid, prefix + path),
  };
}
