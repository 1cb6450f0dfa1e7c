/** Snapshots: incremental rendering, change detection, ETags, persistence and damage detection. */
import * as assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { EngineCache, memorySource } from '../../src/engine/index.js';
import { EvaluationPool } from '../../src/evaluation-pool/index.js';
import {
  SnapshotFile,
  SnapshotStore,
  buildSnapshot,
  diffSnapshots,
  snapshotToData,
  subtree,
} from '../../src/snapshot/index.js';
import type { Promotion, RenderedConfig, Snapshot } from '../../src/snapshot/index.js';
import { cleanupTempDirs, tempDir } from '../helpers/git-repo.js';
import { CONFIG_FILES } from '../server/server-fixture.js';

async function build(
  files: Record<string, string>,
  previous: Snapshot | null,
  cache: EngineCache,
  commit: string,
) {
  const result = await buildSnapshot({ commit, source: memorySource(files), previous, cache });
  if (!result.ok) throw new Error(`unexpected issues: ${JSON.stringify(result.issues)}`);
  return result.snapshot;
}

describe('buildSnapshot', () => {
  it('re-renders only the pairs whose inputs changed and reuses the rest', async () => {
    const cache = new EngineCache();
    const a = await build(CONFIG_FILES, null, cache, 'a'.repeat(40));
    const b = await build(
      { ...CONFIG_FILES, 'environments/staging/app.yaml': 'greeting: changed\n' },
      a,
      cache,
      'b'.repeat(40),
    );
    assert.equal(b.configs.get('app/production'), a.configs.get('app/production'));
    assert.equal(b.configs.get('db/staging'), a.configs.get('db/staging'));
    assert.notEqual(b.configs.get('app/staging'), a.configs.get('app/staging'));
    assert.equal(b.bundles.get('production'), a.bundles.get('production'));
    assert.notEqual(b.bundles.get('staging'), a.bundles.get('staging'));
    assert.equal(b.schemas.get('app'), a.schemas.get('app'));
    assert.deepEqual(diffSnapshots(a, b), [{ namespace: 'app', environment: 'staging' }]);
    assert.equal(diffSnapshots(null, a).length, 4);
  });

  it('renders JSON and YAML bodies of the same value with distinct strong ETags', async () => {
    const snap = await build(CONFIG_FILES, null, new EngineCache(), 'c'.repeat(40));
    const config = snap.configs.get('app/staging')!;
    assert.deepEqual(JSON.parse(config.json.body.toString()), config.value);
    assert.deepEqual(parseYaml(config.yaml.body.toString()), config.value);
    // Rendered on first use, then kept.
    assert.equal(config.yaml, config.yaml);
    assert.notEqual(config.json.etag, config.yaml.etag);
    assert.notEqual(config.json.etag, snap.configs.get('app/production')!.json.etag);
    // Equal documents in different pairs share an ETag (it depends on the bytes only).
    assert.equal(snap.configs.get('db/staging')!.json.etag, snap.configs.get('db/production')!.json.etag);
    assert.deepEqual(snap.bundles.get('staging')!.value, {
      app: { greeting: 'hi staging', retry: { max: 3 } },
      db: { host: 'db.internal' },
    });
    // A bundle's JSON is joined from its members' bodies: the same bytes as serialising the whole value.
    for (const bundle of snap.bundles.values()) {
      assert.equal(bundle.json.body.toString(), `${JSON.stringify(bundle.value)}\n`);
    }
  });

  it('builds the same snapshot through worker threads, which send the pairs back without origins', async () => {
    const pool = new EvaluationPool({ size: 1 });
    try {
      const commit = 'f'.repeat(40);
      const pooled = await buildSnapshot({
        commit,
        source: memorySource(CONFIG_FILES),
        evaluate: pool.evaluator('sync'),
      });
      assert.ok(pooled.ok);
      assert.ok([...pooled.evaluation.configs.values()].every((c) => c.origins.size === 0));
      const inProcess = await build(CONFIG_FILES, null, new EngineCache(), commit);
      const plain = (snap: Snapshot) =>
        [...snap.configs].map(([key, c]) => [key, c.overrides, c.json.etag, c.yaml.etag, c.files]);
      assert.deepEqual(plain(pooled.snapshot), plain(inProcess));
      // The override counts came from the worker: a pair with an override file counts its values.
      assert.equal(pooled.snapshot.configs.get('app/staging')!.overrides, 1);
      assert.equal(pooled.snapshot.configs.get('app/production')!.overrides, 0);
    } finally {
      await pool.close();
    }
  });

  it('refuses a commit with issues and reports every one of them', async () => {
    const result = await buildSnapshot({
      commit: 'd'.repeat(40),
      source: memorySource({
        ...CONFIG_FILES,
        'defaults/app.yaml': 'greeting: 1\n',
        'environments/production/db.yaml': 'host: [1]\n',
      }),
    });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      [...new Set(result.issues.map((i) => i.file))],
      ['defaults/app.yaml', 'environments/production/db.yaml'],
    );
  });

  it('looks up subtrees by dotted path or JSON pointer, own properties only', () => {
    const value = { a: { b: [10, { c: 'x' }], 'd/e': 1 } };
    assert.equal(subtree(value, 'a.b.1.c'), 'x');
    assert.equal(subtree(value, '/a/b/0'), 10);
    assert.equal(subtree(value, '/a/d~1e'), 1);
    assert.equal(subtree(value, 'a.constructor'), undefined);
    assert.equal(subtree(value, 'a.b.01'), undefined);
  });
});

describe('SnapshotStore', () => {
  it('tells listeners what changed only after the new snapshot is live', async () => {
    const cache = new EngineCache();
    const a = await build(CONFIG_FILES, null, cache, 'a'.repeat(40));
    const b = await build({ ...CONFIG_FILES, 'defaults/db.yaml': 'host: other\n' }, a, cache, 'b'.repeat(40));
    const store = new SnapshotStore();
    const seen: { promotion: Promotion; live: string | undefined }[] = [];
    const unsubscribe = store.subscribe((promotion) => seen.push({ promotion, live: store.current?.commit }));
    store.promote(a);
    store.promote(b);
    unsubscribe();
    store.promote(a);
    assert.equal(seen.length, 2);
    assert.equal(seen[1]!.live, b.commit);
    assert.equal(seen[1]!.promotion.previousCommit, a.commit);
    assert.deepEqual(seen[1]!.promotion.changed, [
      { namespace: 'db', environment: 'production' },
      { namespace: 'db', environment: 'staging' },
    ]);
  });
});

describe('SnapshotFile', () => {
  after(cleanupTempDirs);

  it('round-trips a snapshot with identical bodies and ETags, leaving no temp files', async () => {
    const dir = await tempDir();
    const file = new SnapshotFile(dir);
    assert.equal((await file.load()).status, 'missing');
    const snap = await build(CONFIG_FILES, null, new EngineCache(), 'e'.repeat(40));
    await file.save(snap, '2026-01-01T00:00:00.000Z');
    const loaded = await file.load();
    assert.equal(loaded.status, 'loaded');
    if (loaded.status !== 'loaded') return;
    assert.equal(loaded.promotedAt, '2026-01-01T00:00:00.000Z');
    assert.equal(loaded.snapshot.commit, snap.commit);
    for (const [key, config] of snap.configs) {
      const again: RenderedConfig | undefined = loaded.snapshot.configs.get(key);
      if (!again) throw new Error(`missing ${key}`);
      assert.equal(again.json.etag, config.json.etag);
      assert.equal(again.yaml.etag, config.yaml.etag);
      assert.equal(again.inputKey, config.inputKey);
    }
    assert.deepEqual(diffSnapshots(snap, loaded.snapshot), []);
    assert.deepEqual(await readdir(dir), ['snapshot.json']);
    // The file's configs are joined from rendered bodies: the payload is exactly the snapshot's data.
    const text = await readFile(join(dir, 'snapshot.json'), 'utf8');
    assert.deepEqual(JSON.parse(text.slice(text.indexOf('\n') + 1)), {
      ...JSON.parse(JSON.stringify(snapshotToData(snap))),
      promotedAt: '2026-01-01T00:00:00.000Z',
    });
  });

  it('detects truncation, flipped bytes and an unknown format', async () => {
    const dir = await tempDir();
    const file = new SnapshotFile(dir);
    await file.save(await build(CONFIG_FILES, null, new EngineCache(), 'f'.repeat(40)), null);
    const good = await readFile(file.path);
    await writeFile(file.path, good.subarray(0, good.length - 5));
    assert.deepEqual(await file.load(), { status: 'corrupt', reason: 'truncated' });
    const flipped = Buffer.from(good);
    flipped[flipped.length - 3] = flipped[flipped.length - 3]! ^ 0x01;
    await writeFile(file.path, flipped);
    assert.deepEqual(await file.load(), { status: 'corrupt', reason: 'checksum mismatch' });
    await writeFile(
      file.path,
      Buffer.from(good.toString('utf8').replace(/^gitcfg-snapshot 1 /, 'gitcfg-snapshot 9 ')),
    );
    assert.equal((await file.load()).status, 'corrupt');
    await writeFile(file.path, 'garbage');
    assert.equal((await file.load()).status, 'corrupt');
  });
});
