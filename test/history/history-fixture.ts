/**
 * A configuration repository with a known series of commits, for the audit tests. Namespace `app`, environments
 * production, staging (extends production) and development; namespace `other` changes independently.
 *
 *   c1 initial        every file
 *   c2 defaults       retry.delay_ms 100 -> 250            (every environment)
 *   c3 production     greeting "hello" -> "welcome"        (production and staging, through extends)
 *   c4 reformat       defaults/app.yaml: comment + blank line + reordered keys, same values (no effect)
 *   c5 other          defaults/other.yaml only             (not an input of app)
 *   c6 development    retry.max 3 -> 7 in development only (development)
 *   c7 secret         db.password "${vault:a}" -> "${vault:b}"   (every environment; masked)
 *   c8 staging noop   staging sets retry.max: 3, which it already inherits (no effect)
 */
import { underSubdir } from '../helpers/config-repo.js';
import { commitFiles, createTempRepo, run, runGit } from '../helpers/git-repo.js';

export const APP_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['greeting'],
  properties: {
    greeting: { type: 'string' },
    retry: {
      type: 'object',
      additionalProperties: false,
      properties: { max: { type: 'integer' }, delay_ms: { type: 'integer' } },
    },
    db: {
      type: 'object',
      additionalProperties: false,
      properties: { host: { type: 'string' }, password: { type: 'string', 'x-gitcfg-secret': true } },
    },
    tags: { type: 'array', items: { type: 'string' } },
  },
};

const MANIFEST = [
  'version: 1',
  'environments:',
  '  production: {}',
  '  staging:',
  '    extends: production',
  '  development: {}',
  '',
].join('\n');

/** Commit ids of the series, by name. */
export interface SeriesCommits {
  c1: string;
  c2: string;
  c3: string;
  c4: string;
  c5: string;
  c6: string;
  c7: string;
  c8: string;
}

/** Creates the repository (in a temp dir removed by `cleanupTempDirs`) and makes the eight commits. */
export async function createSeriesRepo(prefix = ''): Promise<{ dir: string; commits: SeriesCommits }> {
  const dir = await createTempRepo();
  const commit = (files: Record<string, string | null>, message: string) =>
    commitFiles(dir, underSubdir(files, prefix), message);
  const c1 = await commit(
    {
      'gitcfg.yaml': MANIFEST,
      'schemas/app.schema.json': JSON.stringify(APP_SCHEMA, null, 2),
      'defaults/app.yaml':
        'greeting: hello\nretry:\n  max: 3\n  delay_ms: 100\ndb:\n  host: db.internal\n  password: ${vault:a}\ntags: [a, b]\n',
      'environments/production/app.yaml': 'db:\n  host: db.prod\n',
      'environments/staging/app.yaml': 'tags: [s]\n',
      'environments/development/app.yaml': 'greeting: hi dev\n',
      'schemas/other.schema.json': JSON.stringify({ type: 'object' }),
      'defaults/other.yaml': 'size: 1\n',
    },
    'initial configuration',
  );
  const c2 = await commit(
    {
      'defaults/app.yaml':
        'greeting: hello\nretry:\n  max: 3\n  delay_ms: 250\ndb:\n  host: db.internal\n  password: ${vault:a}\ntags: [a, b]\n',
    },
    'defaults: slower retries',
  );
  const c3 = await commit(
    { 'environments/production/app.yaml': 'greeting: welcome\ndb:\n  host: db.prod\n' },
    'production: new greeting',
  );
  const c4 = await commit(
    {
      'defaults/app.yaml':
        '# Defaults of the app namespace.\n\ndb:\n  password: ${vault:a}\n  host: db.internal\nretry:\n  delay_ms: 250\n  max: 3\ngreeting: "hello"\ntags:\n  - a\n  - b\n',
    },
    'reformat defaults',
  );
  const c5 = await commit({ 'defaults/other.yaml': 'size: 2\n' }, 'other: bigger');
  const c6 = await commit(
    { 'environments/development/app.yaml': 'greeting: hi dev\nretry:\n  max: 7\n' },
    'development: more retries',
  );
  const c7 = await commit(
    {
      'defaults/app.yaml':
        '# Defaults of the app namespace.\n\ndb:\n  password: ${vault:b}\n  host: db.internal\nretry:\n  delay_ms: 250\n  max: 3\ngreeting: "hello"\ntags:\n  - a\n  - b\n',
    },
    'rotate the database password reference',
  );
  const c8 = await commit(
    { 'environments/staging/app.yaml': 'tags: [s]\nretry:\n  max: 3\n' },
    'staging: pin retry.max',
  );
  return { dir, commits: { c1, c2, c3, c4, c5, c6, c7, c8 } };
}

/**
 * Appends `count` commits to `main` in one `git fast-import` (the work tree is left behind: read the objects
 * only). Each rewrites `defaults/other.yaml`; in turn they also add a nested file, make it executable, add a
 * symlink, and replace the directory by a file (deletes, mode changes, a file where a tree was and back).
 */
export async function appendCommits(dir: string, count: number): Promise<string> {
  const parent = await run(dir, 'rev-parse', 'main');
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const step: ((i: number) => string)[] = [
    (i) => `M 100644 inline extra/deep/f.yaml\n${data(`n: ${i}\n`)}`,
    (i) => `M 100755 inline extra/deep/f.yaml\n${data(`n: ${i}\n`)}`,
    () => `M 120000 inline extra/link\n${data('deep/f.yaml')}`,
    (i) => `D extra/deep\nD extra/link\nM 100644 inline extra/deep\n${data(`file ${i}\n`)}`,
  ];
  let stream = '';
  for (let i = 0; i < count; i++) {
    stream +=
      `commit refs/heads/main\ncommitter Bulk <bulk@example.com> ${1_700_000_000 + i} +0000\n` +
      data(`bulk ${i}`) +
      (i === 0 ? `from ${parent}\n` : '') +
      `M 100644 inline defaults/other.yaml\n${data(`size: ${i + 10}\n`)}` +
      step[i % step.length]!(i) +
      '\n';
  }
  await runGit({ cwd: dir, args: ['fast-import', '--quiet'], input: stream });
  return run(dir, 'rev-parse', 'main');
}
