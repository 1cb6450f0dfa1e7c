/** `gitcfg token hash` through the real CLI entry point. */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/run-cli.js';

describe('gitcfg token hash', () => {
  it('prints the sha256 of the token on stdin (a trailing newline is not part of it), never the token', async () => {
    const token = 'gcfg-7Hq2-example-token';
    const expected = createHash('sha256').update(token).digest('hex');
    for (const input of [token, `${token}\n`]) {
      const res = await runCli(['token', 'hash'], { input });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, `${expected}\n`);
      assert.ok(!res.stdout.includes(token) && !res.stderr.includes(token));
    }
  });

  it('refuses an empty token', async () => {
    const res = await runCli(['token', 'hash'], { input: '' });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /no token on stdin/);
  });
});
