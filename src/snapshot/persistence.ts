/**
 * The last promoted snapshot in the data dir, so a restart serves at once even with the remote down.
 * File layout: one header line `gitcfg-snapshot <format> sha256=<hex> bytes=<n>` then the JSON payload.
 * Written atomically (temp file, fsync, rename, fsync of the directory).
 */
import { join } from 'node:path';
import { readCheckedFile, writeCheckedFile } from '../data-file/index.js';
import { snapshotFromData, snapshotToData } from './build.js';
import type { SnapshotData } from './build.js';
import type { Snapshot } from './types.js';

/** Version of the file layout; a file of another version is ignored (rebuilt from git). */
export const SNAPSHOT_FORMAT = 1;
const FILE_NAME = 'snapshot.json';

/** Result of loading: a snapshot, nothing yet, or a file that is damaged or of another format. */
export type LoadResult =
  | { status: 'loaded'; snapshot: Snapshot; promotedAt: string | null }
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string };

/** Reads and writes the persisted snapshot in a data dir. */
export class SnapshotFile {
  readonly path: string;
  constructor(dataDir: string) {
    this.path = join(dataDir, FILE_NAME);
  }

  /** Writes `snapshot` atomically; a crash leaves either the old or the new file, never a mix. */
  async save(snapshot: Snapshot, promotedAt: string | null): Promise<void> {
    await writeCheckedFile(this.path, 'snapshot', SNAPSHOT_FORMAT, {
      ...snapshotToData(snapshot),
      promotedAt,
    });
  }

  /** Loads the persisted snapshot, verifying format and checksum. Never throws for a bad file. */
  async load(): Promise<LoadResult> {
    const read = await readCheckedFile(this.path, 'snapshot', SNAPSHOT_FORMAT);
    if (read.status !== 'loaded') return read;
    const data = read.data as SnapshotData & { promotedAt?: string | null };
    if (
      typeof data !== 'object' ||
      data === null ||
      typeof data.commit !== 'string' ||
      !Array.isArray(data.configs)
    ) {
      return { status: 'corrupt', reason: 'unexpected payload' };
    }
    try {
      return {
        status: 'loaded',
        snapshot: snapshotFromData(data, null),
        promotedAt: data.promotedAt ?? null,
      };
    } catch (error) {
      return { status: 'corrupt', reason: `unreadable payload: ${(error as Error).message}` };
    }
  }
}
