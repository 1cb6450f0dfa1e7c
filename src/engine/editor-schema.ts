/**
 * Schemas for editors (yaml-language-server): the namespace schema as a generic JSON Schema validator can apply
 * it to one file. gitcfg itself always validates with the original.
 */
import { SCHEMA_VERSION_KEY } from './evaluate.js';
import { isJsonObject, setKey } from '../values/index.js';
import type { JsonObject, JsonValue } from './types.js';

/** Which file the editor schema is for. */
export type EditorSchemaTarget = 'defaults' | 'override';

/**
 * Derives the schema an editor applies to a defaults file or an environment override:
 * - `$data` references (an Ajv extension, `minimum: {$data: ...}`) are dropped: a standard validator would
 *   reject the schema itself; gitcfg still checks them;
 * - `$schemaVersion`, which gitcfg strips before validating, is declared at the root, so
 *   `additionalProperties: false` does not flag it;
 * - for an override (which sets only some keys), `required` and `dependentRequired` are dropped everywhere: the
 *   merged document has them, the file need not.
 */
export function editorSchema(schema: JsonObject, target: EditorSchemaTarget): JsonObject {
  const out = strip(schema, target) as JsonObject;
  const properties = isJsonObject(out.properties) ? out.properties : {};
  out.properties = {
    ...properties,
    [SCHEMA_VERSION_KEY]: {
      type: 'integer',
      minimum: 1,
      description: 'Schema version this document is written for (gitcfg migrates older documents).',
    },
  };
  return out;
}

/** Keywords whose value maps names to subschemas: the names are data, not keywords. */
const NAME_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose value is instance data, copied as it is. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples']);

function strip(schema: JsonValue, target: EditorSchemaTarget): JsonValue {
  if (Array.isArray(schema)) return schema.map((item) => strip(item, target));
  if (!isJsonObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [keyword, child] of Object.entries(schema)) {
    if (isJsonObject(child) && '$data' in child) continue;
    if (target === 'override' && (keyword === 'required' || keyword === 'dependentRequired')) continue;
    if (DATA_KEYWORDS.has(keyword)) setKey(out, keyword, child);
    else if (NAME_MAPS.has(keyword) && isJsonObject(child)) {
      const names: JsonObject = {};
      for (const [name, sub] of Object.entries(child)) setKey(names, name, strip(sub, target));
      setKey(out, keyword, names);
    } else setKey(out, keyword, strip(child, target));
  }
  return out;
}
