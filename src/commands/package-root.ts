/** Locates the installed gitcfg package (source checkout or dist build) from this module's own location. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** Directory of the gitcfg package (holds package.json, bin/, hooks/), found by walking up from this file. */
export function findPackageRoot(): string {
  if (cachedRoot) return cachedRoot;
  // src/commands/ and dist/src/commands/ sit at different depths, so walk up instead of a fixed `../..`.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (pkg.name === 'gitcfg') return (cachedRoot = dir);
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('gitcfg package root not found');
    dir = parent;
  }
}

/** Version string from the package's package.json. */
export function readPackageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(findPackageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
