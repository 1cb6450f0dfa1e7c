/**
 * Runs the gitcfg CLI: {@link runCli} in a child process (the real entry point, real exit codes, piping), and
 * {@link runCliInProcess} through the same commander program in this process, for tests about the result.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli as runProgram } from '../../src/cli/index.js';

/** Root of this project, computed from this file's location. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The CLI's TypeScript entry point. */
export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** The published entry script (runs dist when built, else the source; GITCFG_FROM_SOURCE=1 forces source). */
export const CLI_BIN = fileURLToPath(new URL('../../bin/gitcfg.js', import.meta.url));

/** The compiled CLI entry (`npm run build`). */
export const DIST_CLI_MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

let distFresh: boolean | undefined;

/** Every file below `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

const mtime = (file: string): number => (existsSync(file) ? statSync(file).mtimeMs : -Infinity);

/**
 * Whether dist/ holds a build of the current source (`npm run build`): every .ts file under src/ compiled no
 * earlier than its last change, and the console built after its sources. A child process then starts from
 * plain JavaScript, several times cheaper than through tsx.
 */
export function distIsFresh(): boolean {
  if (distFresh !== undefined) return distFresh;
  const src = join(PROJECT_ROOT, 'src');
  const consoleBuilt = mtime(join(PROJECT_ROOT, 'dist', 'console', 'index.html'));
  distFresh =
    filesUnder(src).every(
      (file) =>
        !file.endsWith('.ts') ||
        mtime(join(PROJECT_ROOT, 'dist', 'src', relative(src, file).replace(/\.ts$/, '.js'))) >= mtime(file),
    ) && filesUnder(join(PROJECT_ROOT, 'console', 'src')).every((file) => mtime(file) <= consoleBuilt);
  return distFresh;
}

/** Node arguments that start the CLI: the fresh build when there is one, else the source through tsx. */
export function cliEntryArgs(): string[] {
  return distIsFresh() ? [DIST_CLI_MAIN] : ['--import', import.meta.resolve('tsx'), CLI_MAIN];
}

/** Outcome of one CLI run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  cwd?: string;
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string | undefined>;
  input?: string;
}

/** Environment that makes bin/gitcfg.js and hooks run the current code: a fresh build, else the source. */
export function sourceEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { ...process.env, GITCFG_FROM_SOURCE: distIsFresh() ? undefined : '1', ...extra };
}

/** Spawns the CLI ({@link cliEntryArgs}) with `args` and collects its output. */
export function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliEntryArgs(), ...args], {
      cwd: options.cwd ?? PROJECT_ROOT,
      env: sourceEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs the commander program of `gitcfg` in this process with captured stdout/stderr; `code` is what the process
 * would exit with (main.ts only adds process.exit and EPIPE handling). No stdin: `token hash` needs {@link runCli}.
 */
export async function runCliInProcess(
  args: readonly string[],
  options: Omit<RunCliOptions, 'input'> = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runProgram(args, {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: sourceEnv(options.env),
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
  });
  return { code, stdout, stderr };
}
