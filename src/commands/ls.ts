/** `gitcfg ls`: the namespaces and environments of a configuration, as `GET /v1/namespaces` describes them. */
import { evaluateRepo } from '../engine/index.js';
import { UsageError } from '../errors/index.js';
import { describeRepository, snapshotDataFromEvaluation, snapshotFromData } from '../snapshot/index.js';
import type { RepositoryDescription } from '../snapshot/index.js';
import type { CommandIo, CommandResult } from './command-io.js';
import { EXIT_CODES } from './command-io.js';
import { openConfigSource } from './config-source.js';
import type { ConfigSourceOptions } from './config-source.js';

/** Options of `gitcfg ls`. */
export interface LsOptions extends CommandIo, Omit<ConfigSourceOptions, 'cwd'> {
  format?: 'text' | 'json';
}

/**
 * Prints what the configuration holds: the repository's description, every environment with its parent and
 * description, and every namespace with its schema version, title and description. Issues do not stop it (a
 * namespace whose schema does not compile is listed without one); `gitcfg validate` reports them.
 */
export async function lsCommand(
  options: LsOptions,
): Promise<CommandResult & { description: RepositoryDescription }> {
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`unknown format: ${String(format)}`);
  const opened = await openConfigSource({
    ...options,
    indexFile: options.indexFile ?? options.env?.GIT_INDEX_FILE,
  });
  const evaluation = await evaluateRepo(opened.source);
  const data = snapshotDataFromEvaluation(opened.commit ?? opened.label, evaluation, new Date());
  const description = describeRepository(snapshotFromData(data, null));
  // JSON: the shape of `GET /v1/namespaces`; `commit` is null for the working tree or the index.
  const json = { ...description, commit: opened.commit ?? null, source: opened.label };
  options.stdout.write(format === 'json' ? `${JSON.stringify(json, null, 2)}\n` : describeText(description));
  return { exitCode: EXIT_CODES.ok, description };
}

function describeText(repo: RepositoryDescription): string {
  const lines: string[] = [];
  if (repo.description) lines.push(repo.description, '');
  const column = (names: string[]) => Math.max(0, ...names.map((n) => n.length)) + 2;
  const envWidth = column(repo.environments.map((e) => e.name));
  lines.push('environments');
  for (const env of repo.environments) {
    const about = [env.extends ? `extends ${env.extends}` : '', env.description ?? '']
      .filter(Boolean)
      .join('; ');
    lines.push(`  ${env.name.padEnd(envWidth)}${about}`.trimEnd());
  }
  const nsWidth = column(repo.namespaces.map((n) => n.name));
  const kinds = repo.namespaces.map((ns) => `v${ns.schemaVersion}${ns.flags ? ' flags' : ''}`);
  const kindWidth = column(kinds);
  lines.push('', 'namespaces');
  repo.namespaces.forEach((ns, i) => {
    const about = [ns.title !== ns.name ? ns.title : undefined, ns.description].filter(Boolean).join(': ');
    lines.push(`  ${ns.name.padEnd(nsWidth)}${kinds[i]!.padEnd(kindWidth)}${about}`.trimEnd());
  });
  return `${lines.join('\n')}\n`;
}
