/**
 * `gitcfg migrate`: shows (as a diff) or, with `--write`, applies the rewrite of every document below its
 * namespace's schema version, in place in the working tree (comments, key order and layout kept).
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LineCounter, isMap, isSeq, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import { formatIssue } from '../engine/index.js';
import type { Issue, JsonValue, Origin } from '../engine/index.js';
import { checkChain, parseMigration, rewriteDocument, unifiedDiff } from '../migrate/index.js';
import type { MigrationStep } from '../migrate/index.js';
import type { CommandResult, OutputStream } from './command-io.js';
import { EXIT_CODES, errorLine } from './command-io.js';
import { chooseConfigDir, locateRepo, toPrefix } from './config-location.js';

/** Options of `gitcfg migrate [--repo DIR] [--namespace NS] [--write]`. */
export interface MigrateOptions {
  cwd: string;
  /** `--repo`: the repository (or config root); default cwd, with `config-repo/` auto-detected. */
  repo?: string;
  /** `--subdir`: the config root relative to `--repo`. */
  subdir?: string;
  /** `--namespace`: only this namespace. */
  namespace?: string;
  /** `--write`: rewrite the files instead of showing the diff. */
  write?: boolean;
  stdout: OutputStream;
  stderr?: OutputStream;
}

/** One document that needs (or got) a rewrite. */
export interface MigratedFile {
  file: string;
  namespace: string;
  from: number;
  to: number;
}

/** Prints diffs (or writes files) and issues; exit 0 when every document can reach its version, 1 otherwise. */
export async function migrateCommand(
  options: MigrateOptions,
): Promise<CommandResult & { files: MigratedFile[] }> {
  const stderr = options.stderr ?? options.stdout;
  const location = locateRepo(options.cwd, options.repo);
  const root = chooseConfigDir(location.dir, options.subdir);
  const display = toPrefix(relative(location.gitRoot ?? location.dir, root));
  const namespaces = await schemaVersions(root);
  if (options.namespace !== undefined && !namespaces.has(options.namespace)) {
    const known = [...namespaces.keys()].join(', ') || 'none';
    stderr.write(errorLine(`unknown namespace: ${options.namespace} (known: ${known})`));
    return { exitCode: EXIT_CODES.invalid, files: [] };
  }
  const issues: Issue[] = [];
  const rewrites: Array<MigratedFile & { before: string; after: string }> = [];
  for (const [namespace, current] of namespaces) {
    if (options.namespace !== undefined && namespace !== options.namespace) continue;
    const chain = await readMigrations(root, namespace);
    issues.push(...chain.issues, ...checkChain(chain.steps, current, namespace));
    for (const file of await documentFiles(root, namespace)) {
      const before = await readFile(join(root, file), 'utf8');
      const result = rewriteDocument(before, chain.steps, current, { file, namespace });
      issues.push(...result.issues);
      if (result.text !== undefined && result.fromVersion !== undefined) {
        rewrites.push({ file, namespace, from: result.fromVersion, to: current, before, after: result.text });
      }
    }
  }
  for (const issue of issues) {
    options.stdout.write(
      `${formatIssue(issue.file === undefined ? issue : { ...issue, file: display + issue.file })}\n`,
    );
  }
  const files = rewrites.map(({ file, namespace, from, to }) => ({
    file: display + file,
    namespace,
    from,
    to,
  }));
  if (issues.length > 0) {
    // All or nothing: a half-migrated repository is harder to reason about than an untouched one.
    stderr.write(`✖ ${issues.length} issue(s); nothing written\n`);
    return { exitCode: EXIT_CODES.invalid, files };
  }
  for (const rewrite of rewrites) {
    const shown = display + rewrite.file;
    if (options.write) {
      await writeFile(join(root, rewrite.file), rewrite.after, 'utf8');
      options.stdout.write(`migrated ${shown}: version ${rewrite.from} -> ${rewrite.to}\n`);
    } else {
      options.stdout.write(
        unifiedDiff(rewrite.before, rewrite.after, { from: `a/${shown}`, to: `b/${shown}` }),
      );
    }
  }
  if (rewrites.length === 0) stderr.write('✔ every document is at its schema version\n');
  else if (options.write) stderr.write(`✔ migrated ${rewrites.length} file(s)\n`);
  else stderr.write(`${rewrites.length} file(s) to migrate; run with --write to rewrite them\n`);
  return { exitCode: EXIT_CODES.ok, files };
}

/** Namespace -> current version (`"x-gitcfg-version"` of `schemas/<ns>.schema.json`, default 1), sorted. */
async function schemaVersions(root: string): Promise<Map<string, number>> {
  const versions = new Map<string, number>();
  for (const name of (await listDir(join(root, 'schemas'))).sort()) {
    const match = /^([a-z][a-z0-9-]*)\.schema\.json$/.exec(name);
    if (!match) continue; // older versions (`<ns>.v1.schema.json`) and anything else
    let version = 1;
    try {
      const schema = JSON.parse(await readFile(join(root, 'schemas', name), 'utf8')) as Record<
        string,
        unknown
      >;
      const declared = schema['x-gitcfg-version'];
      if (typeof declared === 'number') version = declared;
    } catch {
      // An unreadable schema is `gitcfg validate`'s business; its documents are treated as version 1.
    }
    versions.set(match[1] as string, version);
  }
  return versions;
}

/** Parses `migrations/<ns>/<N>.yaml` into steps (with every issue found). */
async function readMigrations(
  root: string,
  namespace: string,
): Promise<{ steps: MigrationStep[]; issues: Issue[] }> {
  const steps: MigrationStep[] = [];
  const issues: Issue[] = [];
  for (const name of (await listDir(join(root, 'migrations', namespace))).sort()) {
    const file = `migrations/${namespace}/${name}`;
    const match = /^(\d+)\.yaml$/.exec(name);
    if (!match) {
      issues.push({
        code: 'migration-invalid',
        file,
        namespace,
        message: 'migration files are named <N>.yaml',
      });
      continue;
    }
    const lineCounter = new LineCounter();
    const doc = parseDocument(await readFile(join(root, file), 'utf8'), { lineCounter, uniqueKeys: true });
    if (doc.errors.length > 0) {
      const pos = doc.errors[0]?.linePos?.[0];
      issues.push({
        code: 'yaml-syntax',
        file,
        namespace,
        ...(pos ? { line: pos.line, column: pos.col } : {}),
        message: doc.errors[0]?.message.split('\n')[0] ?? 'invalid YAML',
      });
      continue;
    }
    const origins = new Map<string, Origin>();
    collectOrigins(doc.contents as Node | null, '', file, lineCounter, origins);
    const parsed = parseMigration((doc.toJS() ?? null) as JsonValue, file, Number(match[1]), origins);
    issues.push(...parsed.issues.map((issue) => ({ ...issue, namespace })));
    if (parsed.step) steps.push(parsed.step);
  }
  return { steps, issues };
}

/** Pointer -> position of every node of a parsed YAML file. */
function collectOrigins(
  node: Node | null,
  pointer: string,
  file: string,
  lineCounter: LineCounter,
  origins: Map<string, Origin>,
): void {
  if (!node) return;
  if (node.range) {
    const pos = lineCounter.linePos(node.range[0]);
    origins.set(pointer, { file, line: pos.line, column: pos.col });
  }
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = String((pair.key as { value?: unknown } | null)?.value ?? pair.key);
      collectOrigins(
        pair.value as Node | null,
        `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`,
        file,
        lineCounter,
        origins,
      );
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) =>
      collectOrigins(item as Node | null, `${pointer}/${i}`, file, lineCounter, origins),
    );
  }
}

/** `defaults/<ns>.yaml` and every `environments/<env>/<ns>.yaml` that exists. */
async function documentFiles(root: string, namespace: string): Promise<string[]> {
  const files: string[] = [];
  if ((await listDir(join(root, 'defaults'))).includes(`${namespace}.yaml`))
    files.push(`defaults/${namespace}.yaml`);
  for (const env of (await listDir(join(root, 'environments'))).sort()) {
    if ((await listDir(join(root, 'environments', env))).includes(`${namespace}.yaml`)) {
      files.push(`environments/${env}/${namespace}.yaml`);
    }
  }
  return files;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}
