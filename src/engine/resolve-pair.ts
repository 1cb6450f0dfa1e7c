/** Per-file preparation (version check, migration) and per-pair merge + validation. */
import { checkFlagDocument } from '../flags/index.js';
import { migrateUp } from '../migrate/index.js';
import { valueAtPointer } from '../values/index.js';
import type { PairResult } from './engine-cache.js';
import { mergeLayers } from './merge.js';
import { envReferences, plaintextSecrets } from './secret-fields.js';
import type { SecretScopes } from './secret-scopes.js';
import { mapSchemaErrors, nearestOrigin } from './schema-validator.js';
import type { CompiledSchema } from './schema-validator.js';
import { deepFreeze, originsFor } from './yaml-document.js';
import type { ParsedYaml } from './yaml-document.js';
import type {
  Evaluation,
  Issue,
  JsonObject,
  NamespaceVersions,
  Origin,
  ResolvedConfig,
  TreeEntry,
} from './types.js';

/** A configuration document ready to merge: version checked, migrated, `$schemaVersion` stripped. */
export interface PreparedDoc {
  ok: boolean;
  value: JsonObject;
  deletes: ReadonlyMap<string, readonly string[]>;
  deleteOnly: ReadonlySet<string>;
  deleteOrigins: Map<string, Origin>;
  origins: Map<string, Origin>;
  issues: Issue[];
}

/** The compiled current schema of a namespace and its file. */
export interface SchemaInfo {
  entry: TreeEntry;
  compiled: CompiledSchema;
}

/** Checks a document against its namespace version and migrates it up; its issues are file-level. */
export function prepareDoc(
  entry: TreeEntry,
  ns: string,
  isDefaults: boolean,
  parsed: ParsedYaml,
  info: SchemaInfo | undefined,
  versions: NamespaceVersions | undefined,
): PreparedDoc {
  const file = entry.path;
  const env = isDefaults ? undefined : file.split('/')[1];
  const issues = parsed.issues.map((i) => ({
    ...i,
    file,
    namespace: ns,
    ...(env !== undefined ? { environment: env } : {}),
  }));
  let ok = parsed.ok;
  if (isDefaults) {
    for (const [p, pos] of parsed.deletePositions) {
      issues.push({
        code: 'delete-misplaced',
        file,
        ...pos,
        namespace: ns,
        path: p,
        message: '!delete is only allowed in environment overrides (defaults have nothing to delete)',
      });
      ok = false;
    }
  }
  let origins = originsFor(parsed.positions, file);
  let value = parsed.value;
  let version = 1;
  let deletes = parsed.deletes;
  if (ok && Object.prototype.hasOwnProperty.call(value, '$schemaVersion')) {
    const v = value.$schemaVersion;
    const pos = origins.get('/$schemaVersion');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      issues.push({
        code: 'version-unsupported',
        file,
        ...(pos ? { line: pos.line, column: pos.column } : {}),
        namespace: ns,
        path: '/$schemaVersion',
        message: '$schemaVersion must be an integer >= 1',
      });
      ok = false;
    } else version = v;
    const { $schemaVersion: _drop, ...rest } = value;
    value = Object.freeze(rest);
    origins = new Map(
      [...origins].filter(([p]) => p !== '/$schemaVersion' && !p.startsWith('/$schemaVersion/')),
    );
  }
  if (ok && info) {
    const current = info.compiled.version;
    if (version > current) {
      const pos = origins.get('') ?? { line: 1, column: 1 };
      issues.push({
        code: 'version-unsupported',
        file,
        line: pos.line,
        column: pos.column,
        namespace: ns,
        path: '/$schemaVersion',
        message: `document declares $schemaVersion ${version}, above the schema's version ${current}`,
      });
      ok = false;
    } else if (version < current) {
      const r = migrateUp(
        // Deletions (`key: !delete`) are migrated with the values: a rename moves them too.
        { value: structuredClone(value), origins, version, deletes: new Map(parsed.deletes) },
        versions?.steps ?? [],
        current,
        {
          file,
          namespace: ns,
          layer: isDefaults ? 'defaults' : 'override',
        },
      );
      issues.push(...r.issues.map((i) => ({ ...i, file: i.file ?? file, namespace: i.namespace ?? ns })));
      if (r.doc && r.issues.length === 0) {
        value = deepFreeze(r.doc.value);
        origins = r.doc.origins;
        deletes = r.doc.deletes ?? deletes;
      } else ok = false;
    }
  }
  return {
    ok,
    value,
    deletes,
    deleteOnly: parsed.deleteOnly,
    deleteOrigins: originsFor(parsed.deletePositions, file),
    origins,
    issues,
  };
}

/** Merges the layers of one pair and validates the result. */
export function resolvePair(
  namespace: string,
  environment: string,
  inputKey: string,
  info: SchemaInfo,
  layers: Array<[string, PreparedDoc]>,
  holdsFlags = false,
): PairResult {
  const { value, origins, deleted } = mergeLayers(layers.map(([, d]) => d));
  const validate = info.compiled.validate!;
  const fallbackFile = layers[layers.length - 1]![0];
  const issues = validate(value)
    ? []
    : mapSchemaErrors(validate.errors ?? [], origins, {
        namespace,
        environment,
        fallbackFile,
        deleted,
        ...(info.compiled.schema ? { schema: info.compiled.schema } : {}),
      });
  issues.push(...secretIssues(value, info, origins, { namespace, environment, fallbackFile }));
  if (holdsFlags && issues.length === 0) {
    issues.push(...flagIssues(value, origins, { namespace, environment, fallbackFile }));
  }
  if (issues.length > 0) return { issues };
  return {
    config: {
      namespace,
      environment,
      value,
      origins,
      inputKey,
      files: layers.map(([f]) => f),
      version: info.compiled.version,
    },
    issues: [],
  };
}

/** An issue of a merged pair, located where the value at `path` was written. */
function pairIssue(
  code: Issue['code'],
  path: string,
  message: string,
  origin: Origin | undefined,
  at: { namespace: string; environment: string; fallbackFile: string },
): Issue {
  return {
    code,
    file: origin?.file ?? at.fallbackFile,
    ...(origin ? { line: origin.line, column: origin.column } : {}),
    namespace: at.namespace,
    environment: at.environment,
    path,
    message,
  };
}

/** Flag checks run on the merged document; each problem points at the layer that wrote the offending value. */
function flagIssues(
  value: JsonObject,
  origins: Map<string, Origin>,
  at: { namespace: string; environment: string; fallbackFile: string },
): Issue[] {
  return checkFlagDocument(value).map((p) =>
    pairIssue('flag-invalid', p.path, p.message, nearestOrigin(origins, p.path), at),
  );
}

/** A value in a field marked secret must be a reference (`${env:NAME}`); the message never quotes the value. */
function secretIssues(
  value: JsonObject,
  info: SchemaInfo,
  origins: ReadonlyMap<string, Origin>,
  at: { namespace: string; environment: string; fallbackFile: string },
): Issue[] {
  if (!info.compiled.schema) return [];
  return plaintextSecrets(value, info.compiled.schema).map((path) =>
    pairIssue(
      'secret-plaintext',
      path,
      'this field is marked x-gitcfg-secret: it must hold a reference such as ${env:NAME}, not a value',
      origins.get(path),
      at,
    ),
  );
}

/**
 * `${env:NAME}` references of a valid pair that its secret scopes do not grant, at the line that wrote them. Run
 * after the pair cache: the scopes are the server's settings, not an input of the repository.
 */
export function outOfScopeSecrets(config: ResolvedConfig, schema: JsonObject, scopes: SecretScopes): Issue[] {
  const { namespace, environment } = config;
  return envReferences(config.value, schema)
    .filter((ref) => !scopes.allows(namespace, environment, ref.name))
    .map((ref) => {
      const origin = config.origins.get(ref.pointer);
      return {
        code: 'secret-out-of-scope',
        file: origin?.file ?? config.files[config.files.length - 1]!,
        ...(origin ? { line: origin.line, column: origin.column } : {}),
        namespace,
        environment,
        path: ref.pointer,
        message: `\${env:${ref.name}} is not in the secret scopes of ${namespace}/${environment} (GITCFG_SECRET_ENV): it never resolves here`,
      };
    });
}

/**
 * How many values (leaves, and empty objects or arrays) the environment's own override file sets: counted from
 * the origins, or the count kept when they were left out.
 */
export function countOverrides(config: ResolvedConfig): number {
  if (config.overrides !== undefined) return config.overrides;
  const own = `environments/${config.environment}/${config.namespace}.yaml`;
  let count = 0;
  for (const [pointer, origin] of config.origins) {
    if (origin.file !== own || pointer === '') continue;
    const value = valueAtPointer(config.value, pointer);
    const container = typeof value === 'object' && value !== null && Object.keys(value).length > 0;
    if (!container) count++;
  }
  return count;
}

/**
 * `evaluation` with its pairs' origins left out and their override counts kept (`overrides`): what crosses a
 * thread boundary for a caller that only serves values, where origins were most of the copy.
 */
export function withoutOrigins(evaluation: Evaluation): Evaluation {
  const configs = new Map<string, ResolvedConfig>();
  for (const [key, config] of evaluation.configs) {
    configs.set(key, { ...config, origins: new Map(), overrides: countOverrides(config) });
  }
  return { ...evaluation, configs };
}
