import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/index.js';

/** Runs `gitcfg completion <shell>` in-process and returns what it printed. */
async function completionScript(shell: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['completion', shell], {
    cwd: process.cwd(),
    stdout: { write: (s: string) => ((stdout += s), true) },
    stderr: { write: (s: string) => ((stderr += s), true) },
  });
  return { code, stdout, stderr };
}

/** What real bash completes for `line` (a trailing space starts a new word) with the generated script loaded. */
function bashCompletes(script: string, line: string, cwd: string): string[] {
  const file = join(cwd, 'gitcfg.bash');
  writeFileSync(file, script);
  const program = `source ${JSON.stringify(file)}
read -ra COMP_WORDS <<< "$LINE"
[[ "$LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
_gitcfg_completion
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', program], {
    cwd,
    env: { ...process.env, LINE: line },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((w) => w !== '');
}

test('bash completion: commands, nested commands, options, option values and paths', async () => {
  const { code, stdout } = await completionScript('bash');
  assert.equal(code, 0);
  const cwd = mkdtempSync(join(tmpdir(), 'gitcfg-completion-'));
  writeFileSync(join(cwd, 'secrets.txt'), '');
  assert.deepEqual(bashCompletes(stdout, 'gitcfg va', cwd), ['validate']);
  assert.deepEqual(bashCompletes(stdout, 'gitcfg validate --fo', cwd), ['--format']);
  assert.deepEqual(bashCompletes(stdout, 'gitcfg validate --format ', cwd), ['text', 'json']);
  assert.deepEqual(bashCompletes(stdout, 'gitcfg token ', cwd), ['hash', '--help']);
  assert.deepEqual(bashCompletes(stdout, 'gitcfg completion ', cwd), ['bash', 'zsh', 'fish', '--help']);
  // A path-valued option completes files; a value that is not a path completes nothing made up.
  assert.deepEqual(bashCompletes(stdout, 'gitcfg serve --data-dir sec', cwd), ['secrets.txt']);
  assert.deepEqual(bashCompletes(stdout, 'gitcfg serve --port ', cwd), []);
  // Options of one command are not offered for another.
  assert.ok(bashCompletes(stdout, 'gitcfg serve --', cwd).includes('--reset-data-dir'));
  assert.ok(!bashCompletes(stdout, 'gitcfg validate --', cwd).includes('--reset-data-dir'));
});

test('zsh loads the bash function through bashcompinit; fish gets one complete line per word', async () => {
  const zsh = await completionScript('zsh');
  assert.equal(zsh.code, 0);
  assert.match(zsh.stdout, /^#compdef gitcfg\nautoload -U \+X bashcompinit && bashcompinit\n/);
  assert.match(zsh.stdout, /complete -o default -F _gitcfg_completion gitcfg/);
  const fish = await completionScript('fish');
  assert.equal(fish.code, 0);
  const lines = fish.stdout.split('\n');
  assert.ok(lines.some((l) => /^complete -c gitcfg -n '__fish_use_subcommand' -a 'validate' -d /.test(l)));
  assert.ok(
    lines.includes(
      "complete -c gitcfg -n '__fish_seen_subcommand_from validate' -l format -x -a 'text json' -d 'output format'",
    ),
    fish.stdout,
  );
});

test('an unknown shell is a usage error naming the shells', async () => {
  const r = await completionScript('tcsh');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bash, zsh, fish/);
});
