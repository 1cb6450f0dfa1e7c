/** The README's CLI section is true to the CLI: every command is listed and the examples run in this checkout. */
import * as assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/index.js';
import { run } from '../helpers/git-repo.js';
import { PROJECT_ROOT, runCliInProcess } from '../helpers/run-cli.js';

const readme = () => readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');

/** `validate`, `token hash`...: every runnable command of the program. */
function commandNames(command: Command, prefix = ''): string[] {
  return command.commands.flatMap((c) => {
    const name = `${prefix}${c.name()}`;
    return c.commands.length > 0 ? commandNames(c, `${name} `) : [name];
  });
}

describe('README', () => {
  it('lists every command of the CLI', async () => {
    const text = await readme();
    const io = { cwd: PROJECT_ROOT, stdout: process.stdout, stderr: process.stderr };
    const missing = commandNames(buildProgram(io, () => {})).filter((n) => !text.includes(`gitcfg ${n}`));
    assert.deepEqual(missing, []);
  });

  it('validates a ref that exists in this repository', async () => {
    const example = /^gitcfg validate --ref (\S+) --format json/m.exec(await readme());
    assert.ok(example, 'the README has a validate --ref example');
    await run(PROJECT_ROOT, 'rev-parse', '--verify', `${example[1]}^{commit}`);
    const result = await runCliInProcess(['validate', '--ref', example[1]!, '--format', 'json']);
    assert.equal(result.code, 0, result.stderr);
  });

  it('keeps what the example service writes out of git', async () => {
    await run(
      PROJECT_ROOT,
      'check-ignore',
      '--quiet',
      '--no-index',
      '.gitcfg-client-cache/development/retry.json',
    );
  });
});
