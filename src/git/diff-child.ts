/**
 * Entry of the short-lived process that diffs many commits against their first parents (see diff-process.ts).
 * It reads the repository on disk through the same `ObjectStore` as the server (so the changes are the same),
 * sends the changes back in batches over the IPC channel, waiting for each to be taken, and exits.
 */
import * as fs from 'node:fs';
import { ObjectStore } from './object-store.js';
import type { DiffReply, DiffRequest } from './diff-process.js';
import type { TreeChange } from './types.js';

const send = (reply: DiffReply): Promise<void> =>
  new Promise((resolve, reject) => process.send!(reply, undefined, {}, (e) => (e ? reject(e) : resolve())));

async function run(request: DiffRequest): Promise<void> {
  // One reader: its object cache replaces itself past its read budget, so the process stays bounded.
  const store = new ObjectStore({ fs, gitdir: request.gitdir });
  const { commits, batch } = request;
  for (let start = 0; start < commits.length; start += batch) {
    const changes: TreeChange[][] = [];
    for (const [oid, parent] of commits.slice(start, start + batch)) {
      changes.push(await store.diffCommits(parent, oid));
    }
    await send({ type: 'batch', start, changes });
  }
}

process.on('disconnect', () => process.exit(1));
process.once('message', (request: DiffRequest) => {
  run(request).then(
    () => send({ type: 'done' }).finally(() => process.exit(0)),
    (e: unknown) => {
      const error = e as { code?: unknown; message?: unknown } | null;
      const code = typeof error?.code === 'string' ? error.code : undefined;
      const message = String(error?.message ?? e);
      return send({ type: 'error', message, ...(code ? { code } : {}) }).finally(() => process.exit(1));
    },
  );
});
