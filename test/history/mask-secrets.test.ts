/**
 * Secret masking as the audit output uses it (the implementation lives in src/auth; src/history re-exports it):
 * fields marked `"x-gitcfg-secret": true` are replaced by `"***"` wherever they are.
 */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject } from '../../src/engine/index.js';
import { SECRET_MASK as MASK, maskChanges, maskSecrets, maskValueAt } from '../../src/engine/index.js';

const SCHEMA: JsonObject = {
  type: 'object',
  $defs: { credential: { type: 'string', 'x-gitcfg-secret': true } },
  properties: {
    name: { type: 'string' },
    token: { $ref: '#/$defs/credential' },
    providers: {
      type: 'array',
      items: { type: 'object', properties: { url: { type: 'string' }, key: { 'x-gitcfg-secret': true } } },
    },
    headers: { type: 'object', patternProperties: { '^x-secret-': { 'x-gitcfg-secret': true } } },
    extra: { type: 'object', additionalProperties: { 'x-gitcfg-secret': true } },
    either: {
      anyOf: [{ type: 'string' }, { type: 'object', properties: { pin: { 'x-gitcfg-secret': true } } }],
    },
    vault: { type: 'object', 'x-gitcfg-secret': true },
  },
};

describe('maskSecrets', () => {
  it('masks marked fields through $ref, arrays, patterns, additionalProperties and combinators', () => {
    const value = {
      name: 'n',
      token: 't0k3n',
      providers: [
        { url: 'https://a', key: 'k1' },
        { url: 'https://b', key: 'k2' },
      ],
      headers: { 'x-secret-a': 's', accept: 'json' },
      extra: { anything: 'x' },
      either: { pin: '1234' },
      vault: { path: 'a/b' },
    };
    assert.deepEqual(maskSecrets(value, SCHEMA), {
      name: 'n',
      token: MASK,
      providers: [
        { url: 'https://a', key: MASK },
        { url: 'https://b', key: MASK },
      ],
      headers: { 'x-secret-a': MASK, accept: 'json' },
      extra: { anything: MASK },
      either: { pin: MASK },
      vault: MASK,
    });
    // The input is not modified.
    assert.equal(value.token, 't0k3n');
    assert.deepEqual(maskSecrets(value, undefined), value);
  });

  it('masks values found at a pointer, and the from/to of changes', () => {
    assert.equal(maskValueAt('k1', '/providers/0/key', [SCHEMA]), MASK);
    assert.equal(maskValueAt('https://a', '/providers/0/url', [SCHEMA]), 'https://a');
    assert.deepEqual(maskValueAt({ url: 'u', key: 'k' }, '/providers/1', [SCHEMA]), { url: 'u', key: MASK });
    assert.equal(maskValueAt('x', '/vault/path', [SCHEMA]), MASK);
    // Secret in either schema (e.g. before and after a change) is enough.
    assert.equal(
      maskValueAt('t', '/name', [SCHEMA, { properties: { name: { 'x-gitcfg-secret': true } } }]),
      MASK,
    );
    assert.deepEqual(
      maskChanges(
        [
          { op: 'replace', path: '/token', from: 'a', to: 'b' },
          { op: 'add', path: '/providers', to: [{ key: 'k' }] },
          { op: 'remove', path: '/name', from: 'n' },
        ],
        [SCHEMA],
      ),
      [
        { op: 'replace', path: '/token', from: MASK, to: MASK },
        { op: 'add', path: '/providers', to: [{ key: MASK }] },
        { op: 'remove', path: '/name', from: 'n' },
      ],
    );
  });
});
