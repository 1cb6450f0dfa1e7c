/** JSON Pointer (RFC 6901) helpers and safe property writes for plain JSON objects. */
import { escapeToken, parsePointer } from '../json-pointer/index.js';
import type { JsonObject, JsonValue } from './types.js';

export { escapeToken, parsePointer };

/** The pointer of the parent container (`''` for top-level keys and for the root itself). */
export function parentPointer(pointer: string): string {
  const i = pointer.lastIndexOf('/');
  return i <= 0 ? '' : pointer.slice(0, i);
}

/** True for a JSON object (not an array, not null). */
export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets an own enumerable property, also for `__proto__` (which a plain assignment would turn into a prototype). */
export function setKey(obj: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/** Value at a JSON pointer, or `undefined` when absent. */
export function valueAtPointer(value: JsonValue, pointer: string): JsonValue | undefined {
  let cur: JsonValue | undefined = value;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      cur = cur[Number(token)];
    } else if (isJsonObject(cur)) {
      cur = Object.prototype.hasOwnProperty.call(cur, token) ? cur[token] : undefined;
    } else {
      return undefined;
    }
  }
  return cur;
}
