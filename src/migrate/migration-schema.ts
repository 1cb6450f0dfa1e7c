/**
 * JSON Schema (2020-12) of a migration file. Kept in code so the pure module needs no file access;
 * `schemas/gitcfg-migration.schema.json` is the published copy (a test keeps both identical).
 */
import { CONVERSION_NAMES } from './conversions.js';

const pointer = {
  type: 'string',
  pattern: '^(/([^~]|~[01])*)+$',
  description: 'JSON Pointer (RFC 6901) below the document root; a `*` segment matches every key or item.',
};

/** The schema every `migrations/<namespace>/<N>.yaml` must satisfy. */
export const MIGRATION_FILE_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'gitcfg migration step',
  description:
    'migrations/<namespace>/<N>.yaml: the declarative operations that take documents from N-1 to N.',
  type: 'object',
  required: ['operations'],
  additionalProperties: false,
  properties: {
    description: { type: 'string', description: 'What the step changes, for humans.' },
    operations: {
      type: 'array',
      minItems: 1,
      description: 'Applied in order to every document below version N; inverses apply in reverse order.',
      items: { $ref: '#/$defs/operation' },
    },
  },
  $defs: {
    pointer,
    conversion: { enum: [...CONVERSION_NAMES] },
    operation: {
      type: 'object',
      description: 'Exactly one of rename, set, remove, convert.',
      minProperties: 1,
      maxProperties: 1,
      additionalProperties: false,
      properties: {
        rename: { $ref: '#/$defs/rename' },
        set: { $ref: '#/$defs/set' },
        remove: { $ref: '#/$defs/remove' },
        convert: { $ref: '#/$defs/convert' },
      },
    },
    rename: {
      type: 'object',
      description:
        'Moves a value to a new path; `to` uses the keys matched by the wildcards of `from`, in order.',
      required: ['from', 'to'],
      additionalProperties: false,
      properties: { from: { $ref: '#/$defs/pointer' }, to: { $ref: '#/$defs/pointer' } },
    },
    set: {
      type: 'object',
      description: 'Value given to the defaults document where it lacks the path; the inverse removes it.',
      required: ['path', 'value'],
      additionalProperties: false,
      properties: { path: { $ref: '#/$defs/pointer' }, value: true },
    },
    remove: {
      type: 'object',
      description:
        'Deletes the path in every document; the inverse puts `restore` back (no `restore`: no inverse).',
      required: ['path'],
      additionalProperties: false,
      properties: { path: { $ref: '#/$defs/pointer' }, restore: true },
    },
    convert: {
      type: 'object',
      description:
        'Converts the value at the path with a built-in conversion (`from`/`to`) or a one-to-one `table`.',
      required: ['path'],
      additionalProperties: false,
      properties: {
        path: { $ref: '#/$defs/pointer' },
        from: { $ref: '#/$defs/conversion' },
        to: { $ref: '#/$defs/conversion' },
        table: {
          type: 'object',
          minProperties: 1,
          additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
        },
      },
      oneOf: [
        { type: 'object', required: ['from', 'to'], properties: { from: true, to: true } },
        { type: 'object', required: ['table'], properties: { table: true } },
      ],
      not: { type: 'object', required: ['table', 'from'], properties: { table: true, from: true } },
    },
  },
} as const;
