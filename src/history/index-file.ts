/**
 * The history index in the data dir. Layout: one header line `gitcfg-history <format> sha256=<hex> bytes=<n>`,
 * then the JSON payload. Written atomically (temp file, fsync, rename); a damaged file or one of another format
 * is reported as `corrupt` and the index is rebuilt from git.
 */
import { join } from 'node:path';
import { readCheckedFile, writeCheckedFile } from '../data-file/index.js';

/** Version of the file layout; bump it when the payload changes shape. */
export const HISTORY_INDEX_FORMAT = 2;
const FILE_NAME = 'history-index.json';
const OID = /^[0-9a-f]{40}$/;
const BLOB = /^([0-7]{6} )?[0-9a-f]{40}$/;

function badChange(change: unknown, pathCount: number): boolean {
  if (!Array.isArray(change) || change.length !== 3) return true;
  const [i, before, after] = change as unknown[];
  if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= pathCount) return true;
  const blob = (b: unknown) => b === null || (typeof b === 'string' && BLOB.test(b));
  return !blob(before) || !blob(after) || (before === null && after === null);
}

/** A blob as `oid` (mode 100644) or `<mode> <oid>`. */
export type BlobRef = string;

/** One change: `[index into paths, blob before or null (added), blob after or null (deleted)]`. */
export type IndexedChangeData = [number, BlobRef | null, BlobRef | null];

/** The persisted index: first-parent chain of `branch`, oldest first; `paths` interns every changed path. */
export interface HistoryIndexData {
  branch: string;
  /** Repository paths (not relative to a config root), each once. */
  paths: string[];
  /** `[commit, first parent or null, changes]`, oldest first; each parent is the previous commit. */
  commits: [string, string | null, IndexedChangeData[]][];
}

/** Result of loading the index file. */
export type HistoryIndexLoad =
  | { status: 'loaded'; data: HistoryIndexData }
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string };

/** Where an index is kept between runs (a file in the data dir; tests may pass another implementation). */
export interface HistoryIndexStore {
  load(): Promise<HistoryIndexLoad>;
  save(data: HistoryIndexData): Promise<void>;
}

/** Checks the shape and the chain of a payload; returns why it is unusable, or null. */
export function checkIndexData(data: unknown): string | null {
  if (typeof data !== 'object' || data === null) return 'not an object';
  const d = data as Partial<HistoryIndexData>;
  if (typeof d.branch !== 'string') return 'no branch';
  if (!Array.isArray(d.paths) || !d.paths.every((p) => typeof p === 'string')) return 'bad paths';
  if (!Array.isArray(d.commits)) return 'bad commits';
  let previous: string | null = null;
  for (const [i, entry] of d.commits.entries()) {
    if (!Array.isArray(entry) || entry.length !== 3) return `bad commit entry ${i}`;
    const [oid, parent, changes] = entry as unknown[];
    if (typeof oid !== 'string' || !OID.test(oid)) return `bad commit id at ${i}`;
    if (parent !== null && (typeof parent !== 'string' || !OID.test(parent))) return `bad parent at ${i}`;
    if (i === 0 ? parent !== null : parent !== previous) return `broken first-parent chain at ${i}`;
    if (!Array.isArray(changes) || changes.some((c) => badChange(c, d.paths!.length)))
      return `bad changes of commit ${i}`;
    previous = oid;
  }
  return null;
}

/** The index file `history-index.json` in a data dir. */
export class HistoryIndexFile implements HistoryIndexStore {
  /** Absolute path of the file. */
  readonly path: string;
  constructor(dataDir: string) {
    this.path = join(dataDir, FILE_NAME);
  }

  /** Reads and checks the file (header, checksum, format, chain). */
  async load(): Promise<HistoryIndexLoad> {
    const read = await readCheckedFile(this.path, 'history', HISTORY_INDEX_FORMAT);
    if (read.status !== 'loaded') return read;
    const problem = checkIndexData(read.data);
    if (problem) return { status: 'corrupt', reason: problem };
    return { status: 'loaded', data: read.data as HistoryIndexData };
  }

  /** Writes the index atomically: a crash leaves the old file or the new one, never a mix. */
  async save(data: HistoryIndexData): Promise<void> {
    await writeCheckedFile(this.path, 'history', HISTORY_INDEX_FORMAT, data);
  }
}
