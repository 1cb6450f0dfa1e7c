/**
 * Bare mirror of one branch of a smart-HTTP remote, kept with isomorphic-git: init({bare}) + fetch + writeRef,
 * never a checkout. A damaged mirror is re-cloned into a sibling temp dir and swapped in.
 */
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { isomorphicGit, isomorphicGitHttp } from './isomorphic-git.js';

import {
  GitOperationError,
  NotFoundError,
  UsageError,
  redactUrl,
  stripUrlCredentials,
} from '../errors/index.js';
import { ObjectStore, isGitError } from './object-store.js';
import { authHeaders, isRemoteFailure, remoteError, scrub } from './remote-errors.js';
import type { FsPort, HttpPort, MirrorEvent, RemoteAuth } from './types.js';
import { createObjectCache } from './object-cache.js';
import { cloneInChildProcess } from './clone-process.js';

/** Options of `openMirror`. */
export interface MirrorOptions {
  /** http(s) URL of the remote (credentials in it are used but never stored, logged or shown). */
  url: string;
  /** Directory owned by the mirror: the bare repository itself. Temp siblings `<dataDir>.tmp-*` are used. */
  dataDir: string;
  branch: string;
  auth?: RemoteAuth;
  fs?: FsPort;
  http?: HttpPort;
  /**
   * Replace the object cache after this many fetches (default 100). The cache keeps every loaded pack and the
   * decompressed objects in memory, and each fetch adds a pack, so it only grows.
   */
  cacheMaxFetches?: number;
  /**
   * Also mirror tags (default false). isomorphic-git only fetches tags together with every branch, so this
   * fetches all branches too; the mirror still follows only `branch`.
   */
  tags?: boolean;
  /** Told about clones, recoveries, re-mirrors and cache replacements (for logs and metrics). */
  onEvent?: (event: MirrorEvent) => void;
  /**
   * Open without the network (default false): a missing or damaged mirror is cloned by the first `fetch()`
   * instead of by `open()`, so what is on disk can be read (pinned commits) while the remote is down.
   */
  deferClone?: boolean;
}

/** Result of `GitMirror.fetch`. */
export interface FetchOutcome {
  /** The branch head after the fetch. */
  head: string;
  /** The head before it (null right after a clone). */
  previous: string | null;
  changed: boolean;
  /** Number of pack files; isomorphic-git cannot repack, so call `remirror()` when this grows (e.g. > 50). */
  packs: number;
}

/** A bare mirror of one branch; reads (`GitRepository`) work on its local objects. */
export class GitMirror extends ObjectStore {
  readonly dir: string;
  readonly branch: string;
  /** The remote URL without credentials (safe to show). */
  readonly remoteUrl: string;
  /** Local branch head (what the last fetch or local commit left). */
  head: string | null = null;
  private readonly url: string;
  private readonly auth: RemoteAuth | undefined;
  private readonly http: HttpPort;
  private readonly cacheMaxFetches: number;
  private readonly tags: boolean;
  private readonly onEvent: (event: MirrorEvent) => void;
  /** Node's own fs and http (nothing injected): clones may then run in a child process. */
  private readonly nodeTransport: boolean;
  private fetchesSinceCache = 0;
  private readonly deferClone: boolean;
  /** Why the first fetch must clone (a deferred clone), or null. */
  private cloneDue: { reason: string; type: MirrorEvent['type'] } | null = null;

  /** True while a deferred clone (missing or damaged mirror) waits for the first `fetch()`: nothing is readable. */
  get awaitingClone(): boolean {
    return this.cloneDue !== null;
  }
  private readonly soundPacks = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: MirrorOptions) {
    super({ fs: opts.fs ?? nodeFs, gitdir: path.resolve(opts.dataDir) });
    this.dir = this.gitdir;
    this.branch = opts.branch;
    this.url = opts.url;
    this.remoteUrl = redactUrl(stripUrlCredentials(opts.url));
    this.auth = opts.auth;
    this.http = opts.http ?? (isomorphicGitHttp().default as unknown as HttpPort);
    this.cacheMaxFetches = opts.cacheMaxFetches ?? 100;
    this.tags = opts.tags ?? false;
    this.onEvent = opts.onEvent ?? (() => {});
    this.nodeTransport = opts.fs === undefined && opts.http === undefined;
    this.deferClone = opts.deferClone ?? false;
  }

  /** Runs one mutation at a time (fetch, re-mirror, push). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private remoteArgs(): { http: HttpPort; url: string; headers: Record<string, string> } {
    return { http: this.http, url: this.url, headers: authHeaders(this.auth) };
  }

  /** Opens the mirror: clones when absent, re-clones when damaged or pointing at another remote. */
  async open(): Promise<void> {
    await this.removeLeftovers();
    const exists = await this.fs.promises.stat(this.dir).then(
      () => true,
      () => false,
    );
    if (!exists) {
      if (this.deferClone) this.cloneDue = { reason: 'no mirror yet', type: 'cloned' };
      else await this.recover(null, 'cloned');
      return;
    }
    const problem = await this.verify();
    if (problem) {
      if (this.deferClone) this.cloneDue = { reason: problem, type: 'recovered' };
      else await this.recover(problem, 'recovered');
      return;
    }
    this.head = await this.localHead();
  }

  /**
   * Checks the mirror on disk; returns what is wrong, or null when it looks sound. Packs already checked are
   * skipped unless `full`; `full` also reads the head commit and root tree with a fresh cache.
   */
  async verify(opts: { full?: boolean } = { full: true }): Promise<string | null> {
    const fs = this.fs.promises;
    const head = await fs.readFile(path.join(this.dir, 'HEAD'), 'utf8').catch(() => null);
    if (head === null || !/^(ref: refs\/|[0-9a-f]{40})/.test(head)) return 'HEAD missing or invalid';
    if (opts.full) {
      try {
        const configured = await isomorphicGit().getConfig({
          fs: this.fs,
          gitdir: this.dir,
          path: 'remote.origin.url',
        });
        if (configured !== stripUrlCredentials(this.url)) return 'remote URL changed';
      } catch {
        return 'config missing or unreadable';
      }
      this.soundPacks.clear();
    }
    const packDir = path.join(this.dir, 'objects', 'pack');
    const files = await fs.readdir(packDir).catch(() => null);
    if (files === null) return 'objects missing';
    for (const f of files) {
      if (f.endsWith('.idx') && !files.includes(f.replace(/\.idx$/, '.pack'))) return `pack missing for ${f}`;
      if (!f.endsWith('.pack') || this.soundPacks.has(f)) continue;
      const idxName = f.replace(/\.pack$/, '.idx');
      if (!files.includes(idxName)) return `index missing for ${f}`;
      // A pack ends with the SHA-1 of its content, which its .idx repeats: truncation breaks the match.
      const pack = await tail(this.fs, path.join(packDir, f), 20);
      const idx = await tail(this.fs, path.join(packDir, idxName), 40);
      const packHead = await headBytes(this.fs, path.join(packDir, f), 4);
      if (!pack || !idx || !packHead || packHead.toString('latin1') !== 'PACK') return `pack ${f} unreadable`;
      if (!pack.equals(idx.subarray(0, 20))) return `pack ${f} truncated or corrupt`;
      this.soundPacks.add(f);
    }
    const ref = await this.localHead().catch(() => undefined);
    if (ref === undefined) return 'branch ref unreadable';
    if (ref !== null) {
      // read the head commit and its root tree: proves the objects are there
      const probe = opts.full ? new ObjectStore({ fs: this.fs, gitdir: this.dir }) : this;
      try {
        const commit = await probe.readCommit(ref);
        await probe.readTreeEntries(commit.tree);
      } catch {
        return 'head commit unreadable';
      }
    }
    return null;
  }

  private async localHead(): Promise<string | null> {
    try {
      return await isomorphicGit().resolveRef({
        fs: this.fs,
        gitdir: this.dir,
        ref: `refs/heads/${this.branch}`,
      });
    } catch (err) {
      if (isGitError(err, 'NotFoundError')) return null;
      throw err;
    }
  }

  /**
   * Fetches the branch from the remote and moves the local branch to it (the mirror follows the remote). A
   * local failure (damaged pack, missing files) re-clones the mirror instead of failing.
   */
  fetch(): Promise<FetchOutcome> {
    return this.exclusive(async () => {
      const previous = this.head;
      const due = this.cloneDue;
      if (due) {
        await this.recover(due.type === 'cloned' ? null : due.reason, due.type);
        return this.outcome(previous);
      }
      let problem: string | null = null;
      this.objectFs.invalidate(); // another process or instance may have written objects since our last call
      try {
        await this.fetchInto(this.dir, this.cache);
      } catch (err) {
        if (err instanceof GitOperationError || err instanceof NotFoundError) throw err;
        problem = err instanceof Error ? err.message : String(err);
      }
      problem ??= await this.verify({ full: false });
      if (problem) {
        await this.recover(problem, 'recovered');
        return this.outcome(previous);
      }
      this.head = await this.localHead();
      if (++this.fetchesSinceCache >= this.cacheMaxFetches) {
        this.replaceCache();
        this.fetchesSinceCache = 0;
        this.onEvent({ type: 'cache-replaced', reason: `${this.cacheMaxFetches} fetches` });
      }
      return this.outcome(previous);
    });
  }

  private async outcome(previous: string | null): Promise<FetchOutcome> {
    if (!this.head) throw new NotFoundError('remote branch', this.branch);
    return { head: this.head, previous, changed: previous !== this.head, packs: await this.packCount() };
  }

  /** Number of pack files in the mirror. */
  async packCount(): Promise<number> {
    const files = await this.fs.promises
      .readdir(path.join(this.dir, 'objects', 'pack'))
      .catch(() => [] as string[]);
    return files.filter((f) => f.endsWith('.pack')).length;
  }

  /** Re-clones into a temp dir and swaps it in (one pack again); call on a schedule or when `packs` grows. */
  remirror(reason = 'scheduled'): Promise<{ head: string }> {
    return this.exclusive(async () => {
      await this.recover(reason, 'remirrored');
      if (!this.head) throw new NotFoundError('remote branch', this.branch);
      return { head: this.head };
    });
  }

  /** Clones afresh and reports it; `reason` null for a first clone. */
  private async recover(reason: string | null, type: MirrorEvent['type']): Promise<void> {
    const started = Date.now();
    await this.cloneAndSwap();
    // `reason` may quote a raw local failure; events end up in logs, so no credential may pass through.
    this.onEvent({
      type,
      ...(reason !== null ? { reason: scrub(reason, this.url, this.auth) } : {}),
      durationMs: Date.now() - started,
    });
  }

  /**
   * Fetches the branch into `gitdir`; remote failures become typed errors, local ones are rethrown raw. A fresh
   * clone (`inChild`) runs in a child process when the node fs and http are used (see clone-process.ts).
   */
  private async fetchInto(gitdir: string, cache: object, inChild = false): Promise<void> {
    let result: { fetchHead: string | null };
    try {
      const { url, headers } = this.remoteArgs();
      const scope = { remote: 'origin', ref: this.branch, singleBranch: !this.tags, tags: this.tags };
      result =
        inChild && this.nodeTransport
          ? await cloneInChildProcess({
              gitdir,
              url,
              configUrl: stripUrlCredentials(url),
              branch: this.branch,
              tags: this.tags,
              headers,
            })
          : await isomorphicGit().fetch({
              fs: gitdir === this.dir ? this.objectFs.port : this.fs,
              gitdir,
              cache,
              ...this.remoteArgs(),
              ...scope,
            });
    } catch (err) {
      if (isGitError(err, 'NotFoundError')) {
        const what = (err as { data?: { what?: string } }).data?.what;
        if (what === this.branch || what === `refs/heads/${this.branch}`) {
          throw new NotFoundError('remote branch', this.branch, { url: this.remoteUrl });
        }
      }
      if (isRemoteFailure(err)) throw remoteError('fetch', err, this.url, this.auth);
      throw err;
    }
    if (!result.fetchHead) throw new NotFoundError('remote branch', this.branch, { url: this.remoteUrl });
    await isomorphicGit().writeRef({
      fs: this.fs,
      gitdir,
      ref: `refs/heads/${this.branch}`,
      value: result.fetchHead,
      force: true,
    });
  }

  /** Clones into `<dir>.tmp-<random>`, then renames it over `dir` (a crash never leaves a half mirror). */
  private async cloneAndSwap(): Promise<void> {
    const fs = this.fs.promises;
    await fs.mkdir(path.dirname(this.dir), { recursive: true });
    const tmp = `${this.dir}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      if (!this.nodeTransport) {
        await isomorphicGit().init({
          fs: this.fs,
          dir: tmp,
          gitdir: tmp,
          bare: true,
          defaultBranch: this.branch,
        });
        await isomorphicGit().addRemote({
          fs: this.fs,
          gitdir: tmp,
          remote: 'origin',
          url: stripUrlCredentials(this.url),
          force: true,
        });
      }
      // With the node transport the child process runs init and addRemote too.
      await this.fetchInto(tmp, createObjectCache(), true);
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      if (err instanceof GitOperationError || err instanceof NotFoundError) throw err;
      throw remoteError('clone', err, this.url, this.auth);
    }
    const old = `${this.dir}.old-${randomBytes(4).toString('hex')}`;
    const hadOld = await fs.rename(this.dir, old).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
    await fs.rename(tmp, this.dir);
    this.replaceCache();
    this.soundPacks.clear();
    this.fetchesSinceCache = 0;
    this.cloneDue = null;
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
    this.head = await this.localHead();
  }

  private async removeLeftovers(): Promise<void> {
    const parent = path.dirname(this.dir);
    const base = path.basename(this.dir);
    const names = await this.fs.promises.readdir(parent).catch(() => [] as string[]);
    for (const n of names) {
      if (n.startsWith(`${base}.tmp-`) || n.startsWith(`${base}.old-`)) {
        await this.fs.promises.rm(path.join(parent, n), { recursive: true, force: true });
      }
    }
  }

  /** The branch head the remote reports now (ls-remote), null when it has no such branch. */
  async remoteHead(branch = this.branch): Promise<string | null> {
    const ref = `refs/heads/${branch}`;
    try {
      const refs = await isomorphicGit().listServerRefs({
        ...this.remoteArgs(),
        prefix: ref,
        protocolVersion: 1,
      });
      return refs.find((r) => r.ref === ref)?.oid ?? null;
    } catch (err) {
      throw remoteError('ls-remote', err, this.url, this.auth);
    }
  }

  /** Pushes the local branch to the remote (see `push`). */
  pushBranch(opts: { branch?: string; force?: boolean } = {}): Promise<void> {
    const branch = opts.branch ?? this.branch;
    return this.exclusive(async () => {
      this.objectFs.invalidate(); // objects written by another instance must be visible to the push's walk
      let result: { ok: boolean; error: string | null; refs: Record<string, { ok: boolean; error: string }> };
      try {
        result = await isomorphicGit().push({
          fs: this.objectFs.port,
          gitdir: this.dir,
          cache: this.cache,
          ...this.remoteArgs(),
          remote: 'origin',
          ref: `refs/heads/${branch}`,
          remoteRef: `refs/heads/${branch}`,
          force: opts.force ?? false,
        });
      } catch (err) {
        // the remote's head is not in the mirror: it moved since our last fetch
        if (isGitError(err, 'NotFoundError')) {
          throw remoteError(
            'push',
            Object.assign(new Error('remote branch moved; fetch first'), { code: 'PushRejectedError' }),
            this.url,
            this.auth,
          );
        }
        throw remoteError('push', err, this.url, this.auth);
      }
      if (!result.ok) {
        const why = result.error ?? Object.values(result.refs).find((r) => !r.ok)?.error ?? 'rejected';
        throw remoteError(
          'push',
          Object.assign(new Error(why), { code: 'GitPushError' }),
          this.url,
          this.auth,
        );
      }
    });
  }
}

async function tail(fs: FsPort, file: string, n: number): Promise<Buffer | null> {
  try {
    const h = await fs.promises.open(file, 'r');
    try {
      const { size } = await h.stat();
      if (size < n) return null;
      const buf = Buffer.alloc(n);
      await h.read(buf, 0, n, size - n);
      return buf;
    } finally {
      await h.close();
    }
  } catch {
    return null;
  }
}

async function headBytes(fs: FsPort, file: string, n: number): Promise<Buffer | null> {
  try {
    const h = await fs.promises.open(file, 'r');
    try {
      const buf = Buffer.alloc(n);
      const { bytesRead } = await h.read(buf, 0, n, 0);
      return bytesRead === n ? buf : null;
    } finally {
      await h.close();
    }
  } catch {
    return null;
  }
}

/** Opens (cloning on first use, re-cloning when damaged) the bare mirror of `opts.branch` in `opts.dataDir`. */
export async function openMirror(opts: MirrorOptions): Promise<GitMirror> {
  if (!/^https?:\/\//i.test(opts.url)) {
    throw new UsageError(`mirror URL must be http(s): ${redactUrl(opts.url)}`, { url: redactUrl(opts.url) });
  }
  const mirror = new GitMirror(opts);
  await mirror.open();
  return mirror;
}

/** Pushes `branch` of the mirror to its remote; E_PUSH_REJECTED when the remote moved, typed errors otherwise. */
export function push(mirror: GitMirror, opts: { branch?: string; force?: boolean } = {}): Promise<void> {
  return mirror.pushBranch(opts);
}

/** The head of `branch` on the mirror's remote as it answers now (null: no such branch); typed remote errors. */
export function remoteHead(mirror: GitMirror, branch?: string): Promise<string | null> {
  return mirror.remoteHead(branch);
}
