/** {@link MigrationTree} over a plain JSON value, moving the origins (JSON pointer -> position) with the values. */
import type { JsonObject, JsonValue, Origin } from '../values/index.js';
import { formatPointer, parsePointer } from './json-pointer.js';
import { OriginTrie } from './origin-trie.js';
import type { MigrationTree, NodeKind } from './types.js';

type Container = JsonObject | JsonValue[];

/**
 * Stands for a key an override deletes (`key: !delete`) while operations run, so renames move the deletion
 * with the key; it behaves as `null` (skipped by conversions).
 */
export const DELETED_MARK: JsonObject = Object.freeze({}) as JsonObject;

/** A mutable document plus the origins of its values; operations mutate both together. */
export class PlainTree implements MigrationTree {
  readonly origins: OriginTrie;

  /** Wraps `root` (mutated: pass a copy) and a copy of its origins. */
  constructor(
    readonly root: JsonObject,
    origins: ReadonlyMap<string, Origin> = new Map(),
  ) {
    this.origins = new OriginTrie(origins);
  }

  kind(path: readonly string[]): NodeKind | undefined {
    return kindOf(this.get(path));
  }

  keys(path: readonly string[]): string[] {
    const value = this.get(path);
    if (Array.isArray(value)) return value.map((_, i) => String(i));
    return isMapping(value) ? Object.keys(value) : [];
  }

  isEmpty(path: readonly string[]): boolean {
    const value = this.get(path);
    if (Array.isArray(value)) return value.length === 0;
    if (!isMapping(value)) return true;
    for (const key in value) if (Object.hasOwn(value, key)) return false;
    return true;
  }

  get(path: readonly string[]): JsonValue | undefined {
    let current: JsonValue | undefined = this.root;
    for (const segment of path) {
      if (current === null || typeof current !== 'object') return undefined;
      if (Array.isArray(current)) current = current[Number(segment)];
      else current = Object.hasOwn(current, segment) ? current[segment] : undefined;
    }
    return current;
  }

  put(path: readonly string[], value: JsonValue, origins?: ReadonlyMap<string, Origin>): void {
    setOwn(this.container(path) as JsonObject, path[path.length - 1] as string, value);
    for (const [relative, origin] of origins ?? []) {
      const at = [...path, ...parsePointer(relative)];
      if (this.get(at) !== undefined) this.origins.set(at, origin);
    }
  }

  replace(path: readonly string[], value: JsonValue): void {
    const parent = this.container(path);
    const key = path[path.length - 1] as string;
    if (Array.isArray(parent)) parent[Number(key)] = value;
    else setOwn(parent, key, value);
    // The value keeps the origin of what it replaced; its parts (if any) were written at the same place.
    const origin = this.origins.get(path);
    this.origins.clearBelow(path);
    if (origin) for (const inner of innerPaths(value, [...path])) this.origins.set(inner, origin);
  }

  remove(path: readonly string[]): void {
    const parent = this.container(path);
    const key = path[path.length - 1] as string;
    if (Array.isArray(parent)) {
      parent.splice(Number(key), 1);
      this.origins.removeItem(path.slice(0, -1), Number(key));
    } else {
      delete parent[key];
      this.origins.take(path);
    }
  }

  move(from: readonly string[], to: readonly string[]): void {
    const value = this.get(from) as JsonValue;
    const moved = this.origins.take(from);
    this.remove(from);
    setOwn(this.container(to) as JsonObject, to[to.length - 1] as string, value);
    if (!moved) return;
    this.origins.attach(to, moved);
    // Mappings created to hold the moved value point at where that value was written.
    if (moved.origin) {
      for (let depth = 1; depth < to.length; depth++) {
        const ancestor = to.slice(0, depth);
        if (!this.origins.get(ancestor)) this.origins.set(ancestor, moved.origin);
      }
    }
  }

  /** Puts a {@link DELETED_MARK} at each deleted key (parent pointer -> keys) whose parent mapping exists. */
  markDeletes(deletes: ReadonlyMap<string, readonly string[]>): void {
    for (const [parent, keys] of deletes) {
      const container = this.get(parsePointer(parent));
      if (!isMapping(container)) continue;
      for (const key of keys) if (!Object.hasOwn(container, key)) setOwn(container, key, DELETED_MARK);
    }
  }

  /** Removes every {@link DELETED_MARK} and returns where they ended up (parent pointer -> keys). */
  takeDeletes(): Map<string, string[]> {
    const deletes = new Map<string, string[]>();
    const walk = (value: JsonValue, pointer: string): void => {
      if (value === null || typeof value !== 'object' || value === DELETED_MARK) return;
      if (Array.isArray(value)) {
        value.forEach((item, i) => walk(item, `${pointer}/${i}`));
        return;
      }
      for (const [key, item] of Object.entries(value)) {
        if (item === DELETED_MARK) {
          delete value[key];
          deletes.set(pointer, [...(deletes.get(pointer) ?? []), key]);
        } else {
          walk(item, pointer + formatPointer([key]));
        }
      }
    };
    walk(this.root, '');
    return deletes;
  }

  private container(path: readonly string[]): Container {
    return this.get(path.slice(0, -1)) as Container;
  }
}

/** Kind of a plain value (undefined when absent). */
export function kindOf(value: JsonValue | undefined): NodeKind | undefined {
  if (value === undefined) return undefined;
  if (value === null || value === DELETED_MARK) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : 'scalar';
}

function isMapping(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && value !== DELETED_MARK;
}

/** Sets an own property, also for keys such as `__proto__` that plain assignment would not create. */
function setOwn(object: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

/** Paths of everything inside a value (not the value itself). */
function innerPaths(value: JsonValue, base: string[]): string[][] {
  const paths: string[][] = [];
  if (value !== null && typeof value === 'object' && value !== DELETED_MARK) {
    const entries = Array.isArray(value)
      ? value.map((item, i) => [String(i), item] as const)
      : Object.entries(value);
    for (const [key, item] of entries) {
      const path = [...base, key];
      paths.push(path, ...innerPaths(item, path));
    }
  }
  return paths;
}
