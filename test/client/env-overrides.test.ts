import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { JsonObject } from '../../src/client/index.js';
import {
  GitcfgClientError,
  applyEnvOverrides,
  coerceEnvValue,
  envKey,
  parseEnvOverrides,
} from '../../src/client/index.js';

const schema: JsonObject = {
  type: 'object',
  additionalProperties: false,
  $defs: { delay: { type: 'integer', minimum: 0 } },
  properties: {
    input_size: { type: 'integer' },
    learning_rate: { type: 'number' },
    enabled: { type: 'boolean' },
    name: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    sizes: { type: 'array', items: { type: 'integer' } },
    limits: { type: 'object' },
    fallback: { type: ['string', 'null'] },
    'max-delay': { $ref: '#/$defs/delay' },
    feature_mapping: { type: 'object', additionalProperties: { type: 'string' } },
    retry: {
      type: 'object',
      additionalProperties: false,
      properties: { http: { type: 'object', properties: { max_retries: { type: 'integer' } } } },
    },
  },
};

const doc: JsonObject = {
  input_size: 128,
  learning_rate: 0.1,
  enabled: false,
  name: 'base',
  tags: ['a'],
  sizes: [1],
  limits: {},
  fallback: 'x',
  'max-delay': 10,
  feature_mapping: { user_id: 'uid' },
  retry: { http: { max_retries: 3 } },
};

function apply(env: Record<string, string>, s: JsonObject | null = schema, d: JsonObject = doc) {
  const overrides = parseEnvOverrides(env).get('ML') ?? [];
  return applyEnvOverrides('ml', d, s ?? undefined, overrides);
}

function overrideError(fn: () => unknown): GitcfgClientError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof GitcfgClientError);
    assert.equal(error.code, 'E_OVERRIDE');
    return error;
  }
  assert.fail('expected an E_OVERRIDE error');
}

describe('parseEnvOverrides', () => {
  it('groups GITCFG__ variables by normalised namespace and ignores the rest', () => {
    const parsed = parseEnvOverrides({
      GITCFG__SPACED_REPETITION__INTERVALS__FIRST: '1',
      GITCFG__ML__INPUT_SIZE: '3',
      GITCFG_URL: 'http://x',
      PATH: '/bin',
      GITCFG__ML__RETRY__HTTP__MAX_RETRIES: '4',
    });
    assert.deepEqual([...parsed.keys()].sort(), ['ML', 'SPACED_REPETITION']);
    assert.equal(envKey('spaced-repetition'), 'SPACED_REPETITION');
    assert.deepEqual(
      parsed.get('ML')!.map((o) => o.segments),
      [['INPUT_SIZE'], ['RETRY', 'HTTP', 'MAX_RETRIES']],
    );
  });
});

describe('applyEnvOverrides', () => {
  it('coerces by schema type: integer, number, boolean, string, null union, object', () => {
    const { value, applied } = apply({
      GITCFG__ML__INPUT_SIZE: '256',
      GITCFG__ML__LEARNING_RATE: '2.5e-3',
      GITCFG__ML__ENABLED: 'TRUE',
      GITCFG__ML__NAME: '0042',
      GITCFG__ML__FALLBACK: 'null',
      GITCFG__ML__LIMITS: '{"a": 1}',
    });
    assert.equal(value.input_size, 256);
    assert.equal(value.learning_rate, 0.0025);
    assert.equal(value.enabled, true);
    assert.equal(value.name, '0042');
    assert.equal(value.fallback, null);
    assert.deepEqual(value.limits, { a: 1 });
    assert.equal(applied.length, 6);
    assert.equal(doc.input_size, 128, 'the input document is not modified');
  });

  it('reads booleans as true/false/1/0', () => {
    assert.equal(apply({ GITCFG__ML__ENABLED: '1' }).value.enabled, true);
    assert.equal(apply({ GITCFG__ML__ENABLED: 'false' }).value.enabled, false);
    assert.equal(apply({ GITCFG__ML__ENABLED: '0' }).value.enabled, false);
    const error = overrideError(() => apply({ GITCFG__ML__ENABLED: 'yes' }));
    assert.match(error.message, /GITCFG__ML__ENABLED/);
  });

  it('reads arrays as JSON or comma-separated, coercing the items', () => {
    assert.deepEqual(apply({ GITCFG__ML__SIZES: '1, 2,3' }).value.sizes, [1, 2, 3]);
    assert.deepEqual(apply({ GITCFG__ML__SIZES: '[4,"5"]' }).value.sizes, [4, 5]);
    assert.deepEqual(apply({ GITCFG__ML__TAGS: 'x,y' }).value.tags, ['x', 'y']);
    assert.deepEqual(apply({ GITCFG__ML__TAGS: '' }).value.tags, []);
    const error = overrideError(() => apply({ GITCFG__ML__SIZES: '1,two' }));
    assert.match(error.message, /GITCFG__ML__SIZES: value is not a valid array/);
  });

  it('names the variable, not the value, when a value cannot be coerced', () => {
    const error = overrideError(() => apply({ GITCFG__ML__INPUT_SIZE: 'sekret-12x' }));
    assert.match(error.message, /GITCFG__ML__INPUT_SIZE: value is not a valid integer/);
    assert.doesNotMatch(error.message, /sekret/);
    overrideError(() => apply({ GITCFG__ML__INPUT_SIZE: '1.5' }));
    overrideError(() => apply({ GITCFG__ML__LEARNING_RATE: 'fast' }));
  });

  it('reports every bad variable at once', () => {
    const error = overrideError(() =>
      apply({ GITCFG__ML__INPUT_SIZE: 'x', GITCFG__ML__ENABLED: 'maybe', GITCFG__ML__NOPE: '1' }),
    );
    const issues = error.data.issues as { variable: string }[];
    assert.deepEqual(issues.map((i) => i.variable).sort(), [
      'GITCFG__ML__ENABLED',
      'GITCFG__ML__INPUT_SIZE',
      'GITCFG__ML__NOPE',
    ]);
    assert.match(error.message, /GITCFG__ML__NOPE: ml has no key matching NOPE/);
  });

  it('matches keys case-insensitively with - written as _, following $ref and nested paths', () => {
    const { value, applied } = apply({
      GITCFG__ML__MAX_DELAY: '20',
      gitcfg__ml__retry__http__max_retries: '9', // not the prefix: ignored
      GITCFG__ML__Retry__Http__Max_Retries: '7',
    });
    assert.equal(value['max-delay'], 20);
    assert.deepEqual(value.retry, { http: { max_retries: 7 } });
    assert.deepEqual(
      applied.map((a) => a.path),
      ['max-delay', 'retry.http.max_retries'],
    );
    overrideError(() => apply({ GITCFG__ML__MAX_DELAY: '-' }));
  });

  it('adds keys to free-form maps, typed by additionalProperties', () => {
    const { value, applied } = apply({ GITCFG__ML__FEATURE_MAPPING__ACCOUNT_AGE: 'age_days' });
    assert.deepEqual(value.feature_mapping, { user_id: 'uid', account_age: 'age_days' });
    assert.deepEqual(applied, [
      { variable: 'GITCFG__ML__FEATURE_MAPPING__ACCOUNT_AGE', path: 'feature_mapping.account_age' },
    ]);
  });

  it('lets a deeper variable win over an object set above it', () => {
    const { value } = apply({
      GITCFG__ML__RETRY: '{"http": {"max_retries": 1}}',
      GITCFG__ML__RETRY__HTTP__MAX_RETRIES: '2',
    });
    assert.deepEqual(value.retry, { http: { max_retries: 2 } });
  });

  it('without a schema, coerces by the type of the value it replaces', () => {
    const { value } = apply(
      { GITCFG__ML__INPUT_SIZE: '64', GITCFG__ML__ENABLED: 'true', GITCFG__ML__NEW_KEY: '5' },
      null,
    );
    assert.equal(value.input_size, 64);
    assert.equal(value.enabled, true);
    assert.equal(value.new_key, '5');
  });

  it('rejects malformed variable names', () => {
    const error = overrideError(() => apply({ GITCFG__ML__RETRY____X: '1' }));
    assert.match(error.message, /GITCFG__ML__RETRY____X: expected GITCFG__<NAMESPACE>__<KEY>/);
  });
});

describe('coerceEnvValue', () => {
  it('rejects unsafe integers and non-finite numbers', () => {
    assert.throws(
      () => coerceEnvValue('V', '9007199254740993', { type: 'integer' }),
      /V: value is not a valid integer/,
    );
    assert.throws(
      () => coerceEnvValue('V', 'Infinity', { type: 'number' }),
      /V: value is not a valid number/,
    );
    assert.equal(coerceEnvValue('V', ' 12 ', { type: 'integer' }), 12);
    assert.equal(coerceEnvValue('V', 'b', { enum: ['a', 'b'] }), 'b');
  });
});
