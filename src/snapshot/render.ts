/** Rendering of documents into response bodies with strong ETags. */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { JsonObject, JsonValue } from '../engine/index.js';
import { valueAtPath } from '../values/index.js';
import type { RenderedBody, RenderedBundle, RenderedConfig, RenderedDocument } from './types.js';

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
 * The bundle of one environment: `{ <namespace>: <config> }` of its members, in their order. JSON is joined
 * from the members' own bodies (the same bytes as serialising the object, without serialising every member again
 * when one changed); the value and the YAML are made on first use: YAML rendering of a large bundle dominated
 * a sync of a big repository (~160 ms for 1,667 namespaces) and bundles are rarely asked for as YAML.
 */
export function renderBundle(environment: string, members: readonly RenderedConfig[]): RenderedBundle {
  return new LazyBundle(environment, members);
}

/** Whether `bundle` was rendered from exactly these members, in this order (then it is reused as is). */
export function bundleOf(bundle: RenderedBundle, members: readonly RenderedConfig[]): boolean {
  return bundle instanceof LazyBundle && bundle.hasMembers(members);
}

class LazyBundle implements RenderedBundle {
  readonly environment: string;
  readonly json: RenderedBody;
  readonly #members: readonly RenderedConfig[];
  #value: JsonObject | undefined;
  #yaml: RenderedBody | undefined;

  constructor(environment: string, members: readonly RenderedConfig[]) {
    this.environment = environment;
    this.#members = members;
    this.json = joinJsonMembers(members);
  }

  get value(): JsonObject {
    if (!this.#value) {
      this.#value = {};
      for (const member of this.#members) this.#value[member.namespace] = member.value;
    }
    return this.#value;
  }

  get yaml(): RenderedBody {
    return (this.#yaml ??= renderYaml(this.value));
  }

  hasMembers(members: readonly RenderedConfig[]): boolean {
    return this.#members.length === members.length && members.every((m, i) => this.#members[i] === m);
  }
}

/** The JSON bytes of a `renderJson` body, without the newline it ends with (to join bodies into a larger JSON). */
export function jsonBytesOf(rendered: RenderedBody): Buffer {
  return rendered.body.subarray(0, rendered.body.length - 1);
}

/** `renderJson` of `{ [namespace]: value }` from the members' bodies (names are never integer-like, so key order is member order). */
function joinJsonMembers(members: readonly RenderedConfig[]): RenderedBody {
  const parts: Uint8Array[] = [Buffer.from('{')];
  for (const [i, member] of members.entries()) {
    parts.push(
      Buffer.from(`${i === 0 ? '' : ','}${JSON.stringify(member.namespace)}:`),
      jsonBytesOf(member.json),
    );
  }
  parts.push(Buffer.from('}\n'));
  const body = Buffer.concat(parts);
  return { body, etag: etagOf(body) };
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
