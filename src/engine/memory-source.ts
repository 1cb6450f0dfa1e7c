/** An in-memory `RepoSource` (tests and tools): paths -> contents, oid = sha1 of the content. */
import { createHash } from 'node:crypto';
import { NotFoundError } from '../errors/index.js';
import type { RepoSource, TreeEntry } from './types.js';

/** Builds a `RepoSource` from file contents; `symlinks` get mode 120000 and `submodules` type `commit`. */
export function memorySource(
  files: Record<string, string | Uint8Array>,
  opts: { symlinks?: string[]; submodules?: string[] } = {},
): RepoSource {
  const blobs = new Map<string, Uint8Array>();
  const entries: TreeEntry[] = [];
  const symlinks = new Set(opts.symlinks ?? []);
  for (const path of Object.keys(files).sort()) {
    const content = files[path]!;
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    const oid = createHash('sha1').update(bytes).digest('hex');
    blobs.set(oid, bytes);
    entries.push({ path, oid, type: 'blob', mode: symlinks.has(path) ? '120000' : '100644' });
  }
  for (const path of opts.submodules ?? []) {
    entries.push({
      path,
      oid: createHash('sha1').update(`submodule:${path}`).digest('hex'),
      type: 'commit',
      mode: '160000',
    });
  }
  return {
    entries,
    async readBlob(oid: string, path: string): Promise<Uint8Array> {
      const bytes = blobs.get(oid);
      if (!bytes) throw new NotFoundError('blob', oid, { path });
      return bytes;
    },
  };
}
