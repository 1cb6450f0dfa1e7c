/**
 * Diffs of many commits (the first build of a history index) in a short-lived child process. Diffing 2,000
 * commits of a 10k-file repository inflates every tree they touch; in the server that garbage leaves ~90 MB
 * of pages V8 keeps long after. A process that exits gives them back. The child reads the repository on disk
 * (no network, no credentials: its environment is empty) and sends the changes back in batches, so a child
 * that dies mid-way loses only the batch it was on.
 */
import { spawn } from 'node:child_process';
import * as nodeFs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GitOperationError, UsageError, redactCredentials } from '../errors/index.js';
import { ObjectStore } from './object-store.js';
import type { GitRepository, TreeChange } from './types.js';

/** A commit and its first parent (null for a root commit). */
export interface CommitPair {
  readonly oid: string;
  readonly parent: string | null;
}

/** What the child is asked to do. */
export interface DiffRequest {
  gitdir: string;
  /** `[commit, first parent]` pairs, diffed in this order. */
  commits: [string, string | null][];
  /** Commits per message. */
  batch: number;
}

/** A message of the child. */
export type DiffReply =
  | { type: 'batch'; start: number; changes: TreeChange[][] }
  | { type: 'done' }
  | { type: 'error'; message: string; code?: string };

/** Options of `diffCommitsInChildProcess`. */
export interface ChildDiffOptions {
  /** Told each batch of changes, in order: `changes[i]` belongs to `commits[start + i]`. */
  onBatch(start: number, changes: TreeChange[][]): void;
  /** Commits per message (default 50). */
  batch?: number;
  /** The child is killed when it sends nothing for this long (default 120 s: one batch, or starting up). */
  idleTimeoutMs?: number;
  /** V8 heap bound of the child (default 512 MB); it holds one reader's object cache at a time. */
  maxHeapMb?: number;
}

/** How to start the child: the compiled module next to this file, or the TypeScript source through tsx. */
function childArgs(): string[] {
  if (!import.meta.url.endsWith('.ts')) return [fileURLToPath(new URL('./diff-child.js', import.meta.url))];
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(new URL('./diff-child.ts', import.meta.url).href);
  return ['--input-type=module', '-e', `(await import(${tsx})).register(); await import(${entry});`];
}

const isChanges = (changes: unknown): changes is TreeChange[][] =>
  Array.isArray(changes) &&
  changes.every(
    (list) =>
      Array.isArray(list) &&
      list.every(
        (c: Partial<TreeChange> | null) => typeof c?.path === 'string' && typeof c.kind === 'string',
      ),
  );

/**
 * Diffs each commit of `commits` against its parent in a child process reading `repository`'s directory,
 * handing the changes to `onBatch` as they arrive. Rejects (a GitOperationError) when the child fails, is
 * killed, stays silent past the idle timeout or answers out of order; the batches already handed over stand.
 * Only a repository on the node fs can be read by another process (a UsageError otherwise).
 */
export function diffCommitsInChildProcess(
  repository: GitRepository,
  commits: readonly CommitPair[],
  options: ChildDiffOptions,
): Promise<void> {
  if (!(repository instanceof ObjectStore) || repository.fs !== nodeFs) {
    return Promise.reject(new UsageError('only a repository on disk can be diffed in a child process'));
  }
  const request: DiffRequest = {
    gitdir: repository.gitdir,
    commits: commits.map((c) => [c.oid, c.parent]),
    batch: Math.max(1, options.batch ?? 50),
  };
  const idleMs = options.idleTimeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${options.maxHeapMb ?? 512}`, ...childArgs()],
      {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        // Nothing of the server's environment: the child needs no setting, and the environment holds credentials.
        env: {},
      },
    );
    let next = 0;
    let outcome: 'done' | Error | null = null;
    let settled = false;
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const failure = (why: string) =>
      new GitOperationError('diff-history', why, { diffed: next, of: commits.length });
    const fail = (why: string) => {
      outcome ??= failure(why);
      child.kill('SIGKILL');
    };
    const settle = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (outcome === 'done') return resolve();
      reject((outcome ??= failure(why)));
    };
    const idle = () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(`the diff process sent nothing for ${idleMs} ms`), idleMs);
    };
    idle();
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    child.on('message', (reply: DiffReply) => {
      if (outcome !== null) return;
      idle();
      if (reply.type === 'done') {
        if (next === commits.length) outcome = 'done';
        else fail(`the diff process ended after ${next} of ${commits.length} commits`);
      } else if (reply.type === 'error') {
        fail(`${reply.message}${reply.code ? ` (${reply.code})` : ''}`);
      } else if (
        reply.type !== 'batch' ||
        reply.start !== next ||
        !isChanges(reply.changes) ||
        reply.changes.length === 0 ||
        next + reply.changes.length > commits.length
      ) {
        fail('the diff process answered out of order');
      } else {
        next += reply.changes.length;
        try {
          options.onBatch(reply.start, reply.changes);
        } catch (error) {
          fail(`the changes were not taken: ${String(error)}`);
        }
      }
    });
    child.on('error', (error) => {
      fail(error.message);
      if (child.pid === undefined) settle(error.message); // never started: no exit event follows
    });
    child.on('spawn', () => child.send(request));
    // 'close', not 'exit': its last messages may still be in the channel when the process has exited.
    child.on('close', (code, signal) => {
      // The line that says what happened (a crash ends with a native stack). Nothing the child has is a
      // credential; scrubbed all the same, as every message that reaches a log.
      const lines = stderr.trim().split('\n');
      const why = redactCredentials((lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? '').trim());
      settle(`the diff process ended (${signal ?? `code ${code}`})${why ? `: ${why}` : ''}`);
    });
  });
}
