/**
 * Compiles src/ with tsconfig.build.json into bench/.work/dist and bundles the evaluation worker there, so
 * benchmarks run the CLI as it ships (plain JavaScript, no TypeScript loader) without touching the project's
 * own dist/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './child.js';

/** Output directory of `compileSources`. */
export const BENCH_DIST = join(ROOT, 'bench', '.work', 'dist');
/** The compiled CLI entry point. */
export const COMPILED_CLI = join(BENCH_DIST, 'src', 'cli', 'main.js');

/** Set by a parent that compiled already, so its benchmark children do not compile again. */
const READY_ENV = 'GITCFG_BENCH_COMPILED';

/** Compiles once per suite run (later calls return at once); resolves to the compiled CLI entry point. */
export function compileSources(log: (line: string) => void = console.log): string {
  if (process.env[READY_ENV] === '1' && existsSync(COMPILED_CLI)) return COMPILED_CLI;
  log('compiling src/ into bench/.work/dist ...');
  rmSync(BENCH_DIST, { recursive: true, force: true });
  // tsc emits even when some other file has a type error; runs of the CLI fail loudly if it is broken.
  spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      BENCH_DIST,
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  if (!existsSync(COMPILED_CLI)) throw new Error(`${COMPILED_CLI} missing after compiling`);
  // As `npm run build` does: the pool starts the bundled worker when it is there.
  const bundled = spawnSync(
    process.execPath,
    [join(ROOT, 'scripts', 'bundle-worker.mjs'), join(BENCH_DIST, 'src')],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  if (bundled.status !== 0) throw new Error('bundling the evaluation worker failed');
  process.env[READY_ENV] = '1';
  return COMPILED_CLI;
}
