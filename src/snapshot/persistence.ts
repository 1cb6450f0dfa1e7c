/**
 * The last promoted snapshot in the data dir, so a restart serves at once even with the remote down.
 * File layout: one header line `gitcfg-snapshot <format> sha256=<hex> bytes=<n>` then the JSON payload.
 * Written atomically (temp file, fsync, rename, fsync of the directory).
 */
import { join } from 'node:path';
import { readCheckedFile, writeCheckedPayload } from '../data-file/index.js';
import { snapshotFromData, snapshotToData } from './build.js';
import { jsonBytesOf } from './render.js';
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

/**
 * The file's JSON: `snapshotToData` plus `promotedAt`, each config's value copied from its rendered JSON body.
 * Serialising every value again cost most of a save at 10,000 files, on every sync.
 */
export function snapshotPayload(snapshot: Snapshot, promotedAt: string | null): Buffer {
  const { configs, ...rest } = snapshotToData(snapshot);
  const head = JSON.stringify({ ...rest, promotedAt });
  const parts: Uint8Array[] = [Buffer.from(`${head.slice(0, -1)},"configs":[`)];
  const rendered = [...snapshot.configs.values()];
  for (const [i, config] of configs.entries()) {
    const { value: _value, ...meta } = config;
    const json = JSON.stringify(meta);
    parts.push(Buffer.from(`${i === 0 ? '' : ','}${json.slice(0, -1)},"value":`));
    parts.push(jsonBytesOf(rendered[i]!.json), Buffer.from('}'));
  }
  parts.push(Buffer.from(']}'));
  return Buffer.concat(parts);
}

/** Reads and writes the persisted snapshot in a data dir. */
export class SnapshotFile {
  readonly path: string;
  constructor(dataDir: string) {
    this.path = join(dataDir, FILE_NAME);
  }

  /** Writes `snapshot` atomically; a crash leaves either the old or the new file, never a mix. */
  async save(snapshot: Snapshot, promotedAt: string | null): Promise<void> {
    await writeCheckedPayload(this.path, 'snapshot', SNAPSHOT_FORMAT, snapshotPayload(snapshot, promotedAt));
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
