/**
 * An fs port for isomorphic-git that answers its repeated questions from memory. On every API call
 * isomorphic-git probes the fs (a `readFile()` without arguments), stats the gitdir, tries the loose-object
 * path (a failed open per object in a packed mirror) and lists `objects/pack`: four syscalls and two thrown
 * errors per object read, most of the cost of reading a 10k-file tree. The port is also pre-wrapped in
 * isomorphic-git's FileSystem so it is not re-wrapped per call. Callers `invalidate()` when objects may
 * have changed behind this port (fetch by another process, gc); writes through the port keep it up to date.
 */
import type { Stats } from 'node:fs';
import { isomorphicGitModels } from './isomorphic-git.js';
import type { FsPort } from './types.js';

const LOOSE = /\/objects\/([0-9a-f]{2})\/([0-9a-f]{38})$/;

// One shared error: isomorphic-git only checks that the read failed, and capturing a stack per miss is costly.
const MISSING: NodeJS.ErrnoException = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
const notFound = (_path: unknown) => MISSING;

/** Memoising wrapper around `fs.promises` for one gitdir. */
export class ObjectFs {
  /** Pass this to isomorphic-git as `fs`. */
  readonly port: FsPort;
  private readonly root: string;
  private packList: Promise<string[]> | null = null;
  private readonly fanout = new Map<string, Promise<Set<string>>>();
  private gitdirStat: Promise<Stats> | null = null;

  constructor(
    private readonly fs: FsPort,
    private readonly gitdir: string,
  ) {
    this.root = gitdir.replace(/\/+$/, '');
    const p = fs.promises;
    const inObjects = (path: unknown) => typeof path === 'string' && path.startsWith(`${this.root}/objects/`);
    const touched = (path: unknown) => {
      if (!inObjects(path)) return;
      const s = path as string;
      if (s.startsWith(`${this.root}/objects/pack`)) this.packList = null;
      const m = LOOSE.exec(s);
      if (m) this.fanout.delete(m[1]!);
    };
    const promises = {
      readFile: (path: unknown, opts?: unknown) => {
        if (path === undefined) return Promise.reject(notFound(path)); // isomorphic-git's "is this a promise fs" probe
        const m = typeof path === 'string' && path.startsWith(this.root) ? LOOSE.exec(path) : null;
        if (m) {
          return this.looseNames(m[1]!).then((names) =>
            names.has(m[2]!) ? p.readFile(path as string, opts as undefined) : Promise.reject(notFound(path)),
          );
        }
        return p.readFile(path as string, opts as undefined);
      },
      readdir: (path: unknown, opts?: unknown) => {
        if (path === `${this.root}/objects/pack` && opts === undefined) {
          this.packList ??= p.readdir(path).catch(() => []);
          return this.packList.then((l) => [...l]);
        }
        return p.readdir(path as string, opts as undefined);
      },
      stat: (path: unknown, opts?: unknown) => {
        if (path === this.root || path === gitdir) {
          this.gitdirStat ??= p.stat(path as string);
          this.gitdirStat.catch(() => (this.gitdirStat = null));
          return this.gitdirStat;
        }
        return p.stat(path as string, opts as undefined);
      },
      writeFile: async (path: unknown, data: unknown, opts?: unknown) => {
        await p.writeFile(path as string, data as string, opts as undefined);
        touched(path);
      },
      rename: async (from: unknown, to: unknown) => {
        await p.rename(from as string, to as string);
        touched(from);
        touched(to);
      },
      unlink: async (path: unknown) => {
        await p.unlink(path as string);
        touched(path);
      },
      rm: async (path: unknown, opts?: unknown) => {
        await p.rm(path as string, opts as undefined);
        this.invalidate();
      },
      mkdir: (path: unknown, opts?: unknown) => p.mkdir(path as string, opts as undefined),
      rmdir: (path: unknown, opts?: unknown) => p.rmdir(path as string, opts as undefined),
      lstat: (path: unknown, opts?: unknown) => p.lstat(path as string, opts as undefined),
      readlink: (path: unknown, opts?: unknown) => p.readlink(path as string, opts as undefined),
      symlink: (target: unknown, path: unknown, type?: unknown) =>
        p.symlink(target as string, path as string, type as undefined),
    };
    // Wrapped once: isomorphic-git re-wraps (and re-probes) a plain fs object on every API call.
    this.port = new (isomorphicGitModels().FileSystem)({ promises } as never) as unknown as FsPort;
  }

  private looseNames(dir: string): Promise<Set<string>> {
    let names = this.fanout.get(dir);
    if (!names) {
      names = this.fs.promises.readdir(`${this.root}/objects/${dir}`).then(
        (l) => new Set(l),
        () => new Set<string>(),
      );
      this.fanout.set(dir, names);
    }
    return names;
  }

  /** Forgets every memoised answer (objects or packs may have changed behind this port). */
  invalidate(): void {
    this.packList = null;
    this.fanout.clear();
    this.gitdirStat = null;
  }
}
