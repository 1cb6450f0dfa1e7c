import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Runtime imports of a module (type-only imports are erased, so they do not count). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  const pattern = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const match of text.matchAll(pattern)) specifiers.push(match[1]!);
  // `import('x').T` in a type position is erased; a dynamic import that runs is awaited or chained.
  for (const match of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)(?!\.[A-Z])/g))
    specifiers.push(match[1]!);
  return specifiers;
}

/** Project files (relative to src/) and packages an entry point loads at run time. */
function graphOf(entry: string): { files: string[]; packages: string[] } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [resolve(SRC, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier);
    }
  }
  const files = [...seen].map((f) => relative(SRC, f).split('\\').join('/')).sort();
  return { files, packages: [...packages].filter((p) => !p.startsWith('node:')).sort() };
}

describe('client import graph', () => {
  it('loads only its own files, src/values, src/errors, src/data-file and node built-ins (no server code, no packages)', () => {
    const { files, packages } = graphOf('client/index.ts');
    assert.ok(files.includes('client/client.ts'));
    assert.deepEqual(
      [...new Set(files.map((f) => f.split('/')[0]))],
      ['client', 'data-file', 'errors', 'values'],
    );
    assert.deepEqual(
      files.filter((f) => !f.startsWith('client/') && !f.startsWith('values/')),
      ['data-file/index.ts', 'errors/index.ts'],
    );
    assert.ok(files.includes('values/index.ts'), 'the leaf is entered through its index');
    assert.deepEqual(packages, []);
  });

  it('gitcfg/openfeature adds only the OpenFeature packages', () => {
    const { files, packages } = graphOf('client/openfeature.ts');
    assert.deepEqual(
      files.filter((f) => !f.startsWith('client/')),
      [],
    );
    assert.deepEqual(packages, ['@openfeature/flagd-core', '@openfeature/server-sdk']);
  });
});
