/** Serving a configuration at an older schema version (migrated down on demand, memoised). */
import { migrateDown } from '../migrate/index.js';
import { validateAgainstSchema } from '../engine/index.js';
import type { Issue } from '../engine/index.js';
import { renderDocument } from './render.js';
import type { RenderedDocument, Snapshot } from './types.js';

const memo = new WeakMap<RenderedDocument, Map<number, RenderedDocument>>();

/** Current schema version of a namespace (1 when the namespace has no versioned schema). */
export function currentVersion(snapshot: Snapshot, namespace: string): number {
  return snapshot.versions.get(namespace)?.current ?? 1;
}

/**
 * The document of `namespace` migrated down to `version`: the document itself at the current version, the
 * migrated rendering otherwise, or the issues that make that version unreachable.
 */
export function documentAtVersion(
  snapshot: Snapshot,
  namespace: string,
  document: RenderedDocument,
  version: number,
): { document: RenderedDocument; issues?: undefined } | { document?: undefined; issues: Issue[] } {
  const info = snapshot.versions.get(namespace);
  const current = info?.current ?? 1;
  if (version === current) return { document };
  if (!Number.isInteger(version) || version < 1 || version > current) {
    return {
      issues: [
        {
          code: 'version-unsupported',
          namespace,
          message: `version ${version} of ${namespace} is not available (current: ${current})`,
        },
      ],
    };
  }
  let versions = memo.get(document);
  const cached = versions?.get(version);
  if (cached) return { document: cached };
  const result = migrateDown(document.value, current, version, info?.steps ?? []);
  if (!result.value || result.issues.length > 0) return { issues: result.issues };
  // An old client must get a document its own schema accepts: check it when the repository keeps that schema.
  const oldSchema = info?.oldSchemas[String(version)];
  if (oldSchema) {
    const issues = validateAgainstSchema(oldSchema, result.value, {
      file: `schemas/${namespace}.v${version}.schema.json`,
      namespace,
    });
    if (issues.length > 0) return { issues };
  }
  const rendered = renderDocument(result.value);
  if (!versions) memo.set(document, (versions = new Map()));
  versions.set(version, rendered);
  return { document: rendered };
}
