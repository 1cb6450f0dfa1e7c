/** Parsing and checking of migration files and of a namespace's chain of steps. */
import { createRequire } from 'node:module';
import type * as Ajv2020Module from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { Issue, JsonPrimitive, JsonValue, Origin } from '../values/index.js';
import { conversionPairs, isConversion } from './conversions.js';
import type { ConversionName } from './conversions.js';
import { WILDCARD, isPrefix, parsePointer, wildcardCount } from './json-pointer.js';
import { MIGRATION_FILE_SCHEMA } from './migration-schema.js';
import type { Operation } from './types.js';

/** One parsed migration step (from `version - 1` to `version`). */
export interface MigrationStep {
  version: number;
  file: string;
  description?: string;
  operations: readonly Operation[];
}

const requireHere = createRequire(import.meta.url);
let validator: ValidateFunction | undefined;

/** The compiled migration-file schema (compiled once, on first use). */
function migrationValidator(): ValidateFunction {
  // Required here, not imported: a repository without migrations never loads Ajv's compiler for them.
  validator ??= new (requireHere('ajv/dist/2020.js') as typeof Ajv2020Module).Ajv2020({
    allErrors: true,
    strict: true,
    allowUnionTypes: true,
  }).compile(MIGRATION_FILE_SCHEMA);
  return validator;
}

/** Checks a parsed migration file (its YAML value) and returns the step, or every issue found in it. */
export function parseMigration(
  value: JsonValue,
  file: string,
  version: number,
  origins?: Map<string, Origin>,
): { step?: MigrationStep; issues: Issue[] } {
  const issue = (pointer: string, message: string): Issue => ({
    code: 'migration-invalid',
    file,
    ...position(origins, pointer),
    message: `${message}${pointer === '' ? '' : ` (at ${pointer})`}`,
  });
  const validate = migrationValidator();
  if (!validate(value)) {
    return {
      issues: schemaMessages(validate.errors ?? []).map(([pointer, message]) => issue(pointer, message)),
    };
  }
  const raw = value as { description?: string; operations: Array<Record<string, Record<string, JsonValue>>> };
  const issues: Issue[] = [];
  const operations: Operation[] = [];
  raw.operations.forEach((entry, index) => {
    const [kind, body] = Object.entries(entry)[0] as [string, Record<string, JsonValue>];
    const at = `/operations/${index}/${kind}`;
    const problem = (message: string): void =>
      void issues.push(issue(at, `operation #${index + 1} (${kind}): ${message}`));
    const paths = [body.path, body.from, body.to].filter((p): p is string => typeof p === 'string');
    if (paths.some((p) => parsePointer(p)[0] === '$schemaVersion'))
      problem('$schemaVersion is managed by gitcfg');
    switch (kind) {
      case 'rename': {
        const from = parsePointer(body.from as string);
        const to = parsePointer(body.to as string);
        if (wildcardCount(from) !== wildcardCount(to)) {
          problem('`from` and `to` must have the same number of `*` wildcards');
        } else if (isPrefix(from, to) || isPrefix(to, from)) {
          problem('`from` and `to` must not contain one another');
        }
        operations.push({ kind: 'rename', from: body.from as string, to: body.to as string });
        break;
      }
      case 'set':
        if (parsePointer(body.path as string).at(-1) === WILDCARD)
          problem('the last segment of `path` must be a key');
        operations.push({
          kind: 'set',
          path: body.path as string,
          value: body.value as JsonValue,
          origins: subOrigins(origins, `${at}/value`, file),
        });
        break;
      case 'remove':
        operations.push({
          kind: 'remove',
          path: body.path as string,
          ...(body.restore === undefined
            ? {}
            : { restore: body.restore, origins: subOrigins(origins, `${at}/restore`, file) }),
        });
        break;
      case 'convert':
        if (body.table !== undefined) {
          const table = Object.entries(body.table as Record<string, JsonPrimitive>);
          const seen = new Map<string, string>();
          for (const [key, mapped] of table) {
            const id = JSON.stringify(mapped);
            const previous = seen.get(id);
            if (previous !== undefined)
              problem(`table maps both "${previous}" and "${key}" to ${id}: not one-to-one`);
            seen.set(id, key);
          }
          operations.push({ kind: 'convert', path: body.path as string, table });
        } else {
          const from = body.from as ConversionName;
          const to = body.to as ConversionName;
          if (!isConversion(from, to)) {
            problem(`no conversion from ${from} to ${to}; known: ${conversionPairs().join(', ')}`);
          }
          operations.push({ kind: 'convert', path: body.path as string, from, to });
        }
        break;
    }
  });
  if (issues.length > 0) return { issues };
  return {
    step: {
      version,
      file,
      ...(raw.description === undefined ? {} : { description: raw.description }),
      operations,
    },
    issues,
  };
}

/**
 * Issues for a chain that cannot take documents from version 1 to `current` (gaps, steps above current). A gap is
 * reported on the missing step's own path; versions in `present` have a step file that failed to parse (it has
 * its own issues), so no gap is reported for them.
 */
export function checkChain(
  steps: readonly MigrationStep[],
  current: number,
  namespace: string,
  present: ReadonlySet<number> = new Set(),
): Issue[] {
  const issues: Issue[] = [];
  const byVersion = new Map<number, MigrationStep>();
  for (const step of steps) {
    if (!Number.isInteger(step.version) || step.version < 2) {
      issues.push({
        code: 'migration-invalid',
        file: step.file,
        namespace,
        message: `migration ${step.version} is not a step: versions start at 1, so the first step is 2.yaml`,
      });
    } else if (step.version > current) {
      issues.push({
        code: 'migration-invalid',
        file: step.file,
        namespace,
        message: `migration ${step.version} is above the schema's current version ${current} (raise "x-gitcfg-version")`,
      });
    } else if (byVersion.has(step.version)) {
      issues.push({
        code: 'migration-invalid',
        file: step.file,
        namespace,
        message: `migration ${step.version} is defined twice (also in ${byVersion.get(step.version)?.file})`,
      });
    } else {
      byVersion.set(step.version, step);
    }
  }
  const schemaFile = `schemas/${namespace}.schema.json`;
  for (let version = 2; version <= current; version++) {
    // A step file that exists but did not parse already has its own issues, with lines.
    if (byVersion.has(version) || present.has(version)) continue;
    const file = `migrations/${namespace}/${version}.yaml`;
    issues.push({
      code: 'migration-invalid',
      file,
      namespace,
      message: `${file} is missing: ${schemaFile} is at version ${current} (x-gitcfg-version), so every step from 2 to ${current} is needed`,
    });
  }
  return issues;
}

/** Origins below `prefix` re-keyed relative to it (`''` is the value itself); a file-level origin otherwise. */
function subOrigins(
  origins: Map<string, Origin> | undefined,
  prefix: string,
  file: string,
): Map<string, Origin> {
  const result = new Map<string, Origin>();
  for (const [pointer, origin] of origins ?? []) {
    if (pointer === prefix || pointer.startsWith(`${prefix}/`))
      result.set(pointer.slice(prefix.length), origin);
  }
  if (!result.has('')) result.set('', { file, line: 1, column: 1 });
  return result;
}

/** Line and column of the closest known ancestor of `pointer` in the migration file. */
function position(
  origins: Map<string, Origin> | undefined,
  pointer: string,
): { line?: number; column?: number } {
  if (!origins) return {};
  for (let current = pointer; ; current = current.slice(0, current.lastIndexOf('/'))) {
    const origin = origins.get(current);
    if (origin) return { line: origin.line, column: origin.column };
    if (current === '') return {};
  }
}

/** Readable messages for Ajv errors: `[pointer, message]`, with the noise of `oneOf` branches folded. */
function schemaMessages(errors: readonly ErrorObject[]): Array<[string, string]> {
  const messages: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (/\/oneOf\/\d+\//.test(error.schemaPath)) continue;
    let message: string;
    switch (error.keyword) {
      case 'oneOf':
      case 'not':
        message = 'convert needs either `from` and `to`, or `table` (not both)';
        break;
      case 'additionalProperties': {
        const key = String(error.params.additionalProperty);
        message = /^\/operations\/\d+$/.test(error.instancePath)
          ? `unknown operation "${key}" (expected rename, set, remove or convert)`
          : `unknown key "${key}"`;
        break;
      }
      case 'required':
        message = `missing "${String(error.params.missingProperty)}"`;
        break;
      case 'enum':
        message = `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}`;
        break;
      case 'pattern':
        message = 'must be a JSON pointer below the root, e.g. /timeouts/analytics';
        break;
      case 'maxProperties':
        message = 'an operation holds exactly one of rename, set, remove, convert';
        break;
      default:
        message = error.message ?? error.keyword;
    }
    const id = `${error.instancePath}\n${message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    messages.push([error.instancePath, message]);
  }
  return messages;
}
