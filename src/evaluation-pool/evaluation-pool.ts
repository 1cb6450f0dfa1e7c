/**
 * Evaluation of untrusted repository content in worker threads, each job bounded in time and heap. A job that
 * hits a bound becomes an issue on the file it was working on; the worker is replaced; the caller's thread
 * never runs the content itself.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type {
  Evaluation,
  EvaluationProgress,
  Issue,
  Limits,
  ListingSplice,
  RepoEvaluator,
  RepoSource,
  SecretScopes,
  TreeEntry,
} from '../engine/index.js';
import { ProgressBoard } from './protocol.js';
import type { BlobReply, CacheCounts, FromWorker, ToWorker } from './protocol.js';

/**
 * The engine parts this thread needs, loaded on the first job rather than with this module: the workers load
 * the engine themselves, so a caller that starts them first (`warm`) overlaps the two loads.
 */
const mainThreadParts = async () => ({
  ...(await import('../engine/index.js')),
  ...(await import('./merge-evaluations.js')),
});

/** Options of an `EvaluationPool`. */
export interface EvaluationPoolOptions {
  /** Worker threads (default min(2, cores)). */
  size?: number;
  /**
   * Wall-clock bound in ms (default 20000) of each step of a job: parsing or compiling one file, checking one
   * namespace x environment. The clock restarts at every step, so a big but healthy repository never hits it.
   */
  timeoutMs?: number;
  /** Old-generation heap bound of one worker in MB (default 512). */
  maxHeapMb?: number;
  /**
   * Most namespaces one job evaluates (default 500): bigger evaluations are split into several jobs, so a
   * worker's heap holds a bounded part of the tree however big it grows.
   */
  maxNamespacesPerJob?: number;
  /**
   * Estimated heap bytes each worker's cache of one channel may hold (default 64 MiB): parsed files, compiled
   * schemas and merged pairs, least recently used dropped first. Reads of many old commits would otherwise
   * keep whole trees of parsed documents in every worker.
   */
  cacheMaxBytes?: number;
  /**
   * Blob reads a job keeps asked for, per kind of file (YAML files and schemas are read side by side); default
   * the engine's 16. More means fewer messages between the threads (each costs about as much as parsing a
   * small file), and more blobs in memory at once: up to twice this many, each read whole.
   */
  readsInFlight?: number;
  /** Told what each job's cache did (hits, misses, evictions), for metrics. */
  onCacheCounts?: (channel: string, counts: CacheCounts) => void;
  /** Ceilings on what a manifest may raise (default: the engine's `LIMIT_CAPS`). */
  caps?: Partial<Limits>;
  /**
   * Folder where workers keep compiled validators between processes (`salt`: the gitcfg version), so each
   * schema content is compiled once; absent: compiled in every process.
   */
  validatorCache?: { dir: string; salt: string };
}

export const DEFAULT_POOL_TIMEOUT_MS = 20_000;
export const DEFAULT_POOL_HEAP_MB = 512;
export const DEFAULT_POOL_CACHE_BYTES = 64 * 1024 * 1024;

/** Options of one evaluator of the pool (see `EvaluationPool.evaluator`). */
export interface EvaluatorOptions {
  /**
   * Retire the worker after a job in which it parsed more files than this (a cold evaluation of a whole tree):
   * its heap then holds every parsed document and the garbage of parsing them, which V8 never gives back while
   * the worker idles. The next job starts a fresh worker. For callers whose later jobs are small (a sync
   * evaluates only the namespaces a commit reaches); absent: workers are kept.
   */
  retireAfterParses?: number;
}

interface Job {
  id: number;
  /** The `evaluate` call the job is part of. */
  evaluation: number;
  /** The job's message but its listing, which depends on the worker it goes to (see `#listingFor`). */
  message: Omit<Extract<ToWorker, { type: 'job' }>, 'listing'>;
  entries: readonly TreeEntry[];
  listingSplice: (before: readonly TreeEntry[], after: readonly TreeEntry[]) => ListingSplice;
  source: RepoSource;
  /** Where a bound hit is reported when the job was not working on a file yet. */
  manifestFile: string;
  retireAfterParses?: number;
  resolve: (evaluation: Evaluation | Issue) => void;
  reject: (error: Error) => void;
  ioError?: unknown;
}

interface Slot {
  /** The evaluation of the slot's last job, and the files its jobs on this worker parsed. */
  evaluation?: number;
  parses: number;
  worker: Worker;
  job: Job | null;
  /** The worker loaded its modules: a job's clock runs from then (start-up is not the content's cost). */
  ready: boolean;
  /** What the worker is working on, written by it at every step (see `#armClock`). */
  board: ProgressBoard;
  /** The listing the worker got with its last job (absent: none yet, send it whole). */
  listing?: readonly TreeEntry[];
  /** Blobs read and not sent yet (see `#answerReads`). */
  replies: { request: number; result: Uint8Array | Error }[];
  timer?: NodeJS.Timeout;
}

/**
 * How to start a worker: the compiled module next to this file (its one-file bundle when the build made one,
 * `scripts/bundle-worker.mjs`), or, when running from TypeScript source, a small bootstrap that registers tsx
 * in the worker first (loader flags and hooks of the parent do not carry over to workers reliably on Node 20).
 */
function workerEntry(): { script: URL | string; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) {
    const module = new URL('./evaluation-worker.js', import.meta.url);
    const bundled = new URL('./evaluation-worker.bundle.js', import.meta.url);
    // A bundle older than the module (tsc run again without bundling) would run old code against this thread.
    const bundleTime = statSync(bundled, { throwIfNoEntry: false })?.mtimeMs ?? -1;
    const script =
      bundleTime >= (statSync(module, { throwIfNoEntry: false })?.mtimeMs ?? 0) ? bundled : module;
    return { script, eval: false };
  }
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const worker = new URL('./evaluation-worker.ts', import.meta.url).href;
  const script = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(worker)}); });`;
  return { script, eval: true };
}

export const DEFAULT_NAMESPACES_PER_JOB = 500;

/** `items` in consecutive pieces of at most `size` (one empty piece for no items: a job still checks the layout). */
function chunks<T>(items: readonly T[], size: number): T[][] {
  if (items.length === 0) return [[]];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Stable assignment of a namespace to a worker, so each worker's cache keeps seeing the same namespaces. */
function bucketOf(namespace: string, buckets: number): number {
  let h = 2166136261;
  for (let i = 0; i < namespace.length; i++) h = Math.imul(h ^ namespace.charCodeAt(i), 16777619);
  return (h >>> 0) % buckets;
}

/** A fixed-size pool of evaluation workers. */
export class EvaluationPool {
  readonly size: number;
  readonly timeoutMs: number;
  readonly maxHeapMb: number;
  readonly maxNamespacesPerJob: number;
  readonly cacheMaxBytes: number;
  readonly #readsInFlight: number | undefined;
  readonly #onCacheCounts: EvaluationPoolOptions['onCacheCounts'];
  readonly #caps: Partial<Limits> | undefined;
  readonly #validatorCache: { dir: string; salt: string } | undefined;
  readonly #slots: (Slot | null)[];
  readonly #queue: Job[] = [];
  #nextJob = 0;
  #nextEvaluation = 0;
  #closed = false;
  /** Workers retired after a cold job (see `EvaluatorOptions.retireAfterParses`), for tests and metrics. */
  retired = 0;
  /** Jobs sent to workers (an evaluation is one job per worker and per `maxNamespacesPerJob`), for tests. */
  jobsSent = 0;

  constructor(options: EvaluationPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? Math.min(2, availableParallelism()));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_POOL_TIMEOUT_MS;
    this.maxHeapMb = options.maxHeapMb ?? DEFAULT_POOL_HEAP_MB;
    this.maxNamespacesPerJob = Math.max(1, options.maxNamespacesPerJob ?? DEFAULT_NAMESPACES_PER_JOB);
    this.cacheMaxBytes = Math.max(0, options.cacheMaxBytes ?? DEFAULT_POOL_CACHE_BYTES);
    this.#readsInFlight = options.readsInFlight;
    this.#onCacheCounts = options.onCacheCounts;
    this.#caps = options.caps;
    this.#validatorCache = options.validatorCache;
    this.#slots = Array.from({ length: this.size }, () => null);
  }

  /** An evaluator bound to one cache channel (one per caller: sync, history, edits, ...). */
  evaluator(channel: string, evaluatorOptions: EvaluatorOptions = {}): RepoEvaluator {
    return (source, options) => this.evaluate(source, { ...options, ...evaluatorOptions, channel });
  }

  /**
   * Evaluates `source` like `evaluateRepo`, its namespaces split across the workers. Throws only for I/O
   * failures of `source`; a bound hit is a `validation-timeout` / `validation-memory` issue.
   */
  async evaluate(
    source: RepoSource,
    options: {
      channel?: string;
      limits?: Partial<Limits>;
      namespaces?: readonly string[];
      secretScopes?: SecretScopes;
      /** Overrides the pool's `validatorCache` for this call (a caller that learns its folder late). */
      validatorCache?: { dir: string; salt: string };
      /** `false`: pairs come back without origins (the worker counts their overrides first). */
      origins?: boolean;
      /**
       * Only the issues, namespaces and environments come back; `configs`, `schemas` and `versions` are empty.
       * For a caller that only reports (`gitcfg validate`): copying 4,000 pairs cost a cold run a tenth of its time.
       */
      issuesOnly?: boolean;
    } & EvaluatorOptions = {},
  ): Promise<Evaluation> {
    if (this.#closed) throw new Error('evaluation pool is closed');
    const { listNamespaces, listingSplice, mergeEvaluations, MANIFEST_FILE } = await mainThreadParts();
    const validatorCache = options.validatorCache ?? this.#validatorCache;
    // Split over every namespace name, also those only an override or a migration names (their issues).
    const referenced = listNamespaces(source.entries, { referenced: true });
    const asked = options.namespaces ? new Set(options.namespaces) : undefined;
    const wanted = asked ? referenced.filter((ns) => asked.has(ns)) : referenced;
    const buckets: string[][] = Array.from(
      { length: Math.min(this.size, Math.max(1, wanted.length)) },
      () => [],
    );
    for (const ns of wanted) buckets[bucketOf(ns, buckets.length)]!.push(ns);
    // A job holds what its namespaces parse and compile until it ends: a whole big tree in one job went past
    // the worker's heap bound (8,333 namespaces in 512 MB), so jobs take at most `maxNamespacesPerJob`.
    const groups = buckets.flatMap((bucket) => chunks(bucket, this.maxNamespacesPerJob));
    const evaluation = this.#nextEvaluation++;
    const parts = await Promise.all(
      groups.map(
        (namespaces) =>
          new Promise<Evaluation | Issue>((resolve, reject) => {
            const id = this.#nextJob++;
            this.#queue.push({
              id,
              evaluation,
              source,
              entries: source.entries,
              listingSplice,
              manifestFile: MANIFEST_FILE,
              resolve,
              reject,
              ...(options.retireAfterParses !== undefined
                ? { retireAfterParses: options.retireAfterParses }
                : {}),
              message: {
                type: 'job',
                job: id,
                channel: options.channel ?? 'default',
                namespaces,
                ...(options.limits ? { limits: options.limits } : {}),
                ...(this.#caps ? { caps: this.#caps } : {}),
                ...(validatorCache ? { validatorCache } : {}),
                ...(options.secretScopes ? { secretScopes: options.secretScopes.entries } : {}),
                ...(options.origins === false ? { origins: false as const } : {}),
                ...(options.issuesOnly ? { issuesOnly: true as const } : {}),
              },
            });
            this.#dispatch();
          }),
      ),
    );
    return mergeEvaluations(parts, listNamespaces(source.entries));
  }

  /** Starts every worker now (each loads the engine), so the first job does not wait for it. */
  warm(): void {
    if (this.#closed) return;
    for (let i = 0; i < this.#slots.length; i++) this.#slots[i] ??= this.#spawn(i);
  }

  /** Terminates every worker; pending jobs fail. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new Error('evaluation pool closed'));
    await Promise.all(
      this.#slots.map(async (slot, i) => {
        if (!slot) return;
        this.#slots[i] = null;
        clearTimeout(slot.timer);
        slot.job?.reject(new Error('evaluation pool closed'));
        await slot.worker.terminate();
      }),
    );
  }

  #dispatch(): void {
    for (let i = 0; i < this.#slots.length && this.#queue.length > 0; i++) {
      let slot = this.#slots[i];
      if (slot?.job) continue;
      slot ??= this.#spawn(i);
      const job = this.#queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      slot.board.clear();
      if (slot.ready) this.#startClock(i, slot);
      slot.worker.postMessage({ ...job.message, listing: this.#listingFor(slot, job) });
      this.jobsSent++;
    }
  }

  /**
   * The job's listing for this worker: a patch of the one it got last when they differ in a small stretch (a
   * sync of one file), else whole. Copying a 10,000-entry listing to the worker cost more than the evaluation.
   */
  #listingFor(slot: Slot, job: Job): Extract<ToWorker, { type: 'job' }>['listing'] {
    const last = slot.listing;
    slot.listing = job.entries;
    if (last) {
      const { start, beforeEnd, afterEnd } = job.listingSplice(last, job.entries);
      if (beforeEnd - start + (afterEnd - start) < job.entries.length / 4) {
        const insert = job.entries.slice(start, afterEnd);
        return { patch: { baseLength: last.length, start, deleteCount: beforeEnd - start, insert } };
      }
    }
    return { entries: job.entries };
  }

  #startClock(index: number, slot: Slot): void {
    slot.board.startClock();
    this.#armClock(index, slot, this.timeoutMs);
  }

  /**
   * The bound is per step: the worker stamps each step's start on its board (no message per step), and the
   * timer, when it fires, waits again for what is left of the current step's bound.
   */
  #armClock(index: number, slot: Slot, ms: number): void {
    slot.timer = setTimeout(() => {
      const idle = slot.board.idleMs();
      if (idle >= this.timeoutMs) this.#fail(index, 'validation-timeout');
      else this.#armClock(index, slot, this.timeoutMs - idle);
    }, ms);
  }

  #spawn(index: number): Slot {
    const entry = workerEntry();
    const board = new ProgressBoard();
    const worker = new Worker(entry.script, {
      eval: entry.eval,
      workerData: {
        progress: board.buffer,
        cacheMaxBytes: this.cacheMaxBytes,
        ...(this.#readsInFlight ? { readsInFlight: this.#readsInFlight } : {}),
      },
      resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb },
    });
    const slot: Slot = { worker, job: null, ready: false, board, replies: [], parses: 0 };
    this.#slots[index] = slot;
    worker.on('message', (message: FromWorker) => {
      if (message.type !== 'ready') return this.#onMessage(slot, message);
      slot.ready = true;
      if (slot.job && this.#slots[index] === slot) this.#startClock(index, slot);
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (this.#slots[index] !== slot) return;
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') this.#fail(index, 'validation-memory');
      else this.#crash(index, err);
    });
    worker.on('exit', (code) => {
      if (this.#slots[index] !== slot) return;
      this.#crash(index, new Error(`evaluation worker exited with code ${code}`));
    });
    // An idle pool must not keep a CLI process alive.
    worker.unref();
    return slot;
  }

  #onMessage(slot: Slot, message: FromWorker): void {
    const job = slot.job;
    if (!job || message.type === 'ready' || job.id !== message.job) return;
    switch (message.type) {
      case 'read':
        void this.#answerReads(slot, job, message.reads);
        return;
      case 'done': {
        // Parses count per evaluation: one split into several jobs retires the worker once, after its last job.
        slot.parses = (slot.evaluation === job.evaluation ? slot.parses : 0) + message.parses;
        slot.evaluation = job.evaluation;
        const more = this.#queue.some((queued) => queued.evaluation === job.evaluation);
        if (job.retireAfterParses !== undefined && slot.parses > job.retireAfterParses && !more) {
          this.#retire(slot);
        } else this.#finish(slot);
        job.resolve(message.evaluation);
        // Last: the slot and the caller are settled whatever the metrics callback does.
        this.#onCacheCounts?.(job.message.channel, message.cache);
        return;
      }
      case 'failed':
        // The worker may not hold the listing it was sent (a refused patch): the next job sends it whole.
        slot.listing = undefined;
        this.#finish(slot);
        job.reject(job.ioError instanceof Error ? job.ioError : new Error(message.message));
        return;
    }
  }

  /**
   * Starts the reads of a `read` message. Blobs read in the same turn of this thread's event loop go back in one
   * message (the worker parses the first while the rest are read), their bytes copied into one transferred buffer.
   */
  #answerReads(slot: Slot, job: Job, reads: Extract<FromWorker, { type: 'read' }>['reads']): void {
    const settle = (request: number, result: Uint8Array | Error) => {
      if (slot.replies.length === 0) setImmediate(() => this.#sendReplies(slot, job));
      slot.replies.push({ request, result });
    };
    for (const { request, oid, path } of reads) {
      job.source.readBlob(oid, path).then(
        (bytes) => settle(request, bytes),
        (err: unknown) => {
          job.ioError ??= err;
          settle(request, err instanceof Error ? err : new Error(String(err)));
        },
      );
    }
  }

  #sendReplies(slot: Slot, job: Job): void {
    const replies = slot.replies.splice(0);
    let size = 0;
    for (const { result } of replies) if (!(result instanceof Error)) size += result.byteLength;
    const buffer = new ArrayBuffer(size);
    const bytes = new Uint8Array(buffer);
    let offset = 0;
    const blobs = replies.map(({ request, result }): BlobReply => {
      if (result instanceof Error) return { request, error: result.message };
      bytes.set(result, offset);
      offset += result.byteLength;
      return { request, offset: offset - result.byteLength, length: result.byteLength };
    });
    slot.worker.postMessage({ type: 'blobs', job: job.id, blobs, buffer } satisfies ToWorker, [buffer]);
  }

  #finish(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = null;
    slot.worker.unref();
    this.#dispatch();
  }

  /** Ends a worker whose job is done (its heap goes back to the system) and moves the queue on. */
  #retire(slot: Slot): void {
    const index = this.#slots.indexOf(slot);
    clearTimeout(slot.timer);
    if (index >= 0) this.#slots[index] = null;
    this.retired++;
    void slot.worker.terminate();
    this.#dispatch();
  }

  /** A job hit a bound: it becomes an issue on what it was working on; the worker is replaced. */
  #fail(index: number, code: 'validation-timeout' | 'validation-memory'): void {
    const slot = this.#slots[index];
    if (!slot) return;
    this.#slots[index] = null;
    clearTimeout(slot.timer);
    void slot.worker.terminate();
    const job = slot.job;
    if (job)
      job.resolve(
        limitIssue(
          code,
          slot.board.at() ?? { file: job.manifestFile },
          code === 'validation-timeout' ? `${this.timeoutMs} ms` : `${this.maxHeapMb} MB of heap`,
        ),
      );
    this.#dispatch();
  }

  #crash(index: number, error: Error): void {
    const slot = this.#slots[index];
    if (!slot) return;
    this.#slots[index] = null;
    clearTimeout(slot.timer);
    slot.job?.reject(error);
    this.#dispatch();
  }
}

function limitIssue(
  code: 'validation-timeout' | 'validation-memory',
  at: EvaluationProgress,
  bound: string,
): Issue {
  const file = at.file;
  const pair = at.namespace !== undefined ? ` (${at.namespace}/${at.environment ?? ''})` : '';
  return {
    code,
    file,
    line: 1,
    column: 1,
    ...(at.namespace !== undefined ? { namespace: at.namespace } : {}),
    ...(at.environment !== undefined ? { environment: at.environment } : {}),
    message: `validation stopped: checking ${file}${pair} took more than ${bound}; the content is too costly to validate (a huge or deeply aliased value, or a schema keyword such as uniqueItems over a long array)`,
  };
}
