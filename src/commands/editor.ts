/**
 * `gitcfg editor`: editor support for a config repository. Writes, for yaml-language-server (VS Code's YAML
 * extension, Neovim, Helix, JetBrains), a schema per namespace and file kind and the mapping that applies them.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { DELETE_TAG, MANIFEST_SCHEMA, editorSchema, evaluateRepo } from '../engine/index.js';
import type { JsonObject } from '../engine/index.js';
import { UsageError } from '../errors/index.js';
import type { CommandIo, CommandResult } from './command-io.js';
import { EXIT_CODES } from './command-io.js';
import { locateRepo } from './config-location.js';
import { openConfigSource } from './config-source.js';

/** Options of `gitcfg editor`. */
export interface EditorOptions extends CommandIo {
  repo?: string;
  subdir?: string;
}

/** Where the derived schemas go, inside the config root (a folder gitcfg's layout ignores). */
export const EDITOR_SCHEMA_DIR = '.gitcfg/editor';

/** Writes the editor schemas and the `yaml.schemas` mapping of `.vscode/settings.json` at the git root. */
export async function editorCommand(options: EditorOptions): Promise<CommandResult & { files: string[] }> {
  const opened = await openConfigSource({ cwd: options.cwd, repo: options.repo, subdir: options.subdir });
  const workspace = opened.gitRoot ?? locateRepo(options.cwd, options.repo).dir;
  const configDir = join(workspace, opened.displayPrefix);
  const evaluation = await evaluateRepo(opened.source);
  const schemaDir = join(configDir, EDITOR_SCHEMA_DIR);
  // Regenerated from scratch, so a removed namespace leaves no stale schema behind.
  await rm(schemaDir, { recursive: true, force: true });
  await mkdir(schemaDir, { recursive: true });

  const toWorkspace = (path: string) => relative(workspace, join(configDir, path)).split('\\').join('/');
  const mapping: Record<string, string[]> = {};
  const files: string[] = [];
  const write = async (name: string, schema: JsonObject, appliesTo: string[]) => {
    const path = `${EDITOR_SCHEMA_DIR}/${name}`;
    await writeFile(join(configDir, path), `${JSON.stringify(schema, null, 2)}\n`);
    files.push(toWorkspace(path));
    mapping[`./${toWorkspace(path)}`] = appliesTo.map(toWorkspace);
  };
  await write('gitcfg.schema.json', MANIFEST_SCHEMA, ['gitcfg.yaml']);
  for (const [namespace, schema] of [...evaluation.schemas].sort(([a], [b]) => a.localeCompare(b))) {
    await write(`${namespace}.defaults.schema.json`, editorSchema(schema, 'defaults'), [
      `defaults/${namespace}.yaml`,
    ]);
    await write(`${namespace}.override.schema.json`, editorSchema(schema, 'override'), [
      `environments/*/${namespace}.yaml`,
    ]);
  }
  const settingsPath = join(workspace, '.vscode', 'settings.json');
  await writeSettings(settingsPath, mapping, `./${toWorkspace(EDITOR_SCHEMA_DIR)}/`);
  options.stdout.write(
    `Wrote ${files.length} editor schemas to ${toWorkspace(EDITOR_SCHEMA_DIR)}/ and their mapping to .vscode/settings.json.\n` +
      'Run `gitcfg editor` again after adding a namespace or changing a schema.\n',
  );
  return { exitCode: EXIT_CODES.ok, files };
}

/** yaml-language-server's declaration of the `!delete` tag (a scalar with no value). */
const DELETE_TAG_SETTING = `${DELETE_TAG} scalar`;

/** Replaces gitcfg's entries of `yaml.schemas` (those under `ownPrefix`), keeping every other setting. */
async function writeSettings(
  path: string,
  mapping: Record<string, string[]>,
  ownPrefix: string,
): Promise<void> {
  let settings: Record<string, unknown> = {};
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text !== undefined) {
    try {
      settings = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new UsageError(
        `.vscode/settings.json is not plain JSON (comments?), so it was left as it is; add to it:\n` +
          JSON.stringify({ 'yaml.schemas': mapping }, null, 2),
      );
    }
  }
  const existing = settings['yaml.schemas'];
  const kept = Object.entries(typeof existing === 'object' && existing !== null ? existing : {}).filter(
    ([schema]) => !schema.startsWith(ownPrefix),
  );
  settings['yaml.schemas'] = { ...Object.fromEntries(kept), ...mapping };
  // Overrides may delete an inherited key with `!delete`: a tag the editor must know, or it flags every use.
  const tags = Array.isArray(settings['yaml.customTags']) ? (settings['yaml.customTags'] as unknown[]) : [];
  if (!tags.includes(DELETE_TAG_SETTING)) settings['yaml.customTags'] = [...tags, DELETE_TAG_SETTING];
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, `${JSON.stringify(settings, null, 2)}\n`);
}
