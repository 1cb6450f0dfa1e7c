import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { EngineCache, evaluateRepo, memorySource } from '../../src/engine/index.js';
import { baseRepo, countingSource } from './engine-fixtures.js';

const SECOND_SCHEMA =
  '{"type": "object", "additionalProperties": false, "properties": {"size": {"type": "integer"}}}';

/** Every file of `repo()` the engine reads (README.md is not an input), sorted. */
const INPUTS = [
  'defaults/pool.yaml',
  'defaults/retry.yaml',
  'environments/development/retry.yaml',
  'environments/production/pool.yaml',
  'environments/production/retry.yaml',
  'gitcfg.yaml',
  'schemas/pool.schema.json',
  'schemas/retry.schema.json',
];

function repo(overrides: Record<string, string> = {}) {
  return baseRepo({
    'environments/production/retry.yaml': 'http:\n  max_retries: 5\n',
    'environments/development/retry.yaml': 'http:\n  max_retries: 0\n',
    'schemas/pool.schema.json': SECOND_SCHEMA,
    'defaults/pool.yaml': 'size: 10\n',
    'environments/production/pool.yaml': 'size: 50\n',
    'README.md': 'not read by the engine',
    ...overrides,
  });
}

test('a warm evaluation of the same tree reads no blob and re-merges no pair', async () => {
  const cache = new EngineCache();
  const first = countingSource(memorySource(repo()));
  const a = await evaluateRepo(first.source, { cache });
  assert.deepEqual(a.issues, []);
  assert.deepEqual(first.reads.sort(), INPUTS);
  const merges = cache.stats().merges;
  assert.equal(merges, 8);

  const second = countingSource(memorySource(repo()));
  const b = await evaluateRepo(second.source, { cache });
  assert.deepEqual(second.reads, []);
  assert.equal(cache.stats().merges, merges);
  for (const [key, config] of b.configs) assert.equal(config, a.configs.get(key));
});

test('after one file changes, only that blob is read and only the affected pairs are re-merged', async () => {
  const cache = new EngineCache();
  const a = await evaluateRepo(memorySource(repo()), { cache });
  const before = cache.stats();
  const changed = countingSource(
    memorySource(repo({ 'environments/production/retry.yaml': 'http:\n  max_retries: 6\n' })),
  );
  const b = await evaluateRepo(changed.source, { cache });
  assert.deepEqual(b.issues, []);
  assert.deepEqual(changed.reads, ['environments/production/retry.yaml']);
  // production and staging (which extends production) are affected; nothing else.
  assert.equal(cache.stats().merges - before.merges, 2);
  for (const key of b.configs.keys()) {
    const same = b.configs.get(key) === a.configs.get(key);
    const affected = key === 'retry/production' || key === 'retry/staging';
    assert.equal(same, !affected, key);
    assert.equal(b.configs.get(key)!.inputKey === a.configs.get(key)!.inputKey, !affected, key);
  }
  assert.equal((b.configs.get('retry/staging')!.value.http as { max_retries: number }).max_retries, 6);
});

test('a changed schema re-reads only the schema and re-validates only its namespace', async () => {
  const cache = new EngineCache();
  await evaluateRepo(memorySource(repo()), { cache });
  const before = cache.stats();
  const changed = countingSource(
    memorySource(
      repo({ 'schemas/pool.schema.json': SECOND_SCHEMA.replace('"integer"', '"integer", "maximum": 20') }),
    ),
  );
  const b = await evaluateRepo(changed.source, { cache });
  assert.deepEqual(changed.reads, ['schemas/pool.schema.json']);
  assert.equal(cache.stats().merges - before.merges, 4);
  assert.deepEqual(
    b.issues.map((i) => [i.file, i.environment]),
    [
      ['environments/production/pool.yaml', 'production'],
      ['environments/production/pool.yaml', 'staging'],
    ],
  );
});

test('identical files are read once and keep their own paths in origins', async () => {
  const cache = new EngineCache();
  const same = 'http:\n  max_retries: 2\n';
  const src = countingSource(
    memorySource(
      repo({ 'environments/development/retry.yaml': same, 'environments/testing/retry.yaml': same }),
    ),
  );
  const ev = await evaluateRepo(src.source, { cache });
  assert.equal(
    src.reads.filter(
      (p) => p.startsWith('environments/') && p.endsWith('retry.yaml') && !p.includes('production'),
    ).length,
    1,
  );
  assert.equal(
    ev.configs.get('retry/development')!.origins.get('/http/max_retries')?.file,
    'environments/development/retry.yaml',
  );
  assert.equal(
    ev.configs.get('retry/testing')!.origins.get('/http/max_retries')?.file,
    'environments/testing/retry.yaml',
  );
});

test('entries unused by the last evaluations are pruned, so memory follows the current tree', async () => {
  const cache = new EngineCache({ keepGenerations: 2 });
  const v = (n: number) => repo({ 'environments/production/retry.yaml': `http:\n  max_retries: ${n}\n` });
  await evaluateRepo(memorySource(v(1)), { cache });
  const size = cache.stats().entries;
  const sizes: number[] = [];
  for (let n = 2; n < 10; n++) {
    await evaluateRepo(memorySource(v(n)), { cache });
    sizes.push(cache.stats().entries);
  }
  // Steady: each evaluation adds the entries of its changed file and prunes those two evaluations old.
  assert.deepEqual(sizes, new Array<number>(8).fill(size + 4));
  // v(8) is still within the last two evaluations; v(1) was pruned and must be read again.
  const recent = countingSource(memorySource(v(8)));
  await evaluateRepo(recent.source, { cache });
  assert.deepEqual(recent.reads, []);
  const old = countingSource(memorySource(v(1)));
  await evaluateRepo(old.source, { cache });
  assert.deepEqual(old.reads, ['environments/production/retry.yaml']);
});

test('a limit change re-reads files (parse results depend on limits)', async () => {
  const cache = new EngineCache();
  await evaluateRepo(memorySource(repo()), { cache });
  const src = countingSource(memorySource(repo()));
  const ev = await evaluateRepo(src.source, { cache, limits: { maxFileBytes: 20 } });
  // Every input is read again, none served from the cache.
  assert.deepEqual([...src.reads].sort(), INPUTS);
  assert.ok(ev.issues.some((i) => i.code === 'file-too-large'));
});

test('options.namespaces restricts reading and validation to those namespaces', async () => {
  const files = repo({ 'environments/production/pool.yaml': 'size: many\n' });
  const src = countingSource(memorySource(files));
  const ev = await evaluateRepo(src.source, { namespaces: ['retry'] });
  assert.deepEqual(ev.issues, []);
  assert.deepEqual(ev.namespaces, ['pool', 'retry']);
  assert.deepEqual([...ev.configs.keys()].sort(), [
    'retry/development',
    'retry/production',
    'retry/staging',
    'retry/testing',
  ]);
  assert.ok(!src.reads.some((p) => p.includes('pool')), src.reads.join(', '));
  const all = await evaluateRepo(memorySource(files));
  assert.equal(all.issues.length, 2);
});

test('a renamed file (same blob, new path) is not read again; its origins name the new path', async () => {
  const cache = new EngineCache();
  await evaluateRepo(memorySource(repo()), { cache });
  const files = repo();
  files['environments/testing/retry.yaml'] = files['environments/development/retry.yaml']!;
  delete files['environments/development/retry.yaml'];
  const src = countingSource(memorySource(files));
  const ev = await evaluateRepo(src.source, { cache });
  assert.deepEqual(src.reads, []);
  assert.equal(
    ev.configs.get('retry/testing')!.origins.get('/http/max_retries')?.file,
    'environments/testing/retry.yaml',
  );
  assert.equal((ev.configs.get('retry/development')!.value.http as { max_retries: number }).max_retries, 3);
});

test('with maxBytes, entries of earlier evaluations go least recently used first; hits, misses and evictions are counted', async () => {
  const unbounded = new EngineCache();
  await evaluateRepo(memorySource(repo()), { cache: unbounded });
  const whole = unbounded.stats();
  assert.ok(whole.bytes > 0 && whole.evictions === 0 && whole.hits === 0, JSON.stringify(whole));
  assert.equal(whole.misses, whole.entries);

  // Room for about half a tree: one evaluation keeps all it uses until it ends, then sheds down to the bound.
  const cache = new EngineCache({ keepGenerations: 4, maxBytes: Math.floor(whole.bytes / 2) });
  await evaluateRepo(memorySource(repo()), { cache });
  const after = cache.stats();
  assert.ok(after.bytes <= whole.bytes / 2, `${after.bytes} > ${whole.bytes / 2}`);
  assert.ok(after.evictions > 0 && after.entries < whole.entries, JSON.stringify(after));

  // A second evaluation of the same tree finds what was used last (merged pairs) and makes the rest again.
  await evaluateRepo(memorySource(repo()), { cache });
  const again = cache.stats();
  assert.ok(again.hits > 0 && again.reused > 0, JSON.stringify(again));
  assert.ok(again.merges - after.merges < whole.merges, JSON.stringify(again));
  assert.ok(again.bytes <= whole.bytes / 2);

  // Without room, nothing outlives its evaluation, and evaluations still complete with the same result.
  const none = new EngineCache({ maxBytes: 0 });
  const ev = await evaluateRepo(memorySource(repo()), { cache: none });
  assert.deepEqual([none.stats().entries, none.stats().bytes], [0, 0]);
  const reference = await evaluateRepo(memorySource(repo()), { cache: unbounded });
  assert.deepEqual([...ev.configs.keys()].sort(), [...reference.configs.keys()].sort());
  assert.deepEqual(
    ev.configs.get('retry/production')?.value,
    reference.configs.get('retry/production')?.value,
  );
});

test('maxBytes 0 keeps no checked document or merged pair even during an evaluation, and nothing after; issuesOnly reports the same issues and keeps no pair', async () => {
  const bad = { 'environments/production/pool.yaml': 'size: "many"\n' };
  const reference = await evaluateRepo(memorySource(repo(bad)));
  assert.ok(reference.issues.length > 0 && reference.issues.every((i) => i.namespace === 'pool'));
  assert.ok(reference.configs.size > 0);

  const none = new EngineCache({ maxBytes: 0 });
  let mostHeld = 0;
  const ev = await evaluateRepo(memorySource(repo(bad)), {
    cache: none,
    issuesOnly: true,
    onProgress: () => void (mostHeld = Math.max(mostHeld, none.stats().entries)),
  });
  // Parsed files and compiled schemas (the manifest's validator too) are shared within the evaluation; the
  // documents and pairs, one entry each, would have come on top.
  assert.ok(mostHeld > 0 && mostHeld <= INPUTS.length + 1, `${mostHeld} entries held`);
  assert.deepEqual([none.stats().entries, none.stats().bytes], [0, 0]);
  assert.deepEqual(ev.issues, reference.issues);
  assert.equal(ev.configs.size, 0);
  assert.deepEqual(ev.namespaces, reference.namespaces);
});
