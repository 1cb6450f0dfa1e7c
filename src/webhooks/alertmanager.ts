import { UsageError } from '../errors/index.js';
import { isRecord, str } from './event.js';

/** A firing alert of an Alertmanager webhook that names an environment. */
export interface AlertSignal {
  env: string;
  /** `alertname` label, or `alert` when it has none. */
  alert: string;
}

/**
 * The environments named by firing alerts of an Alertmanager webhook payload (version 4): for each alert whose
 * own `status` is `firing`, the value of the first of `labels` it carries. Resolved alerts name nothing.
 * Throws UsageError for a body that is not such a payload.
 */
export function parseAlertmanager(body: Uint8Array, labels: readonly string[]): AlertSignal[] {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new UsageError('the Alertmanager payload is not JSON');
  }
  if (!isRecord(payload) || !Array.isArray(payload.alerts)) {
    throw new UsageError('the Alertmanager payload has no alerts array');
  }
  const out: AlertSignal[] = [];
  for (const alert of payload.alerts.slice(0, 1000)) {
    if (!isRecord(alert) || alert.status !== 'firing' || !isRecord(alert.labels)) continue;
    const alertLabels = alert.labels;
    const env = labels.map((l) => str(alertLabels[l])).find((v) => v !== undefined);
    if (env === undefined) continue;
    out.push({ env, alert: (str(alertLabels.alertname) ?? 'alert').slice(0, 200) });
  }
  return out;
}
