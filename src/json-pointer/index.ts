/** JSON Pointer (RFC 6901) tokens, shared by the engine and the migrations (both pure, neither imports the other). */

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
