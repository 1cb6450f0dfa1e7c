/**
 * Files gitcfg keeps in its data dir (snapshot, history index, pins...): written atomically and read back with a
 * check, so that a crash or a damaged disk is detected and the data rebuilt, never half-read.
 * Layout of a checked file: one header line `gitcfg-<kind> <format> sha256=<hex> bytes=<n>`, then the JSON payload.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';

/**
 * Result of reading a checked file: its parsed payload (and the raw bytes written after it, for a file of
 * `writeCheckedFileWithBytesSync`), nothing yet, or why it cannot be used.
 */
export type CheckedFileRead =
  | { status: 'loaded'; data: unknown; bytes?: Uint8Array }
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string };

/** Options of an atomic write. */
export interface WriteOptions {
  /**
   * fsync the file and its folder (default true). A cache that is rebuilt when a file is missing or fails its
   * check may skip it: the rename stays atomic, only the power-cut guarantee is lost.
   */
  sync?: boolean;
}

/**
 * Writes `bytes` to `path` atomically: temp file in the same folder, fsync, rename, then (best effort) fsync of
 * the folder so the rename itself survives a power cut. A crash leaves the old file or the new one.
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  mode = 0o600,
  options: WriteOptions = {},
): Promise<void> {
  const sync = options.sync ?? true;
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'w', mode);
    try {
      await handle.writeFile(bytes);
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  if (!sync) return;
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not every platform allows fsync on a directory.
  }
}

let syncWrites = 0;
/** Random once per process: pids and thread ids repeat across containers that share a folder. */
let processTag: string | undefined;

/**
 * `writeFileAtomic` without the event loop and without fsync: temp file, rename. The folder is made only when
 * the first write finds it missing.
 */
function writeFileAtomicSync(path: string, bytes: Uint8Array, mode: number): void {
  const dir = dirname(path);
  // Random bytes once, then a counter: 1,000 writes in a row paid ~35 ms for random bytes each.
  processTag ??= `${process.pid}.${randomBytes(4).toString('hex')}`;
  const temp = join(dir, `.${basename(path)}.${processTag}.${threadId}.${++syncWrites}.tmp`);
  try {
    try {
      writeFileSync(temp, bytes, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(dir, { recursive: true });
      writeFileSync(temp, bytes, { mode });
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Writes `data` as a checked file of `kind` (e.g. `snapshot`) and layout version `format`. */
export async function writeCheckedFile(
  path: string,
  kind: string,
  format: number,
  data: unknown,
  options: WriteOptions & { mode?: number } = {},
): Promise<void> {
  await writeCheckedPayload(path, kind, format, Buffer.from(JSON.stringify(data), 'utf8'), options);
}

/**
 * A checked file whose JSON `data` is followed by raw `bytes` (read back with `withBytes`), written atomically
 * but without fsync and without the event loop: for a thread that writes many small cache files in a row (an
 * evaluation worker storing its compiled validators), where promises and folder checks per file cost a fresh
 * clone's hook about 0.3 s per 1,000 files.
 */
export function writeCheckedFileWithBytesSync(
  path: string,
  kind: string,
  format: number,
  data: unknown,
  bytes: Uint8Array,
  mode = 0o600,
): void {
  writeFileAtomicSync(path, checkedFile(kind, format, jsonThenBytes(data, bytes)), mode);
}

/** The payload of a file of `writeCheckedFileWithBytesSync`: JSON, a newline, the bytes. */
function jsonThenBytes(data: unknown, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(data)}\n`, 'utf8'), bytes]);
}

/** A checked file's bytes: the header line (kind, format, checksum, length), then the payload. */
function checkedFile(kind: string, format: number, payload: Uint8Array): Buffer {
  const sum = createHash('sha256').update(payload).digest('hex');
  const head = Buffer.from(`gitcfg-${kind} ${format} sha256=${sum} bytes=${payload.length}\n`, 'utf8');
  return Buffer.concat([head, payload]);
}

/**
 * `writeCheckedFile` of a payload that is already JSON bytes: for callers that join it from parts they keep
 * rendered anyway, rather than serialising every value again.
 */
export async function writeCheckedPayload(
  path: string,
  kind: string,
  format: number,
  payload: Uint8Array,
  options: WriteOptions & { mode?: number } = {},
): Promise<void> {
  await writeFileAtomic(path, checkedFile(kind, format, payload), options.mode, options);
}

/** Reads a checked file, verifying kind, format, length and checksum. Never throws for a bad file. */
export async function readCheckedFile(path: string, kind: string, format: number): Promise<CheckedFileRead> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    return unreadable(error);
  }
  return checkedPayload(bytes, kind, format);
}

/**
 * `readCheckedFile` without the event loop, for a thread that has nothing else to do while it reads many small
 * files (an evaluation worker loading its validators): a promise per file costs more than the read.
 */
export function readCheckedFileSync(
  path: string,
  kind: string,
  format: number,
  options: { withBytes?: boolean } = {},
): CheckedFileRead {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    return unreadable(error);
  }
  return checkedPayload(bytes, kind, format, options.withBytes);
}

function unreadable(error: unknown): CheckedFileRead {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return { status: 'missing' };
  return { status: 'corrupt', reason: `cannot read: ${code ?? 'error'}` };
}

function checkedPayload(bytes: Buffer, kind: string, format: number, withBytes = false): CheckedFileRead {
  const newline = bytes.indexOf(0x0a);
  if (newline < 0) return { status: 'corrupt', reason: 'no header line' };
  const header = /^gitcfg-([a-z-]+) (\d+) sha256=([0-9a-f]{64}) bytes=(\d+)$/.exec(
    bytes.subarray(0, newline).toString('utf8'),
  );
  if (!header || header[1] !== kind) return { status: 'corrupt', reason: 'bad header line' };
  if (Number(header[2]) !== format) return { status: 'corrupt', reason: `format ${header[2]} not supported` };
  const payload = bytes.subarray(newline + 1);
  if (payload.length !== Number(header[4])) return { status: 'corrupt', reason: 'truncated' };
  if (createHash('sha256').update(payload).digest('hex') !== header[3]) {
    return { status: 'corrupt', reason: 'checksum mismatch' };
  }
  // A file of `writeCheckedFileWithBytesSync`: its JSON ends at the first newline, raw bytes follow.
  const end = withBytes ? payload.indexOf(0x0a) : -1;
  if (withBytes && end < 0) return { status: 'corrupt', reason: 'no bytes after the JSON' };
  try {
    if (!withBytes) return { status: 'loaded', data: JSON.parse(payload.toString('utf8')) as unknown };
    const data = JSON.parse(payload.subarray(0, end).toString('utf8')) as unknown;
    return { status: 'loaded', data, bytes: payload.subarray(end + 1) };
  } catch {
    return { status: 'corrupt', reason: 'invalid JSON' };
  }
}
