/**
 * The one path syntax of the client's `get(ns, { path })` and the server's `?path=`: a JSON pointer when the
 * path starts with `/` (`/a/b/1`, `~1` for `/`, `~0` for `~`), else dotted keys (`a.b.1`).
 */
import type { JsonValue } from './json.js';
import { formatPointer, valueAtPointer } from './json-pointer.js';

/**
 * The value at `path`, or undefined when absent. `''` is the whole value; array indexes are canonical
 * (`0`, `1`, never `01` or `+1`); only own properties resolve, so `__proto__` or `constructor` never reach a
 * prototype.
 */
export function valueAtPath(value: JsonValue, path: string): JsonValue | undefined {
  const pointer = path === '' || path.startsWith('/') ? path : formatPointer(path.split('.'));
  return valueAtPointer(value, pointer);
}
