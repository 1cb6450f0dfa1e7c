/** The manifest `gitcfg.yaml`: its JSON Schema, validation, and the `extends` chains of environments. */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { mapSchemaErrors } from './schema-validator.js';
import type { ParsedYaml } from './yaml-document.js';
import { originsFor } from './yaml-document.js';
import { didYouMean } from './suggest.js';
import type { Issue, JsonObject, Limits, Manifest, ManifestEnvironment } from './types.js';

/** Path of the manifest at the repository root. */
export const MANIFEST_FILE = 'gitcfg.yaml';

/** Names of namespaces and environments. */
export const NAME_PATTERN = '^[a-z][a-z0-9-]*$';
/** Compiled form of `NAME_PATTERN`. */
export const NAME_RE = new RegExp(NAME_PATTERN);
/** Longest accepted name. */
export const NAME_MAX_LENGTH = 64;

/** Defaults for every limit. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFileBytes: 1024 * 1024,
  maxAliasCount: 100,
  maxNodes: 1_000_000,
});

/**
 * The server's own ceilings: a manifest's `options` may raise a limit up to these and no further (a committer
 * must not be able to let one file take the server's memory). Deployments may set other caps.
 */
export const LIMIT_CAPS: Readonly<Limits> = Object.freeze({
  maxFileBytes: 8 * 1024 * 1024,
  maxAliasCount: 100_000,
  maxNodes: 1_000_000,
});

/** JSON Schema of `gitcfg.yaml` (kept identical to `schemas/gitcfg-manifest.schema.json`, a test checks it). */
export const MANIFEST_SCHEMA: JsonObject = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'gitcfg manifest (gitcfg.yaml)',
  description: 'Declares the environments of a gitcfg configuration repository and its options.',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'environments'],
  $defs: {
    duration: {
      description: 'A duration: a number and a unit (ms, s, m, h), e.g. 30s or 10m.',
      type: 'string',
      pattern: '^[1-9][0-9]{0,6}(ms|s|m|h)$',
    },
  },
  properties: {
    version: { description: 'Format version of the repository layout.', const: 1 },
    description: { type: 'string' },
    environments: {
      description: 'Environment name -> declaration. An environment may extend one other environment.',
      type: 'object',
      minProperties: 1,
      propertyNames: { type: 'string', pattern: NAME_PATTERN, maxLength: NAME_MAX_LENGTH },
      additionalProperties: {
        type: ['object', 'null'],
        additionalProperties: false,
        properties: {
          extends: { type: 'string', pattern: NAME_PATTERN, maxLength: NAME_MAX_LENGTH },
          description: { type: 'string' },
          rollout: {
            description:
              'Progressive delivery of new commits (docs/rollouts.md); inherited from the parent unless set; false opts out.',
            oneOf: [
              { const: false },
              {
                type: 'object',
                additionalProperties: false,
                required: ['stepDuration'],
                // Exactly one of the two forms.
                oneOf: [
                  { required: ['steps'], properties: { steps: true } },
                  { required: ['exponential'], properties: { exponential: true } },
                ],
                properties: {
                  steps: {
                    description:
                      'Percent of clients on the new commit at each step, increasing; 100 is added last.',
                    type: 'array',
                    minItems: 1,
                    maxItems: 50,
                    items: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
                  },
                  exponential: {
                    description: 'Steps start, start*factor, ... up to 100.',
                    type: 'object',
                    additionalProperties: false,
                    required: ['start'],
                    properties: {
                      start: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
                      factor: { type: 'number', minimum: 1.1, maximum: 100, default: 2 },
                    },
                  },
                  stepDuration: { $ref: '#/$defs/duration' },
                  bakeTime: { $ref: '#/$defs/duration' },
                },
              },
            ],
          },
        },
      },
    },
    flags: {
      description: 'Namespaces that hold feature flags (flagd flag definitions), evaluated over OFREP.',
      type: 'array',
      uniqueItems: true,
      items: { type: 'string', pattern: NAME_PATTERN, maxLength: NAME_MAX_LENGTH },
    },
    options: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxFileBytes: {
          description: 'Largest accepted file in bytes (default 1048576).',
          type: 'integer',
          minimum: 1,
          maximum: 67108864,
        },
        maxAliasCount: {
          description: 'Bound on YAML alias expansion (default 100; 0 forbids aliases).',
          type: 'integer',
          minimum: 0,
          maximum: 100000,
        },
      },
    },
  },
};

/** Validates a parsed manifest with the compiled `MANIFEST_SCHEMA`; returns the manifest when valid, and every issue. */
export function readManifest(
  parsed: ParsedYaml,
  manifestValidator: ValidateFunction,
): { manifest?: Manifest; issues: Issue[] } {
  const origins = originsFor(parsed.positions, MANIFEST_FILE);
  const issues: Issue[] = parsed.issues.map((i) => ({ ...i, file: MANIFEST_FILE }));
  for (const [p, pos] of parsed.deletePositions) {
    issues.push({
      code: 'delete-misplaced',
      message: '!delete is only allowed in environment overrides',
      file: MANIFEST_FILE,
      ...pos,
      path: p,
    });
  }
  if (!parsed.ok) return { issues };
  if (!manifestValidator(parsed.value)) {
    for (const i of mapSchemaErrors(manifestValidator.errors ?? [], origins, {
      fallbackFile: MANIFEST_FILE,
      schema: MANIFEST_SCHEMA,
    })) {
      issues.push({ ...i, code: 'manifest-invalid' });
    }
    return { issues };
  }
  for (const [name, env] of Object.entries(
    (parsed.value as { environments: Record<string, ManifestEnvironment | null> }).environments,
  )) {
    const steps = env?.rollout ? env.rollout.steps : undefined;
    if (steps?.some((step, i) => i > 0 && step <= steps[i - 1]!)) {
      const pos = parsed.positions.get(`/environments/${name}/rollout/steps`);
      issues.push({
        code: 'manifest-invalid',
        message: `the rollout steps of "${name}" must increase`,
        file: MANIFEST_FILE,
        ...(pos ? { line: pos.line, column: pos.column } : {}),
        path: `/environments/${name}/rollout/steps`,
        environment: name,
      });
    }
  }
  if (issues.length > 0) return { issues };
  const raw = parsed.value as unknown as {
    version: 1;
    description?: string;
    environments: Record<string, ManifestEnvironment | null>;
    flags?: string[];
    options?: Partial<Limits>;
  };
  const environments: Manifest['environments'] = {};
  for (const [name, env] of Object.entries(raw.environments)) environments[name] = { ...(env ?? {}) };
  return {
    manifest: {
      version: 1,
      ...(raw.description !== undefined ? { description: raw.description } : {}),
      environments,
      flags: [...(raw.flags ?? [])],
      options: { ...(raw.options ?? {}) },
    },
    issues,
  };
}

/** Resolves each environment's chain (root ancestor first, the environment last); broken ones are left out. */
export function resolveChains(
  manifest: Manifest,
  parsed: ParsedYaml,
): { chains: Map<string, string[]>; issues: Issue[] } {
  const envs = manifest.environments;
  const issues: Issue[] = [];
  const chains = new Map<string, string[]>();
  const broken = new Set<string>();
  const reportedCycles = new Set<string>();
  const where = (env: string) => {
    const pos =
      parsed.positions.get(`/environments/${env}/extends`) ?? parsed.positions.get(`/environments/${env}`);
    return {
      file: MANIFEST_FILE,
      ...(pos ? { line: pos.line, column: pos.column } : {}),
      path: `/environments/${env}/extends`,
      environment: env,
    };
  };
  for (const name of Object.keys(envs).sort()) {
    const chain: string[] = [];
    const seen = new Set<string>();
    let cur: string | undefined = name;
    let ok = true;
    while (cur !== undefined) {
      if (seen.has(cur)) {
        const cycle = [...chain.slice(chain.indexOf(cur)), cur];
        const members = [...new Set(cycle)].sort();
        const key = members.join(',');
        if (!reportedCycles.has(key)) {
          reportedCycles.add(key);
          const start = members[0]!;
          const ordered: string[] = [start];
          for (let e = envs[start]?.extends; e !== undefined && e !== start; e = envs[e]?.extends)
            ordered.push(e);
          issues.push({
            code: 'env-extends-cycle',
            message: `environments extend each other in a cycle: ${[...ordered, start].join(' -> ')}`,
            ...where(start),
          });
        }
        ok = false;
        break;
      }
      seen.add(cur);
      chain.push(cur);
      const parent: string | undefined = envs[cur]?.extends;
      if (parent !== undefined && !Object.prototype.hasOwnProperty.call(envs, parent)) {
        if (cur === name) {
          issues.push({
            code: 'env-unknown-parent',
            message: `environment "${cur}" extends "${parent}", which is not declared${didYouMean(parent, Object.keys(envs))}`,
            ...where(cur),
          });
        }
        ok = false;
        break;
      }
      cur = parent;
    }
    if (ok) chains.set(name, chain.reverse());
    else broken.add(name);
  }
  return { chains, issues };
}
