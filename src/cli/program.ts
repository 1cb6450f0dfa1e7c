/**
 * Commander wiring of the gitcfg CLI. Commands live in src/commands and are loaded on demand, so `gitcfg
 * validate` (run by the pre-commit hook on every commit) loads the engine and the git layer and nothing else.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { COMPLETION_SHELLS, completionScript } from './completion.js';
import type { CompletionShell } from './completion.js';
import {
  EXIT_CODES,
  errorLine,
  exitCodeForError,
  loadBlameCommand,
  loadDiffCommand,
  loadEditorCommand,
  loadHistoryCommand,
  loadInitCommand,
  loadMigrateCommand,
  loadRenderCommand,
  loadRollbackCommand,
  loadTokenHashCommand,
  loadServeCommand,
  loadTypesCommand,
  loadValidateCommand,
  readPackageVersion,
} from '../commands/index.js';
import type { CommandIo, ServeOptions } from '../commands/index.js';

/** Source-selection flags shared by validate and render. */
interface SourceFlags {
  repo?: string;
  subdir?: string;
  ref?: string;
  staged?: boolean;
}

/** Builds the program; `setExitCode` receives each command's result. */
export function buildProgram(io: CommandIo, setExitCode: (code: number) => void): Command {
  const program = new Command('gitcfg')
    .description('Configuration as code: YAML in git, validated, merged and served over HTTP')
    .version(readPackageVersion(), '-V, --version', 'print the version')
    // Options after a command name belong to it, so `gitcfg types --version retry=1` is not the program's --version.
    .enablePositionalOptions()
    .helpOption('-h, --help', 'show help')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Commander's messages already start with `error:`; give them the common prefix.
      outputError: (text, write) => write(`gitcfg: ${text}`),
    })
    .exitOverride()
    .showSuggestionAfterError()
    .showHelpAfterError('(run with --help for usage)');

  const repoOption = () => new Option('--repo <dir>', 'directory inside the git repository (default: cwd)');
  const subdirOption = () =>
    new Option(
      '--subdir <dir>',
      'config root inside --repo (default: --repo, or its config-repo/ if only it has gitcfg.yaml)',
    );

  program
    .command('validate')
    .description(
      'validate the configuration (working tree by default); exit 0 valid, 1 invalid, 2 usage error',
    )
    .addOption(repoOption())
    .addOption(subdirOption())
    .addOption(new Option('--ref <rev>', 'validate a commit, branch or tag instead of the working tree'))
    .addOption(new Option('--staged', 'validate exactly what is staged (the git index)').conflicts('ref'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addOption(new Option('--no-cache', 're-check every namespace, even those unchanged since found valid'))
    .action(async (flags: SourceFlags & { format: 'text' | 'json'; cache: boolean }) => {
      const validate = await loadValidateCommand();
      setExitCode((await validate({ ...io, ...flags })).exitCode);
    });

  program
    .command('render')
    .description('print the merged document of a namespace in an environment')
    .argument('<namespace>', 'namespace to render')
    .requiredOption('--env <env>', 'environment')
    .addOption(repoOption())
    .addOption(subdirOption())
    .addOption(new Option('--ref <rev>', 'render at a commit, branch or tag instead of the working tree'))
    .addOption(new Option('--staged', 'render what is staged').conflicts('ref'))
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'yaml']).default('json'))
    .action(
      async (
        namespace: string,
        { env, ...flags }: SourceFlags & { env: string; format: 'json' | 'yaml' },
      ) => {
        const render = await loadRenderCommand();
        setExitCode((await render({ ...io, ...flags, namespace, environment: env })).exitCode);
      },
    );

  program
    .command('diff')
    .description('show the effective change of every namespace x environment between two commits')
    .argument('<from>', 'older commit, branch or tag')
    .argument('<to>', 'newer commit, branch or tag')
    .addOption(repoOption())
    .addOption(subdirOption())
    .addOption(new Option('--env <env>', 'only this environment'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(
      async (
        from: string,
        to: string,
        { env, ...flags }: { repo?: string; subdir?: string; env?: string; format: 'text' | 'json' },
      ) => {
        const diff = await loadDiffCommand();
        setExitCode((await diff({ ...io, ...flags, from, to, environment: env })).exitCode);
      },
    );

  program
    .command('init')
    .description('create a new config repository with an example namespace and the pre-commit hook')
    .argument('<dir>', 'directory to create (must not exist or be empty)')
    .action(async (dir: string) => {
      const init = await loadInitCommand();
      setExitCode((await init({ ...io, dir })).exitCode);
    });

  program
    .command('editor')
    .description(
      'write editor schemas (.gitcfg/editor/) and their .vscode/settings.json mapping, for completion and checks while typing',
    )
    .addOption(repoOption())
    .addOption(subdirOption())
    .action(async (flags: { repo?: string; subdir?: string }) => {
      const editor = await loadEditorCommand();
      setExitCode((await editor({ ...io, ...flags })).exitCode);
    });

  program
    .command('serve')
    .description('serve validated, merged config over HTTP from a git URL (mirrored) or a local repository')
    .addOption(new Option('--repo <url|dir>', 'git URL (http/https) or local path'))
    .addOption(new Option('--branch <name>', 'branch to serve (default main)'))
    .addOption(new Option('--subdir <dir>', 'config root inside the repository'))
    .addOption(new Option('--port <port>', 'port to listen on (default 8080; 0 picks a free one)'))
    .addOption(new Option('--host <host>', 'address to listen on (default 127.0.0.1)'))
    .addOption(new Option('--data-dir <dir>', 'mirror and persisted snapshot (default .gitcfg-data)'))
    .addOption(
      new Option('--reset-data-dir', 'empty a data dir recorded for another repository, branch or subdir'),
    )
    .addOption(
      new Option('--poll <cron|off>', 'poll schedule, node-cron syntax, or off (default every minute)'),
    )
    .addOption(new Option('--log-level <level>', 'pino log level (default info)'))
    .addOption(
      new Option(
        '--limit-cheap <rate>',
        'reads of the served snapshot per principal, e.g. 1000/s:2000 (default off)',
      ),
    )
    .addOption(
      new Option(
        '--limit-expensive <rate>',
        '?ref=/?version=/explain/history/diff reads per principal (default 20/s:40)',
      ),
    )
    .addOption(new Option('--limit-write <rate>', 'edits, rollbacks and pins per principal (default 5/s:60)'))
    .addOption(new Option('--limit-webhook <rate>', 'signed deliveries per provider (default 20/s:100)'))
    .addOption(
      new Option(
        '--limit-bad-signatures <rate>',
        'webhook deliveries failing their signature per address (default 5/s:50)',
      ),
    )
    .addOption(
      new Option('--limit-streams <n|off>', 'open watch/SSE connections per principal (default 1000)'),
    )
    .addOption(new Option('--expensive-concurrency <n>', 'expensive requests served at once (default 2)'))
    .addOption(
      new Option('--trust-proxy <off|hops|cidrs>', 'whose X-Forwarded-For names the client (default off)'),
    )
    .addOption(
      new Option('--validation-workers <n>', 'worker threads validating commits (default min(2, cores))'),
    )
    .addOption(
      new Option(
        '--validation-timeout-ms <ms>',
        'time bound of one validation step: a file, a namespace x environment (default 20000)',
      ),
    )
    .addOption(new Option('--validation-heap-mb <mb>', 'heap bound of one validation worker (default 512)'))
    .addOption(
      new Option('--spring-prefix <path>', 'path of the Spring Cloud Config protocol (default /spring)'),
    )
    .addOption(new Option('--no-spring', 'do not serve the Spring Cloud Config protocol'))
    .addOption(new Option('--no-ui', 'do not serve the web console at /ui/'))
    .addOption(
      new Option(
        '--mirror-all-refs',
        'mirror every branch and tag too, so ?ref= and Spring labels can name them (default: only --branch)',
      ),
    )
    .addOption(
      new Option(
        '--redis <url>',
        'run as one replica of a fleet sharing redis://host:port/db (or rediss://); env GITCFG_REDIS_URL, password GITCFG_REDIS_PASSWORD[_FILE]',
      ),
    )
    .addOption(new Option('--replica-id <id>', "this replica's name in the fleet (default <hostname>-<pid>)"))
    .addOption(
      new Option(
        '--redis-fallback-poll <cron>',
        'poll schedule while redis is unreachable (default */10 * * * * *: every 10 s)',
      ),
    )
    .addOption(
      new Option('--fleet-max-lag <seconds>', 'lag behind the fleet /readyz?fleet=1 accepts (default 30)'),
    )
    .addOption(
      new Option(
        '--min-commit-wait-ms <ms>',
        'how long a read with Gitcfg-Min-Commit waits for that commit before 503 (default 5000)',
      ),
    )
    .addHelpText(
      'after',
      '\nEvery flag also reads GITCFG_<FLAG> (e.g. GITCFG_PORT); webhook secrets and git credentials\ncome only from the environment: see docs/server.md.',
    )
    .action(async (flags: Omit<ServeOptions, 'cwd' | 'env'>) => {
      const serve = await loadServeCommand();
      // serveCommand drains and closes on SIGTERM/SIGINT itself (handleSignals); we exit once it is closed.
      const handle = await serve({ ...flags, cwd: io.cwd, env: io.env ?? {}, handleSignals: true });
      await handle.closed;
      setExitCode(EXIT_CODES.ok);
    });

  program
    .command('migrate')
    .description('show (or --write) the rewrite of documents below their schema version')
    .addOption(repoOption())
    .addOption(subdirOption())
    .addOption(new Option('--namespace <ns>', 'only this namespace'))
    .addOption(new Option('--write', 'rewrite the files in place instead of showing the diff'))
    .action(async (flags: { repo?: string; subdir?: string; namespace?: string; write?: boolean }) => {
      const migrate = await loadMigrateCommand();
      setExitCode((await migrate({ ...io, ...flags })).exitCode);
    });

  program
    .command('types')
    .description('generate TypeScript types of every namespace for the client SDK')
    .addOption(repoOption())
    .addOption(subdirOption())
    .addOption(new Option('--out <file>', 'file to write (default: stdout)'))
    .addOption(
      new Option(
        '--version <namespace=N...>',
        'a namespace at an older schema version (as read with createClient({ versions }))',
      ),
    )
    .action(async (flags: { repo?: string; subdir?: string; out?: string; version?: string[] }) => {
      const types = await loadTypesCommand();
      setExitCode((await types({ ...io, ...flags })).exitCode);
    });

  program
    .command('history')
    .description('list the commits that changed the effective config of a namespace in an environment')
    .argument('<namespace>', 'namespace')
    .requiredOption('--env <env>', 'environment')
    .addOption(repoOption())
    .addOption(subdirOption())
    .addOption(new Option('--ref <rev>', 'end the history at this commit, branch or tag (default HEAD)'))
    .addOption(new Option('--limit <n>', 'at most this many commits (1-100, default 20)'))
    .addOption(new Option('--before <commit>', 'only commits older than this one (next page)'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(
      async (
        namespace: string,
        {
          env,
          ...flags
        }: SourceFlags & { env: string; limit?: string; before?: string; format: 'text' | 'json' },
      ) => {
        const history = await loadHistoryCommand();
        setExitCode((await history({ ...io, ...flags, namespace, environment: env })).exitCode);
      },
    );

  program
    .command('blame')
    .description(
      'show, for every value of a namespace in an environment, the file, line and commit that set it',
    )
    .argument('<namespace>', 'namespace')
    .requiredOption('--env <env>', 'environment')
    .addOption(repoOption())
    .addOption(subdirOption())
    .addOption(new Option('--ref <rev>', 'explain this commit, branch or tag (default HEAD)'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(
      async (
        namespace: string,
        { env, ...flags }: SourceFlags & { env: string; format: 'text' | 'json' },
      ) => {
        const blame = await loadBlameCommand();
        setExitCode((await blame({ ...io, ...flags, namespace, environment: env })).exitCode);
      },
    );

  program
    .command('rollback')
    .description(
      "restore a namespace's files to an older revision (--to), or revert one commit (--revert), as one new commit",
    )
    .argument('[namespace]', 'namespace to roll back (with --revert: only its files)')
    .addOption(new Option('--to <rev>', 'revision whose content to restore'))
    .addOption(new Option('--revert <rev>', 'commit to revert instead').conflicts('to'))
    .addOption(new Option('--env <env>', "only this environment's override file (with --to)"))
    .addOption(repoOption())
    .addOption(subdirOption())
    .addOption(new Option('--dry-run', 'show the effective change without committing'))
    .addOption(new Option('--message <text>', 'commit message'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(
      async (
        namespace: string | undefined,
        {
          env,
          ...flags
        }: {
          to?: string;
          revert?: string;
          env?: string;
          repo?: string;
          subdir?: string;
          dryRun?: boolean;
          message?: string;
          format: 'text' | 'json';
        },
      ) => {
        const rollback = await loadRollbackCommand();
        setExitCode(
          (
            await rollback({
              ...io,
              ...flags,
              ...(namespace !== undefined ? { namespace } : {}),
              ...(env !== undefined ? { environment: env } : {}),
            })
          ).exitCode,
        );
      },
    );

  program
    .command('token')
    .description('API tokens of the server (see docs/access-control.md)')
    .command('hash')
    .description('print the sha256 of a token read from stdin, as the tokens file stores it')
    .action(async () => {
      const tokenHash = await loadTokenHashCommand();
      setExitCode((await tokenHash({ input: process.stdin, stdout: io.stdout })).exitCode);
    });

  program
    .command('completion')
    .description('print a shell completion script (bash: `source <(gitcfg completion bash)`)')
    .addArgument(new Argument('<shell>', 'the shell').choices(COMPLETION_SHELLS))
    .action((shell: CompletionShell) => {
      io.stdout.write(completionScript(program, shell));
      setExitCode(EXIT_CODES.ok);
    });

  return program;
}

/** Runs the CLI with `argv` (without node and script) and resolves to the process exit code. */
export async function runCli(argv: readonly string[], io: CommandIo): Promise<number> {
  let exitCode: number = EXIT_CODES.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    // Commander already printed its message; help and --version end with exit code 0.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    const code = exitCodeForError(error);
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(errorLine(code === EXIT_CODES.internal ? `internal error: ${message}` : message));
    if (code === EXIT_CODES.internal && io.env?.GITCFG_DEBUG && error instanceof Error) {
      io.stderr.write(`${error.stack ?? ''}\n`);
    }
    return code;
  }
}
