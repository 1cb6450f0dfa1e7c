/** "Describe the repository": what a served snapshot holds, for discovery (`GET /v1/namespaces`, a CLI `ls`). */
import type { Snapshot } from './types.js';
import { currentVersion } from './versions.js';

/** One environment as the manifest declares it. */
export interface EnvironmentDescription {
  name: string;
  extends?: string;
  description?: string;
}

/** One namespace: its schema's title and description, its schema version, and where it is served. */
export interface NamespaceDescription {
  name: string;
  title?: string;
  description?: string;
  schemaVersion: number;
  /** Whether the manifest marks it as feature flags. */
  flags: boolean;
  /**
   * Environments the caller may read it in, each with its layer files (lowest precedence first) and how many
   * values its own override file sets (0 without one; absent when the snapshot predates the count).
   */
  environments: { name: string; files: string[]; overrides?: number }[];
}

/** The repository at one commit, as far as a caller may read it. */
export interface RepositoryDescription {
  commit: string;
  description?: string;
  environments: EnvironmentDescription[];
  namespaces: NamespaceDescription[];
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * Describes `snapshot`, keeping only what `canRead(namespace, env)` allows: a namespace the caller can read
 * in no environment is left out, and so is an environment in which the caller can read nothing.
 */
export function describeRepository(
  snapshot: Snapshot,
  canRead: (namespace: string, env: string) => boolean = () => true,
): RepositoryDescription {
  const namespaces: NamespaceDescription[] = [];
  const visibleEnvs = new Set<string>();
  for (const name of snapshot.namespaces) {
    const environments = snapshot.environments
      .filter((env) => canRead(name, env))
      .map((env) => {
        const config = snapshot.configs.get(`${name}/${env}`);
        return {
          name: env,
          files: [...(config?.files ?? [])],
          ...(config?.overrides !== undefined ? { overrides: config.overrides } : {}),
        };
      });
    if (environments.length === 0) continue;
    for (const env of environments) visibleEnvs.add(env.name);
    const schema = snapshot.schemas.get(name)?.value ?? {};
    const title = text(schema.title);
    const description = text(schema.description);
    namespaces.push({
      name,
      ...(title !== undefined ? { title } : {}),
      ...(description !== undefined ? { description } : {}),
      schemaVersion: currentVersion(snapshot, name),
      flags: snapshot.flagNamespaces.includes(name),
      environments,
    });
  }
  const info = snapshot.manifestInfo;
  return {
    commit: snapshot.commit,
    ...(info.description !== undefined ? { description: info.description } : {}),
    environments: snapshot.environments
      .filter((env) => visibleEnvs.has(env))
      .map((name) => {
        const env = info.environments[name];
        // A parent the caller cannot see is still named: it says where inherited values come from.
        return {
          name,
          ...(env?.extends !== undefined ? { extends: env.extends } : {}),
          ...(env?.description !== undefined ? { description: env.description } : {}),
        };
      }),
    namespaces,
  };
}
