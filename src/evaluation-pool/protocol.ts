/** Messages between the pool (main thread) and an evaluation worker, and the progress board they share. */
import type { Evaluation, EvaluationProgress, Limits, SecretScopeEntry, TreeEntry } from '../engine/index.js';

/** One blob of a `blobs` reply: its bytes at `offset` of the reply's buffer, or why it could not be read. */
export type BlobReply =
  { request: number; offset: number; length: number } | { request: number; error: string };

/**
 * A listing as a change of the worker's last one: `deleteCount` entries at `start` replaced by `insert`. A
 * one-file sync of a 10,000-file tree sends one entry instead of copying every entry to the worker again.
 */
export interface ListingPatch {
  /** Length of the listing the patch applies to (a check that both sides agree on it). */
  baseLength: number;
  start: number;
  deleteCount: number;
  insert: readonly TreeEntry[];
}

/** The listing a job describes, given the worker's last one. */
export function applyListing(
  last: readonly TreeEntry[] | undefined,
  listing: { entries: readonly TreeEntry[] } | { patch: ListingPatch },
): readonly TreeEntry[] {
  if ('entries' in listing) return listing.entries;
  const { baseLength, start, deleteCount, insert } = listing.patch;
  if (last?.length !== baseLength) {
    throw new Error(`listing patch for ${baseLength} entries, the worker holds ${last?.length ?? 'none'}`);
  }
  return last.slice(0, start).concat(insert, last.slice(start + deleteCount));
}

/** Main thread -> worker. */
export type ToWorker =
  | {
      type: 'job';
      job: number;
      /** Which of the worker's engine caches to use (one per caller, so their generations do not mix). */
      channel: string;
      /** The tree's listing, whole or as a patch of the listing this worker got with its last job. */
      listing: { entries: readonly TreeEntry[] } | { patch: ListingPatch };
      namespaces: readonly string[];
      limits?: Partial<Limits>;
      caps?: Partial<Limits>;
      /** The server's secret scopes, as plain entries (a class does not cross the thread boundary). */
      secretScopes?: readonly SecretScopeEntry[];
      /** Folder of compiled validators (and the salt their files must carry), when the caller keeps one. */
      validatorCache?: { dir: string; salt: string };
      /** false: send the pairs back without their origins (see `EvaluateOptions.origins`). */
      origins?: false;
      /** Send back the issues, namespaces and environments only (no pairs, schemas or versions). */
      issuesOnly?: true;
    }
  /** The answers to one `read` (all its blobs in one transferred buffer). */
  | { type: 'blobs'; job: number; blobs: BlobReply[]; buffer: ArrayBuffer };

/** Worker -> main thread. */
export type FromWorker =
  | { type: 'ready' }
  /** Every blob the job asked for in one turn of its event loop. */
  | { type: 'read'; job: number; reads: { request: number; oid: string; path: string }[] }
  /** `parses`: files the job parsed (not found in the worker's cache); `cache`: what the channel's cache did. */
  | { type: 'done'; job: number; evaluation: Evaluation; parses: number; cache: CacheCounts }
  | { type: 'failed'; job: number; message: string };

/** Lookups and evictions of a worker's cache during one job. */
export interface CacheCounts {
  hits: number;
  misses: number;
  evictions: number;
}

const TEXT_BYTES = 8192;
const STEP = 1;
const NS = 2;
const ENV = 4;

/**
 * What a worker is working on and since when, in memory shared with the pool: written at every step without a
 * message, read by the pool's timer (a worker stuck in a step cannot answer messages).
 */
export class ProgressBoard {
  readonly buffer: SharedArrayBuffer;
  /** [0] ms epoch of the step's start. */
  readonly #time: BigInt64Array;
  /** [0] text length in bytes, [1] 0 before the job's first step, else STEP and which of NS, ENV are set. */
  readonly #head: Int32Array;
  readonly #text: Uint8Array;
  readonly #encoder = new TextEncoder();

  constructor(buffer = new SharedArrayBuffer(16 + TEXT_BYTES)) {
    this.buffer = buffer;
    this.#time = new BigInt64Array(buffer, 0, 1);
    this.#head = new Int32Array(buffer, 8, 2);
    this.#text = new Uint8Array(buffer, 16, TEXT_BYTES);
  }

  /** Worker: a step on `at` starts now. */
  step(at: EvaluationProgress): void {
    const text = `${at.file}\0${at.namespace ?? ''}\0${at.environment ?? ''}`;
    // A longer text is cut: only the message naming the file gets shorter.
    const { written } = this.#encoder.encodeInto(text, this.#text);
    Atomics.store(this.#head, 0, written);
    Atomics.store(
      this.#head,
      1,
      STEP | (at.namespace !== undefined ? NS : 0) | (at.environment !== undefined ? ENV : 0),
    );
    Atomics.store(this.#time, 0, BigInt(Date.now()));
  }

  /** Pool: the next job has reported no step yet. */
  clear(): void {
    Atomics.store(this.#head, 1, 0);
  }

  /** Pool: the job's clock runs from now (until its next step). */
  startClock(): void {
    Atomics.store(this.#time, 0, BigInt(Date.now()));
  }

  /** Milliseconds since the last step (or `start`). */
  idleMs(): number {
    return Date.now() - Number(Atomics.load(this.#time, 0));
  }

  /** The last step, if the job reported one. */
  at(): EvaluationProgress | undefined {
    const flags = Atomics.load(this.#head, 1);
    if (!(flags & STEP)) return undefined;
    const length = Atomics.load(this.#head, 0);
    const [file = '', namespace = '', environment = ''] = Buffer.from(this.buffer, 16, length)
      .toString('utf8')
      .split('\0');
    return {
      file,
      ...(flags & NS ? { namespace } : {}),
      ...(flags & ENV ? { environment } : {}),
    };
  }
}
