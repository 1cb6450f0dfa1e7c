/** Classifies the entries of a repository tree into manifest, schemas, defaults, overrides and migrations. */
import { MANIFEST_FILE, NAME_MAX_LENGTH, NAME_RE } from './manifest.js';
import type { Issue, TreeEntry } from './types.js';

/** Top-level folders whose content is checked strictly. */
export const RESERVED_DIRS = ['schemas', 'defaults', 'environments', 'migrations'] as const;

/** The files of a configuration repository, by role. */
export interface Layout {
  manifest?: TreeEntry;
  /** namespace -> `schemas/<namespace>.schema.json` */
  schemas: Map<string, TreeEntry>;
  /** namespace -> version -> `schemas/<namespace>.v<N>.schema.json` */
  oldSchemas: Map<string, Map<number, TreeEntry>>;
  /** namespace -> `defaults/<namespace>.yaml` */
  defaults: Map<string, TreeEntry>;
  /** environment -> namespace -> `environments/<env>/<namespace>.yaml` */
  overrides: Map<string, Map<string, TreeEntry>>;
  /** namespace -> version -> `migrations/<namespace>/<N>.yaml` */
  migrations: Map<string, Map<number, TreeEntry>>;
  issues: Issue[];
}

const SCHEMA_FILE_RE = /^(.+?)(?:\.v([0-9]+))?\.schema\.json$/;
const VERSION_RE = /^[1-9][0-9]*$/;

/** True for an accepted namespace or environment name. */
export function isValidName(name: string): boolean {
  return NAME_RE.test(name) && name.length <= NAME_MAX_LENGTH;
}

function nested<K, V>(map: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let m = map.get(key);
  if (!m) map.set(key, (m = new Map()));
  return m;
}

/** Sorts entries into roles; every unexpected entry in the reserved folders is an issue. */
export function classifyEntries(entries: readonly TreeEntry[]): Layout {
  const layout: Layout = {
    schemas: new Map(),
    oldSchemas: new Map(),
    defaults: new Map(),
    overrides: new Map(),
    migrations: new Map(),
    issues: [],
  };
  const issue = (code: Issue['code'], file: string, message: string) =>
    layout.issues.push({ code, file, message });
  const badName = (file: string, name: string, what: string) =>
    issue(
      'layout-invalid-name',
      file,
      `invalid ${what} name "${name}": use lowercase letters, digits and "-", starting with a letter (${NAME_RE.source}, at most ${NAME_MAX_LENGTH} characters)`,
    );

  for (const entry of entries) {
    if (entry.type === 'tree') continue; // folders are implied by their files
    const parts = entry.path.split('/');
    const top = parts[0]!;
    const reserved = (RESERVED_DIRS as readonly string[]).includes(top);
    if (parts.length === 1 && entry.path !== MANIFEST_FILE && !reserved) continue; // README.md, package.json...
    if (parts.length > 1 && !reserved) continue; // other folders are not ours
    if (entry.mode === '120000') {
      issue(
        'layout-symlink',
        entry.path,
        'symbolic links are not allowed here (their target is not checked)',
      );
      continue;
    }
    if (entry.type === 'commit') {
      issue('layout-unexpected-entry', entry.path, 'submodules are not allowed here');
      continue;
    }
    if (entry.path === MANIFEST_FILE) {
      layout.manifest = entry;
      continue;
    }
    if (parts.length === 1) {
      issue('layout-unexpected-entry', entry.path, `"${top}" must be a folder`);
      continue;
    }
    const file = parts[parts.length - 1]!;
    if (top === 'schemas') {
      if (parts.length > 2) {
        issue(
          'layout-nested',
          entry.path,
          'schemas/ takes no sub-folders: use schemas/<namespace>.schema.json',
        );
        continue;
      }
      const m = SCHEMA_FILE_RE.exec(file);
      if (!m) {
        issue(
          'layout-unexpected-entry',
          entry.path,
          'expected schemas/<namespace>.schema.json or schemas/<namespace>.v<N>.schema.json',
        );
        continue;
      }
      const ns = m[1]!;
      if (!isValidName(ns)) {
        badName(entry.path, ns, 'namespace');
        continue;
      }
      if (m[2] === undefined) {
        layout.schemas.set(ns, entry);
      } else if (!VERSION_RE.test(m[2])) {
        issue(
          'layout-invalid-name',
          entry.path,
          `invalid schema version "${m[2]}" (a positive integer, no leading zero)`,
        );
      } else {
        nested(layout.oldSchemas, ns).set(Number(m[2]), entry);
      }
    } else if (top === 'defaults') {
      if (parts.length > 2) {
        issue('layout-nested', entry.path, 'defaults/ takes no sub-folders: use defaults/<namespace>.yaml');
        continue;
      }
      if (!file.endsWith('.yaml')) {
        issue('layout-unexpected-entry', entry.path, 'expected defaults/<namespace>.yaml');
        continue;
      }
      const ns = file.slice(0, -5);
      if (!isValidName(ns)) badName(entry.path, ns, 'namespace');
      else layout.defaults.set(ns, entry);
    } else if (top === 'environments') {
      if (parts.length === 2) {
        issue('layout-unexpected-entry', entry.path, 'expected environments/<environment>/<namespace>.yaml');
        continue;
      }
      if (parts.length > 3) {
        issue('layout-nested', entry.path, 'environments/<environment>/ takes no sub-folders');
        continue;
      }
      const env = parts[1]!;
      if (!isValidName(env)) {
        badName(entry.path, env, 'environment');
        continue;
      }
      if (!file.endsWith('.yaml')) {
        issue('layout-unexpected-entry', entry.path, 'expected environments/<environment>/<namespace>.yaml');
        continue;
      }
      const ns = file.slice(0, -5);
      if (!isValidName(ns)) badName(entry.path, ns, 'namespace');
      else nested(layout.overrides, env).set(ns, entry);
    } else {
      if (parts.length === 2) {
        issue('layout-unexpected-entry', entry.path, 'expected migrations/<namespace>/<N>.yaml');
        continue;
      }
      if (parts.length > 3) {
        issue('layout-nested', entry.path, 'migrations/<namespace>/ takes no sub-folders');
        continue;
      }
      const ns = parts[1]!;
      if (!isValidName(ns)) {
        badName(entry.path, ns, 'namespace');
        continue;
      }
      if (!file.endsWith('.yaml')) {
        issue('layout-unexpected-entry', entry.path, 'expected migrations/<namespace>/<N>.yaml');
        continue;
      }
      const n = file.slice(0, -5);
      if (!VERSION_RE.test(n) || Number(n) < 2) {
        issue(
          'layout-invalid-name',
          entry.path,
          `invalid migration "${n}": name it <N>.yaml, the step to version N >= 2`,
        );
        continue;
      }
      nested(layout.migrations, ns).set(Number(n), entry);
    }
  }
  return layout;
}

/**
 * Namespaces whose inputs differ between two listings of a tree: a schema, defaults, override or migration
 * file reaches its namespace (every environment of it); undefined when the manifest changed, which reaches
 * everything. Files outside the layout reach nothing (the layout itself is checked on every evaluation).
 */
export function changedNamespaces(
  before: readonly TreeEntry[],
  after: readonly TreeEntry[],
): string[] | undefined {
  const key = (e: TreeEntry) => `${e.mode}\0${e.type}\0${e.oid}`;
  const old = new Map(before.map((e) => [e.path, key(e)]));
  const changed: TreeEntry[] = [];
  for (const entry of after) {
    if (old.get(entry.path) !== key(entry)) changed.push(entry);
    old.delete(entry.path);
  }
  const removed = new Set(old.keys());
  for (const entry of before) if (removed.has(entry.path)) changed.push(entry);
  if (changed.some((e) => e.path === MANIFEST_FILE)) return undefined;
  const layout = classifyEntries(changed);
  const names = new Set([...layout.schemas.keys(), ...layout.oldSchemas.keys(), ...layout.defaults.keys()]);
  for (const files of layout.overrides.values()) for (const ns of files.keys()) names.add(ns);
  for (const ns of layout.migrations.keys()) names.add(ns);
  return [...names].sort();
}
