// Builds the web console (console/src) into dist/console: index.html plus hashed, minified assets.
// Usage: node console/build.mjs [outDir]. Run by `npm run build` (and so by `npm ci` through `prepare`).
import { build } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

const root = dirname(fileURLToPath(import.meta.url));

/** Builds into `outDir`; returns the first-load files and the gzip sizes of everything built. */
export async function buildConsole(outDir = join(root, '..', 'dist', 'console')) {
  await rm(outDir, { recursive: true, force: true });
  const assets = join(outDir, 'assets');
  await mkdir(assets, { recursive: true });
  const result = await build({
    entryPoints: [join(root, 'src', 'main.tsx')],
    outdir: assets,
    bundle: true,
    splitting: true,
    format: 'esm',
    minify: true,
    target: ['chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    chunkNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = result.metafile.outputs;
  const entry = Object.entries(outputs).find(([, o]) => o.entryPoint?.endsWith('main.tsx'));
  if (!entry) throw new Error('console build: no entry output');
  const [entryJs, entryMeta] = entry;
  const rel = (file) => relative(outDir, file).split('\\').join('/');
  const css = entryMeta.cssBundle ? rel(entryMeta.cssBundle) : null;
  // Static imports of the entry load at once; dynamic ones (the YAML editor) only when a page asks.
  const firstLoad = new Set([rel(entryJs)]);
  const pending = [entryJs];
  while (pending.length) {
    const file = pending.pop();
    for (const imp of outputs[file]?.imports ?? []) {
      if (imp.kind === 'import-statement' && !firstLoad.has(rel(imp.path))) {
        firstLoad.add(rel(imp.path));
        pending.push(imp.path);
      }
    }
  }
  if (css) firstLoad.add(css);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>gitcfg console</title>
${css ? `<link rel="stylesheet" href="${css}">\n` : ''}<script type="module" src="${rel(entryJs)}"></script>
</head>
<body>
<div id="app"><noscript>The gitcfg console needs JavaScript.</noscript></div>
</body>
</html>
`;
  await writeFile(join(outDir, 'index.html'), html);
  const gz = (file) => gzipSync(readFileSync(join(outDir, file)), { level: 9 }).length;
  const sizes = Object.keys(outputs)
    .filter((f) => !f.endsWith('.map'))
    .map((f) => ({
      file: rel(f),
      bytes: outputs[f].bytes,
      gzip: gz(rel(f)),
      firstLoad: firstLoad.has(rel(f)),
    }));
  return { outDir, firstLoad: [...firstLoad], sizes };
}

if (process.argv[1] && basename(process.argv[1]) === 'build.mjs') {
  const { outDir, sizes } = await buildConsole(process.argv[2]);
  const first = sizes.filter((s) => s.firstLoad).reduce((n, s) => n + s.gzip, 0);
  const lazy = sizes.filter((s) => !s.firstLoad).reduce((n, s) => n + s.gzip, 0);
  console.log(
    `console built in ${relative(process.cwd(), outDir) || '.'}: first load ${(first / 1024).toFixed(1)} KB gzip, ` +
      `loaded on demand ${(lazy / 1024).toFixed(1)} KB gzip`,
  );
}
