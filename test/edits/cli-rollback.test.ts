/** `gitcfg rollback` in a local work tree, through the real CLI entry point. */
import * as assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gitEnv, cleanupTempDirs, commitFiles, createTempRepo, run } from '../helpers/git-repo.js';
import { runCli } from '../helpers/run-cli.js';
import { WRITE_FILES } from './writes-fixture.js';

describe('gitcfg rollback (CLI)', () => {
  let repo: string;
  let initial: string;
  let second: string;
  const env = {
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: gitEnv.GIT_CONFIG_GLOBAL,
  };
  const cli = (...args: string[]) => runCli(['rollback', ...args, '--repo', repo], { env });

  before(async () => {
    repo = await createTempRepo({ files: WRITE_FILES });
    initial = await run(repo, 'rev-parse', 'HEAD');
    second = await commitFiles(
      repo,
      {
        'defaults/app.yaml': 'greeting: bonjour\nretry:\n  max: 4\n',
        'environments/staging/app.yaml': 'greeting: salut staging\n',
        'environments/production/db.yaml': 'host: db.prod\n',
      },
      'second',
    );
  });

  after(cleanupTempDirs);

  it('--dry-run prints the effective change and commits nothing', async () => {
    const res = await cli('app', '--to', initial, '--dry-run');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /staging\/app: ~ \/greeting "salut staging" -> "hi staging"/);
    assert.match(res.stdout, /production\/app: ~ \/greeting "bonjour" -> "hello"/);
    assert.match(res.stderr, /dry run/);
    assert.equal(await run(repo, 'rev-parse', 'HEAD'), second);
  });

  it('--env restores only that environment override (plus the namespace-wide files) as one commit', async () => {
    const res = await cli(
      'app',
      '--to',
      initial,
      '--env',
      'staging',
      '--message',
      'staging back',
      '--format',
      'json',
    );
    assert.equal(res.code, 0, res.stderr);
    const result = JSON.parse(res.stdout) as { commit: string; files: string[] };
    assert.deepEqual(result.files.sort(), ['defaults/app.yaml', 'environments/staging/app.yaml']);
    assert.equal(await run(repo, 'rev-parse', 'HEAD'), result.commit);
    assert.equal(
      await run(repo, 'log', '-1', '--format=%s|%P|%an', 'HEAD'),
      `staging back|${second}|Test User`,
    );
    await run(repo, 'fsck', '--strict', '--no-progress');
    // the work tree and the index follow the branch
    assert.equal(await run(repo, 'status', '--porcelain'), '');
    assert.equal(
      await readFile(path.join(repo, 'defaults/app.yaml'), 'utf8'),
      WRITE_FILES['defaults/app.yaml'],
    );
    assert.equal(
      await readFile(path.join(repo, 'environments/production/db.yaml'), 'utf8'),
      'host: db.prod\n',
    );
  });

  it('--revert reverts one commit; a conflicting revert and local changes are refused', async () => {
    const third = await commitFiles(repo, { 'environments/production/db.yaml': 'host: db.prod2\n' }, 'third');
    const conflict = await cli('--revert', second);
    assert.equal(conflict.code, 2);
    assert.match(conflict.stderr, /environments\/production\/db.yaml/);
    assert.equal(await run(repo, 'rev-parse', 'HEAD'), third);

    await writeFile(path.join(repo, 'environments/production/db.yaml'), 'host: edited locally\n');
    const dirty = await cli('--revert', third);
    assert.equal(dirty.code, 2);
    assert.match(dirty.stderr, /local changes to environments\/production\/db.yaml/);
    await run(repo, 'checkout', '--', 'environments/production/db.yaml');

    const ok = await cli('--revert', third);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(await run(repo, 'log', '-1', '--format=%B'), new RegExp(`This reverts commit ${third}`));
    assert.equal(await run(repo, 'show', 'HEAD:environments/production/db.yaml'), 'host: db.prod');
    assert.equal(await run(repo, 'status', '--porcelain'), '');
  });

  it('refuses a rollback that would leave the configuration invalid, listing the issues', async () => {
    const head = await commitFiles(
      repo,
      {
        'schemas/app.schema.json': JSON.stringify({
          type: 'object',
          properties: { greeting: { type: 'string' } },
          additionalProperties: false,
        }),
      },
      'narrow schema',
    );
    await commitFiles(repo, { 'defaults/app.yaml': 'greeting: hello\n' }, 'fit defaults');
    const res = await cli('app', '--to', head, '--env', 'production');
    // production/app.yaml at `head` still has retry, which the narrowed schema forbids
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /environments\/production\/app\.yaml:\d+:\d+: /);
    assert.match(res.stderr, /nothing committed/);
  });
});
