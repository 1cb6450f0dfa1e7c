/** Small repositories for engine tests, built in memory. */
import type { RepoSource } from '../../src/engine/index.js';

/** Manifest with four environments; staging extends production. */
export const MANIFEST = `version: 1
environments:
  development: {}
  testing: {}
  production: {}
  staging:
    extends: production
`;

/** Strict schema with a cross-field rule (`max_delay_ms >= base_delay_ms`). */
export const RETRY_SCHEMA = JSON.stringify(
  {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: false,
    required: ['http'],
    properties: {
      tags: { type: 'array', items: { type: 'string' } },
      http: {
        type: 'object',
        additionalProperties: false,
        required: ['max_retries', 'base_delay_ms', 'max_delay_ms'],
        properties: {
          max_retries: { type: 'integer', minimum: 0 },
          base_delay_ms: { type: 'integer', minimum: 1 },
          max_delay_ms: { type: 'integer', minimum: { $data: '1/base_delay_ms' } },
          note: { type: 'string' },
        },
      },
    },
  },
  null,
  2,
);

/** Defaults matching `RETRY_SCHEMA`. */
export const RETRY_DEFAULTS = `# defaults
tags: [a, b]
http:
  max_retries: 3
  base_delay_ms: 100
  max_delay_ms: 1000
`;

/** A valid repository with one namespace (`retry`) and four environments. */
export function baseRepo(
  extra: Record<string, string | Uint8Array> = {},
): Record<string, string | Uint8Array> {
  return {
    'gitcfg.yaml': MANIFEST,
    'schemas/retry.schema.json': RETRY_SCHEMA,
    'defaults/retry.yaml': RETRY_DEFAULTS,
    ...extra,
  };
}

/** Wraps a source and records every `readBlob` call (path of each read). */
export function countingSource(inner: RepoSource): { source: RepoSource; reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    source: {
      entries: inner.entries,
      readBlob(oid: string, path: string) {
        reads.push(path);
        return inner.readBlob(oid, path);
      },
    },
  };
}
