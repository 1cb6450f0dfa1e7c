/** Bearer-token authentication and scope checks. Pure apart from hashing. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from '../errors/index.js';
import { allows, isAdmin } from './scopes.js';
import type { Access, Scope } from './scopes.js';
import type { TokenEntry } from './tokens-file.js';

/** Who made a request: the holder of a valid token. */
export interface Principal {
  name: string;
  email: string;
  scopes: readonly Scope[];
  /** The token's own rate limits per route class (unparsed, as in the tokens file). */
  limits?: Readonly<Record<string, string>>;
}

/** Hex sha256 of a token, as stored in the tokens file. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** How to turn writes on; part of every "writes are disabled" answer. */
export const ENABLE_WRITES_HINT =
  'writes are disabled because the server has no tokens file: set GITCFG_TOKENS_FILE to a tokens file (see docs/access-control.md)';

/**
 * Authenticates bearer tokens against the tokens file and checks scopes. Without a tokens file (`open()`),
 * reads are open to everyone and every write, secret read and admin action is refused.
 */
export class AccessControl {
  private constructor(private readonly tokens: readonly TokenEntry[] | null) {}

  /** Access control from parsed tokens (see `parseTokensFile`). */
  static withTokens(tokens: readonly TokenEntry[]): AccessControl {
    return new AccessControl(tokens);
  }

  /** No tokens file: open reads, no writes. */
  static open(): AccessControl {
    return new AccessControl(null);
  }

  /** Whether a tokens file is configured (then every API request needs a token). */
  get enabled(): boolean {
    return this.tokens !== null;
  }

  /** Number of configured tokens. */
  get size(): number {
    return this.tokens?.length ?? 0;
  }

  /**
   * The principal of an `Authorization` header: null when there is none (or no tokens file); throws
   * UnauthorizedError for a malformed header or an unknown token. Compares with every stored hash in
   * constant time, never stopping early.
   */
  authenticate(authorization: string | undefined): Principal | null {
    if (this.tokens === null || authorization === undefined) return null;
    const m = /^Bearer[ ]+([\x21-\x7e]+)\s*$/i.exec(authorization);
    if (!m) throw new UnauthorizedError('malformed Authorization header: expected "Bearer <token>"');
    const digest = createHash('sha256').update(m[1]!, 'utf8').digest();
    let found: TokenEntry | null = null;
    for (const entry of this.tokens) {
      if (timingSafeEqual(digest, entry.digest) && found === null) found = entry;
    }
    if (!found) throw new UnauthorizedError('invalid token');
    return {
      name: found.name,
      email: found.email,
      scopes: found.scopes,
      ...(found.limits ? { limits: found.limits } : {}),
    };
  }

  /** Throws unless `principal` may `access` `namespace`/`environment` (401 without a principal, else 403). */
  authorize(principal: Principal | null, access: Access, namespace: string, environment: string): void {
    if (this.tokens === null) {
      if (access === 'read') return;
      throw new ForbiddenError(ENABLE_WRITES_HINT, { access });
    }
    if (!principal) throw new UnauthorizedError();
    if (!allows(principal.scopes, access, namespace, environment)) {
      throw new ForbiddenError(
        `token "${principal.name}" has no ${access} scope for ${namespace}/${environment}`,
        {
          access,
          namespace,
          environment,
        },
      );
    }
  }

  /** Throws unless `principal` holds `admin`. */
  authorizeAdmin(principal: Principal | null): void {
    if (this.tokens === null) throw new ForbiddenError(ENABLE_WRITES_HINT, { access: 'admin' });
    if (!principal) throw new UnauthorizedError();
    if (!isAdmin(principal.scopes)) throw new ForbiddenError(`token "${principal.name}" has no admin scope`);
  }

  /** Throws unless a token is presented when a tokens file is configured (routes without a pair). */
  authorizeAny(principal: Principal | null): void {
    if (this.tokens !== null && !principal) throw new UnauthorizedError();
  }

  /** Whether `principal` may read resolved secrets of `namespace`/`environment` (never without a tokens file). */
  canReadSecrets(principal: Principal | null, namespace: string, environment: string): boolean {
    return (
      this.tokens !== null &&
      principal !== null &&
      allows(principal.scopes, 'read-secrets', namespace, environment)
    );
  }

  /** Whether `principal` may read `namespace`/`environment`. */
  canRead(principal: Principal | null, namespace: string, environment: string): boolean {
    return (
      this.tokens === null || (principal !== null && allows(principal.scopes, 'read', namespace, environment))
    );
  }
}
