/** Rendering of documents into response bodies with strong ETags. */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { JsonObject, JsonValue } from '../engine/index.js';
import { valueAtPath } from '../values/index.js';
import type { RenderedBody, RenderedDocument } from './types.js';

/** Strong ETag of a body: the quoted base64url SHA-256 of its bytes. */
export function etagOf(body: Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('base64url')}"`;
}

/** Renders bytes with their ETag. */
export function renderBody(text: string): RenderedBody {
  const body = Buffer.from(text, 'utf8');
  return { body, etag: etagOf(body) };
}

/** Renders a value as JSON (compact, trailing newline). */
export function renderJson(value: JsonValue): RenderedBody {
  return renderBody(`${JSON.stringify(value)}\n`);
}

/** Renders a value as YAML. */
export function renderYaml(value: JsonValue): RenderedBody {
  return renderBody(stringify(value, { aliasDuplicateObjects: false, lineWidth: 0 }));
}

/** Renders a document in both formats. */
export function renderDocument(value: JsonObject): RenderedDocument {
  return { value, json: renderJson(value), yaml: renderYaml(value) };
}

/**
 * Renders JSON now and YAML on first use, for every document of a snapshot: YAML rendering of a large bundle
 * dominated a sync of a big repository (~160 ms for 1,667 namespaces), and rendering it for every pair was
 * most of the garbage of a cold build, while few documents are ever asked for as YAML.
 */
export function renderDocumentLazyYaml(value: JsonObject): RenderedDocument {
  return new LazyYamlDocument(value);
}

/** A class rather than a literal with a getter: thousands of pairs share one compact shape, no closures. */
class LazyYamlDocument implements RenderedDocument {
  readonly value: JsonObject;
  readonly json: RenderedBody;
  #yaml: RenderedBody | undefined;

  constructor(value: JsonObject) {
    this.value = value;
    this.json = renderJson(value);
  }

  get yaml(): RenderedBody {
    return (this.#yaml ??= renderYaml(this.value));
  }
}

/** The `?path=` part of a document: the path syntax the client SDK uses too (`valueAtPath`). */
export function subtree(value: JsonValue, path: string): JsonValue | undefined {
  return valueAtPath(value, path);
}
