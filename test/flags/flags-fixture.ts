/** A small repository with one flag namespace, for the flag tests (engine, evaluation, OFREP). */
import { readFileSync } from 'node:fs';

/** The flag schema of the example repository (flagd's format). */
export const FLAGS_SCHEMA = readFileSync(
  new URL('../../config-repo/schemas/feature-flags.schema.json', import.meta.url),
  'utf8',
);

export const FLAGS_MANIFEST = `version: 1
environments:
  development: {}
  production: {}
flags: [flags]
`;

/** Defaults: a boolean rollout, a targeted string flag, a number and an object flag, a disabled flag. */
export const FLAGS_DEFAULTS = `$evaluators:
  is_admin:
    in: [{ var: targetingKey }, [admin@example.com]]
flags:
  rollout:
    state: ENABLED
    variants: { "on": true, "off": false }
    defaultVariant: "off"
    targeting:
      if:
        - { $ref: is_admin }
        - "on"
        - fractional: [["on", 25], ["off", 75]]
  theme:
    state: ENABLED
    variants: { classic: classic, dark: dark }
    defaultVariant: classic
    targeting:
      if:
        - { "==": [{ var: plan }, enterprise] }
        - dark
  limit:
    state: ENABLED
    variants: { low: 2, high: 8 }
    defaultVariant: high
  model:
    state: ENABLED
    variants:
      small: { name: small, tokens: 256 }
      large: { name: large, tokens: 1024 }
    defaultVariant: large
    metadata: { owner: ml }
  retired:
    state: DISABLED
    variants: { "on": true, "off": false }
    defaultVariant: "on"
`;

/** Production raises nothing; development turns the rollout on for everyone. */
export const FLAGS_DEVELOPMENT = `flags:
  rollout:
    defaultVariant: "on"
    targeting: !delete
`;

/** The files of a valid flag repository, plus `extra`. */
export function flagsRepo(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'gitcfg.yaml': FLAGS_MANIFEST,
    'schemas/flags.schema.json': FLAGS_SCHEMA,
    'defaults/flags.yaml': FLAGS_DEFAULTS,
    'environments/development/flags.yaml': FLAGS_DEVELOPMENT,
    ...extra,
  };
}
