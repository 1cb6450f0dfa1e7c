/** `gitcfg token hash`: prints the sha256 of a token read from stdin, the form the tokens file stores. */
import { hashToken } from '../auth/index.js';
import { UsageError } from '../errors/index.js';
import type { CommandResult, OutputStream } from './command-io.js';
import { EXIT_CODES } from './command-io.js';

/** Options of `gitcfg token hash`. */
export interface TokenHashOptions {
  /** Where the token is read from (the CLI passes stdin); one trailing newline is dropped. */
  input: AsyncIterable<Uint8Array | string>;
  stdout: OutputStream;
}

/** Reads the token (never echoed) and prints its hex sha256. */
export async function tokenHashCommand(options: TokenHashOptions): Promise<CommandResult> {
  let text = '';
  for await (const chunk of options.input)
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  const token = text.replace(/\r?\n$/, '');
  if (!token) throw new UsageError('no token on stdin (e.g. printf %s "$TOKEN" | gitcfg token hash)');
  if (/\s/.test(token)) throw new UsageError('a token cannot contain whitespace');
  options.stdout.write(`${hashToken(token)}\n`);
  return { exitCode: EXIT_CODES.ok };
}
