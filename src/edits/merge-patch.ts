/**
 * JSON merge patch (RFC 7396) over plain values and over YAML documents. The YAML variant edits yaml's Document
 * in place (setIn/deleteIn, scalars mutated where they stay), so comments, key order and formatting of every
 * part the patch does not touch are kept.
 */
import { Document, isAlias, isMap, isScalar, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import { UsageError } from '../errors/index.js';
import type { JsonObject, JsonValue } from '../engine/index.js';

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7396 on plain values: returns the patched copy (`target` is not modified). */
export function applyMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

/** The part of a patch that is added where nothing was: merge patch semantics drop its nulls. */
function withoutNulls(value: JsonValue): JsonValue {
  return applyMergePatch(undefined, value);
}

function patchMap(doc: Document, path: string[], patch: JsonObject): void {
  for (const [key, value] of Object.entries(patch)) {
    const at = [...path, key];
    if (value === null) {
      if (doc.hasIn(at)) doc.deleteIn(at);
      continue;
    }
    const existing = doc.getIn(at, true) as Node | undefined;
    if (isObject(value)) {
      if (isMap(existing) && !existing.tag) patchMap(doc, at, value);
      else doc.setIn(at, doc.createNode(withoutNulls(value)));
      continue;
    }
    if (isScalar(existing) && !existing.tag && !Array.isArray(value) && !isAlias(existing)) {
      // Mutating the scalar keeps its comments; a quoting style only survives while it is still a string.
      if (typeof value !== 'string' || typeof existing.value !== 'string') existing.type = undefined;
      existing.value = value;
      continue;
    }
    doc.setIn(at, doc.createNode(value));
  }
}

/**
 * Applies a merge patch to the YAML text of a mapping file (`null` text = a new file) and returns the new text.
 * The patch must be an object (an override file is a mapping); YAML errors in `text` are UsageErrors.
 */
export function applyMergePatchToYaml(text: string | null, patch: JsonValue): string {
  if (!isObject(patch)) throw new UsageError('a merge patch of a configuration file must be a JSON object');
  const doc: Document =
    text === null || text.trim() === '' ? new Document({}) : parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new UsageError(`the file is not valid YAML (${doc.errors[0]!.code}); replace it with PUT instead`);
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    doc.contents = doc.createNode({});
  }
  if (!isMap(doc.contents))
    throw new UsageError('the file is not a YAML mapping; replace it with PUT instead');
  patchMap(doc, [], patch);
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
