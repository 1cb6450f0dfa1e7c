/**
 * The leaf of the module map: plain JSON values, JSON pointers, issues and origins. Every module may import it;
 * it imports nothing of gitcfg.
 */
export type { JsonObject, JsonPrimitive, JsonValue } from './json.js';
export { isJsonObject, setKey } from './json.js';
export { escapeToken, formatPointer, parentPointer, parsePointer, valueAtPointer } from './json-pointer.js';
export type { Issue, IssueCode, Origin } from './issue.js';
export { valueAtPath } from './value-path.js';
