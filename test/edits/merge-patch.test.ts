/** JSON merge patch (RFC 7396) on plain values and on YAML documents (comments and order kept). */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { applyMergePatch, applyMergePatchToYaml } from '../../src/edits/index.js';
import type { JsonValue } from '../../src/engine/index.js';

// The examples of RFC 7396, appendix A: [target, patch, result].
const RFC_EXAMPLES: [JsonValue, JsonValue, JsonValue][] = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [
    ['a', 'b'],
    ['c', 'd'],
    ['c', 'd'],
  ],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe('merge patch', () => {
  it('follows every example of RFC 7396 on plain values', () => {
    for (const [target, patch, result] of RFC_EXAMPLES)
      assert.deepEqual(applyMergePatch(target, patch), result);
  });

  it('gives the same result on YAML documents for every object example', () => {
    for (const [target, patch, result] of RFC_EXAMPLES) {
      if (!isObject(target) || !isObject(patch)) continue;
      const text = Object.keys(target).length ? JSON.stringify(target) : '';
      assert.deepEqual(parse(applyMergePatchToYaml(text, patch)) ?? {}, result, JSON.stringify(patch));
    }
  });

  it('keeps comments, key order and styles of the parts it does not touch', () => {
    const text = [
      '# header comment',
      'name: "svc" # quoted, with a comment',
      'retry:',
      '  # before max',
      '  max: 3 # tries',
      '  delay: 100',
      'list: [1, 2]',
      'old: gone',
      'tail: kept # last',
      '',
    ].join('\n');
    const out = applyMergePatchToYaml(text, {
      retry: { max: 5, delay: null, jitter: true },
      old: null,
      name: 'api',
    });
    assert.equal(
      out,
      [
        '# header comment',
        'name: "api" # quoted, with a comment',
        'retry:',
        '  # before max',
        '  max: 5 # tries',
        '  jitter: true',
        'list: [1, 2]',
        'tail: kept # last',
        '',
      ].join('\n'),
    );
  });

  it('drops a quoting style when the value stops being a string, and creates new files', () => {
    assert.equal(applyMergePatchToYaml('port: "80" # http\n', { port: 8080 }), 'port: 8080 # http\n');
    assert.deepEqual(parse(applyMergePatchToYaml(null, { a: { b: null, c: 1 } })), { a: { c: 1 } });
    assert.throws(() => applyMergePatchToYaml('a: 1\n', ['x']), /must be a JSON object/);
    assert.throws(() => applyMergePatchToYaml('- a\n- b\n', { a: 1 }), /not a YAML mapping/);
  });
});

function isObject(v: JsonValue): v is { [k: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
