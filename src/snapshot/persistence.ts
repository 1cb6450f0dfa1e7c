/**
 * The last promoted snapshot in the data dir, so a restart serves at once even with the remote down.
 * File layout: one header line `gitcfg-snapshot <format> sha256=<hex> bytes=<n>` then the JSON payload.
 * Written atomically (temp file, fsync, rename, fsync of the directory).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
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
  constructor(private readonly dataDir: string) {
    this.path = join(dataDir, FILE_NAME);
  }

  /** Writes `snapshot` atomically; a crash leaves either the old or the new file, never a mix. */
  async save(snapshot: Snapshot, promotedAt: string | null): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    const payload = Buffer.from(JSON.stringify({ ...snapshotToData(snapshot), promotedAt }), 'utf8');
    const sum = createHash('sha256').update(payload).digest('hex');
    const head = Buffer.from(
      `gitcfg-snapshot ${SNAPSHOT_FORMAT} sha256=${sum} bytes=${payload.length}\n`,
      'utf8',
    );
    const temp = join(this.dataDir, `.${FILE_NAME}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(Buffer.concat([head, payload]));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    // Make the rename itself durable; not every platform allows fsync on a directory.
    try {
      const dir = await open(this.dataDir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch {
      // best effort
    }
  }

  /** Loads the persisted snapshot, verifying format and checksum. Never throws for a bad file. */
  async load(): Promise<LoadResult> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
      return { status: 'corrupt', reason: `cannot read: ${(error as Error).message}` };
    }
    const newline = bytes.indexOf(0x0a);
    if (newline < 0) return { status: 'corrupt', reason: 'no header line' };
    const match = /^gitcfg-snapshot (\d+) sha256=([0-9a-f]{64}) bytes=(\d+)$/.exec(
      bytes.subarray(0, newline).toString('utf8'),
    );
    if (!match) return { status: 'corrupt', reason: 'bad header line' };
    if (Number(match[1]) !== SNAPSHOT_FORMAT)
      return { status: 'corrupt', reason: `format ${match[1]} not supported` };
    const payload = bytes.subarray(newline + 1);
    if (payload.length !== Number(match[3])) return { status: 'corrupt', reason: 'truncated' };
    if (createHash('sha256').update(payload).digest('hex') !== match[2]) {
      return { status: 'corrupt', reason: 'checksum mismatch' };
    }
    try {
      const data = JSON.parse(payload.toString('utf8')) as SnapshotData & { promotedAt?: string | null };
      if (typeof data.commit !== 'string' || !Array.isArray(data.configs)) {
        return { status: 'corrupt', reason: 'unexpected payload' };
      }
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
