/** Spring's `Environment` answer: one property source per namespace x environment, highest priority first. */
import type { JsonObject } from '../values/index.js';
import { flattenProperties } from './flatten.js';
import type { FlatProperties } from './flatten.js';

/** Spring's shared namespace: its documents apply to every application, below the application's own. */
export const SHARED_APPLICATION = 'application';

/** The merged document of one namespace in one environment (one requested profile). */
export interface ProfileDocument {
  namespace: string;
  environment: string;
  commit: string;
  value: JsonObject;
  /** The flat form when already known (cached per rendered config); computed from `value` otherwise. */
  flat?: FlatProperties;
}

export interface SpringPropertySource {
  name: string;
  source: FlatProperties;
}

export interface SpringEnvironment {
  name: string;
  profiles: string[];
  label: string | null;
  version: string | null;
  state: string | null;
  propertySources: SpringPropertySource[];
}

/** The name of a property source: what it holds and from which commit. */
export function sourceName(doc: Pick<ProfileDocument, 'namespace' | 'environment' | 'commit'>): string {
  return `gitcfg:${doc.namespace}/${doc.environment}@${doc.commit}`;
}

/**
 * Orders documents as Spring clients read them: index 0 wins. The last requested profile wins, so profiles
 * go last-first; the application's own documents come before those of the shared `application` namespace.
 */
export function orderDocuments(
  application: string,
  profiles: readonly string[],
  documents: readonly ProfileDocument[],
): ProfileDocument[] {
  const ordered: ProfileDocument[] = [];
  const namespaces = application === SHARED_APPLICATION ? [application] : [application, SHARED_APPLICATION];
  for (const ns of namespaces) {
    const seen = new Set<string>();
    for (const profile of [...profiles].reverse()) {
      if (seen.has(profile)) continue;
      seen.add(profile);
      const doc = documents.find((d) => d.namespace === ns && d.environment === profile);
      if (doc) ordered.push(doc);
    }
  }
  return ordered;
}

/** Builds the `Environment` JSON from documents already in priority order (see `orderDocuments`). */
export function buildEnvironment(input: {
  application: string;
  profiles: readonly string[];
  label: string | undefined;
  version: string | null;
  documents: readonly ProfileDocument[];
}): SpringEnvironment {
  return {
    name: input.application,
    profiles: [...input.profiles],
    label: input.label ?? null,
    version: input.version,
    state: null,
    propertySources: input.documents.map((doc) => ({
      name: sourceName(doc),
      source: doc.flat ?? flattenProperties(doc.value),
    })),
  };
}
