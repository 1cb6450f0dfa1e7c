/** Engine sources that are not a commit: the git index (what a commit would contain) and the files on disk. */
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import type { RepoSource, TreeEntry } from '../engine/index.js';
import { NotFoundError } from '../errors/index.js';
import { CatFileBatch } from './cat-file-batch.js';
import { parseIndexFile } from './index-file.js';
import { locateRepository } from './local-repository.js';
import { ObjectStore, comparePaths, typeOfMode } from './object-store.js';
import type { FsPort } from './types.js';

/**
 * A view of `source` rooted at the sub-directory `dir` (the config root inside a larger repository): the entries
 * under it, with paths relative to it; blob reads map back to the full path. `dir` may have leading or trailing
 * slashes; '' is the source itself.
 */
export function subtreeSource(source: RepoSource, dir: string): RepoSource {
  const trimmed = dir.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return source;
  const prefix = `${trimmed}/`;
  const entries: TreeEntry[] = [];
  for (const entry of source.entries) {
    if (entry.path.startsWith(prefix) && entry.path.length > prefix.length) {
      entries.push({ ...entry, path: entry.path.slice(prefix.length) });
    }
  }
  return { entries, readBlob: (oid, path) => source.readBlob(oid, prefix + path) };
}

/** Options of `stagedSource`. */
export interface StagedSourceOptions {
  /**
   * Index file to read instead of `<gitdir>/index`. Pass `GIT_INDEX_FILE` from a pre-commit hook: `git commit
   * <paths>` and `git commit -a` stage into a temporary index and name it only through that variable.
   */
  indexFile?: string;
  fs?: FsPort;
}

/**
 * Exactly what is staged in the git index (not the work tree). When `dir` is a subdirectory of the work tree,
 * only entries under it are listed, with paths relative to it.
 */
export async function stagedSource(dir: string, opts: StagedSourceOptions = {}): Promise<RepoSource> {
  const fs = opts.fs ?? nodeFs;
  const loc = await locateRepository(dir, fs);
  const indexPath = opts.indexFile
    ? path.resolve(loc.workTree ?? loc.gitdir, opts.indexFile)
    : path.join(loc.gitdir, 'index');
  let raw: Uint8Array;
  try {
    raw = await fs.promises.readFile(indexPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    raw = new Uint8Array(0); // nothing staged yet in a fresh repository
  }
  let objects: ObjectStore | undefined;
  const store = () => (objects ??= new ObjectStore({ fs, gitdir: loc.commonDir }));
  // The git program reads the blobs when it can (C zlib, and the hook never loads isomorphic-git); a port
  // other than node's own fs is only seen by isomorphic-git.
  let native = opts.fs ? undefined : new CatFileBatch(loc.commonDir);
  const readBlob = async (oid: string): Promise<Uint8Array> => {
    if (native) {
      try {
        return await native.read(oid);
      } catch (err) {
        if (err instanceof NotFoundError) throw err;
        native = undefined;
      }
    }
    return store().readBlob(oid);
  };
  const entries: TreeEntry[] = [];
  for (const e of raw.length ? parseIndexFile(raw) : []) {
    if (e.sparseDir) {
      for (const sub of await store()
        .listTree(e.oid)
        .catch(() => []))
        entries.push({ ...sub, path: `${e.path}/${sub.path}` });
    } else {
      entries.push({ path: e.path, oid: e.oid, type: typeOfMode(e.mode), mode: e.mode });
    }
  }
  const scoped = loc.prefix
    ? entries
        .filter((e) => e.path.startsWith(loc.prefix))
        .map((e) => ({ ...e, path: e.path.slice(loc.prefix.length) }))
    : entries;
  scoped.sort((a, b) => comparePaths(a.path, b.path));
  return {
    entries: Object.freeze(scoped),
    readBlob: async (oid: string, p: string) => {
      try {
        return await readBlob(oid);
      } catch (err) {
        if (err instanceof NotFoundError) throw new NotFoundError('staged blob', p, { oid });
        throw err;
      }
    },
  };
}

/** Options of `workingTreeSource`. */
export interface WorkingTreeSourceOptions {
  /** Return true to leave a path (relative, `/`-separated) out; `.git` is always left out. */
  exclude?: (relPath: string, isDirectory: boolean) => boolean;
  fs?: FsPort;
}

/** Git blob id of some bytes (what `git hash-object` prints). */
export function blobOid(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

const KEEP_BYTES = 256 * 1024;

/**
 * The files on disk under `dir`. Each oid is the git blob id of the bytes, so the engine's caches are shared
 * with commit and index sources. Symlinks are reported with mode `120000` (their content is the link text);
 * a nested repository is reported as a submodule (`160000`).
 */
export async function workingTreeSource(
  dir: string,
  opts: WorkingTreeSourceOptions = {},
): Promise<RepoSource> {
  const fs = opts.fs ?? nodeFs;
  const root = path.resolve(dir);
  const entries: TreeEntry[] = [];
  const bytesByOid = new Map<string, Uint8Array>();
  const pathByOid = new Map<string, string>();

  async function walk(abs: string, rel: string): Promise<void> {
    const dirents = await fs.promises.readdir(abs, { withFileTypes: true });
    await Promise.all(
      dirents.map(async (d) => {
        if (d.name === '.git') return;
        const relPath = rel + d.name;
        const absPath = path.join(abs, d.name);
        if (d.isDirectory()) {
          if (opts.exclude?.(relPath, true)) return;
          const nested = await fs.promises.stat(path.join(absPath, '.git')).then(
            () => true,
            () => false,
          );
          if (nested) {
            entries.push({
              path: relPath,
              oid: blobOid(Buffer.from(`submodule:${relPath}`)),
              type: 'commit',
              mode: '160000',
            });
            return;
          }
          await walk(absPath, relPath + '/');
          return;
        }
        if (opts.exclude?.(relPath, false)) return;
        let bytes: Uint8Array;
        let mode: string;
        if (d.isSymbolicLink()) {
          bytes = Buffer.from(await fs.promises.readlink(absPath));
          mode = '120000';
        } else if (d.isFile()) {
          bytes = await fs.promises.readFile(absPath);
          mode = ((await fs.promises.stat(absPath)).mode & 0o111) !== 0 ? '100755' : '100644';
        } else {
          return; // sockets, fifos: nothing git would store
        }
        const oid = blobOid(bytes);
        entries.push({ path: relPath, oid, type: 'blob', mode });
        if (bytes.byteLength <= KEEP_BYTES) bytesByOid.set(oid, bytes);
        pathByOid.set(oid, absPath);
      }),
    );
  }

  await walk(root, '');
  entries.sort((a, b) => comparePaths(a.path, b.path));
  return {
    entries: Object.freeze(entries),
    readBlob: async (oid: string, p: string) => {
      const kept = bytesByOid.get(oid);
      if (kept) return kept;
      const abs = pathByOid.get(oid);
      if (!abs) throw new NotFoundError('file', p, { oid });
      const st = await fs.promises.lstat(abs);
      return st.isSymbolicLink()
        ? Buffer.from(await fs.promises.readlink(abs))
        : await fs.promises.readFile(abs);
    },
  };
}
