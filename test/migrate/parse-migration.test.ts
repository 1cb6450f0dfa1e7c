import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { LineCounter, isMap, isSeq, parse, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import type { JsonValue, Origin } from '../../src/values/index.js';
import { MIGRATION_FILE_SCHEMA, checkChain, parseMigration } from '../../src/migrate/index.js';
import { step } from './helpers.js';

const FILE = 'migrations/cache/2.yaml';

function issuesOf(text: string): string[] {
  return parseMigration(parse(text) as JsonValue, FILE, 2).issues.map((issue) => {
    assert.equal(issue.code, 'migration-invalid');
    assert.equal(issue.file, FILE);
    return issue.message;
  });
}

describe('parseMigration', () => {
  it('accepts every operation kind and keeps their order', () => {
    const parsed = step(
      2,
      `description: all kinds
operations:
  - rename: { from: /a, to: /b }
  - set: { path: /c, value: { nested: [1, 2] } }
  - remove: { path: /d, restore: null }
  - convert: { path: /e/*, from: seconds, to: duration }
  - convert: { path: /f, table: { x: 1, y: true } }`,
    );
    assert.equal(parsed.description, 'all kinds');
    assert.deepEqual(
      parsed.operations.map((op) => op.kind),
      ['rename', 'set', 'remove', 'convert', 'convert'],
    );
    const remove = parsed.operations[2];
    assert.ok(remove?.kind === 'remove' && remove.restore === null, 'a null restore is a restore value');
  });

  it('checks the file against the schema and returns every issue', () => {
    const messages = issuesOf(`operations:
  - rename: { from: timeouts }
  - explode: { path: /a }
  - convert: { path: /a }
  - convert: { path: /a, from: seconds, to: duration, table: { a: b } }
  - convert: { path: /a, from: seconds, to: fortnights }
extra: 1`);
    assert.deepEqual(messages.sort(), [
      'convert needs either `from` and `to`, or `table` (not both) (at /operations/2/convert)',
      'convert needs either `from` and `to`, or `table` (not both) (at /operations/3/convert)',
      'missing "to" (at /operations/0/rename)',
      'must be a JSON pointer below the root, e.g. /timeouts/analytics (at /operations/0/rename/from)',
      'must be one of: seconds, milliseconds, duration, scalar, list, string, number (at /operations/4/convert/to)',
      'unknown key "extra"',
      'unknown operation "explode" (expected rename, set, remove or convert) (at /operations/1)',
    ]);
  });

  it('rejects an empty file, no operations and two operations in one item', () => {
    assert.match(issuesOf('')[0] ?? '', /must be object/);
    assert.match(issuesOf('operations: []')[0] ?? '', /must NOT have fewer than 1 items/);
    assert.match(
      issuesOf('operations: [{ set: { path: /a, value: 1 }, remove: { path: /b } }]')[0] ?? '',
      /exactly one of rename, set, remove, convert/,
    );
  });

  it('checks what the schema cannot express', () => {
    const messages = issuesOf(`operations:
  - rename: { from: /a/*, to: /b }
  - rename: { from: /a, to: /a/b }
  - set: { path: /a/*, value: 1 }
  - convert: { path: /a, from: seconds, to: list }
  - convert: { path: /a, table: { x: same, y: same } }
  - remove: { path: /$schemaVersion }`);
    assert.equal(messages.length, 6);
    assert.match(messages[0] ?? '', /#1 \(rename\): .*same number of `\*` wildcards/);
    assert.match(messages[1] ?? '', /#2 \(rename\): .*must not contain one another/);
    assert.match(messages[2] ?? '', /#3 \(set\): the last segment of `path` must be a key/);
    assert.match(
      messages[3] ?? '',
      /#4 \(convert\): no conversion from seconds to list; known: .*seconds -> duration/,
    );
    assert.match(messages[4] ?? '', /#5 \(convert\): table maps both "x" and "y" to "same": not one-to-one/);
    assert.match(messages[5] ?? '', /#6 \(remove\): \$schemaVersion is managed by gitcfg/);
  });

  it('places issues on the line of the offending operation when origins are given', () => {
    const text = 'description: x\noperations:\n  - set: { path: /a, value: 1 }\n  - rename: { from: /b }\n';
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter });
    const origins = new Map<string, Origin>();
    const walk = (node: Node | null, pointer: string): void => {
      if (!node?.range) return;
      const pos = lineCounter.linePos(node.range[0]);
      origins.set(pointer, { file: FILE, line: pos.line, column: pos.col });
      if (isMap(node))
        for (const pair of node.items) walk(pair.value as Node, `${pointer}/${String(pair.key)}`);
      if (isSeq(node)) node.items.forEach((item, i) => walk(item as Node, `${pointer}/${i}`));
    };
    walk(doc.contents as Node, '');
    const result = parseMigration(doc.toJS() as JsonValue, FILE, 2, origins);
    assert.equal(result.issues.length, 1);
    assert.equal(result.issues[0]?.line, 4);
  });

  it('schemas/gitcfg-migration.schema.json is the schema parseMigration uses', async () => {
    const published = JSON.parse(
      await readFile(new URL('../../schemas/gitcfg-migration.schema.json', import.meta.url), 'utf8'),
    );
    assert.deepEqual(published, JSON.parse(JSON.stringify(MIGRATION_FILE_SCHEMA)));
  });
});

describe('checkChain', () => {
  const at = (version: number) => step(version, 'operations: [{ set: { path: /a, value: 1 } }]');

  it('accepts a complete chain and a namespace at version 1 without migrations', () => {
    assert.deepEqual(checkChain([at(2), at(3)], 3, 'cache'), []);
    assert.deepEqual(checkChain([], 1, 'cache'), []);
  });

  it('reports a gap, naming the missing file', () => {
    const issues = checkChain([at(2), at(4)], 4, 'cache');
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.code, 'migration-invalid');
    assert.equal(issues[0]?.file, 'migrations/cache/3.yaml');
    assert.match(issues[0]?.message ?? '', /migrations\/cache\/3\.yaml is missing/);
    // A step file that exists but did not parse has its own issues: no gap on top of them.
    assert.deepEqual(checkChain([at(2), at(4)], 4, 'cache', new Set([3])), []);
  });

  it('reports a step above the current version and a step numbered 1', () => {
    const issues = checkChain(
      [at(2), at(3), { ...at(1), version: 1, file: 'migrations/cache/1.yaml' }],
      2,
      'cache',
    );
    assert.deepEqual(
      issues.map((issue) => issue.file),
      ['migrations/cache/3.yaml', 'migrations/cache/1.yaml'],
    );
    assert.match(issues[0]?.message ?? '', /above the schema's current version 2/);
    assert.match(issues[1]?.message ?? '', /first step is 2\.yaml/);
  });
});
