/** `gitcfg render`: prints the merged, validated document of one namespace in one environment. */
import { stringify } from 'yaml';
import { didYouMean, evaluateRepo, formatIssues } from '../engine/index.js';
import { UsageError } from '../errors/index.js';
import type { CommandIo, CommandResult } from './command-io.js';
import { EXIT_CODES, errorLine } from './command-io.js';
import { relocateIssues } from './config-location.js';
import { openConfigSource } from './config-source.js';
import type { ConfigSourceOptions } from './config-source.js';

/** Options of `gitcfg render <namespace> --env <env>`. */
export interface RenderOptions extends CommandIo, Omit<ConfigSourceOptions, 'cwd'> {
  namespace: string;
  /** `--env`: the environment to render. */
  environment: string;
  format?: 'json' | 'yaml';
}

/** Renders one document to stdout; exit 1 (with the known names or the pair's issues on stderr) when it cannot. */
export async function renderCommand(options: RenderOptions): Promise<CommandResult> {
  const format = options.format ?? 'json';
  if (format !== 'json' && format !== 'yaml') throw new UsageError(`unknown format: ${String(format)}`);
  if (!options.environment) throw new UsageError('--env is required');
  const opened = await openConfigSource({
    ...options,
    indexFile: options.indexFile ?? options.env?.GIT_INDEX_FILE,
  });
  const evaluation = await evaluateRepo(opened.source);
  const { stdout, stderr, namespace, environment: env } = options;
  if (!evaluation.namespaces.includes(namespace)) {
    stderr.write(
      errorLine(
        `namespace not found: ${namespace}${didYouMean(namespace, evaluation.namespaces)} (known: ${known(evaluation.namespaces)})`,
      ),
    );
    return { exitCode: EXIT_CODES.invalid };
  }
  if (!evaluation.environments.includes(env)) {
    stderr.write(
      errorLine(
        `environment not found: ${env}${didYouMean(env, evaluation.environments)} (known: ${known(evaluation.environments)})`,
      ),
    );
    return { exitCode: EXIT_CODES.invalid };
  }
  const resolved = evaluation.configs.get(`${namespace}/${env}`);
  if (!resolved) {
    // The pair exists but did not validate: show why instead of a partial document.
    const issues = relocateIssues(
      evaluation.issues.filter(
        (issue) =>
          (issue.namespace === undefined || issue.namespace === namespace) &&
          (issue.environment === undefined || issue.environment === env),
      ),
      opened.displayPrefix,
    );
    for (const line of formatIssues(issues)) stderr.write(`${line}\n`);
    stderr.write(errorLine(`${namespace}/${env} is invalid (${opened.label}): ${issues.length} issue(s)`));
    return { exitCode: EXIT_CODES.invalid };
  }
  stdout.write(
    format === 'json' ? `${JSON.stringify(resolved.value, null, 2)}\n` : stringify(resolved.value),
  );
  return { exitCode: EXIT_CODES.ok };
}

function known(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.join(', ');
}
