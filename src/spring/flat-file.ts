/** Flat files as Spring's server serves them: the merged document as YAML, Java `.properties` or JSON. */
import type { JsonObject, JsonPrimitive } from '../values/index.js';
import { renderBody, renderJson, renderYaml } from '../snapshot/index.js';
import type { RenderedBody } from '../snapshot/index.js';
import { flattenProperties } from './flatten.js';
import type { SpringFileFormat } from './request-path.js';

/** Content types of the flat files. */
export const FLAT_FILE_CONTENT_TYPE: Readonly<Record<SpringFileFormat, string>> = {
  yaml: 'application/yaml; charset=utf-8',
  properties: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

/**
 * Escapes for `java.util.Properties.load`: `\`, line breaks, tabs and form feeds always; `=`, `:`, `#`, `!` and
 * spaces in keys; a leading space in values; anything outside printable ASCII as `\uXXXX` (the reader's
 * default charset is ISO-8859-1, so this is the only portable form).
 */
function escapeProperties(text: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const code = text.charCodeAt(i);
    if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\f') out += '\\f';
    else if (ch === ' ' && (isKey || i === 0)) out += '\\ ';
    else if ('=:#!'.includes(ch) && (isKey || i === 0)) out += `\\${ch}`;
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

function propertyText(value: JsonPrimitive): string {
  return value === null ? '' : String(value);
}

/** Renders a document as Java properties, one flat key per line in document order. */
export function renderProperties(document: JsonObject): string {
  const lines = Object.entries(flattenProperties(document)).map(
    ([key, value]) => `${escapeProperties(key, true)}=${escapeProperties(propertyText(value), false)}`,
  );
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** Renders a merged document as one of Spring's flat files (with its ETag). */
export function renderFlatFile(document: JsonObject, format: SpringFileFormat): RenderedBody {
  switch (format) {
    case 'yaml':
      return renderYaml(document);
    case 'properties':
      return renderBody(renderProperties(document));
    case 'json':
      return renderJson(document);
  }
}
