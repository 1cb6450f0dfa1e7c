/** Token scopes: `read:<ns-glob>/<env-glob>`, `write:...`, `read-secrets:...` and `admin`. Pure. */
import { UsageError } from '../errors/index.js';

/** What a request wants to do with one namespace x environment. */
export type Access = 'read' | 'write' | 'read-secrets';

/** One parsed scope. */
export type Scope =
  | { kind: 'admin' }
  | { kind: Access; namespace: string; environment: string; namespaceRe: RegExp; environmentRe: RegExp };

/** Pseudo-environment naming the defaults file (`defaults/<ns>.yaml`) in scopes and edit routes. */
export const DEFAULTS_ENV = 'defaults';

/** Scope grammar (also the `pattern` of the tokens file schema). */
export const SCOPE_PATTERN = '^(admin|(read|write|read-secrets):[a-z0-9*-]+/[a-z0-9*-]+)$';
const SCOPE_RE = /^(read|write|read-secrets):([a-z0-9*-]+)\/([a-z0-9*-]+)$/;

/** `*` matches any run of characters; everything else is literal (names are `[a-z0-9-]`). */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** Parses one scope string; UsageError on bad syntax. */
export function parseScope(text: string): Scope {
  if (text === 'admin') return { kind: 'admin' };
  const m = SCOPE_RE.exec(text);
  if (!m) {
    throw new UsageError(
      `invalid scope "${text}": expected admin, read:<ns>/<env>, write:<ns>/<env> or read-secrets:<ns>/<env>`,
    );
  }
  const [, kind, namespace, environment] = m as unknown as [string, Access, string, string];
  return {
    kind,
    namespace,
    environment,
    namespaceRe: globToRegExp(namespace),
    environmentRe: globToRegExp(environment),
  };
}

/**
 * Whether `scopes` allow `access` on `namespace`/`environment`. `admin` allows everything; `write` implies
 * `read` of the same pairs; `read-secrets` implies `read`. The defaults file is environment `defaults`, so
 * only an environment glob that matches `defaults` (e.g. `*`) may edit it: it changes every environment.
 */
export function allows(
  scopes: readonly Scope[],
  access: Access,
  namespace: string,
  environment: string,
): boolean {
  for (const scope of scopes) {
    if (scope.kind === 'admin') return true;
    const kindOk =
      scope.kind === access ||
      (access === 'read' && (scope.kind === 'write' || scope.kind === 'read-secrets'));
    if (kindOk && scope.namespaceRe.test(namespace) && scope.environmentRe.test(environment)) return true;
  }
  return false;
}

/** Whether `scopes` include `admin`. */
export function isAdmin(scopes: readonly Scope[]): boolean {
  return scopes.some((s) => s.kind === 'admin');
}
