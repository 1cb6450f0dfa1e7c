import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { MANIFEST_SCHEMA, evaluateRepo, formatIssue, memorySource } from '../../src/engine/index.js';

const projectRoot = new URL('../../', import.meta.url);

async function readTree(dir: URL): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  const walk = async (sub: string) => {
    for (const entry of await readdir(new URL(sub, dir), { withFileTypes: true })) {
      const rel = `${sub}${entry.name}`;
      if (entry.isDirectory()) await walk(`${rel}/`);
      else files[rel] = await readFile(new URL(rel, dir));
    }
  };
  await walk('');
  return files;
}

test('config-repo/ validates clean, with every namespace in every environment', async () => {
  const files = await readTree(new URL('config-repo/', projectRoot));
  const ev = await evaluateRepo(memorySource(files));
  assert.deepEqual(ev.issues.map(formatIssue), []);
  assert.deepEqual(ev.namespaces, [
    'ai-provider',
    'cache',
    'feature-flags',
    'ml',
    'retry',
    'spaced-repetition',
  ]);
  assert.deepEqual(ev.environments, ['development', 'production', 'staging', 'testing']);
  assert.equal(ev.configs.size, 24);
  assert.equal(ev.manifest?.environments.staging?.extends, 'production');
  // cache is at version 2 (duration strings); migrations/cache/2.yaml moves it from version 1 (seconds).
  assert.equal(ev.versions.get('cache')?.current, 2);
});

test('config-repo/ keeps API keys out: secret fields only hold ${env:NAME} references', async () => {
  const files = await readTree(new URL('config-repo/', projectRoot));
  const ev = await evaluateRepo(memorySource(files));
  for (const env of ev.environments) {
    const value = ev.configs.get(`ai-provider/${env}`)!.value as Record<string, { api_key?: string }>;
    for (const provider of [value.primary, value.fallback]) {
      if (provider?.api_key !== undefined) assert.match(provider.api_key, /^\$\{env:[A-Z][A-Z0-9_]*\}$/);
    }
  }
});

test('config-repo/ rejects a retry policy whose max delay is below its base delay (cross-field rule)', async () => {
  const files = await readTree(new URL('config-repo/', projectRoot));
  files['environments/production/retry.yaml'] = new TextEncoder().encode(
    'operations:\n  http:\n    base_delay_ms: 500\n    max_delay_ms: 100\n',
  );
  const ev = await evaluateRepo(memorySource(files));
  assert.deepEqual(
    ev.issues.map((i) => [i.code, i.file, i.line, i.environment, i.path]),
    [
      [
        'schema-violation',
        'environments/production/retry.yaml',
        4,
        'production',
        '/operations/http/max_delay_ms',
      ],
      [
        'schema-violation',
        'environments/production/retry.yaml',
        4,
        'staging',
        '/operations/http/max_delay_ms',
      ],
    ],
  );
});

test('schemas/gitcfg-manifest.schema.json is the schema the engine validates manifests with', async () => {
  const text = await readFile(
    fileURLToPath(new URL('schemas/gitcfg-manifest.schema.json', projectRoot)),
    'utf8',
  );
  assert.deepEqual(JSON.parse(text), MANIFEST_SCHEMA);
});
