import type { WebhookProvider } from './event.js';
import { WEBHOOK_PROVIDERS } from './event.js';

/** Webhook secrets per provider; a provider without one has its endpoint disabled. */
export type WebhookSecrets = Partial<Record<WebhookProvider, string>>;

/** A secret from `name` or, when unset, from the file `${name}_FILE` names (one trailing newline dropped). */
export function secretFromEnv(
  env: Record<string, string | undefined>,
  name: string,
  readFile: (path: string) => string,
): string | undefined {
  const direct = env[name];
  if (direct) return direct;
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  const value = readFile(file).replace(/\r?\n$/, '');
  return value === '' ? undefined : value;
}

/** Who may send the signals that abort rollouts, and how alerts name environments. */
export interface SignalSettings {
  /** Bearer token Alertmanager's `http_config` sends; absent: the receiver answers 403. */
  alertmanagerToken?: string | undefined;
  /** Alert labels that name the environment, first present wins (default `env`). */
  alertmanagerLabels?: readonly string[] | undefined;
  /** HMAC-SHA256 secret of `POST /v1/webhooks/signal`; absent: it answers 403. */
  signalSecret?: string | undefined;
}

/**
 * The signal settings from the environment: `GITCFG_ALERTMANAGER_TOKEN` (bearer token of the Alertmanager
 * receiver), `GITCFG_ALERTMANAGER_LABELS` (comma-separated alert labels naming the environment, default `env`)
 * and `GITCFG_SIGNAL_SECRET` (HMAC secret of the generic signal); each secret also as `..._FILE`.
 */
export function signalSettingsFromEnv(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
): SignalSettings {
  const labels = (env.GITCFG_ALERTMANAGER_LABELS ?? '')
    .split(',')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return {
    alertmanagerToken: secretFromEnv(env, 'GITCFG_ALERTMANAGER_TOKEN', readFile),
    alertmanagerLabels: labels.length > 0 ? labels : ['env'],
    signalSecret: secretFromEnv(env, 'GITCFG_SIGNAL_SECRET', readFile),
  };
}

/**
 * Reads webhook secrets from the environment: `GITCFG_WEBHOOK_SECRET_<PROVIDER>` or the shared
 * `GITCFG_WEBHOOK_SECRET`, each also as `..._FILE` (path of a file holding the secret; one trailing newline is
 * dropped). The per-provider value wins over the shared one; a direct value wins over its `_FILE` variant.
 */
export function webhookSecretsFromEnv(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
): WebhookSecrets {
  const read = (name: string) => secretFromEnv(env, name, readFile);
  const shared = read('GITCFG_WEBHOOK_SECRET');
  const secrets: WebhookSecrets = {};
  for (const provider of WEBHOOK_PROVIDERS) {
    const secret = read(`GITCFG_WEBHOOK_SECRET_${provider.toUpperCase()}`) ?? shared;
    if (secret !== undefined) secrets[provider] = secret;
  }
  return secrets;
}
