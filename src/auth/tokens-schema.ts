/**
 * JSON Schema (2020-12) of the server's tokens file (`GITCFG_TOKENS_FILE`). Kept in code so loading needs no
 * package files; `schemas/gitcfg-tokens.schema.json` is the published copy (a test keeps both identical).
 */
import { SCOPE_PATTERN } from './scopes.js';

/** A rate limit as the tokens file and the server flags write it. */
export const RATE_PATTERN = '^(off|[0-9]+(\\.[0-9]+)?/(s|sec|m|min|h)(:[0-9]+)?)$';

/** The schema every tokens file must satisfy. */
export const TOKENS_FILE_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://gitcfg.dev/schemas/gitcfg-tokens.schema.json',
  title: 'gitcfg tokens file',
  description:
    'API tokens of a gitcfg server. Lives on the server, never in the config repository. Only sha256 hashes of the tokens are stored.',
  type: 'object',
  required: ['tokens'],
  additionalProperties: false,
  properties: {
    version: { const: 1, description: 'Format version (1).' },
    tokens: {
      type: 'array',
      description: 'One entry per token.',
      items: {
        type: 'object',
        required: ['name', 'email', 'sha256', 'scopes'],
        additionalProperties: false,
        properties: {
          name: {
            type: 'string',
            minLength: 1,
            maxLength: 200,
            pattern: '^[^<>\\n]+$',
            description: 'Who holds the token; the author name of commits made with it.',
          },
          email: {
            type: 'string',
            minLength: 3,
            maxLength: 200,
            pattern: '^[^<>\\s@]+@[^<>\\s@]+$',
            description: 'Author email of commits made with it.',
          },
          sha256: {
            type: 'string',
            pattern: '^[0-9a-fA-F]{64}$',
            description:
              'Hex sha256 of the token (`printf %s "$TOKEN" | sha256sum`, or `gitcfg token hash`).',
          },
          scopes: {
            type: 'array',
            minItems: 1,
            uniqueItems: true,
            description:
              'admin | read:<ns-glob>/<env-glob> | write:<ns-glob>/<env-glob> | read-secrets:<ns-glob>/<env-glob>; `*` matches any run of characters; the defaults file is environment `defaults`.',
            items: { type: 'string', pattern: SCOPE_PATTERN },
          },
          limits: {
            type: 'object',
            additionalProperties: false,
            description:
              "This token's own rate limits per route class, replacing the server's (`20/s`, `600/min:100`, or `off`); see docs/limits.md.",
            properties: Object.fromEntries(
              ['cheap', 'expensive', 'write', 'webhook'].map((c) => [
                c,
                { type: 'string', pattern: RATE_PATTERN },
              ]),
            ),
          },
          description: { type: 'string' },
        },
      },
    },
  },
} as const;
