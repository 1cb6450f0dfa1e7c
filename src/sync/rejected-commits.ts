/**
 * Commits found invalid, remembered by id in the data dir: after a restart the server answers with the known
 * rejection instead of validating a poisoned commit again.
 */
import { join } from 'node:path';
import { ENGINE_VERSION } from '../engine/index.js';
import type { Issue } from '../engine/index.js';
import { readCheckedFile, writeCheckedFile } from '../data-file/index.js';

/** A rejected commit as `/v1/status` shows it. */
export interface Rejection {
  commit: string;
  at: string;
  issues: Issue[];
  messages: string[];
}

const KIND = 'rejected-commits';
const FORMAT = 1;

function isRejection(value: unknown): value is Rejection {
  const r = value as Partial<Rejection> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.commit === 'string' &&
    typeof r.at === 'string' &&
    Array.isArray(r.issues) &&
    Array.isArray(r.messages)
  );
}

/** The most recent rejections (default 32), persisted as a checked file; a damaged file is ignored. */
export class RejectedCommitsFile {
  readonly path: string;
  readonly #max: number;
  readonly #byCommit = new Map<string, Rejection>();

  readonly #settings: string;

  /**
   * `settings` fingerprints the server settings a verdict depends on besides the content (secret scopes,
   * validation bounds): verdicts made under other settings are not reused.
   */
  constructor(dataDir: string, options: { max?: number; settings?: string } = {}) {
    this.path = join(dataDir, 'rejected-commits.json');
    this.#max = options.max ?? 32;
    this.#settings = options.settings ?? '';
  }

  /** Reads the file; rejections made by another engine version or other settings are dropped. */
  async load(): Promise<void> {
    const read = await readCheckedFile(this.path, KIND, FORMAT);
    if (read.status !== 'loaded') return;
    const data = read.data as { engine?: unknown; settings?: unknown; rejections?: unknown };
    if (data.engine !== ENGINE_VERSION || (data.settings ?? '') !== this.#settings) return;
    if (!Array.isArray(data.rejections)) return;
    for (const r of data.rejections) if (isRejection(r)) this.#byCommit.set(r.commit, r);
  }

  get(commit: string): Rejection | undefined {
    return this.#byCommit.get(commit);
  }

  /** Remembers a rejection (the oldest is forgotten beyond the maximum) and writes the file. */
  async remember(rejection: Rejection): Promise<void> {
    this.#byCommit.delete(rejection.commit);
    this.#byCommit.set(rejection.commit, rejection);
    while (this.#byCommit.size > this.#max) this.#byCommit.delete(this.#byCommit.keys().next().value!);
    await writeCheckedFile(this.path, KIND, FORMAT, {
      engine: ENGINE_VERSION,
      settings: this.#settings,
      rejections: [...this.#byCommit.values()],
    });
  }
}
