/**
 * Structured JSON logging (pino). Secrets never reach a log line: known secret-bearing fields and headers are
 * redacted here as a last line of defence, and callers must not log them in the first place.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { UsageError } from '../errors/index.js';

export type { Logger } from 'pino';

/** Log levels accepted by `GITCFG_LOG_LEVEL`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Field paths that may carry secrets; their values are replaced by `[redacted]`. */
const REDACT_PATHS = [
  'secret',
  'token',
  'password',
  '*.secret',
  '*.token',
  '*.password',
  'headers.authorization',
  'headers.cookie',
  'headers["x-hub-signature"]',
  'headers["x-hub-signature-256"]',
  'headers["x-gitea-signature"]',
  'headers["x-gitlab-token"]',
  'headers["x-gitcfg-signature"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-hub-signature"]',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-gitea-signature"]',
  'req.headers["x-gitlab-token"]',
  'req.headers["x-gitcfg-signature"]',
];

/** Creates the process logger; `level` defaults to `info`, output goes to `destination` (default stdout). */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const level = options.level ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`unknown log level "${level}" (expected one of ${LOG_LEVELS.join(', ')})`);
  }
  return pino(
    {
      level,
      base: { service: 'gitcfg' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

/** A logger that discards everything (tests, library use without logging). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
