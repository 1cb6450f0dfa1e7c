/** The console talks to the server only over HTTP: its sources import no project module outside console/. */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const CONSOLE = fileURLToPath(new URL('../../console/src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

describe('console import graph', () => {
  it('imports only its own files and the bundled browser packages', () => {
    const outside: string[] = [];
    const packages = new Set<string>();
    const files = sources(CONSOLE);
    assert.ok(files.length > 5);
    for (const file of files) {
      // TypeScript's own scanner: imports only, not code samples inside strings.
      const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      for (const { fileName: spec } of importedFiles) {
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          if (relative(CONSOLE, target).startsWith('..'))
            outside.push(`${relative(CONSOLE, file)} -> ${spec}`);
        } else {
          packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
        }
      }
    }
    assert.deepEqual(outside, []);
    const allowed = [
      '@codemirror/autocomplete',
      '@codemirror/commands',
      '@codemirror/lang-yaml',
      '@codemirror/language',
      '@codemirror/lint',
      '@codemirror/state',
      '@codemirror/view',
      '@preact/signals',
      'preact',
      'yaml',
    ];
    assert.deepEqual(
      [...packages].filter((p) => !allowed.includes(p)),
      [],
    );
  });
});
