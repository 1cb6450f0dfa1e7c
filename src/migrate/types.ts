/** Types of parsed migrations and of the trees they operate on. */
import type { JsonPrimitive, JsonValue, Origin } from '../values/index.js';
import type { ConversionName } from './conversions.js';

/** `rename: {from, to}`: moves a value (and its origins) to a new path; inverse: the swapped rename. */
export interface RenameOperation {
  kind: 'rename';
  from: string;
  to: string;
}

/** `set: {path, value}`: gives the defaults document a value it lacks; inverse: remove the path. */
export interface SetOperation {
  kind: 'set';
  path: string;
  value: JsonValue;
  /** Where the value (and each part of it, by pointer relative to the value) was written in the migration. */
  origins?: ReadonlyMap<string, Origin>;
}

/** `remove: {path, restore?}`: deletes a value from every document; inverse: put `restore` back (if given). */
export interface RemoveOperation {
  kind: 'remove';
  path: string;
  restore?: JsonValue;
  origins?: ReadonlyMap<string, Origin>;
}

/** `convert: {path, from, to}`: a named built-in conversion; inverse: `{from: to, to: from}`. */
export interface NamedConvertOperation {
  kind: 'convert';
  path: string;
  from: ConversionName;
  to: ConversionName;
}

/** `convert: {path, table}`: maps listed scalars one-to-one; inverse: the reversed table. */
export interface TableConvertOperation {
  kind: 'convert';
  path: string;
  table: ReadonlyArray<readonly [string, JsonPrimitive]>;
  /** Maps new values back to old ones (the inverse of a table conversion). */
  reverse?: boolean;
}

/** One declarative operation of a migration step (never code). */
export type Operation =
  RenameOperation | SetOperation | RemoveOperation | NamedConvertOperation | TableConvertOperation;

/** Kind of value found at a path. */
export type NodeKind = 'object' | 'array' | 'scalar' | 'null';

/** Which document an operation runs on: a defaults layer, an override layer, or a merged result. */
export type LayerKind = 'defaults' | 'override' | 'merged';

/** The minimal tree the operations need; implemented over plain values and over yaml Documents. */
export interface MigrationTree {
  /** Kind of the value at `path`, or undefined when absent. */
  kind(path: readonly string[]): NodeKind | undefined;
  /** Keys of the mapping (or indices of the list) at `path`. */
  keys(path: readonly string[]): string[];
  /** True when the mapping or list at `path` has no entries. */
  isEmpty(path: readonly string[]): boolean;
  /** Plain value at `path`. */
  get(path: readonly string[]): JsonValue | undefined;
  /** Adds a value at an absent `path` whose parent is a mapping (right after the key `after`, if given). */
  put(path: readonly string[], value: JsonValue, origins?: ReadonlyMap<string, Origin>, after?: string): void;
  /** Replaces the existing value at `path` (keeping its position and comments). */
  replace(path: readonly string[], value: JsonValue): void;
  /** Deletes the value at `path`. */
  remove(path: readonly string[]): void;
  /** Moves the value at `from` to the absent `to`, whose parent is a mapping. */
  move(from: readonly string[], to: readonly string[]): void;
}
