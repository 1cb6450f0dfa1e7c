import { strict as assert } from 'node:assert';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { migrateCommand } from '../../src/commands/migrate.js';
import { evaluateRepo, memorySource } from '../../src/engine/index.js';
import type { JsonObject } from '../../src/engine/index.js';
import { migrateDown, parseDuration } from '../../src/migrate/index.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const configRepo = join(projectRoot, 'config-repo');

async function readTree(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    files[relative(dir, full).split('\\').join('/')] = await readFile(full, 'utf8');
  }
  return files;
}

describe('config-repo: cache at version 2', () => {
  it('loads the production override still written at version 1, migrating it', async () => {
    const files = await readTree(configRepo);
    const old = parse(files['environments/production/cache.yaml'] ?? '') as JsonObject;
    assert.equal(old.$schemaVersion, undefined, 'the example keeps one file at version 1');
    const evaluation = await evaluateRepo(memorySource(files));
    assert.deepEqual(evaluation.issues, []);
    assert.equal(evaluation.versions.get('cache')?.current, 2);
    const oldAgent = (old.services as Record<string, Record<string, number>>).agent;
    for (const env of ['production', 'staging']) {
      const services = evaluation.configs.get(`cache/${env}`)?.value.services as Record<
        string,
        Record<string, string>
      >;
      assert.equal(
        parseDuration(services.agent?.timeout ?? ''),
        (oldAgent?.timeout_seconds ?? NaN) * 1000,
        env,
      );
    }
  });

  it('serves every environment at version 1, valid against schemas/cache.v1.schema.json', async () => {
    const evaluation = await evaluateRepo(memorySource(await readTree(configRepo)));
    const versions = evaluation.versions.get('cache');
    assert.ok(versions);
    const v1Schema = versions.oldSchemas.get(1);
    assert.ok(v1Schema, 'schemas/cache.v1.schema.json');
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(v1Schema);
    for (const env of evaluation.environments) {
      const config = evaluation.configs.get(`cache/${env}`);
      assert.ok(config, env);
      const down = migrateDown(config.value, 2, 1, versions.steps);
      assert.deepEqual(down.issues, [], env);
      assert.ok(validate(down.value), `${env}: ${JSON.stringify(validate.errors)}`);
    }
  });

  it('`gitcfg migrate` has exactly that one file left to rewrite', async () => {
    const out: string[] = [];
    const result = await migrateCommand({
      cwd: projectRoot,
      repo: 'config-repo',
      stdout: { write: (chunk: string) => out.push(chunk) },
      stderr: { write: () => true },
    });
    assert.equal(result.exitCode, 0, out.join(''));
    assert.deepEqual(
      result.files.map((file) => file.file),
      ['config-repo/environments/production/cache.yaml'],
    );
  });
});
