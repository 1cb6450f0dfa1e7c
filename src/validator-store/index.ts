/**
 * Compiled validators on disk (the hook's `<gitdir>/gitcfg/validators`, the server's `<data-dir>/validators`):
 * one checked file per schema content, so compiling a schema is paid once per content instead of once per run.
 * A file is used only when its checksum, its key and the writer's salt (gitcfg version) match; anything else
 * is a miss and the schema is compiled again and the file rewritten. After the code, under the same checksum,
 * a file may hold V8's code cache of it, used only by the V8 version that wrote it.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readCheckedFileSync, writeCheckedFileWithBytesSync } from '../data-file/index.js';
import type { StoredValidator, ValidatorCodeStore } from '../engine/index.js';

const KIND = 'validator';
const FORMAT = 2;
/** Files kept at most (tens of KB each); the oldest written go first. */
export const DEFAULT_MAX_VALIDATOR_FILES = 5_000;

/** What a store did, for metrics and tests. */
export interface ValidatorStoreStats {
  hits: number;
  misses: number;
  /** Files present but unusable (damaged, foreign key, other salt): ignored and rewritten. */
  rejected: number;
  writes: number;
  evictions: number;
}

/** A `ValidatorCodeStore` in a folder; never throws (a failing disk only costs compiles). */
export class DiskValidatorStore implements ValidatorCodeStore {
  readonly #dir: string;
  readonly #salt: string;
  readonly #maxFiles: number;
  readonly #stats: ValidatorStoreStats = { hits: 0, misses: 0, rejected: 0, writes: 0, evictions: 0 };

  /** `salt`: what else the code depends on (the gitcfg version); `maxFiles`: bound of the folder. */
  constructor(dir: string, options: { salt: string; maxFiles?: number }) {
    this.#dir = dir;
    this.#salt = options.salt;
    this.#maxFiles = Math.max(1, options.maxFiles ?? DEFAULT_MAX_VALIDATOR_FILES);
  }

  stats(): ValidatorStoreStats {
    return { ...this.#stats };
  }

  async get(key: string): Promise<StoredValidator | undefined> {
    if (!/^[0-9a-f]{64}$/.test(key)) return undefined;
    // Synchronous: a worker loads hundreds of small files in a row, and a promise per file cost more than the read.
    const read = readCheckedFileSync(join(this.#dir, key), KIND, FORMAT, { withBytes: true });
    if (read.status === 'loaded') {
      const data = read.data as { key?: unknown; salt?: unknown; code?: unknown; v8?: unknown } | null;
      if (data?.key === key && data.salt === this.#salt && typeof data.code === 'string') {
        this.#stats.hits++;
        const ownCache = data.v8 === process.versions.v8 && read.bytes !== undefined && read.bytes.length > 0;
        return { code: data.code, ...(ownCache ? { codeCache: read.bytes } : {}) };
      }
    }
    if (read.status === 'missing') this.#stats.misses++;
    else this.#stats.rejected++;
    return undefined;
  }

  async put(key: string, stored: StoredValidator): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(key)) return;
    const { code, codeCache } = stored;
    try {
      // A cache: atomic, but no fsync (a file lost in a power cut is compiled again). Synchronous, like `get`.
      writeCheckedFileWithBytesSync(
        join(this.#dir, key),
        KIND,
        FORMAT,
        { key, salt: this.#salt, code, ...(codeCache ? { v8: process.versions.v8 } : {}) },
        codeCache ?? new Uint8Array(0),
        0o644,
      );
      // Checked on the first write of a process and then every fifth of the bound.
      if (this.#stats.writes++ % Math.max(1, Math.floor(this.#maxFiles / 5)) === 0) await this.prune();
    } catch {
      // read-only or full disk: only the speed-up is lost
    }
  }

  /** Removes the oldest-written files above the bound (down to 80% of it, so pruning stays rare). */
  async prune(): Promise<void> {
    const names = (await readdir(this.#dir).catch(() => [] as string[])).filter((n) =>
      /^[0-9a-f]{64}$/.test(n),
    );
    if (names.length <= this.#maxFiles) return;
    const dated = await Promise.all(
      names.map(async (name) => {
        const s = await stat(join(this.#dir, name)).catch(() => undefined);
        return { name, at: s?.mtimeMs ?? 0 };
      }),
    );
    dated.sort((a, b) => a.at - b.at);
    const drop = dated.slice(0, names.length - Math.floor(this.#maxFiles * 0.8));
    for (const { name } of drop) {
      await rm(join(this.#dir, name), { force: true });
      this.#stats.evictions++;
    }
  }
}
