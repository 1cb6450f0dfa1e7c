import * as assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadLsCommand } from '../../src/commands/index.js';
import { VALID_FILES, createConfigRepo, git, removeTempDirs, writeFiles } from './cli-fixture.js';

after(removeTempDirs);

const lsCommand = await loadLsCommand();

async function ls(cwd: string, extra: { ref?: string; format?: 'text' | 'json' } = {}) {
  let stdout = '';
  const result = await lsCommand({
    cwd,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: () => true },
    ...extra,
  });
  return { ...result, stdout };
}

test('ls lists environments with their parents and namespaces with schema version and description', async () => {
  const dir = createConfigRepo({
    ...VALID_FILES,
    'gitcfg.yaml': `description: Team config\n${VALID_FILES['gitcfg.yaml']!.replace(
      '  production: {}',
      '  production:\n    description: Live traffic',
    )}`,
  });
  const text = await ls(dir);
  assert.equal(text.exitCode, 0);
  assert.equal(
    text.stdout,
    [
      'Team config',
      '',
      'environments',
      '  development',
      '  production   Live traffic',
      '  staging      extends production',
      '',
      'namespaces',
      '  http-client  v1',
      '',
    ].join('\n'),
  );
  const json = JSON.parse((await ls(dir, { format: 'json' })).stdout) as Record<string, unknown>;
  assert.equal(json.commit, null);
  assert.equal(json.source, 'working tree');
  assert.deepEqual(json.environments, [
    { name: 'development' },
    { name: 'production', description: 'Live traffic' },
    { name: 'staging', extends: 'production' },
  ]);
});

test('ls --ref describes a commit, whatever the working tree holds', async () => {
  const dir = createConfigRepo();
  const head = git(dir, 'rev-parse', 'HEAD').trim();
  writeFiles(dir, {
    'schemas/billing.schema.json': '{"type": "object", "description": "Invoices"}',
    'defaults/billing.yaml': '',
  });
  const now = JSON.parse((await ls(dir, { format: 'json' })).stdout) as { namespaces: { name: string }[] };
  assert.deepEqual(
    now.namespaces.map((n) => n.name),
    ['billing', 'http-client'],
  );
  const then = JSON.parse((await ls(dir, { ref: 'HEAD', format: 'json' })).stdout) as {
    commit: string;
    namespaces: { name: string }[];
  };
  assert.equal(then.commit, head);
  assert.deepEqual(
    then.namespaces.map((n) => n.name),
    ['http-client'],
  );
});
