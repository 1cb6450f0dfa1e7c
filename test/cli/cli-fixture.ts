/** Small config repositories in temp dirs for the CLI tests (native git, no mocks). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A valid repository: one namespace, three environments, staging extends production. */
export const VALID_FILES: Readonly<Record<string, string>> = {
  'gitcfg.yaml': [
    'version: 1',
    'environments:',
    '  development: {}',
    '  production: {}',
    '  staging:',
    '    extends: production',
    '',
  ].join('\n'),
  'schemas/http-client.schema.json': JSON.stringify({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: false,
    required: ['base_url', 'timeout_ms'],
    properties: {
      base_url: { type: 'string' },
      timeout_ms: { type: 'integer', minimum: 1 },
      tags: { type: 'array', items: { type: 'string' } },
    },
  }),
  'defaults/http-client.yaml': [
    'base_url: http://localhost:8080',
    'timeout_ms: 2000',
    'tags: [default]',
    '',
  ].join('\n'),
  'environments/production/http-client.yaml': [
    'base_url: https://api.example.com',
    'timeout_ms: 5000',
    '',
  ].join('\n'),
  'environments/staging/http-client.yaml': ['tags: [staging, canary]', ''].join('\n'),
};

/** An override whose `timeout_ms` (line 2, column 13) violates the schema. */
export const BAD_PRODUCTION = ['base_url: https://api.example.com', 'timeout_ms: fast', ''].join('\n');
export const BAD_PRODUCTION_FILE = 'environments/production/http-client.yaml';

const created: string[] = [];

/** A fresh temp directory, removed by {@link removeTempDirs}. */
export function tempDir(prefix = 'gitcfg-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Removes every temp dir created so far. */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Runs native git in `dir` and returns its stdout. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Writes files (paths relative to `dir`), creating folders. */
export function writeFiles(dir: string, files: Readonly<Record<string, string>>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** A git repo (branch main, identity set) holding `files` under `subdir`, committed once. */
export function createConfigRepo(files: Readonly<Record<string, string>> = VALID_FILES, subdir = ''): string {
  const dir = tempDir();
  git(dir, '-c', 'init.defaultBranch=main', 'init', '--quiet');
  git(dir, 'config', 'user.name', 'Test User');
  git(dir, 'config', 'user.email', 'test@example.com');
  const prefixed = Object.fromEntries(
    Object.entries(files).map(([p, c]) => [subdir ? `${subdir}/${p}` : p, c]),
  );
  writeFiles(dir, prefixed);
  commitAll(dir, 'initial configuration');
  return dir;
}

/** Stages everything and commits; returns the new commit id. */
export function commitAll(dir: string, message: string): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '--quiet', '--no-verify', '-m', message);
  return git(dir, 'rev-parse', 'HEAD').trim();
}
