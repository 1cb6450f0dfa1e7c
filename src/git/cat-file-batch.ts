/**
 * Blob reads through one long-lived `git cat-file --batch`, where the `git` program exists: zlib and pack
 * lookups in C, no library to load. The pre-commit hook reads every staged blob this way; isomorphic-git stays
 * the fallback when `git` cannot be started or fails.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { GitOperationError, NotFoundError } from '../errors/index.js';

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** `<oid> <type> <size>` or `<oid> missing` (also `ambiguous`), one line before each answer. */
const HEADER = /^([0-9a-f]+) (?:([a-z]+) (\d+)|(missing|ambiguous))$/;
const MAX_HEADER_BYTES = 256;
/** An idle process ends after this long (the next read starts another). */
const IDLE_MS = 2_000;

interface Pending {
  oid: string;
  resolve: (bytes: Uint8Array) => void;
  reject: (error: Error) => void;
}

/**
 * One `git cat-file --batch` process for a git dir. Answers come in the order of the requests; the process
 * is started on the first read, keeps this process alive only while reads are pending, and ends when idle.
 */
export class CatFileBatch {
  readonly #gitdir: string;
  #child: ChildProcessByStdio<Writable, Readable, Readable> | undefined;
  readonly #queue: Pending[] = [];
  /** Bytes received and not parsed yet. */
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** The answer being received: its size (a newline follows it), and whether it is a blob at all. */
  #body: { size: number; pending: Pending; blob: boolean } | undefined;
  #stderr = '';
  #failure: Error | undefined;
  #idle: NodeJS.Timeout | undefined;
  /** Requests of this turn not written yet: one write for all of them (a write per blob cost a syscall each). */
  #unwritten: string[] = [];

  constructor(gitdir: string) {
    this.#gitdir = gitdir;
  }

  /** The bytes of blob `oid`; rejects with `NotFoundError` when the repository has no such blob. */
  read(oid: string): Promise<Uint8Array> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (!OID.test(oid)) return Promise.reject(new NotFoundError('blob', oid, { oid }));
    const child = this.#start();
    clearTimeout(this.#idle);
    return new Promise((resolve, reject) => {
      this.#queue.push({ oid, resolve, reject });
      if (this.#queue.length === 1) this.#ref(true);
      if (this.#unwritten.push(oid) === 1) {
        queueMicrotask(() => {
          const lines = this.#unwritten.splice(0);
          if (this.#child === child) child.stdin.write(`${lines.join('\n')}\n`);
        });
      }
    });
  }

  #start(): ChildProcessByStdio<Writable, Readable, Readable> {
    if (this.#child) return this.#child;
    const child = spawn('git', ['--git-dir', this.#gitdir, 'cat-file', '--batch'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // The staged bytes themselves: not what `refs/replace` substitutes, and never a fetch of a partial clone.
      env: { ...process.env, GIT_NO_REPLACE_OBJECTS: '1', GIT_NO_LAZY_FETCH: '1' },
    });
    this.#child = child;
    this.#stderr = '';
    child.on(
      'error',
      (err: NodeJS.ErrnoException) =>
        this.#child === child &&
        this.#fail(
          new GitOperationError(
            'cat-file',
            err.code === 'ENOENT' ? 'the git program was not found on the PATH' : err.message,
            { cwd: this.#gitdir },
          ),
        ),
    );
    // A write after the process died must not throw out of this process: the exit handler reports it.
    child.stdin.on('error', () => {});
    child.stdout.on('data', (chunk: Buffer) => this.#child === child && this.#receive(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (this.#stderr.length < 4096) this.#stderr += chunk.toString('utf8');
    });
    child.on('close', (code) => {
      if (this.#child !== child) return; // ended while idle
      const detail = this.#stderr.trim().split('\n')[0] || `exited with code ${String(code)}`;
      this.#fail(new GitOperationError('cat-file', detail, { cwd: this.#gitdir }));
    });
    this.#ref(false);
    return child;
  }

  /** Keeps this process alive only while an answer is awaited (a CLI must exit once its work is done). */
  #ref(on: boolean): void {
    const child = this.#child;
    if (!child) return;
    for (const handle of [child, child.stdout, child.stderr, child.stdin] as Array<{
      ref?: () => void;
      unref?: () => void;
    }>) {
      if (on) handle.ref?.();
      else handle.unref?.();
    }
  }

  #receive(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    try {
      while (this.#next()) {
        /* one answer per turn of the loop */
      }
    } catch (err) {
      this.#fail(err as Error);
    }
  }

  /** Consumes one header or one body from the buffered bytes; false when more bytes are needed. */
  #next(): boolean {
    if (this.#body) {
      const { size, pending, blob } = this.#body;
      if (this.#buffered < size + 1) return false;
      const answer = this.#take(size + 1);
      if (answer[size] !== 10)
        throw new Error('unexpected output from git cat-file: no newline after an object');
      this.#body = undefined;
      this.#settled();
      if (blob) pending.resolve(answer.subarray(0, size));
      else pending.reject(new NotFoundError('blob', pending.oid, { oid: pending.oid }));
      return true;
    }
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = [all];
    const end = all.indexOf(10);
    if (end < 0) {
      if (this.#buffered > MAX_HEADER_BYTES) throw new Error('unexpected output from git cat-file');
      return false;
    }
    const header = this.#take(end + 1).toString('latin1', 0, end);
    const pending = this.#queue[0];
    const m = HEADER.exec(header);
    if (!pending || !m || m[1] !== pending.oid) {
      throw new Error(`unexpected output from git cat-file: ${JSON.stringify(header.slice(0, 80))}`);
    }
    this.#queue.shift();
    if (m[4] !== undefined) {
      this.#settled();
      pending.reject(new NotFoundError('blob', pending.oid, { oid: pending.oid }));
      return true;
    }
    // A tree, commit or tag is printed too: its bytes are read past, then the read fails as not found.
    this.#body = { size: Number(m[3]), pending, blob: m[2] === 'blob' };
    return true;
  }

  /** Removes the first `n` buffered bytes and returns them. */
  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = n < all.byteLength ? [all.subarray(n)] : [];
    this.#buffered -= n;
    return all.subarray(0, n);
  }

  #settled(): void {
    if (this.#queue.length > 0 || this.#body) return;
    this.#ref(false);
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => this.#stop(), IDLE_MS);
    this.#idle.unref();
  }

  /** Ends an idle process: git exits at the end of its input. */
  #stop(): void {
    const child = this.#child;
    if (!child || this.#queue.length > 0 || this.#body) return;
    this.#child = undefined;
    this.#chunks = [];
    this.#buffered = 0;
    child.stdin.end();
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    clearTimeout(this.#idle);
    this.#unwritten.length = 0;
    const waiting = [...this.#queue, ...(this.#body ? [this.#body.pending] : [])];
    this.#queue.length = 0;
    this.#body = undefined;
    const child = this.#child;
    if (child && child.exitCode === null && !child.killed) child.kill();
    for (const p of waiting) p.reject(this.#failure);
  }
}
