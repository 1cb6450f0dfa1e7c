import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { JsonValue } from '../../src/client/index.js';
import { valueAtPath } from '../../src/client/index.js';
import { subtree } from '../../src/snapshot/index.js';
import { valueAtPath as sharedValueAtPath } from '../../src/values/index.js';

const doc = JSON.parse(
  '{"a":{"b":[10,{"c":"x"}],"d/e":1,"f~g":2,"":"blank"},"own":{"__proto__":{"p":3}},"n":null}',
) as JsonValue;

/** Path -> expected value (undefined: absent). */
const CASES: [string, JsonValue | undefined][] = [
  ['', doc],
  ['a.b.1.c', 'x'],
  ['/a/b/1', { c: 'x' }],
  ['/a/b/1/c', 'x'],
  ['a.b.0', 10],
  ['/a/d~1e', 1],
  ['/a/f~0g', 2],
  ['a.', 'blank'],
  ['n', null],
  ['own.__proto__.p', 3],
  ['/own/__proto__', { p: 3 }],
  // Array indexes are canonical: no leading zero, sign, exponent or blank.
  ['a.b.01', undefined],
  ['/a/b/01', undefined],
  ['a.b.-1', undefined],
  ['a.b.+1', undefined],
  ['a.b.1e0', undefined],
  ['a.b. 1', undefined],
  ['a.b.2', undefined],
  ['a.b.length', undefined],
  // Own properties only: nothing of a prototype.
  ['__proto__', undefined],
  ['a.constructor', undefined],
  ['/a/toString', undefined],
  ['a.b.1.c.length', undefined],
  ['n.x', undefined],
  ['a/b', undefined],
];

describe('valueAtPath: one path syntax for the client and the server', () => {
  it('is the same function in the client SDK and in src/values', () => {
    assert.equal(valueAtPath, sharedValueAtPath);
  });

  for (const [path, expected] of CASES) {
    it(`${JSON.stringify(path)} -> ${JSON.stringify(expected)} for the client and the server's ?path=`, () => {
      assert.deepEqual(valueAtPath(doc, path), expected);
      assert.deepEqual(subtree(doc, path), expected);
    });
  }
});
