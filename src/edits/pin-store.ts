/**
 * Pins: an environment served from a fixed commit until unpinned. Kept in `<dataDir>/pins.json`, written
 * atomically (`writeFileAtomic`: temp file, fsync, rename, fsync of the folder), so a restart serves the same
 * pins, even with the remote down.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from '../data-file/index.js';
import { PinsFileError } from '../errors/index.js';

/** One pin. */
export interface Pin {
  env: string;
  commit: string;
  pinnedAt: string;
  /** Name of the token holder who pinned it. */
  by: string;
}

interface PinsFile {
  format: 1;
  pins: Pin[];
}

/**
 * Where pins are shared with other replicas (`--redis`): a pin or unpin is stored there first and fails when it
 * cannot be, so replicas never diverge; the pins file stays the local copy.
 */
export interface PinReplication {
  setPin(pin: Pin): Promise<void>;
  deletePin(env: string): Promise<void>;
}

/** Pins by environment, persisted in the data dir (and shared through `replication` when given). */
export class PinStore {
  private readonly pins = new Map<string, Pin>();
  private writing: Promise<unknown> = Promise.resolve();
  readonly file: string;

  constructor(
    dataDir: string,
    private readonly replication?: PinReplication,
  ) {
    this.file = path.join(dataDir, 'pins.json');
  }

  /**
   * Takes the complete set of pins from the other replicas and saves it as the local copy. Returns the
   * environments whose pin changed (added, moved or lifted).
   */
  async replace(pins: readonly Pin[]): Promise<string[]> {
    const next = new Map(pins.map((p) => [p.env, p]));
    const changed = new Set<string>();
    for (const [env, pin] of this.pins) if (next.get(env)?.commit !== pin.commit) changed.add(env);
    for (const [env, pin] of next) if (this.pins.get(env)?.commit !== pin.commit) changed.add(env);
    if (changed.size === 0) return [];
    this.pins.clear();
    for (const [env, pin] of next) this.pins.set(env, pin);
    await this.save();
    return [...changed].sort();
  }

  /** Loads the pins file (absent = no pins). */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new PinsFileError(
        `cannot read ${path.basename(this.file)}: ${(err as NodeJS.ErrnoException).code}`,
      );
    }
    let parsed: PinsFile;
    try {
      parsed = JSON.parse(text) as PinsFile;
      if (parsed.format !== 1 || !Array.isArray(parsed.pins)) throw new Error('unknown format');
      for (const p of parsed.pins) {
        if (typeof p.env !== 'string' || !/^[0-9a-f]{40}$/.test(String(p.commit)))
          throw new Error('bad entry');
      }
    } catch (err) {
      throw new PinsFileError(`${path.basename(this.file)} is damaged: ${(err as Error).message}`);
    }
    this.pins.clear();
    for (const p of parsed.pins) this.pins.set(p.env, p);
  }

  /** The pin of `env`, if any. */
  get(env: string): Pin | undefined {
    return this.pins.get(env);
  }

  /** Number of pins. */
  get size(): number {
    return this.pins.size;
  }

  /** Every pin, by environment. */
  list(): Pin[] {
    return [...this.pins.values()].sort((a, b) => a.env.localeCompare(b.env));
  }

  /** Pins `pin.env` (replacing an earlier pin) and persists it before resolving. */
  async set(pin: Pin): Promise<void> {
    await this.replication?.setPin(pin);
    const previous = this.pins.get(pin.env);
    this.pins.set(pin.env, pin);
    try {
      await this.save();
    } catch (err) {
      if (previous) this.pins.set(pin.env, previous);
      else this.pins.delete(pin.env);
      throw err;
    }
  }

  /** Removes the pin of `env`; false when there was none. */
  async delete(env: string): Promise<boolean> {
    const previous = this.pins.get(env);
    if (!previous) return false;
    await this.replication?.deletePin(env);
    this.pins.delete(env);
    try {
      await this.save();
    } catch (err) {
      this.pins.set(env, previous);
      throw err;
    }
    return true;
  }

  private save(): Promise<void> {
    const body = `${JSON.stringify({ format: 1, pins: this.list() } satisfies PinsFile, null, 2)}\n`;
    const run = this.writing.then(() => writeFileAtomic(this.file, Buffer.from(body, 'utf8'), 0o644));
    this.writing = run.catch(() => undefined);
    return run;
  }
}
