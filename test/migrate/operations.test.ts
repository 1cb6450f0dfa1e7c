import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { JsonObject } from '../../src/values/index.js';
import { formatDuration, migrateDown, migrateUp, parseDuration } from '../../src/migrate/index.js';
import type { MigrationStep } from '../../src/migrate/index.js';
import { step, withOrigins } from './helpers.js';

const defaults = { file: 'defaults/cache.yaml', namespace: 'cache' };
const override = { file: 'environments/production/cache.yaml', namespace: 'cache' };

function up(value: JsonObject, steps: MigrationStep[], ctx = defaults, target = steps.length + 1) {
  return migrateUp({ value, origins: withOrigins(value, ctx.file), version: 1 }, steps, target, ctx);
}

function upValue(value: JsonObject, steps: MigrationStep[], ctx = defaults): JsonObject {
  const result = up(value, steps, ctx);
  assert.deepEqual(result.issues, []);
  assert.ok(result.doc);
  return result.doc.value;
}

function downValue(value: JsonObject, steps: MigrationStep[], to = 1): JsonObject {
  const result = migrateDown(value, steps.length + 1, to, steps);
  assert.deepEqual(result.issues, []);
  assert.ok(result.value);
  return result.value;
}

describe('rename', () => {
  const rename = step(2, 'operations: [{ rename: { from: /timeouts/analytics, to: /ttl/analytics } }]');

  it('moves the value up and back down', () => {
    const v1 = { timeouts: { analytics: 3600, agent: 60 } };
    const v2 = upValue(v1, [rename]);
    assert.deepEqual(v2, { timeouts: { agent: 60 }, ttl: { analytics: 3600 } });
    assert.deepEqual(downValue(v2, [rename]), v1);
  });

  it('removes the mapping it emptied, and keeps the original untouched', () => {
    const v1 = { timeouts: { analytics: 3600 } };
    assert.deepEqual(upValue(v1, [rename]), { ttl: { analytics: 3600 } });
    assert.deepEqual(v1, { timeouts: { analytics: 3600 } });
  });

  it('skips a layer that does not mention the source', () => {
    assert.deepEqual(upValue({ other: true }, [rename], override), { other: true });
  });

  it('is an issue when the target already exists, naming file, migration and operation', () => {
    const result = up({ timeouts: { analytics: 1 }, ttl: { analytics: 2 } }, [rename], override);
    assert.equal(result.doc, undefined);
    assert.equal(result.issues.length, 1);
    const [issue] = result.issues;
    assert.equal(issue?.code, 'migration-failed');
    assert.equal(issue?.file, override.file);
    assert.equal(issue?.path, '/timeouts/analytics');
    assert.match(issue?.message ?? '', /migrations\/cache\/2\.yaml operation #1 \(rename .*already exists/);
  });

  it('is an issue when the target parent is not a mapping', () => {
    const result = up({ timeouts: { analytics: 1 }, ttl: 'short' }, [rename]);
    assert.match(result.issues[0]?.message ?? '', /\/ttl is a scalar, not a mapping/);
  });

  it('is an issue when a path descends through a scalar', () => {
    const result = up({ timeouts: 30 }, [rename]);
    assert.equal(result.issues[0]?.path, '/timeouts');
    assert.match(
      result.issues[0]?.message ?? '',
      /expected a mapping or list to descend into, found number 30/,
    );
  });

  it('moves origins with the value, so later errors point to where it was written', () => {
    const value = { timeouts: { analytics: 3600, agent: { fast: 1, slow: 2 } } };
    const origins = withOrigins(value, 'environments/production/cache.yaml');
    const steps = [step(2, 'operations: [{ rename: { from: /timeouts/agent, to: /services/agent/ttl } }]')];
    const result = migrateUp({ value, origins, version: 1 }, steps, 2, override);
    assert.ok(result.doc);
    for (const leaf of ['', '/fast', '/slow']) {
      assert.deepEqual(
        result.doc.origins.get(`/services/agent/ttl${leaf}`),
        origins.get(`/timeouts/agent${leaf}`),
      );
      assert.equal(result.doc.origins.has(`/timeouts/agent${leaf}`), false);
    }
    assert.deepEqual(result.doc.origins.get('/timeouts/analytics'), origins.get('/timeouts/analytics'));
    // The mappings created to hold the value point at it too.
    assert.deepEqual(result.doc.origins.get('/services'), origins.get('/timeouts/agent'));
  });

  it('moves a `!delete` of an override with the key it deletes', () => {
    const result = migrateUp(
      {
        value: { timeouts: {} },
        origins: new Map(),
        version: 1,
        deletes: new Map([['/timeouts', ['agent']]]),
      },
      [step(2, 'operations: [{ rename: { from: /timeouts/*, to: /services/*/ttl } }]')],
      2,
      override,
    );
    assert.deepEqual(result.issues, []);
    assert.deepEqual(result.doc?.deletes, new Map([['/services/agent', ['ttl']]]));
    // The emptied mapping is gone; the mappings holding the deletion exist so the merge can apply it.
    assert.deepEqual(result.doc?.value, { services: { agent: {} } });
  });
});

describe('wildcards', () => {
  const perService = step(
    2,
    `operations:
  - rename: { from: /timeouts/*, to: /services/*/ttl }
  - convert: { path: /services/*/ttl, from: seconds, to: duration }`,
  );

  it('apply to every key, keeping the order of the keys', () => {
    const v1 = { timeouts: { analytics: 3600, agent: 90, ivr: 5400, recording: 86400 } };
    const v2 = upValue(v1, [perService]);
    assert.deepEqual(Object.keys(v2.services as JsonObject), ['analytics', 'agent', 'ivr', 'recording']);
    assert.deepEqual(v2, {
      services: {
        analytics: { ttl: '1h' },
        agent: { ttl: '1m30s' },
        ivr: { ttl: '1h30m' },
        recording: { ttl: '1d' },
      },
    });
    assert.deepEqual(downValue(v2, [perService]), v1);
  });

  it('range over list items', () => {
    const wrap = step(2, 'operations: [{ convert: { path: /hosts/*/port, from: number, to: string } }]');
    const v1: JsonObject = { hosts: [{ port: 80 }, { name: 'x' }, { port: 443 }] };
    const v2 = upValue(v1, [wrap]);
    assert.deepEqual(v2, { hosts: [{ port: '80' }, { name: 'x' }, { port: '443' }] });
    assert.deepEqual(downValue(v2, [wrap]), v1);
  });

  it('match nothing in a layer without the parent', () => {
    assert.deepEqual(upValue({ enabled: false }, [perService], override), { enabled: false });
  });

  it('remove list items without shifting the next matches', () => {
    const drop = step(2, 'operations: [{ remove: { path: /hosts/* } }]');
    assert.deepEqual(upValue({ hosts: ['a', 'b', 'c'], keep: 1 }, [drop]), { hosts: [], keep: 1 });
  });
});

describe('set', () => {
  const add = step(2, 'operations: [{ set: { path: /ttl/default, value: 5m } }]');

  it('fills the defaults document where it lacks the value, creating mappings', () => {
    assert.deepEqual(upValue({ a: 1 }, [add]), { a: 1, ttl: { default: '5m' } });
  });

  it('keeps a value the defaults already have', () => {
    assert.deepEqual(upValue({ ttl: { default: '1m' } }, [add]), { ttl: { default: '1m' } });
  });

  it('leaves overrides alone: they inherit the value from the defaults', () => {
    assert.deepEqual(upValue({ a: 2 }, [add], override), { a: 2 });
  });

  it('is removed by the inverse', () => {
    assert.deepEqual(downValue({ a: 1, ttl: { default: '5m' } }, [add]), { a: 1 });
  });

  it('with a wildcard fills every existing key', () => {
    const each = step(2, 'operations: [{ set: { path: /services/*/enabled, value: true } }]');
    assert.deepEqual(upValue({ services: { a: {}, b: { enabled: false } } }, [each]), {
      services: { a: { enabled: true }, b: { enabled: false } },
    });
  });

  it('is an issue when a scalar is in the way', () => {
    const result = up({ ttl: 30 }, [add]);
    assert.equal(result.issues[0]?.code, 'migration-failed');
    assert.match(result.issues[0]?.message ?? '', /set \/ttl\/default\): \/ttl is a scalar, not a mapping/);
  });

  it('gives set values the origin of the migration file', () => {
    const parsed = step(2, 'operations: [{ set: { path: /ttl, value: 5m } }]');
    const result = up({}, [parsed]);
    assert.equal(result.doc?.origins.get('/ttl')?.file, 'migrations/cache/2.yaml');
  });
});

describe('remove', () => {
  it('deletes from every layer and restores `restore` on the way down', () => {
    const drop = step(2, 'operations: [{ remove: { path: /legacy/mode, restore: 42 } }]');
    assert.deepEqual(upValue({ legacy: { mode: 7 }, a: 1 }, [drop], override), { a: 1 });
    assert.deepEqual(downValue({ a: 1 }, [drop]), { a: 1, legacy: { mode: 42 } });
  });

  it('without `restore` makes the step irreversible, and says why', () => {
    const drop = step(2, 'operations: [{ remove: { path: /legacy } }]');
    const result = migrateDown({ a: 1 }, 2, 1, [drop]);
    assert.equal(result.value, undefined);
    assert.equal(result.issues[0]?.code, 'version-unsupported');
    assert.match(
      result.issues[0]?.message ?? '',
      /migrations\/cache\/2\.yaml operation #1: remove \/legacy has no `restore`/,
    );
  });
});

describe('conversions', () => {
  const cases: Array<{ from: string; to: string; before: unknown; after: unknown }> = [
    { from: 'seconds', to: 'duration', before: 5400, after: '1h30m' },
    { from: 'seconds', to: 'duration', before: 90, after: '1m30s' },
    { from: 'seconds', to: 'duration', before: 1.5, after: '1s500ms' },
    { from: 'seconds', to: 'duration', before: 0, after: '0s' },
    { from: 'milliseconds', to: 'duration', before: 250, after: '250ms' },
    { from: 'milliseconds', to: 'duration', before: 300000, after: '5m' },
    { from: 'duration', to: 'seconds', before: '2h', after: 7200 },
    { from: 'duration', to: 'milliseconds', before: '1s', after: 1000 },
    { from: 'seconds', to: 'milliseconds', before: 3, after: 3000 },
    { from: 'milliseconds', to: 'seconds', before: 2500, after: 2.5 },
    { from: 'scalar', to: 'list', before: 'eu-west-1', after: ['eu-west-1'] },
    { from: 'list', to: 'scalar', before: [7], after: 7 },
    { from: 'string', to: 'number', before: '42.5', after: 42.5 },
    { from: 'number', to: 'string', before: 8080, after: '8080' },
  ];
  for (const { from, to, before, after } of cases) {
    it(`${from} -> ${to}: ${JSON.stringify(before)} <-> ${JSON.stringify(after)}`, () => {
      const convert = step(2, `operations: [{ convert: { path: /x, from: ${from}, to: ${to} } }]`);
      const v2 = upValue({ x: before } as JsonObject, [convert]);
      assert.deepEqual(v2, { x: after });
      assert.deepEqual(downValue(v2, [convert]), { x: before });
    });
  }

  const failures: Array<{ from: string; to: string; value: unknown; reason: RegExp }> = [
    {
      from: 'seconds',
      to: 'duration',
      value: '1h',
      reason: /expected a number of seconds, found string "1h"/,
    },
    { from: 'seconds', to: 'duration', value: -5, reason: /cannot express -5 seconds/ },
    { from: 'seconds', to: 'duration', value: 0.0001, reason: /finer than a millisecond/ },
    { from: 'duration', to: 'seconds', value: '5 minutes', reason: /is not a duration/ },
    { from: 'list', to: 'scalar', value: [1, 2], reason: /exactly one scalar/ },
    { from: 'scalar', to: 'list', value: { a: 1 }, reason: /expected a scalar, found a mapping/ },
    { from: 'string', to: 'number', value: 'ten', reason: /"ten" is not a number/ },
  ];
  for (const { from, to, value, reason } of failures) {
    it(`${from} -> ${to} refuses ${JSON.stringify(value)}`, () => {
      const convert = step(2, `operations: [{ convert: { path: /x, from: ${from}, to: ${to} } }]`);
      const result = up({ x: value } as JsonObject, [convert]);
      assert.equal(result.doc, undefined);
      assert.equal(result.issues[0]?.code, 'migration-failed');
      assert.equal(result.issues[0]?.path, '/x');
      assert.equal(result.issues[0]?.line, 2); // where /x was written (see withOrigins)
      assert.match(result.issues[0]?.message ?? '', reason);
    });
  }

  it('skips null (no value in this layer)', () => {
    const convert = step(2, 'operations: [{ convert: { path: /x, from: seconds, to: duration } }]');
    assert.deepEqual(upValue({ x: null }, [convert], override), { x: null });
  });

  it('a table maps values one-to-one and back', () => {
    const table = step(
      2,
      'operations: [{ convert: { path: /levels/*, table: { warn: warning, err: error } } }]',
    );
    const v1 = { levels: { api: 'warn', db: 'err' } };
    const v2 = upValue(v1, [table]);
    assert.deepEqual(v2, { levels: { api: 'warning', db: 'error' } });
    assert.deepEqual(downValue(v2, [table]), v1);
    assert.match(
      up({ levels: { x: 'info' } }, [table]).issues[0]?.message ?? '',
      /string "info" is not listed in the table/,
    );
  });

  it('the inverse can fail on values the old version cannot express', () => {
    const wrap = step(2, 'operations: [{ convert: { path: /regions, from: scalar, to: list } }]');
    const result = migrateDown({ regions: ['a', 'b'] }, 2, 1, [wrap]);
    assert.equal(result.issues[0]?.code, 'migration-failed');
    assert.match(
      result.issues[0]?.message ?? '',
      /reverting migration migrations\/cache\/2\.yaml operation #1/,
    );
  });

  it('durations parse every unit and format canonically', () => {
    assert.equal(parseDuration('1d2h3m4s5ms'), 86_400_000 + 7_200_000 + 180_000 + 4_000 + 5);
    assert.equal(parseDuration('90s'), 90_000);
    for (const bad of ['', '1h1d', '5', '1.5h', 'm']) assert.equal(parseDuration(bad), undefined, bad);
    for (const ms of [0, 1, 999, 1000, 61_000, 3_600_000, 90_061_001]) {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }
  });
});

describe('chains', () => {
  const steps = [
    step(2, 'operations: [{ rename: { from: /timeout, to: /timeout_s } }]'),
    step(
      3,
      'operations: [{ convert: { path: /timeout_s, from: seconds, to: duration } }, { rename: { from: /timeout_s, to: /ttl } }]',
    ),
    step(4, 'operations: [{ set: { path: /retries, value: 3 } }]'),
  ];

  it('run in order from the document version to the target, and back down to any version', () => {
    const v1 = { timeout: 120 };
    const v4 = upValue(v1, steps);
    assert.deepEqual(v4, { ttl: '2m', retries: 3 });
    assert.deepEqual(downValue(v4, steps, 3), { ttl: '2m' });
    assert.deepEqual(downValue(v4, steps, 2), { timeout_s: 120 });
    assert.deepEqual(downValue(v4, steps, 1), v1);
    const fromV2 = migrateUp(
      { value: { timeout_s: 60 }, origins: new Map(), version: 2 },
      steps,
      4,
      defaults,
    );
    assert.deepEqual(fromV2.doc?.value, { ttl: '1m', retries: 3 });
    assert.equal(fromV2.doc?.version, 4);
  });

  it('refuse a document above the target and unreachable down versions', () => {
    const above = migrateUp({ value: {}, origins: new Map(), version: 5 }, steps, 4, defaults);
    assert.equal(above.issues[0]?.code, 'version-unsupported');
    assert.match(above.issues[0]?.message ?? '', /above the current version 4/);
    for (const to of [0, 5]) {
      const result = migrateDown({}, 4, to, steps);
      assert.equal(result.issues[0]?.code, 'version-unsupported', `to ${to}`);
    }
  });

  it('report a missing step instead of skipping it', () => {
    const gap = [steps[0] as MigrationStep, steps[2] as MigrationStep];
    assert.match(up({ timeout: 1 }, gap, defaults, 4).issues[0]?.message ?? '', /no migration to version 3/);
    assert.match(migrateDown({}, 4, 1, gap).issues[0]?.message ?? '', /no migration to version 3/);
  });
});
