/** Worker thread: evaluates part of a repository, reading blobs from the main thread over its port. */
import { parentPort, workerData } from 'node:worker_threads';
import { EngineCache, SecretScopes, evaluateRepo, withoutOrigins } from '../engine/index.js';
import type { SecretScopeEntry, TreeEntry } from '../engine/index.js';
import type { RepoSource } from '../engine/index.js';
import { DiskValidatorStore } from '../validator-store/index.js';
import { ProgressBoard, applyListing } from './protocol.js';
import type { FromWorker, ToWorker } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('evaluation-worker must run in a worker thread');
const data = workerData as { progress: SharedArrayBuffer; cacheMaxBytes: number; readsInFlight?: number };
const board = new ProgressBoard(data.progress);

const caches = new Map<string, EngineCache>();
/** The listing of the last job: the next one may come as a patch of it (entries kept stay the same objects). */
let listing: readonly TreeEntry[] | undefined;
const pendingReads = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();
let nextRequest = 0;
const send = (message: FromWorker) => port.postMessage(message);
/** Reads asked for and not sent yet: they go out as one message (a message costs more than a read). */
let unsent: { job: number; reads: Extract<FromWorker, { type: 'read' }>['reads'] } | undefined;

function sendReads(): void {
  if (unsent && unsent.reads.length > 0) send({ type: 'read', ...unsent });
  unsent = undefined;
}

/** Blobs received and not handed to the engine yet. */
const received: Array<() => void> = [];
const BLOBS_PER_TURN = 64;
let handingOut = false;

/**
 * Hands received blobs to the engine `BLOBS_PER_TURN` per turn, sending the reads their parsing asked for before
 * the next ones: the main thread reads those while this thread parses, where a whole batch at once left each
 * thread idle while the other worked.
 */
function handOut(): void {
  sendReads();
  for (const settle of received.splice(0, BLOBS_PER_TURN)) settle();
  handingOut = received.length > 0;
  if (handingOut) setImmediate(handOut);
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'job') {
    void run(message);
    return;
  }
  for (const blob of message.blobs) {
    const waiting = pendingReads.get(blob.request);
    if (!waiting) continue;
    pendingReads.delete(blob.request);
    received.push(
      'error' in blob
        ? () => waiting.reject(new Error(blob.error))
        : () => waiting.resolve(new Uint8Array(message.buffer, blob.offset, blob.length)),
    );
  }
  if (!handingOut) handOut();
});

send({ type: 'ready' });

async function run(message: Extract<ToWorker, { type: 'job' }>): Promise<void> {
  const { job, channel } = message;
  let entries: readonly TreeEntry[];
  try {
    entries = listing = applyListing(listing, message.listing);
  } catch (err) {
    listing = undefined;
    send({ type: 'failed', job, message: err instanceof Error ? err.message : String(err) });
    return;
  }
  let cache = caches.get(channel);
  if (!cache)
    caches.set(channel, (cache = new EngineCache({ keepGenerations: 4, maxBytes: data.cacheMaxBytes })));
  const source: RepoSource = {
    entries,
    readBlob: (oid, path) =>
      new Promise<Uint8Array>((resolve, reject) => {
        const request = nextRequest++;
        pendingReads.set(request, { resolve, reject });
        // Reads asked for in one turn go out together (or before the next blobs are handed out).
        if (!unsent) {
          unsent = { job, reads: [] };
          setImmediate(sendReads);
        }
        unsent.reads.push({ request, oid, path });
      }),
  };
  const before = cache.stats();
  try {
    const evaluation = await evaluateRepo(source, {
      cache,
      namespaces: message.namespaces,
      ...(message.limits ? { limits: message.limits } : {}),
      ...(message.caps ? { caps: message.caps } : {}),
      ...(message.secretScopes ? { secretScopes: scopesOf(message.secretScopes) } : {}),
      ...(message.validatorCache ? { validatorCode: validatorStore(message.validatorCache) } : {}),
      ...(message.issuesOnly ? { issuesOnly: true } : {}),
      ...(data.readsInFlight ? { concurrency: data.readsInFlight } : {}),
      // The worker has no one else to serve: no need to give the event loop turns.
      yieldEveryMs: 0,
      onProgress: (at) => board.step(at),
    });
    const after = cache.stats();
    send({
      type: 'done',
      job,
      // Origins were most of what a whole tree's evaluation copied to the main thread.
      evaluation: message.issuesOnly
        ? { ...evaluation, schemas: new Map(), versions: new Map() }
        : message.origins === false
          ? withoutOrigins(evaluation)
          : evaluation,
      parses: after.parses - before.parses,
      cache: {
        hits: after.hits - before.hits,
        misses: after.misses - before.misses,
        evictions: after.evictions - before.evictions,
      },
    });
  } catch (err) {
    send({ type: 'failed', job, message: err instanceof Error ? err.message : String(err) });
  }
}

/** The scopes of the last jobs, compiled once per distinct list (the server's list never changes). */
const compiledScopes = new Map<string, SecretScopes>();

function scopesOf(entries: readonly SecretScopeEntry[]): SecretScopes {
  const key = JSON.stringify(entries);
  let scopes = compiledScopes.get(key);
  if (!scopes) {
    if (compiledScopes.size > 8) compiledScopes.clear();
    compiledScopes.set(key, (scopes = new SecretScopes(entries)));
  }
  return scopes;
}

let store: { dir: string; salt: string; store: DiskValidatorStore } | undefined;

/** One store per folder and salt (a pool always passes the same). */
function validatorStore(where: { dir: string; salt: string }): DiskValidatorStore {
  if (store?.dir !== where.dir || store.salt !== where.salt) {
    store = { ...where, store: new DiskValidatorStore(where.dir, { salt: where.salt }) };
  }
  return store.store;
}
