/** The test kit itself: the builder writes what it is told, `waitFor` is bounded and names what it waited for. */
import * as assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { evaluateRepo, memorySource } from '../../src/engine/index.js';
import { configFiles, createConfigRepo } from './config-repo.js';
import { cleanupTempDirs, run } from './git-repo.js';
import { waitFor } from './wait-for.js';

after(cleanupTempDirs);

describe('config-repo builder', () => {
  const desc = {
    manifest: { environments: { production: null, staging: 'production' } },
    schemas: { app: { type: 'object', properties: { greeting: { type: 'string' } } } },
    defaults: { app: { greeting: 'hello' } },
    overrides: { staging: { app: 'greeting: hi # staging\n' } },
  };

  it('writes the manifest, schemas and layers of a description, valid for the engine', async () => {
    const files = configFiles(desc);
    assert.deepEqual(files, {
      'gitcfg.yaml': 'version: 1\nenvironments:\n  production: {}\n  staging:\n    extends: production\n',
      'schemas/app.schema.json': '{"type":"object","properties":{"greeting":{"type":"string"}}}',
      'defaults/app.yaml': 'greeting: hello\n',
      'environments/staging/app.yaml': 'greeting: hi # staging\n',
    });
    const ev = await evaluateRepo(memorySource(files));
    assert.deepEqual(ev.issues, []);
    assert.deepEqual(ev.configs.get('app/staging')?.value, { greeting: 'hi' });
    assert.deepEqual(Object.keys(configFiles({ ...desc, subdir: 'cfg' })), [
      'cfg/gitcfg.yaml',
      'cfg/schemas/app.schema.json',
      'cfg/defaults/app.yaml',
      'cfg/environments/staging/app.yaml',
    ]);
  });

  it('commits on main and commits again', async () => {
    const repo = await createConfigRepo(desc);
    assert.equal(await run(repo.dir, 'rev-parse', 'main'), repo.head);
    const next = await repo.commit({ 'defaults/app.yaml': 'greeting: bye\n' }, 'bye');
    assert.equal(await run(repo.dir, 'rev-parse', 'HEAD~1'), repo.head);
    assert.equal(await run(repo.dir, 'rev-parse', 'HEAD'), next);
    assert.equal(await readFile(path.join(repo.dir, 'defaults/app.yaml'), 'utf8'), 'greeting: bye\n');
  });
});

describe('waitFor', () => {
  it('resolves to the first truthy answer', async () => {
    let calls = 0;
    assert.equal(
      await waitFor(() => (++calls === 3 ? 'ready' : null), { what: 'x', intervalMs: 0 }),
      'ready',
    );
    assert.equal(calls, 3);
  });

  it('gives up after its bound, naming what it waited for and the last error', async () => {
    let calls = 0;
    await assert.rejects(
      waitFor(
        () => {
          calls++;
          throw new Error('still down');
        },
        { what: 'the remote', tries: 4, intervalMs: 0 },
      ),
      { message: 'gave up waiting for the remote after 4 attempts: Error: still down' },
    );
    assert.equal(calls, 4);
  });
});
