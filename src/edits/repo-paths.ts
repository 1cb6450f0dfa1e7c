/** Which repository files belong to a namespace or an environment (config-root relative paths). Pure. */
import { NAME_PATTERN } from '../engine/index.js';
import { UsageError } from '../errors/index.js';
import { DEFAULTS_ENV } from '../auth/index.js';

const NAME_RE = new RegExp(NAME_PATTERN);

/** Throws UsageError unless `name` is a valid namespace or environment name. */
export function checkName(what: string, name: string): void {
  if (!NAME_RE.test(name) || name.length > 100)
    throw new UsageError(`invalid ${what} name: ${JSON.stringify(name)}`);
}

/** The file an edit of `namespace` in `env` writes: the override file, or the defaults for env `defaults`. */
export function layerFile(namespace: string, env: string): string {
  checkName('namespace', namespace);
  if (env === DEFAULTS_ENV) return `defaults/${namespace}.yaml`;
  checkName('environment', env);
  return `environments/${env}/${namespace}.yaml`;
}

/**
 * Whether `path` is one of `namespace`'s files: defaults, overrides (only `env`'s when given), schema (current
 * and older versions) and migrations.
 */
export function isNamespaceFile(path: string, namespace: string, env?: string): boolean {
  if (path === `defaults/${namespace}.yaml`) return true;
  if (path === `schemas/${namespace}.schema.json`) return true;
  if (path.startsWith(`schemas/${namespace}.v`) && /^schemas\/[^/]+\.v[0-9]+\.schema\.json$/.test(path)) {
    return path.slice('schemas/'.length, path.lastIndexOf('.v')) === namespace;
  }
  if (path.startsWith(`migrations/${namespace}/`)) return true;
  const m = /^environments\/([^/]+)\/([^/]+)\.yaml$/.exec(path);
  return m !== null && m[2] === namespace && (env === undefined || m[1] === env);
}
