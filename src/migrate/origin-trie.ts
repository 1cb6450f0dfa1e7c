/** Origins (JSON pointer -> position) stored as a tree of path segments, so moving a subtree is cheap. */
import type { Origin } from '../values/index.js';
import { formatPointer, parsePointer } from './json-pointer.js';

/** One node of the trie: the origin of this path (if known) and the nodes below it. */
export interface OriginNode {
  origin?: Origin;
  children?: Map<string, OriginNode>;
}

/** Mutable origins of a document under migration; converts from and to the engine's flat map. */
export class OriginTrie {
  private readonly root: OriginNode = {};

  /** Builds the trie from a flat map of pointers. */
  constructor(origins: ReadonlyMap<string, Origin> = new Map()) {
    for (const [pointer, origin] of origins) this.set(parsePointer(pointer), origin);
  }

  /** The origin recorded for exactly `path`. */
  get(path: readonly string[]): Origin | undefined {
    return this.find(path)?.origin;
  }

  /** The origin of `path` or of its closest ancestor that has one. */
  nearest(path: readonly string[]): Origin | undefined {
    let node: OriginNode | undefined = this.root;
    let found = node.origin;
    for (const segment of path) {
      node = node.children?.get(segment);
      if (!node) break;
      if (node.origin) found = node.origin;
    }
    return found;
  }

  /** Records the origin of `path`. */
  set(path: readonly string[], origin: Origin): void {
    let node = this.root;
    for (const segment of path) {
      node.children ??= new Map();
      let child = node.children.get(segment);
      if (!child) node.children.set(segment, (child = {}));
      node = child;
    }
    node.origin = origin;
  }

  /** Detaches and returns the subtree at `path`. */
  take(path: readonly string[]): OriginNode | undefined {
    if (path.length === 0) return undefined;
    const parent = this.find(path.slice(0, -1));
    const key = path[path.length - 1] as string;
    const node = parent?.children?.get(key);
    if (node) parent?.children?.delete(key);
    return node;
  }

  /** Attaches a subtree at `path` (replacing what was there). */
  attach(path: readonly string[], node: OriginNode): void {
    if (path.length === 0) return;
    let parent = this.root;
    for (const segment of path.slice(0, -1)) {
      parent.children ??= new Map();
      let child = parent.children.get(segment);
      if (!child) parent.children.set(segment, (child = {}));
      parent = child;
    }
    parent.children ??= new Map();
    parent.children.set(path[path.length - 1] as string, node);
  }

  /** Forgets the origins below `path` (keeping the one of `path` itself). */
  clearBelow(path: readonly string[]): void {
    const node = this.find(path);
    if (node) delete node.children;
  }

  /** After removing item `index` of the list at `listPath`, renumbers the origins of the later items. */
  removeItem(listPath: readonly string[], index: number): void {
    const node = this.find(listPath);
    if (!node?.children) return;
    const renumbered = new Map<string, OriginNode>();
    for (const [key, child] of node.children) {
      const item = Number(key);
      if (item === index) continue;
      renumbered.set(String(item > index ? item - 1 : item), child);
    }
    node.children = renumbered;
  }

  /** The flat map (pointer -> origin) the engine uses. */
  toMap(): Map<string, Origin> {
    const map = new Map<string, Origin>();
    const walk = (node: OriginNode, path: string[]): void => {
      if (node.origin) map.set(formatPointer(path), node.origin);
      for (const [key, child] of node.children ?? []) walk(child, [...path, key]);
    };
    walk(this.root, []);
    return map;
  }

  private find(path: readonly string[]): OriginNode | undefined {
    let node: OriginNode | undefined = this.root;
    for (const segment of path) {
      node = node.children?.get(segment);
      if (!node) return undefined;
    }
    return node;
  }
}
