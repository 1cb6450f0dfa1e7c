/**
 * What a `${env:NAME}` secret reference of a namespace x environment resolves to on the server: a variable of
 * its environment, only when the secret scopes grant that name to that pair (checked again at read time, in
 * case a snapshot holds a reference validation would now refuse), never `GITCFG_*`, never an inherited name.
 */
import { SecretScopes } from '../engine/index.js';
import { UsageError } from '../errors/index.js';

export class SecretResolver {
  constructor(
    readonly scopes: SecretScopes,
    private readonly env: Readonly<Record<string, string | undefined>>,
    /** Whether the operator set any scopes (GITCFG_SECRET_ENV or its file), even an empty list. */
    readonly configured = true,
  ) {}

  /** The value of `name` for a reference in `namespace/environment`; undefined when refused or unset. */
  lookup(namespace: string, environment: string, name: string): string | undefined {
    if (!this.scopes.allows(namespace, environment, name)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(this.env, name)) return undefined;
    const value = this.env[name];
    return typeof value === 'string' ? value : undefined;
  }
}

/**
 * The server's resolver: scopes from `GITCFG_SECRET_ENV` (comma separated) or `GITCFG_SECRET_ENV_FILE` (one entry
 * per line), values from `env`. Neither set: nothing resolves. Both set, or a bad entry: a UsageError naming
 * the variable or file line.
 */
export function secretResolverFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
): SecretResolver {
  const inline = env.GITCFG_SECRET_ENV;
  const file = env.GITCFG_SECRET_ENV_FILE;
  if (inline !== undefined && file !== undefined) {
    throw new UsageError('set GITCFG_SECRET_ENV or GITCFG_SECRET_ENV_FILE, not both');
  }
  let scopes = SecretScopes.none();
  if (inline !== undefined) scopes = SecretScopes.parse(inline, 'GITCFG_SECRET_ENV');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFile(file);
    } catch (err) {
      throw new UsageError(`GITCFG_SECRET_ENV_FILE ${file} cannot be read: ${(err as Error).message}`);
    }
    scopes = SecretScopes.parse(text, file);
  }
  return new SecretResolver(scopes, env, inline !== undefined || file !== undefined);
}
