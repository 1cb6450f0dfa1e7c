/** What every CLI command receives and returns: plain streams in, an exit code out (never process.exit). */
import { GitcfgError, InvalidConfigError } from '../errors/index.js';

/** Anything with a `write(string)`: process.stdout, a test buffer. */
export interface OutputStream {
  write(chunk: string): unknown;
}

/** Inputs shared by every command. */
export interface CommandIo {
  /** Directory relative paths are resolved against. */
  cwd: string;
  stdout: OutputStream;
  stderr: OutputStream;
  /** Environment variables (a command reads them from here, never from process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Result of a command; `exitCode` follows {@link EXIT_CODES}. */
export interface CommandResult {
  exitCode: number;
}

/** Process exit codes of the CLI (documented in README.md). */
export const EXIT_CODES = {
  /** Success: the configuration is valid, the document was rendered, the diff was computed. */
  ok: 0,
  /** The configuration is invalid, or the namespace/environment asked for does not exist. */
  invalid: 1,
  /** Bad arguments or environment: unknown option, repository or ref not found, git failure. */
  usage: 2,
  /** Unexpected internal error (a bug). */
  internal: 3,
} as const;

/** The one format of error lines on stderr: `gitcfg: error: <message>`. */
export function errorLine(message: string): string {
  return `gitcfg: error: ${message}\n`;
}

/** Exit code for an error a command threw (typed errors by `code`; anything else is a bug). */
export function exitCodeForError(error: unknown): number {
  if (!(error instanceof GitcfgError)) return EXIT_CODES.internal;
  return error instanceof InvalidConfigError ? EXIT_CODES.invalid : EXIT_CODES.usage;
}
