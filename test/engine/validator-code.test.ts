import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { EngineCache, evaluateRepo, memorySource } from '../../src/engine/index.js';
import type { StoredValidator, ValidatorCodeStore } from '../../src/engine/index.js';
import { baseRepo } from './engine-fixtures.js';

/** A schema that exercises what standalone code must carry: RE2 patterns, formats, `$data`, `$ref`. */
const SCHEMA = JSON.stringify({
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z]+$' },
    since: { type: 'string', format: 'date' },
    max: { type: 'integer' },
    min: { type: 'integer', maximum: { $data: '1/max' } },
    mode: { $ref: '#/$defs/mode' },
  },
  $defs: { mode: { enum: ['fast', 'safe'] } },
});

function repo(production: string) {
  return baseRepo({
    'schemas/svc.schema.json': SCHEMA,
    'defaults/svc.yaml': 'name: svc\nsince: 2026-01-01\nmax: 10\nmin: 1\nmode: fast\n',
    'environments/production/svc.yaml': production,
  });
}

function memoryStore(): ValidatorCodeStore & { files: Map<string, StoredValidator> } {
  const files = new Map<string, StoredValidator>();
  return {
    files,
    get: async (key) => files.get(key),
    put: async (key, stored) => void files.set(key, stored),
  };
}

/** The stored entries of the repository's schema files (the manifest's own validator is stored too). */
function schemaEntries(store: { files: Map<string, StoredValidator> }): StoredValidator[] {
  return [...store.files.values()].filter((s) => !s.code.includes('"environments"'));
}

const BAD = 'name: Bad1\nsince: not-a-date\nmin: 20\nmode: slow\n';

test('a validator compiled once is loaded from its stored code, with the same verdicts', async () => {
  const store = memoryStore();
  const first = new EngineCache();
  const compiled = await evaluateRepo(memorySource(repo(BAD)), { cache: first, validatorCode: store });
  assert.equal(first.stats().compiles, 2, 'both schemas compiled');
  assert.equal(store.files.size, 3, "both schemas and the manifest's schema");
  assert.equal(schemaEntries(store).length, 2);
  assert.ok(
    [...store.files.values()].every((s) => s.codeCache === undefined),
    'compiled, not loaded yet',
  );
  const paths = compiled.issues.map((i) => `${i.path ?? ''} ${i.message}`);
  assert.equal(paths.filter((p) => p.startsWith('/name ')).length, 2, 'production and staging (extends it)');
  assert.ok(paths.some((p) => p.startsWith('/since ') && p.includes('format')));
  assert.ok(paths.some((p) => p.startsWith('/min ') && p.includes('<= 10')));
  assert.ok(paths.some((p) => p.startsWith('/mode ')));

  const second = new EngineCache();
  const loaded = await evaluateRepo(memorySource(repo(BAD)), { cache: second, validatorCode: store });
  assert.deepEqual(second.stats().compiles, 0);
  assert.deepEqual(second.stats().codeLoads, 2);
  assert.deepEqual(loaded.issues, compiled.issues);
  // Loaded without a code cache, each validator stored one, made by this V8 after a first call.
  assert.ok([...store.files.values()].every((s) => s.codeCache && s.codeCache.byteLength > 0));
  const cached = new Map([...store.files].map(([k, s]) => [k, s.codeCache]));
  const third = new EngineCache();
  const fromCache = await evaluateRepo(memorySource(repo(BAD)), { cache: third, validatorCode: store });
  assert.deepEqual(third.stats().codeLoads, 2);
  assert.deepEqual(fromCache.issues, compiled.issues);
  for (const [k, s] of store.files) assert.equal(s.codeCache, cached.get(k), 'an accepted cache is kept');
  const good = await evaluateRepo(memorySource(repo('max: 20\nmin: 15\n')), {
    cache: new EngineCache(),
    validatorCode: store,
  });
  assert.deepEqual(good.issues, []);
});

test('a changed schema misses the store; unusable stored code is compiled instead', async () => {
  const store = memoryStore();
  await evaluateRepo(memorySource(repo('')), { validatorCode: store });
  const keys = [...store.files.keys()];
  const changed = baseRepo({
    'schemas/svc.schema.json': SCHEMA.replace('^[a-z]+$', '^[a-z0-9]+$'),
    'defaults/svc.yaml': 'name: svc1\n',
  });
  const cache = new EngineCache();
  await evaluateRepo(memorySource(changed), { cache, validatorCode: store });
  assert.equal(cache.stats().compiles, 1, 'only the changed schema');
  assert.equal(schemaEntries(store).length, 3);

  // Code that reaches outside Ajv's runtime, or does not evaluate, is never used.
  for (const key of keys) store.files.set(key, { code: 'module.exports = require("node:fs").rmSync;' });
  const hostile = new EngineCache();
  const evaluation = await evaluateRepo(memorySource(repo(BAD)), { cache: hostile, validatorCode: store });
  assert.equal(hostile.stats().codeLoads, 0);
  assert.equal(hostile.stats().compiles, 2);
  assert.ok(evaluation.issues.some((i) => i.path === '/name'));
  for (const key of keys) store.files.set(key, { code: 'this is not javascript' });
  const broken = new EngineCache();
  await evaluateRepo(memorySource(repo('')), { cache: broken, validatorCode: store });
  assert.equal(broken.stats().compiles, 2);
});

test('a code cache V8 rejects is replaced; the verdicts do not depend on it', async () => {
  const store = memoryStore();
  // A schema no other test compiles: V8 reuses a script this thread compiled before, without reading the cache.
  const own = baseRepo({
    'schemas/svc.schema.json': SCHEMA.replace('"type":"object"', '"type":"object","title":"rejected cache"'),
    'defaults/svc.yaml': 'name: Bad1\n',
  });
  const compiled = await evaluateRepo(memorySource(own), { cache: new EngineCache(), validatorCode: store });
  assert.ok(compiled.issues.some((i) => i.path === '/name'));
  const svc = [...store.files].filter(([, s]) => s.code.includes('rejected cache'));
  assert.equal(svc.length, 1);
  const [key, stored] = svc[0]!;
  // Bytes that are no V8 code cache at all (another V8's cache is rejected the same way).
  store.files.set(key, { ...stored, codeCache: new Uint8Array(64) });
  const cache = new EngineCache();
  const loaded = await evaluateRepo(memorySource(own), { cache, validatorCode: store });
  assert.ok(cache.stats().codeLoads >= 1);
  assert.deepEqual(loaded.issues, compiled.issues);
  const replaced = store.files.get(key)!.codeCache;
  assert.ok(replaced && replaced.byteLength > 64, 'a cache made by this V8 replaced it');
});
