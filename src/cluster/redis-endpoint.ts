/** The Redis endpoint of `--redis` (`redis://` or `rediss://` with TLS), its password from the environment. */
import { UsageError } from '../errors/index.js';

/** Where and how to connect; `description` is safe to log (no credentials). */
export interface RedisEndpoint {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: { servername: string; ca?: string };
  description: string;
}

/**
 * Parses `url` (`redis[s]://[user[:password]@]host[:port][/db]`). The password may instead come from
 * `GITCFG_REDIS_PASSWORD` or the file named by `GITCFG_REDIS_PASSWORD_FILE` (one trailing newline dropped);
 * `GITCFG_REDIS_CA_FILE` names a PEM bundle to verify a `rediss://` server with. Throws UsageError.
 */
export function parseRedisEndpoint(
  url: string,
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
): RedisEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError('invalid --redis: expected redis://host:port/db or rediss://...');
  }
  const tls = parsed.protocol === 'rediss:';
  if (!tls && parsed.protocol !== 'redis:') {
    throw new UsageError(`invalid --redis: unsupported scheme ${parsed.protocol} (redis: or rediss:)`);
  }
  if (!parsed.hostname) throw new UsageError('invalid --redis: no host');
  if (parsed.search || parsed.hash) throw new UsageError('invalid --redis: no query or fragment allowed');
  const port = parsed.port ? Number(parsed.port) : 6379;
  const dbText = parsed.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,4}$/.test(dbText))
    throw new UsageError('invalid --redis: db must be a number');
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  let password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  if (env.GITCFG_REDIS_PASSWORD) password = env.GITCFG_REDIS_PASSWORD;
  else if (env.GITCFG_REDIS_PASSWORD_FILE) {
    password = readFile(env.GITCFG_REDIS_PASSWORD_FILE).replace(/\r?\n$/, '');
  }
  const username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const ca = env.GITCFG_REDIS_CA_FILE ? readFile(env.GITCFG_REDIS_CA_FILE) : undefined;
  if (ca !== undefined && !tls) throw new UsageError('GITCFG_REDIS_CA_FILE needs a rediss:// URL');
  return {
    host,
    port,
    db: dbText === '' ? 0 : Number(dbText),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(tls ? { tls: { servername: host, ...(ca !== undefined ? { ca } : {}) } } : {}),
    description: `${parsed.protocol}//${parsed.host}/${dbText === '' ? 0 : Number(dbText)}`,
  };
}
