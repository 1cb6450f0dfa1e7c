import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countOverrides, evaluateRepo, formatIssue, memorySource } from '../../src/engine/index.js';
import type { Evaluation, RepoSource } from '../../src/engine/index.js';
import { EvaluationPool } from '../../src/evaluation-pool/index.js';
import { MANIFEST, RETRY_DEFAULTS, RETRY_SCHEMA, baseRepo } from '../engine/engine-fixtures.js';

const EXAMPLE = fileURLToPath(new URL('../../config-repo/', import.meta.url));

async function exampleFiles(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(EXAMPLE, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    files[relative(EXAMPLE, full).split('\\').join('/')] = await readFile(full, 'utf8');
  }
  return files;
}

/** Plain, comparable form of an evaluation. */
const plain = (ev: Evaluation) => ({
  issues: ev.issues.map(formatIssue),
  namespaces: ev.namespaces,
  environments: ev.environments,
  configs: [...ev.configs].map(([k, c]) => [k, c.value, c.inputKey, [...c.origins]]).sort(),
  schemas: [...ev.schemas.keys()].sort(),
  versions: [...ev.versions.keys()].sort(),
});

/** uniqueItems over 20,000 distinct objects: tens of seconds of deep comparisons. */
function uniqueItemsRepo(): Record<string, string> {
  const schema = JSON.parse(RETRY_SCHEMA) as { properties: Record<string, unknown> };
  schema.properties.rows = { type: 'array', uniqueItems: true };
  const rows = Array.from({ length: 20_000 }, (_, i) => `  - {id: ${i}, name: row}`).join('\n');
  return {
    'gitcfg.yaml': MANIFEST,
    'schemas/retry.schema.json': JSON.stringify(schema),
    'defaults/retry.yaml': `${RETRY_DEFAULTS}rows:\n${rows}\n`,
  };
}

test('the pool evaluates like evaluateRepo, namespaces split across workers', async () => {
  const files = await exampleFiles();
  const pool = new EvaluationPool({ size: 2 });
  try {
    const inProcess = await evaluateRepo(memorySource(files));
    const pooled = await pool.evaluate(memorySource(files));
    // The example repository is valid: every pair resolves.
    assert.equal(inProcess.configs.size, inProcess.namespaces.length * inProcess.environments.length);
    assert.deepEqual(plain(pooled), plain(inProcess));
    assert.ok(Object.isFrozen(pooled.configs.values().next().value!.value));
    // A caller that serves values only gets the pairs without their origins, the override counts kept.
    const lean = await pool.evaluate(memorySource(files), { origins: false });
    const counted = (ev: Evaluation) =>
      [...ev.configs].map(([k, c]) => [k, c.value, c.inputKey, countOverrides(c)]).sort();
    assert.deepEqual(counted(lean), counted(inProcess));
    assert.ok([...lean.configs.values()].every((c) => c.origins.size === 0 && c.overrides !== undefined));
    assert.ok([...lean.configs.values()].some((c) => c.overrides! > 0));
    assert.deepEqual(plain(lean).issues, plain(inProcess).issues);
    // A caller that only reports gets the issues, namespaces and environments, and nothing else.
    const invalid = {
      ...files,
      'environments/production/retry.yaml': 'operations:\n  http:\n    max_retries: -1\n',
    };
    const reportOnly = await pool.evaluate(memorySource(invalid), { issuesOnly: true });
    const full = plain(await evaluateRepo(memorySource(invalid)));
    assert.ok(
      full.issues.some((i) => i.includes('/operations/http/max_retries')),
      full.issues.join('\n'),
    );
    assert.deepEqual(
      { issues: plain(reportOnly).issues, namespaces: reportOnly.namespaces, env: reportOnly.environments },
      { issues: full.issues, namespaces: full.namespaces, env: full.environments },
    );
    assert.deepEqual([reportOnly.configs.size, reportOnly.schemas.size, reportOnly.versions.size], [0, 0, 0]);
    // Broken repositories too: layout and manifest issues are reported once.
    const broken = { ...files, 'gitcfg.yaml': 'version: 2\n', 'stray.txt': 'x' };
    // Namespaces only an override or a migration names: their issues must not get lost in the split.
    const orphans = {
      ...files,
      'environments/production/ghost.yaml': 'a: 1\n',
      'migrations/phantom/2.yaml': 'operations: []\n',
    };
    const orphanIssues = plain(await pool.evaluate(memorySource(orphans))).issues;
    // The override of `ghost`, and the missing schema and the empty operations of `phantom`'s migration.
    assert.deepEqual(
      orphanIssues.map((i) => i.slice(i.lastIndexOf(' ['))),
      [' [ghost/production]', ' [phantom]', ' [phantom]'],
      orphanIssues.join('\n'),
    );
    assert.deepEqual(orphanIssues, plain(await evaluateRepo(memorySource(orphans))).issues);
    assert.deepEqual(
      plain(await pool.evaluate(memorySource(broken))),
      plain(await evaluateRepo(memorySource(broken))),
    );
    // Listings that differ from the worker's last one in a few entries go as patches: still the same result.
    const [first] = Object.keys(files).filter((f) => f.startsWith('defaults/'));
    for (const changed of [{ ...files, [first!]: `${files[first!]}# edited\n` }, files]) {
      assert.deepEqual(
        plain(await pool.evaluate(memorySource(changed))),
        plain(await evaluateRepo(memorySource(changed))),
      );
    }
  } finally {
    await pool.close();
  }
});

test('an evaluation of more namespaces than a job takes is split into jobs and merged like one', async () => {
  const files = await exampleFiles();
  // A layout issue every job reports (it is listed once), and an override only one job sees.
  const broken = {
    ...files,
    'schemas/Bad.schema.json': '{}',
    'environments/production/ghost.yaml': 'a: 1\n',
  };
  const pool = new EvaluationPool({ size: 1, maxNamespacesPerJob: 2 });
  try {
    for (const repo of [files, broken]) {
      const inProcess = await evaluateRepo(memorySource(repo));
      const sent = pool.jobsSent;
      assert.deepEqual(plain(await pool.evaluate(memorySource(repo))), plain(inProcess));
      const referenced = inProcess.namespaces.length + (repo === broken ? 1 : 0);
      assert.equal(pool.jobsSent - sent, Math.ceil(referenced / 2));
    }
    assert.equal(plain(await evaluateRepo(memorySource(broken))).issues.length, 2);
  } finally {
    await pool.close();
  }
});

test("each worker's cache is bounded in bytes per channel and reports its hits, misses and evictions", async () => {
  const files = await exampleFiles();
  const runs = async (cacheMaxBytes: number) => {
    const counts: { channel: string; hits: number; misses: number; evictions: number }[] = [];
    const pool = new EvaluationPool({
      size: 1,
      cacheMaxBytes,
      onCacheCounts: (channel, c) => counts.push({ channel, ...c }),
    });
    try {
      const expected = plain(await evaluateRepo(memorySource(files)));
      const sync = pool.evaluator('sync');
      for (let i = 0; i < 2; i++) assert.deepEqual(plain(await sync(memorySource(files))), expected);
      return counts;
    } finally {
      await pool.close();
    }
  };
  const roomy = await runs(64 * 1024 * 1024);
  assert.deepEqual(
    roomy.map((c) => c.channel),
    ['sync', 'sync'],
  );
  assert.ok(roomy[0]!.misses > 0 && roomy[0]!.evictions === 0, JSON.stringify(roomy));
  // The second job finds the whole tree: every lookup of its first step hits.
  assert.ok(roomy[1]!.hits > 0 && roomy[1]!.misses === 0, JSON.stringify(roomy));
  // No room: each job drops all it made, and the next makes it again (same result, checked above).
  const none = await runs(0);
  assert.ok(none[0]!.evictions > 0, JSON.stringify(none));
  assert.equal(none[1]!.hits, 0, JSON.stringify(none));
  assert.equal(none[1]!.misses, none[0]!.misses);
});

test('a job over the time bound is an issue on the file being checked, and the pool recovers', async () => {
  const pool = new EvaluationPool({ size: 1, timeoutMs: 5000 });
  try {
    const ev = await pool.evaluate(memorySource(uniqueItemsRepo()));
    assert.equal(ev.ok, false);
    assert.deepEqual(
      ev.issues.map((i) => [i.code, i.file, i.line]),
      [['validation-timeout', 'defaults/retry.yaml', 1]],
    );
    const next = await pool.evaluate(memorySource(baseRepo()));
    assert.deepEqual(next.issues, []);
  } finally {
    await pool.close();
  }
});

test('a job over the heap bound is a validation-memory issue on the file being parsed', async () => {
  const pool = new EvaluationPool({ size: 1, maxHeapMb: 48 });
  try {
    const huge = `tags: [${'1,'.repeat(3_500_000)}1]\n`;
    const ev = await pool.evaluate(
      memorySource({
        'gitcfg.yaml': `${MANIFEST}options:\n  maxFileBytes: 8388608\n`,
        'schemas/retry.schema.json': RETRY_SCHEMA,
        'defaults/retry.yaml': `${RETRY_DEFAULTS}${huge}`,
      }),
    );
    assert.deepEqual(
      ev.issues.map((i) => [i.code, i.file]),
      [['validation-memory', 'defaults/retry.yaml']],
    );
    assert.deepEqual((await pool.evaluate(memorySource(baseRepo()))).issues, []);
  } finally {
    await pool.close();
  }
});

test('a read failure of the source is thrown, as by evaluateRepo', async () => {
  const pool = new EvaluationPool({ size: 1 });
  try {
    const inner = memorySource(baseRepo());
    const failing: RepoSource = {
      entries: inner.entries,
      readBlob: () => Promise.reject(new Error('object store unavailable')),
    };
    await assert.rejects(pool.evaluate(failing), /object store unavailable/);
  } finally {
    await pool.close();
  }
});

test('a worker that parsed more than its evaluator allows is retired after the job, and the next job still runs', async () => {
  const files = await exampleFiles();
  const pool = new EvaluationPool({ size: 1 });
  try {
    const keeping = pool.evaluator('keep');
    const first = plain(await keeping(memorySource(files)));
    assert.equal(pool.retired, 0, 'an evaluator without a bound keeps its worker');
    const retiring = pool.evaluator('cold', { retireAfterParses: 1 });
    assert.deepEqual(plain(await retiring(memorySource(files))), first);
    assert.equal(pool.retired, 1);
    // The next job runs on a fresh worker, which parsed fewer files than this bound: kept.
    const lenient = pool.evaluator('cold', { retireAfterParses: 10_000 });
    assert.deepEqual(plain(await lenient(memorySource(files))), first);
    assert.equal(pool.retired, 1);
  } finally {
    await pool.close();
  }
  // An evaluation split into several jobs retires its worker once, after the last of them.
  const split = new EvaluationPool({ size: 1, maxNamespacesPerJob: 2 });
  try {
    const retiring = split.evaluator('cold', { retireAfterParses: 1 });
    const sent = split.jobsSent;
    await retiring(memorySource(files));
    assert.ok(split.jobsSent - sent > 1);
    assert.equal(split.retired, 1);
  } finally {
    await split.close();
  }
});
