/**
 * Remembers, inside the repository's git dir, which namespaces were found valid with exactly which inputs, so
 * the pre-commit hook re-checks only the namespaces a commit touches. Compiling every JSON Schema dominates a
 * cold run (about 5 ms per schema), and most commits change one or two namespaces.
 *
 * A namespace's key is a hash of everything its validity depends on, taken from the tree listing alone (no
 * blob reads): the manifest's blob id, every file of the namespace (schemas, defaults, overrides, migrations:
 * path, mode and blob id), the config root's prefix, the engine and gitcfg versions, and a fingerprint of the
 * installed engine code (so editing the engine in a checkout invalidates the cache). The layout and
 * the manifest are always checked by the engine. The cache is an optimisation only: unreadable or missing
 * means "check everything", and `--no-cache` ignores it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../data-file/index.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Issue, TreeEntry } from '../engine/index.js';
import { readPackageVersion } from './package-root.js';

// `validate` finds the cache's git dir through here.

/** Keys kept at most (oldest dropped first); a few hundred KB. */
const MAX_KEYS = 20_000;
const FOLDERS = new Set(['schemas', 'defaults', 'environments', 'migrations']);

/** The namespace a config file belongs to, or undefined for the manifest and files outside the four folders. */
export function namespaceOfPath(path: string): string | undefined {
  const parts = path.split('/');
  const top = parts[0] ?? '';
  if (!FOLDERS.has(top) || parts.length < 2) return undefined;
  if (top === 'migrations') return parts[1];
  if (top === 'environments') return parts.length >= 3 ? stem(parts[parts.length - 1] ?? '') : undefined;
  return stem(parts[parts.length - 1] ?? '');
}

function stem(file: string): string {
  const dot = file.indexOf('.');
  return dot === -1 ? file : file.slice(0, dot);
}

/** Input key of every namespace of a listing (entries relative to the config root). */
export function namespaceKeys(entries: readonly TreeEntry[], salt: string): Map<string, string> {
  const manifest = entries.find((entry) => entry.path === 'gitcfg.yaml');
  const files = new Map<string, string[]>();
  for (const entry of entries) {
    const ns = namespaceOfPath(entry.path);
    if (ns === undefined) continue;
    let list = files.get(ns);
    if (!list) files.set(ns, (list = []));
    list.push(`${entry.path}\0${entry.mode}\0${entry.oid}`);
  }
  const keys = new Map<string, string>();
  for (const [ns, list] of files) {
    const hash = createHash('sha256').update(`${salt}\0${manifest?.oid ?? 'no-manifest'}\0${ns}\0`);
    for (const line of list.sort()) hash.update(`${line}\n`);
    keys.set(ns, hash.digest('base64url'));
  }
  return keys;
}

/** Namespaces that an evaluation found no issue in (undefined when an issue cannot be attributed to one). */
export function cleanNamespaces(checked: readonly string[], issues: readonly Issue[]): string[] | undefined {
  const dirty = new Set<string>();
  for (const issue of issues) {
    const ns = issue.namespace ?? (issue.file !== undefined ? namespaceOfPath(issue.file) : undefined);
    if (ns === undefined) {
      if (issue.file === 'gitcfg.yaml' || issue.file === undefined) return undefined;
      continue; // a layout issue about a file outside any namespace
    }
    dirty.add(ns);
  }
  return checked.filter((ns) => !dirty.has(ns));
}

let fingerprint: string | undefined;

/** Names, sizes and mtimes of the files of the modules a validation result depends on. */
export function codeFingerprint(): string {
  if (fingerprint) return fingerprint;
  const hash = createHash('sha256');
  const modules = dirname(dirname(fileURLToPath(import.meta.url)));
  for (const name of ['engine', 'migrate', 'values']) {
    const dir = join(modules, name);
    let files: string[] = [];
    try {
      files = readdirSync(dir).sort();
    } catch {
      // not there (bundled differently): the versions in the salt still apply
    }
    for (const file of files) {
      const stat = statSync(join(dir, file), { throwIfNoEntry: false });
      if (stat) hash.update(`${name}/${file}\0${stat.size}\0${stat.mtimeMs}\n`);
    }
  }
  return (fingerprint = hash.digest('base64url'));
}

/** The set of keys of namespaces known to be valid, persisted in `<gitdir>/gitcfg/valid-namespaces`. */
export class ValidationCache {
  readonly #file: string;
  #keys: string[] = [];
  #known = new Set<string>();

  private constructor(file: string) {
    this.#file = file;
  }

  /** Opens the cache of a repository's git dir; a missing or unreadable file is an empty cache. */
  static async open(gitDir: string): Promise<ValidationCache> {
    const cache = new ValidationCache(join(gitDir, 'gitcfg', 'valid-namespaces'));
    if (existsSync(cache.#file)) {
      const text = await readFile(cache.#file, 'utf8').catch(() => '');
      cache.#keys = text.split('\n').filter((line) => /^[A-Za-z0-9_-]{43}$/.test(line));
      cache.#known = new Set(cache.#keys);
    }
    return cache;
  }

  /** True when a namespace with this key was valid before. */
  has(key: string): boolean {
    return this.#known.has(key);
  }

  /** Records keys and writes the file atomically (temp + rename); write failures are ignored. */
  async add(keys: readonly string[]): Promise<void> {
    const fresh = keys.filter((key) => !this.#known.has(key));
    if (fresh.length === 0) return;
    for (const key of fresh) this.#known.add(key);
    this.#keys = [...this.#keys, ...fresh].slice(-MAX_KEYS);
    try {
      await writeFileAtomic(this.#file, Buffer.from(`${this.#keys.join('\n')}\n`, 'utf8'), 0o644);
    } catch {
      // A read-only git dir only loses the speed-up.
    }
  }
}

/** The compiled-validator folder and its salt: the gitcfg version and the installed engine code. */
export function validatorCacheIn(dir: string): { dir: string; salt: string } {
  return { dir, salt: [readPackageVersion(), codeFingerprint()].join('\0') };
}
