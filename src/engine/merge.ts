/** Layer merge with provenance: maps merge deeply, arrays and scalars replace, `!delete` removes inherited keys. */
import { escapeToken, isJsonObject, setKey } from '../values/index.js';
import type { JsonObject, JsonValue, Origin } from './types.js';

/** One input of a merge, lowest precedence first. */
export interface MergeLayer {
  value: JsonObject;
  /** Keys deleted by this layer: parent pointer -> keys. */
  deletes: ReadonlyMap<string, readonly string[]>;
  origins: ReadonlyMap<string, Origin>;
  /** Pointers of mappings written only to hold deletions: not an origin of anything. */
  deleteOnly?: ReadonlySet<string>;
  /** Where each `!delete` of this layer was written, by pointer of the deleted key. */
  deleteOrigins?: ReadonlyMap<string, Origin>;
}

function mergeValue(
  base: JsonValue | undefined,
  over: JsonValue,
  ptr: string,
  deletes: ReadonlyMap<string, readonly string[]> | undefined,
): JsonValue {
  if (!isJsonObject(over) || !isJsonObject(base)) return over;
  const deleted = deletes?.get(ptr);
  const out: JsonObject = {};
  for (const key of Object.keys(base)) {
    if (deleted?.includes(key)) continue;
    setKey(out, key, base[key]!);
  }
  for (const key of Object.keys(over)) {
    const o = over[key]!;
    const b = Object.prototype.hasOwnProperty.call(out, key) ? out[key] : undefined;
    // A deletion always comes with its parent keys in the same layer, so recursing along `over` reaches it.
    const childPtr = deletes ? `${ptr}/${escapeToken(key)}` : '';
    if (isJsonObject(o) && isJsonObject(b)) {
      setKey(out, key, mergeValue(b, o, childPtr, deletes));
    } else if (deletes && isJsonObject(o)) {
      // Nothing below to delete from: mappings written only to reach `!delete` keys must not appear.
      const kept = withoutDeleteScaffolding(o, childPtr, deletes);
      if (kept !== undefined) setKey(out, key, kept);
    } else {
      setKey(out, key, o);
    }
  }
  return Object.freeze(out);
}

/** `value` without the mappings that only hold deletions (undefined when nothing else is left). */
function withoutDeleteScaffolding(
  value: JsonObject,
  ptr: string,
  deletes: ReadonlyMap<string, readonly string[]>,
): JsonObject | undefined {
  const out: JsonObject = {};
  let dropped = false;
  for (const key of Object.keys(value)) {
    const v = value[key]!;
    if (isJsonObject(v)) {
      const kept = withoutDeleteScaffolding(v, `${ptr}/${escapeToken(key)}`, deletes);
      if (kept === undefined) dropped = true;
      else setKey(out, key, kept);
    } else {
      setKey(out, key, v);
    }
  }
  if (Object.keys(out).length === 0 && (dropped || deletes.has(ptr))) return undefined;
  return dropped ? Object.freeze(out) : value;
}

/** Merges layers (lowest precedence first) and computes the origin of every pointer of the result. */
export function mergeLayers(layers: readonly MergeLayer[]): {
  value: JsonObject;
  origins: Map<string, Origin>;
  /** Keys absent from the result because a layer deleted them -> where the winning `!delete` was written. */
  deleted: Map<string, Origin>;
} {
  let value: JsonValue = layers[0]?.value ?? {};
  for (let i = 1; i < layers.length; i++) {
    const layer = layers[i]!;
    value = mergeValue(value, layer.value, '', layer.deletes.size > 0 ? layer.deletes : undefined);
  }
  const origins = new Map<string, Origin>();
  // The origin of a pointer is the highest layer that wrote it: for a leaf that is the layer its value came
  // from; for a merged map it is the most specific layer that mentions the key.
  const walk = (v: JsonValue, ptr: string) => {
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i]!;
      const o = layer.origins.get(ptr);
      if (o && !layer.deleteOnly?.has(ptr)) {
        origins.set(ptr, o);
        break;
      }
    }
    if (Array.isArray(v)) v.forEach((item, i) => walk(item, `${ptr}/${i}`));
    else if (isJsonObject(v)) for (const k of Object.keys(v)) walk(v[k]!, `${ptr}/${escapeToken(k)}`);
  };
  walk(value, '');
  const deleted = new Map<string, Origin>();
  for (const layer of layers.slice(1)) {
    for (const [p, o] of layer.deleteOrigins ?? []) deleted.set(p, o);
  }
  for (const p of deleted.keys()) if (origins.has(p)) deleted.delete(p);
  return { value: value as JsonObject, origins, deleted };
}
