/** Worker thread: evaluates part of a repository, reading blobs from the main thread over its port. */
import { parentPort } from 'node:worker_threads';
import { EngineCache, SecretScopes, evaluateRepo, withoutOrigins } from '../engine/index.js';
import type { SecretScopeEntry } from '../engine/index.js';
import type { RepoSource } from '../engine/index.js';
import { DiskValidatorStore } from '../validator-store/index.js';
import type { FromWorker, ToWorker } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('evaluation-worker must run in a worker thread');

const caches = new Map<string, EngineCache>();
const pendingReads = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }>();
let nextRequest = 0;
const send = (message: FromWorker) => port.postMessage(message);

port.on('message', (message: ToWorker) => {
  if (message.type === 'job') {
    void run(message);
    return;
  }
  const waiting = pendingReads.get(message.request);
  if (!waiting) return;
  pendingReads.delete(message.request);
  if (message.type === 'blob') waiting.resolve(message.bytes);
  else waiting.reject(new Error(message.message));
});

send({ type: 'ready' });

async function run(message: Extract<ToWorker, { type: 'job' }>): Promise<void> {
  const { job, channel } = message;
  let cache = caches.get(channel);
  if (!cache) caches.set(channel, (cache = new EngineCache({ keepGenerations: 4 })));
  const source: RepoSource = {
    entries: message.entries,
    readBlob: (oid, path) =>
      new Promise<Uint8Array>((resolve, reject) => {
        const request = nextRequest++;
        pendingReads.set(request, { resolve, reject });
        send({ type: 'read', job, request, oid, path });
      }),
  };
  const parsedBefore = cache.stats().parses;
  try {
    const evaluation = await evaluateRepo(source, {
      cache,
      namespaces: message.namespaces,
      ...(message.limits ? { limits: message.limits } : {}),
      ...(message.caps ? { caps: message.caps } : {}),
      ...(message.secretScopes ? { secretScopes: scopesOf(message.secretScopes) } : {}),
      ...(message.validatorCache ? { validatorCode: validatorStore(message.validatorCache) } : {}),
      // The worker has no one else to serve: no need to give the event loop turns.
      yieldEveryMs: 0,
      onProgress: (at) => send({ type: 'progress', job, at }),
    });
    send({
      type: 'done',
      job,
      // Origins were most of what a whole tree's evaluation copied to the main thread.
      evaluation: message.origins === false ? withoutOrigins(evaluation) : evaluation,
      parses: cache.stats().parses - parsedBefore,
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
