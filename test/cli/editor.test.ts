import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { loadEditorCommand, loadInitCommand } from '../../src/commands/index.js';
import { removeTempDirs, tempDir } from './cli-fixture.js';

after(removeTempDirs);

const editorCommand = await loadEditorCommand();
const initCommand = await loadInitCommand();

const quiet = { write: () => true };

async function initRepo(): Promise<string> {
  const dir = join(tempDir(), 'team-config');
  await initCommand({ cwd: tempDir(), dir, stdout: quiet, stderr: quiet });
  return dir;
}

/** A plain JSON Schema validator with no gitcfg or Ajv extension, as an editor's language server is. */
function standardValidator(schema: unknown) {
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  return ajv.compile(schema as object);
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

test('init maps every YAML file to a schema a standard validator applies as gitcfg does', async () => {
  const dir = await initRepo();
  const settings = readJson(join(dir, '.vscode/settings.json')) as Record<string, unknown>;
  assert.deepEqual(settings['yaml.schemas'], {
    './.gitcfg/editor/gitcfg.schema.json': ['gitcfg.yaml'],
    './.gitcfg/editor/http-client.defaults.schema.json': ['defaults/http-client.yaml'],
    './.gitcfg/editor/http-client.override.schema.json': ['environments/*/http-client.yaml'],
  });
  assert.deepEqual(settings['yaml.customTags'], ['!delete scalar']);

  // The namespace schema itself uses Ajv's `$data`, which a standard validator refuses to compile.
  const original = readJson(join(dir, 'schemas/http-client.schema.json'));
  assert.throws(() => standardValidator(original));

  const editor = (name: string) => standardValidator(readJson(join(dir, '.gitcfg/editor', name)));
  const manifest = editor('gitcfg.schema.json');
  assert.equal(manifest(parse(readFileSync(join(dir, 'gitcfg.yaml'), 'utf8'))), true);
  assert.equal(manifest({ version: 1, enviroments: {} }), false);

  const defaults = editor('http-client.defaults.schema.json');
  const defaultsDoc = parse(readFileSync(join(dir, 'defaults/http-client.yaml'), 'utf8')) as object;
  assert.equal(defaults(defaultsDoc), true, JSON.stringify(defaults.errors));
  // `$schemaVersion` is gitcfg's and allowed; an unknown key and a missing required one are not.
  assert.equal(defaults({ ...defaultsDoc, $schemaVersion: 1 }), true);
  assert.equal(defaults({ ...defaultsDoc, timeout: 1 }), false);
  assert.equal(defaults({ base_url: 'http://x' }), false);

  // An override sets only some keys: no `required`, but types, ranges and unknown keys still checked.
  const override = editor('http-client.override.schema.json');
  const overrideDoc = parse(readFileSync(join(dir, 'environments/production/http-client.yaml'), 'utf8'));
  assert.equal(override(overrideDoc), true, JSON.stringify(override.errors));
  assert.equal(override({ retry: { max_retries: 99 } }), false);
  assert.equal(override({ retry: { max_retrys: 1 } }), false);
});

test('editor keeps other settings, replaces its own stale entries, and never rewrites commented settings', async () => {
  const dir = await initRepo();
  const settingsPath = join(dir, '.vscode/settings.json');
  const settings = readJson(settingsPath) as Record<string, Record<string, string[]>>;
  settings['yaml.schemas'] = {
    ...settings['yaml.schemas'],
    './.gitcfg/editor/removed.defaults.schema.json': ['defaults/removed.yaml'],
    'https://json.schemastore.org/github-workflow.json': ['.github/workflows/*.yml'],
  };
  writeFileSync(settingsPath, JSON.stringify({ ...settings, 'editor.tabSize': 2 }));
  await editorCommand({ cwd: dir, stdout: quiet, stderr: quiet });
  const after = readJson(settingsPath) as Record<string, Record<string, string[]>>;
  assert.equal(after['editor.tabSize'], 2);
  assert.deepEqual(Object.keys(after['yaml.schemas']!).sort(), [
    './.gitcfg/editor/gitcfg.schema.json',
    './.gitcfg/editor/http-client.defaults.schema.json',
    './.gitcfg/editor/http-client.override.schema.json',
    'https://json.schemastore.org/github-workflow.json',
  ]);

  const commented = '{\n  // mine\n  "editor.tabSize": 4\n}\n';
  writeFileSync(settingsPath, commented);
  await assert.rejects(
    editorCommand({ cwd: dir, stdout: quiet, stderr: quiet }),
    /not plain JSON .* add to it:\n\{\n {2}"yaml.schemas"/s,
  );
  assert.equal(readFileSync(settingsPath, 'utf8'), commented);
});

test('a config root below the git root is mapped with paths from the git root', async () => {
  const root = join(tempDir(), 'service');
  const dir = join(root, 'config');
  await initCommand({ cwd: tempDir(), dir: root, stdout: quiet, stderr: quiet });
  mkdirSync(dir);
  for (const file of ['gitcfg.yaml', 'schemas/http-client.schema.json', 'defaults/http-client.yaml']) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), readFileSync(join(root, file)));
  }
  await editorCommand({ cwd: root, subdir: 'config', stdout: quiet, stderr: quiet });
  const settings = readJson(join(root, '.vscode/settings.json')) as Record<string, Record<string, string[]>>;
  assert.deepEqual(settings['yaml.schemas']!['./config/.gitcfg/editor/http-client.override.schema.json'], [
    'config/environments/*/http-client.yaml',
  ]);
});
