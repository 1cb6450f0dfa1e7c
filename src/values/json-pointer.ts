/** JSON Pointer (RFC 6901): tokens, and the value a pointer designates. */
import { isJsonObject, type JsonValue } from './json.js';

/** Escapes one reference token of a JSON pointer. */
export function escapeToken(key: string): string {
  return key.includes('~') || key.includes('/') ? key.replace(/~/g, '~0').replace(/\//g, '~1') : key;
}

/** Splits a JSON pointer into unescaped tokens (`''` -> `[]`). */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Joins unescaped tokens into a JSON pointer. */
export function formatPointer(tokens: readonly string[]): string {
  return tokens.map((token) => `/${escapeToken(token)}`).join('');
}

/** The pointer of the parent container (`''` for top-level keys and for the root itself). */
export function parentPointer(pointer: string): string {
  const i = pointer.lastIndexOf('/');
  return i <= 0 ? '' : pointer.slice(0, i);
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
