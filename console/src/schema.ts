/** JSON Schema lookups the console needs: the sub-schema at a path, titles and secrets. */
export type Schema = {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  default?: unknown;
  required?: string[];
  'x-gitcfg-secret'?: boolean;
  $ref?: string;
  $defs?: Record<string, Schema>;
  definitions?: Record<string, Schema>;
  [key: string]: unknown;
};

/** Follows a local `$ref` (`#/$defs/x`, `#/definitions/x`). */
export function deref(root: Schema, s: Schema | undefined): Schema | undefined {
  let cur = s;
  for (let i = 0; cur?.$ref && i < 10; i++) {
    const parts = cur.$ref.replace(/^#\//, '').split('/');
    let next: unknown = root;
    for (const p of parts) next = (next as Record<string, unknown> | undefined)?.[p];
    cur = next as Schema | undefined;
  }
  return cur;
}

/** The sub-schema at JSON pointer tokens. */
export function schemaAt(root: Schema, tokens: string[]): Schema | undefined {
  let cur: Schema | undefined = deref(root, root);
  for (const t of tokens) {
    if (!cur) return undefined;
    cur = deref(root, /^\d+$/.test(t) && cur.items ? cur.items : cur.properties?.[t]);
  }
  return cur;
}

export function typeOf(s: Schema | undefined): string | undefined {
  const t = s?.type;
  return Array.isArray(t) ? t.find((x) => x !== 'null') : t;
}

export function pointerTokens(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function pointer(tokens: string[]): string {
  return tokens.map((t) => `/${t.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}
