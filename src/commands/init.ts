/** `gitcfg init`: creates a config repository with an example namespace and the pre-commit hook installed. */
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors/index.js';
import { initRepository, readConfigValue } from '../git/index.js';
import type { CommandIo, CommandResult } from './command-io.js';
import { editorCommand } from './editor.js';
import { EXIT_CODES } from './command-io.js';
import { findPackageRoot } from './package-root.js';

/** Options of `gitcfg init <dir>`. */
export interface InitOptions extends CommandIo {
  /** Directory to create; it must not exist or be empty. */
  dir: string;
  /** Node binary the hook runs (default: the one running now). */
  nodePath?: string;
  /** gitcfg entry script the hook runs (default: this package's bin/gitcfg.js). */
  entryPath?: string;
}

/** Files of a new config repository (paths relative to its root). */
export const STARTER_FILES: Readonly<Record<string, string>> = {
  'gitcfg.yaml': `# gitcfg manifest: the environments of this repository.
# An environment may \`extends\` another: staging inherits production's overrides, then applies its own.
version: 1
environments:
  development: {}
  production: {}
  staging:
    extends: production
`,
  'schemas/http-client.schema.json': `${JSON.stringify(
    {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'http-client',
      description: 'Outgoing HTTP calls of the service.',
      type: 'object',
      additionalProperties: false,
      required: ['base_url', 'timeout_ms', 'retry'],
      properties: {
        base_url: { type: 'string', format: 'uri' },
        timeout_ms: { type: 'integer', minimum: 1, maximum: 60000 },
        retry: {
          type: 'object',
          additionalProperties: false,
          required: ['max_retries', 'base_delay_ms', 'max_delay_ms'],
          properties: {
            max_retries: { type: 'integer', minimum: 0, maximum: 10 },
            base_delay_ms: { type: 'integer', minimum: 1 },
            // Cross-field rule: the cap can never be below the first delay.
            max_delay_ms: { type: 'integer', minimum: { $data: '1/base_delay_ms' } },
          },
        },
      },
    },
    null,
    2,
  )}\n`,
  'defaults/http-client.yaml': `# Defaults of every environment; environments/<env>/http-client.yaml overrides them key by key.
base_url: http://localhost:8080
timeout_ms: 2000
retry:
  max_retries: 3
  base_delay_ms: 100
  max_delay_ms: 2000
`,
  'environments/production/http-client.yaml': `# Production talks to the real API and waits longer between retries.
base_url: https://api.example.com
timeout_ms: 5000
retry:
  max_delay_ms: 10000
`,
  'README.md': `# Configuration repository

Managed with gitcfg: YAML validated against a JSON Schema per namespace, merged per environment, served over
HTTP by \`gitcfg serve\`.

| path | what |
|---|---|
| \`gitcfg.yaml\` | manifest: environments (\`extends\` inherits another environment's overrides) |
| \`schemas/<namespace>.schema.json\` | JSON Schema (draft 2020-12) of the merged document |
| \`defaults/<namespace>.yaml\` | defaults of the namespace |
| \`environments/<env>/<namespace>.yaml\` | overrides for one environment (optional) |

Useful commands (\`gitcfg\` is on the PATH after \`npm install --global gitcfg\`; with gitcfg as a dependency of a
project, run them as \`npx gitcfg ...\`):

\`\`\`sh
gitcfg validate                                 # the working tree; exit 1 with file:line:col per issue
gitcfg render http-client --env staging         # the merged document
gitcfg diff HEAD~1 HEAD                         # effective change per namespace x environment
\`\`\`

Editors: \`gitcfg init\` wrote \`.vscode/settings.json\`, which maps every YAML file to a schema under
\`.gitcfg/editor/\` (completion, hover and checks in VS Code's YAML extension or any yaml-language-server client).
Run \`gitcfg editor\` again after adding a namespace or changing a schema.

The pre-commit hook (\`.git/hooks/pre-commit\`, installed by \`gitcfg init\`) runs \`gitcfg validate --staged\`,
so a commit with an invalid configuration is refused. Git does not version \`.git/hooks\`, so a fresh clone has no
hook; a team that wants it for every clone can add a package.json with gitcfg and simple-git-hooks as dev
dependencies and \`"simple-git-hooks": {"pre-commit": "npx --no-install gitcfg validate --staged"}\`.
`,
};

/** Creates the repository, writes the starter files and installs the hook; exit 0, or throws UsageError. */
export async function initCommand(options: InitOptions): Promise<CommandResult & { dir: string }> {
  const dir = resolve(options.cwd, options.dir);
  const existing = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw new UsageError(`cannot use ${options.dir}: ${error.code ?? error.message}`);
  });
  if (existing.length > 0) throw new UsageError(`directory is not empty: ${options.dir}`);
  await mkdir(dir, { recursive: true });
  await initRepository(dir, { defaultBranch: 'main' });
  for (const [path, content] of Object.entries(STARTER_FILES)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  // Editor schemas and their mapping: completion and checks while typing, before the hook runs.
  await editorCommand({ cwd: dir, stdout: { write: () => true }, stderr: options.stderr });
  const hookPath = join(dir, '.git', 'hooks', 'pre-commit');
  await mkdir(dirname(hookPath), { recursive: true });
  const packageRoot = findPackageRoot();
  const template = await readFile(join(packageRoot, 'hooks', 'pre-commit'), 'utf8');
  const hook = fillHook(
    template,
    options.nodePath ?? process.execPath,
    options.entryPath ?? join(packageRoot, 'bin', 'gitcfg.js'),
  );
  await writeFile(hookPath, hook);
  await chmod(hookPath, 0o755);

  const { stdout, stderr } = options;
  // A global core.hooksPath makes git ignore .git/hooks: say so instead of failing silently.
  const hooksPath = await readConfigValue(dir, 'core.hooksPath');
  if (hooksPath !== undefined) {
    stderr.write(
      `warning: core.hooksPath is set (${hooksPath}), so git will not run .git/hooks/pre-commit; ` +
        'run `git config core.hooksPath .git/hooks` in the new repository to enable it\n',
    );
  }
  stdout.write(
    `Created a gitcfg config repository in ${options.dir} (branch main, pre-commit hook installed).\n` +
      `Next:\n  cd ${options.dir}\n  git add -A && git commit -m "Initial configuration"\n` +
      '  gitcfg render http-client --env staging\n' +
      'Editor schemas: .gitcfg/editor/ (mapped in .vscode/settings.json; refresh with `gitcfg editor`).\n',
  );
  return { exitCode: EXIT_CODES.ok, dir };
}

/** Fills the hook template's `GITCFG_NODE=` and `GITCFG_ENTRY=` lines with shell-quoted paths. */
export function fillHook(template: string, nodePath: string, entryPath: string): string {
  const filled = template
    .replace(/^GITCFG_NODE=.*$/m, `GITCFG_NODE=${shellQuote(nodePath)}`)
    .replace(/^GITCFG_ENTRY=.*$/m, `GITCFG_ENTRY=${shellQuote(entryPath)}`);
  if (filled === template) throw new Error('hooks/pre-commit has no GITCFG_NODE/GITCFG_ENTRY lines');
  return filled;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
