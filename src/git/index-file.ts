/** Parser of git's index file (versions 2, 3 and 4): what is staged. */
import { GitOperationError } from '../errors/index.js';

/** One stage-0 entry of the index. */
export interface IndexEntry {
  path: string;
  oid: string;
  mode: string;
  /** `040000` entries only appear in sparse indexes (a whole directory outside the sparse cone). */
  sparseDir: boolean;
}

function modeString(raw: number): string {
  const type = raw >>> 12;
  if (type === 0b1010) return '120000';
  if (type === 0b1110) return '160000';
  if (type === 0b0100) return '040000';
  return raw & 0o111 ? '100755' : '100644';
}

/**
 * Parses an index file. Conflicted entries (stage > 0) and intent-to-add entries are left out: neither is
 * staged content.
 */
export function parseIndexFile(buf: Uint8Array): IndexEntry[] {
  const data = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (why: string) => new GitOperationError('read-index', `invalid index file: ${why}`);
  if (data.length < 12 || data.toString('latin1', 0, 4) !== 'DIRC') throw bad('bad signature');
  const version = data.readUInt32BE(4);
  if (version < 2 || version > 4) throw bad(`unsupported version ${version}`);
  const count = data.readUInt32BE(8);
  const out: IndexEntry[] = [];
  let pos = 12;
  let prevPath: Buffer = Buffer.alloc(0);
  for (let i = 0; i < count; i++) {
    const start = pos;
    if (pos + 62 > data.length) throw bad('truncated entry');
    const mode = data.readUInt32BE(pos + 24);
    const oid = data.toString('hex', pos + 40, pos + 60);
    const flags = data.readUInt16BE(pos + 60);
    pos += 62;
    let extended = 0;
    if (flags & 0x4000) {
      if (version < 3) throw bad('extended flag in a version 2 index');
      extended = data.readUInt16BE(pos);
      pos += 2;
    }
    let pathBuf: Buffer;
    if (version === 4) {
      // path is compressed against the previous one: strip N bytes, append a NUL-terminated suffix
      let c = data[pos++]!;
      let strip = c & 0x7f;
      while (c & 0x80) {
        c = data[pos++]!;
        strip = ((strip + 1) << 7) | (c & 0x7f);
      }
      const end = data.indexOf(0, pos);
      if (end < 0 || strip > prevPath.length) throw bad('bad path');
      pathBuf = Buffer.concat([prevPath.subarray(0, prevPath.length - strip), data.subarray(pos, end)]);
      pos = end + 1;
    } else {
      const end = data.indexOf(0, pos);
      if (end < 0) throw bad('bad path');
      pathBuf = data.subarray(pos, end);
      // entries are NUL-padded to a multiple of 8 bytes (at least one NUL)
      pos = start + Math.ceil((end - start + 1) / 8) * 8;
    }
    prevPath = pathBuf;
    const stage = (flags >> 12) & 3;
    const intentToAdd = (extended & 0x2000) !== 0;
    if (stage !== 0 || intentToAdd) continue;
    const m = modeString(mode);
    let p = pathBuf.toString('utf8');
    const sparseDir = m === '040000';
    if (sparseDir && p.endsWith('/')) p = p.slice(0, -1);
    out.push({ path: p, oid, mode: m, sparseDir });
  }
  return out;
}
