/** Building snapshots from an engine evaluation, reusing renderings whose inputs did not change. */
import {
  changedNamespaces,
  countOverrides,
  createYielder,
  evaluateRepo,
  listingDistance,
  MANIFEST_FILE,
} from '../engine/index.js';
import type {
  EngineCache,
  Evaluation,
  Issue,
  JsonObject,
  RepoEvaluator,
  RepoSource,
  SecretScopes,
  TreeEntry,
} from '../engine/index.js';
import { bundleOf, renderBundle, renderDocumentLazyYaml } from './render.js';
import type {
  ManifestInfo,
  NamespaceVersions,
  RenderedBundle,
  RenderedConfig,
  RenderedDocument,
  Snapshot,
  SnapshotChange,
} from './types.js';

/** Plain data of one configuration, enough to re-render it (what the data dir persists). */
export interface ConfigData {
  namespace: string;
  environment: string;
  value: JsonObject;
  inputKey: string;
  files: readonly string[];
  /** Values the environment's own override file sets (absent in files written before it was counted). */
  overrides?: number;
}

/** Plain data of a snapshot (no rendered bodies). */
export interface SnapshotData {
  commit: string;
  builtAt: string;
  namespaces: readonly string[];
  environments: readonly string[];
  /** Namespaces the manifest marks as feature flags (absent in files written before flags existed). */
  flagNamespaces?: readonly string[];
  /** The manifest's descriptions and `extends` (absent in files written before discovery existed). */
  manifestInfo?: ManifestInfo;
  configs: readonly ConfigData[];
  schemas: Readonly<Record<string, JsonObject>>;
  versions: Readonly<Record<string, NamespaceVersions>>;
}

/**
 * Result of `buildSnapshot`: a snapshot, or every issue that makes the commit unservable. The evaluation was
 * asked for without origins (`EvaluateOptions.origins`): an isolated evaluator leaves them out.
 */
export type BuildResult =
  | { ok: true; snapshot: Snapshot; evaluation: Evaluation }
  | { ok: false; issues: Issue[]; evaluation: Evaluation };

/**
 * Evaluates `source` with the shared engine cache and renders a snapshot of `commit`. A commit with any issue
 * is not servable and yields `ok: false` with all issues. Renderings of `previous` are reused where the
 * engine's `inputKey` is unchanged.
 */
export async function buildSnapshot(input: {
  commit: string;
  source: RepoSource;
  previous?: Snapshot | null;
  cache?: EngineCache;
  /** How to evaluate the (untrusted) source: in process by default, or isolated (an evaluation pool). */
  evaluate?: RepoEvaluator;
  now?: () => Date;
  /** References outside these scopes make the commit unservable (see `EvaluateOptions.secretScopes`). */
  secretScopes?: SecretScopes;
}): Promise<BuildResult> {
  const evaluate = input.evaluate ?? evaluateRepo;
  // Only the namespaces whose files changed since `previous` was built from a tree (a one-file commit costs
  // one namespace, not the whole repository); the rest of `previous` was valid and its inputs are unchanged.
  const built = input.previous ? builtFrom.get(input.previous) : undefined;
  const reach =
    built && built.secretScopes === input.secretScopes
      ? changedNamespaces(built.entries, input.source.entries)
      : undefined;
  const evaluation = await evaluate(input.source, {
    ...(input.cache ? { cache: input.cache } : {}),
    ...(input.secretScopes ? { secretScopes: input.secretScopes } : {}),
    ...(reach ? { namespaces: reach } : {}),
    // A snapshot serves values: of the origins it needs only the override counts (`overrides`).
    origins: false,
  });
  if (!evaluation.ok || evaluation.issues.length > 0)
    return { ok: false, issues: evaluation.issues, evaluation };
  let data = snapshotDataFromEvaluation(input.commit, evaluation, (input.now ?? (() => new Date()))());
  if (reach) data = withUnchanged(data, input.previous!, new Set(reach));
  // Rendering thousands of configs is seconds of CPU on a cold start: give the event loop turns meanwhile.
  const steps = renderSnapshot(data, input.previous ?? null);
  const pause = createYielder();
  let step = steps.next();
  while (!step.done) {
    await pause();
    step = steps.next();
  }
  builtFrom.set(step.value, {
    entries: input.source.entries,
    ...(input.secretScopes ? { secretScopes: input.secretScopes } : {}),
  });
  return { ok: true, snapshot: step.value, evaluation };
}

/**
 * Of `candidates`, the snapshot built in this process (with the same secret scopes) from the tree nearest to
 * `entries` (fewest entries differ; another manifest counts as everything), or null: the base that leaves
 * `buildSnapshot` the fewest files to evaluate. A read of an old commit next to one read before then costs the
 * files between them, not the distance to the branch head.
 */
export function nearestSnapshot(
  entries: readonly TreeEntry[],
  candidates: Iterable<Snapshot | null | undefined>,
  secretScopes?: SecretScopes,
): Snapshot | null {
  let best: Snapshot | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  const manifest = manifestOf(entries);
  for (const candidate of candidates) {
    const built = candidate ? builtFrom.get(candidate) : undefined;
    if (!built || built.secretScopes !== secretScopes) continue;
    // A base with another manifest leaves every namespace to evaluate (`changedNamespaces`): farthest of all.
    const distance =
      (built.manifest ??= manifestOf(built.entries)) !== manifest
        ? entries.length + built.entries.length
        : listingDistance(built.entries, entries, bestDistance - 1);
    if (distance < bestDistance) {
      best = candidate!;
      bestDistance = distance;
      if (distance === 0) break;
    }
  }
  return best;
}

/** The manifest's blob in a listing ('' without one). */
function manifestOf(entries: readonly TreeEntry[]): string {
  return entries.find((e) => e.path === MANIFEST_FILE)?.oid ?? '';
}

/** The tree listing (and settings) each snapshot built in this process came from. */
const builtFrom = new WeakMap<
  Snapshot,
  // `manifest`: found when the snapshot is first a candidate base, not on every build.
  { entries: readonly TreeEntry[]; manifest?: string; secretScopes?: SecretScopes }
>();

/** `{ [key]: value }`, or nothing when the value is absent (optional properties stay absent). */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** Adds to `data` (evaluated for `reach` only) the configs, schemas and versions of `previous` outside it. */
function withUnchanged(data: SnapshotData, previous: Snapshot, reach: ReadonlySet<string>): SnapshotData {
  const kept = (namespace: string) => !reach.has(namespace) && present.has(namespace);
  const present = new Set(data.namespaces);
  const configs: ConfigData[] = [];
  // The rendered configs themselves (they carry every field of the data): rendering reuses them by inputKey.
  for (const config of previous.configs.values()) if (kept(config.namespace)) configs.push(config);
  const schemas: Record<string, JsonObject> = {};
  for (const [namespace, schema] of previous.schemas) if (kept(namespace)) schemas[namespace] = schema.value;
  const versions: Record<string, NamespaceVersions> = {};
  for (const [namespace, v] of previous.versions) if (kept(namespace)) versions[namespace] = v;
  return {
    ...data,
    configs: [...configs, ...data.configs],
    schemas: { ...schemas, ...data.schemas },
    versions: { ...versions, ...data.versions },
  };
}

/** Versions of every namespace: current version, migration steps and older schemas (plain data). */
function versionsOf(evaluation: Evaluation): Record<string, NamespaceVersions> {
  const out: Record<string, NamespaceVersions> = {};
  for (const [namespace, info] of evaluation.versions ?? []) {
    out[namespace] = {
      current: info.current,
      steps: info.steps,
      oldSchemas: Object.fromEntries([...info.oldSchemas].map(([v, schema]) => [String(v), schema])),
    };
  }
  return out;
}

/** Extracts the plain data of a snapshot from a successful evaluation. */
export function snapshotDataFromEvaluation(
  commit: string,
  evaluation: Evaluation,
  builtAt: Date,
): SnapshotData {
  const configs: ConfigData[] = [];
  for (const config of evaluation.configs.values()) {
    configs.push({
      namespace: config.namespace,
      environment: config.environment,
      value: config.value,
      inputKey: config.inputKey,
      files: config.files,
      overrides: countOverrides(config),
    });
  }
  return {
    commit,
    builtAt: builtAt.toISOString(),
    namespaces: [...evaluation.namespaces],
    environments: [...evaluation.environments],
    flagNamespaces: [...(evaluation.manifest?.flags ?? [])],
    manifestInfo: manifestInfoOf(evaluation),
    configs,
    schemas: Object.fromEntries(evaluation.schemas),
    versions: versionsOf(evaluation),
  };
}

/** Renders a snapshot from plain data, reusing `previous` renderings with the same `inputKey`. */
export function snapshotFromData(data: SnapshotData, previous: Snapshot | null): Snapshot {
  const steps = renderSnapshot(data, previous);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** `snapshotFromData` one unit of work at a time (a pause point after each rendered document). */
function* renderSnapshot(data: SnapshotData, previous: Snapshot | null): Generator<void, Snapshot, void> {
  const configs = new Map<string, RenderedConfig>();
  for (const config of data.configs) {
    const key = `${config.namespace}/${config.environment}`;
    const old = previous?.configs.get(key);
    if (old && old.inputKey === config.inputKey) {
      configs.set(key, old);
      continue;
    }
    yield;
    // YAML on first use: rendering it for every pair was most of a cold build's garbage on the main thread.
    configs.set(
      key,
      Object.assign(renderDocumentLazyYaml(config.value), {
        namespace: config.namespace,
        environment: config.environment,
        inputKey: config.inputKey,
        files: [...config.files],
        ...optional('overrides', config.overrides),
      }),
    );
  }
  const bundles = new Map<string, RenderedBundle>();
  for (const environment of data.environments) {
    const members = data.namespaces
      .map((namespace) => configs.get(`${namespace}/${environment}`))
      .filter((c): c is RenderedConfig => c !== undefined);
    const old = previous?.bundles.get(environment);
    // A bundle is re-rendered only when one of its members was.
    if (old && bundleOf(old, members)) {
      bundles.set(environment, old);
      continue;
    }
    yield;
    bundles.set(environment, renderBundle(environment, members));
  }
  const schemas = new Map<string, RenderedDocument>();
  for (const [namespace, schema] of Object.entries(data.schemas)) {
    yield;
    const old = previous?.schemas.get(namespace);
    schemas.set(
      namespace,
      old && (old.value === schema || JSON.stringify(old.value) === JSON.stringify(schema))
        ? old
        : renderDocumentLazyYaml(schema),
    );
  }
  return {
    commit: data.commit,
    builtAt: data.builtAt,
    namespaces: [...data.namespaces],
    environments: [...data.environments],
    flagNamespaces: [...(data.flagNamespaces ?? [])],
    manifestInfo: data.manifestInfo ?? { environments: {} },
    configs,
    bundles,
    schemas,
    versions: new Map(Object.entries(data.versions)),
  };
}

/** The descriptions and parents the manifest declares, copied so the snapshot holds plain data only. */
function manifestInfoOf(evaluation: Evaluation): ManifestInfo {
  const manifest = evaluation.manifest;
  const environments: Record<string, ManifestInfo['environments'][string]> = {};
  for (const [name, env] of Object.entries(manifest?.environments ?? {})) {
    environments[name] = {
      ...(env.extends !== undefined ? { extends: env.extends } : {}),
      ...(env.description !== undefined ? { description: env.description } : {}),
      ...(env.rollout !== undefined ? { rollout: structuredClone(env.rollout) } : {}),
    };
  }
  return {
    ...(manifest?.description !== undefined ? { description: manifest.description } : {}),
    environments,
  };
}

/** Plain data of a snapshot (for persistence). */
export function snapshotToData(snapshot: Snapshot): SnapshotData {
  return {
    commit: snapshot.commit,
    builtAt: snapshot.builtAt,
    namespaces: snapshot.namespaces,
    environments: snapshot.environments,
    flagNamespaces: snapshot.flagNamespaces,
    manifestInfo: snapshot.manifestInfo,
    configs: [...snapshot.configs.values()].map((c) => ({
      namespace: c.namespace,
      environment: c.environment,
      value: c.value,
      inputKey: c.inputKey,
      files: c.files,
      ...optional('overrides', c.overrides),
    })),
    schemas: Object.fromEntries([...snapshot.schemas].map(([ns, doc]) => [ns, doc.value])),
    versions: Object.fromEntries(snapshot.versions),
  };
}

/** Pairs whose served JSON differs between two snapshots (added, removed or changed), sorted. */
export function diffSnapshots(previous: Snapshot | null, next: Snapshot): SnapshotChange[] {
  const changed: SnapshotChange[] = [];
  const keys = new Set([...(previous?.configs.keys() ?? []), ...next.configs.keys()]);
  for (const key of keys) {
    const before = previous?.configs.get(key);
    const after = next.configs.get(key);
    if (before?.json.etag === after?.json.etag) continue;
    const config = (after ?? before) as RenderedConfig;
    changed.push({ namespace: config.namespace, environment: config.environment });
  }
  return changed.sort((a, b) =>
    a.namespace === b.namespace ? cmp(a.environment, b.environment) : cmp(a.namespace, b.namespace),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Estimated heap bytes of a snapshot (for byte-bounded caches): its rendered JSON bodies, about three times
 * over for the parsed values and the bundles that share them.
 */
export function snapshotBytes(snapshot: Snapshot): number {
  let bytes = 0;
  for (const config of snapshot.configs.values()) bytes += config.json.body.byteLength * 3 + 512;
  for (const schema of snapshot.schemas.values()) bytes += schema.json.body.byteLength * 3;
  return bytes;
}
