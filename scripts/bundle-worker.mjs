// Bundles the compiled evaluation worker (dist/src/evaluation-pool/evaluation-worker.js and the ~50 modules it
// imports) into one file beside it, evaluation-worker.bundle.js, which the pool starts when it exists: a worker
// loading one module instead of fifty is ready sooner (a cold hook of 100 namespaces 0.94x). Packages stay
// outside the bundle and are loaded from node_modules as before.
// Usage: node scripts/bundle-worker.mjs [compiledSrcDir]. Run by `npm run build` after tsc, and by the bench.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles the worker compiled into `srcDir` (the `src` folder of tsc's output). */
export async function bundleWorker(srcDir = join(root, 'dist', 'src')) {
  const folder = join(srcDir, 'evaluation-pool');
  await build({
    entryPoints: [join(folder, 'evaluation-worker.js')],
    outfile: join(folder, 'evaluation-worker.bundle.js'),
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleWorker(process.argv[2]);
