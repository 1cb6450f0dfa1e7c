/** Classifies the entries of a repository tree into manifest, schemas, defaults, overrides and migrations. */
import { MANIFEST_FILE, NAME_MAX_LENGTH, NAME_RE } from './manifest.js';
import type { Issue, TreeEntry } from './types.js';

/** Top-level folders whose content is checked strictly. */
export const RESERVED_DIRS = ['schemas', 'defaults', 'environments', 'migrations'] as const;

/**
 * The files of a configuration repository, by role. Read-only: one layout is shared by every caller that
 * classifies the same listing (see `classifyEntries`).
 */
export interface Layout {
  readonly manifest?: TreeEntry;
  /** namespace -> `schemas/<namespace>.schema.json` */
  readonly schemas: ReadonlyMap<string, TreeEntry>;
  /** namespace -> version -> `schemas/<namespace>.v<N>.schema.json` */
  readonly oldSchemas: ReadonlyMap<string, ReadonlyMap<number, TreeEntry>>;
  /** namespace -> `defaults/<namespace>.yaml` */
  readonly defaults: ReadonlyMap<string, TreeEntry>;
  /** environment -> namespace -> `environments/<env>/<namespace>.yaml` */
  readonly overrides: ReadonlyMap<string, ReadonlyMap<string, TreeEntry>>;
  /** namespace -> version -> `migrations/<namespace>/<N>.yaml` */
  readonly migrations: ReadonlyMap<string, ReadonlyMap<number, TreeEntry>>;
  readonly issues: readonly Issue[];
}

/** A layout while it is being built. */
interface LayoutBuilder {
  manifest?: TreeEntry;
  schemas: Map<string, TreeEntry>;
  oldSchemas: Map<string, Map<number, TreeEntry>>;
  defaults: Map<string, TreeEntry>;
  overrides: Map<string, Map<string, TreeEntry>>;
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

/**
 * Layouts of the listings classified in this process. A sync classifies one listing several times (the pool
 * splits the work, the evaluation checks the layout, the result lists the namespaces): at 10,000 files each
 * pass cost milliseconds, repeated on every one-file change.
 */
const classified = new WeakMap<readonly TreeEntry[], Layout>();

/**
 * Sorts entries into roles; every unexpected entry in the reserved folders is an issue. A listing is classified
 * once: the result is shared, so listings must not change after they are first classified (sources hand out
 * frozen or fresh arrays).
 */
export function classifyEntries(entries: readonly TreeEntry[]): Layout {
  let layout = classified.get(entries);
  if (!layout) classified.set(entries, (layout = classifyListing(entries)));
  return layout;
}

/** Where one entry belongs: a role (with its names), an issue, or nowhere (files that are not ours). */
type Placement =
  | { role: 'manifest' }
  | { role: 'schema' | 'defaults'; ns: string }
  | { role: 'old-schema' | 'migration'; ns: string; version: number }
  | { role: 'override'; env: string; ns: string }
  | { issue: Pick<Issue, 'code' | 'message'> }
  | null;

/**
 * Placements of the entries seen so far. Listings derived from the last one share its unchanged entry objects,
 * so a one-file sync places one entry and looks the others up.
 */
const placements = new WeakMap<TreeEntry, Placement>();

function classifyListing(entries: readonly TreeEntry[]): Layout {
  const layout: LayoutBuilder = {
    schemas: new Map(),
    oldSchemas: new Map(),
    defaults: new Map(),
    overrides: new Map(),
    migrations: new Map(),
    issues: [],
  };
  for (const entry of entries) {
    let placed = placements.get(entry);
    if (placed === undefined) placements.set(entry, (placed = placeEntry(entry)));
    if (placed === null) continue;
    if ('issue' in placed) {
      layout.issues.push({ code: placed.issue.code, file: entry.path, message: placed.issue.message });
      continue;
    }
    switch (placed.role) {
      case 'manifest':
        layout.manifest = entry;
        break;
      case 'schema':
        layout.schemas.set(placed.ns, entry);
        break;
      case 'defaults':
        layout.defaults.set(placed.ns, entry);
        break;
      case 'old-schema':
        nested(layout.oldSchemas, placed.ns).set(placed.version, entry);
        break;
      case 'migration':
        nested(layout.migrations, placed.ns).set(placed.version, entry);
        break;
      case 'override':
        nested(layout.overrides, placed.env).set(placed.ns, entry);
        break;
    }
  }
  return layout;
}

function placeEntry(entry: TreeEntry): Placement {
  const issue = (code: Issue['code'], message: string): Placement => ({ issue: { code, message } });
  const badName = (name: string, what: string) =>
    issue(
      'layout-invalid-name',
      `invalid ${what} name "${name}": use lowercase letters, digits and "-", starting with a letter (${NAME_RE.source}, at most ${NAME_MAX_LENGTH} characters)`,
    );

  if (entry.type === 'tree') return null; // folders are implied by their files
  const parts = entry.path.split('/');
  const top = parts[0]!;
  const reserved = (RESERVED_DIRS as readonly string[]).includes(top);
  if (parts.length === 1 && entry.path !== MANIFEST_FILE && !reserved) return null; // README.md, package.json...
  if (parts.length > 1 && !reserved) return null; // other folders are not ours
  if (entry.mode === '120000') {
    return issue('layout-symlink', 'symbolic links are not allowed here (their target is not checked)');
  }
  if (entry.type === 'commit') return issue('layout-unexpected-entry', 'submodules are not allowed here');
  if (entry.path === MANIFEST_FILE) return { role: 'manifest' };
  if (parts.length === 1) return issue('layout-unexpected-entry', `"${top}" must be a folder`);
  const file = parts[parts.length - 1]!;
  if (top === 'schemas') {
    if (parts.length > 2) {
      return issue('layout-nested', 'schemas/ takes no sub-folders: use schemas/<namespace>.schema.json');
    }
    const m = SCHEMA_FILE_RE.exec(file);
    if (!m) {
      return issue(
        'layout-unexpected-entry',
        'expected schemas/<namespace>.schema.json or schemas/<namespace>.v<N>.schema.json',
      );
    }
    const ns = m[1]!;
    if (!isValidName(ns)) return badName(ns, 'namespace');
    if (m[2] === undefined) return { role: 'schema', ns };
    if (!VERSION_RE.test(m[2])) {
      return issue(
        'layout-invalid-name',
        `invalid schema version "${m[2]}" (a positive integer, no leading zero)`,
      );
    }
    return { role: 'old-schema', ns, version: Number(m[2]) };
  }
  if (top === 'defaults') {
    if (parts.length > 2) {
      return issue('layout-nested', 'defaults/ takes no sub-folders: use defaults/<namespace>.yaml');
    }
    if (!file.endsWith('.yaml'))
      return issue('layout-unexpected-entry', 'expected defaults/<namespace>.yaml');
    const ns = file.slice(0, -5);
    return isValidName(ns) ? { role: 'defaults', ns } : badName(ns, 'namespace');
  }
  if (top === 'environments') {
    if (parts.length === 2) {
      return issue('layout-unexpected-entry', 'expected environments/<environment>/<namespace>.yaml');
    }
    if (parts.length > 3) {
      return issue('layout-nested', 'environments/<environment>/ takes no sub-folders');
    }
    const env = parts[1]!;
    if (!isValidName(env)) return badName(env, 'environment');
    if (!file.endsWith('.yaml')) {
      return issue('layout-unexpected-entry', 'expected environments/<environment>/<namespace>.yaml');
    }
    const ns = file.slice(0, -5);
    return isValidName(ns) ? { role: 'override', env, ns } : badName(ns, 'namespace');
  }
  if (parts.length === 2) return issue('layout-unexpected-entry', 'expected migrations/<namespace>/<N>.yaml');
  if (parts.length > 3) return issue('layout-nested', 'migrations/<namespace>/ takes no sub-folders');
  const ns = parts[1]!;
  if (!isValidName(ns)) return badName(ns, 'namespace');
  if (!file.endsWith('.yaml'))
    return issue('layout-unexpected-entry', 'expected migrations/<namespace>/<N>.yaml');
  const n = file.slice(0, -5);
  if (!VERSION_RE.test(n) || Number(n) < 2) {
    return issue(
      'layout-invalid-name',
      `invalid migration "${n}": name it <N>.yaml, the step to version N >= 2`,
    );
  }
  return { role: 'migration', ns, version: Number(n) };
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
  const stretch = listingSplice(before, after);
  const was = before.slice(stretch.start, stretch.beforeEnd);
  const now = after.slice(stretch.start, stretch.afterEnd);
  const key = (e: TreeEntry) => `${e.mode}\0${e.type}\0${e.oid}`;
  const old = new Map(was.map((e) => [e.path, key(e)]));
  const changed: TreeEntry[] = [];
  for (const entry of now) {
    if (old.get(entry.path) !== key(entry)) changed.push(entry);
    old.delete(entry.path);
  }
  const removed = new Set(old.keys());
  for (const entry of was) if (removed.has(entry.path)) changed.push(entry);
  if (changed.some((e) => e.path === MANIFEST_FILE)) return undefined;
  const layout = classifyEntries(changed);
  const names = new Set([...layout.schemas.keys(), ...layout.oldSchemas.keys(), ...layout.defaults.keys()]);
  for (const files of layout.overrides.values()) for (const ns of files.keys()) names.add(ns);
  for (const ns of layout.migrations.keys()) names.add(ns);
  return [...names].sort();
}

/**
 * How many entries differ between two sorted listings (changed, added or removed), counting no further than
 * `atMost`: what choosing the nearest of several built trees as the base of a new build compares.
 */
export function listingDistance(
  before: readonly TreeEntry[],
  after: readonly TreeEntry[],
  atMost = Number.POSITIVE_INFINITY,
): number {
  const { start, beforeEnd, afterEnd } = listingSplice(before, after);
  let i = start;
  let j = start;
  let distance = 0;
  while ((i < beforeEnd || j < afterEnd) && distance <= atMost) {
    const a = before[i];
    const b = after[j];
    if (a && b && a.path === b.path) {
      if (a.oid !== b.oid || a.mode !== b.mode || a.type !== b.type) distance++;
      i++;
      j++;
    } else if (!b || (a && a.path < b.path)) {
      distance++;
      i++;
    } else {
      distance++;
      j++;
    }
  }
  return distance;
}

/**
 * Where two listings differ: `after` is `before` with `before[start, beforeEnd)` replaced by
 * `after[start, afterEnd)`. Found by skipping the common head and tail, so a one-file change to a sorted
 * listing costs a comparison per entry, never a map of every path.
 */
export interface ListingSplice {
  start: number;
  beforeEnd: number;
  afterEnd: number;
}

/** The stretch where two listings differ (the same entry objects, or equal path, oid, mode and type). */
export function listingSplice(before: readonly TreeEntry[], after: readonly TreeEntry[]): ListingSplice {
  const same = (a: TreeEntry, b: TreeEntry) =>
    a === b || (a.path === b.path && a.oid === b.oid && a.mode === b.mode && a.type === b.type);
  const shorter = Math.min(before.length, after.length);
  let start = 0;
  while (start < shorter && same(before[start]!, after[start]!)) start++;
  let beforeEnd = before.length;
  let afterEnd = after.length;
  while (beforeEnd > start && afterEnd > start && same(before[beforeEnd - 1]!, after[afterEnd - 1]!)) {
    beforeEnd--;
    afterEnd--;
  }
  return { start, beforeEnd, afterEnd };
}
