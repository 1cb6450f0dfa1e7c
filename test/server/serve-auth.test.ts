/** Remote credentials: used for the mirror, never shown in status, logs or errors. */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serveCommand } from '../../src/commands/serve.js';
import { startGitHttpRemote } from '../helpers/git-http-remote.js';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import { cleanupTempDirs, createTempRepo, publishBare, run, tempDir } from '../helpers/git-repo.js';
import { CONFIG_FILES, LogSink, status, waitFor, waitForServed } from './server-fixture.js';

const TOKEN = 'tok-s3cret-value';
const PASSWORD = 'pw-s3cret-value';

describe('serve from a remote that requires credentials', () => {
  let remote: GitHttpRemote;
  let head: string;

  before(async () => {
    const root = await tempDir('gitcfg-auth-remote-');
    const work = await createTempRepo({ files: CONFIG_FILES });
    head = await run(work, 'rev-parse', 'HEAD');
    await publishBare(work, root, 'config.git');
    remote = await startGitHttpRemote({ root, auth: { username: 'x-access-token', password: TOKEN } });
  });

  after(async () => {
    await remote?.close();
    await cleanupTempDirs();
  });

  async function serve(env: Record<string, string>, url: string, logs: LogSink) {
    return serveCommand({
      cwd: await tempDir(),
      env: { GITCFG_POLL: 'off', ...env },
      repo: url,
      port: 0,
      dataDir: path.join(await tempDir(), 'data'),
      logLevel: 'debug',
      logDestination: logs,
      print: () => {},
    });
  }

  it('mirrors with GITCFG_GIT_TOKEN', async () => {
    const logs = new LogSink();
    const handle = await serve({ GITCFG_GIT_TOKEN: TOKEN }, remote.url('config.git'), logs);
    try {
      const s = await waitForServed(handle.url, head);
      assert.equal(s.lastFetch?.ok, true);
      assert.equal(logs.lines.join('\n').includes(TOKEN), false);
    } finally {
      await handle.close();
    }
  });

  it('reports a failed login without the password, from the URL or the environment', async () => {
    const logs = new LogSink();
    const url = remote.url('config.git', { username: 'x-access-token', password: PASSWORD });
    const handle = await serve({}, url, logs);
    try {
      const s = await waitFor('failed fetch', async () => {
        const st = await status(handle.url);
        return st.lastFetch && !st.syncs.running ? st : null;
      });
      assert.equal(s.lastFetch?.ok, false);
      assert.equal(s.served, null);
      assert.equal((await fetch(`${handle.url}/readyz`)).status, 503);
      const body = await (await fetch(`${handle.url}/v1/status`)).text();
      for (const text of [body, logs.lines.join('\n')]) {
        assert.equal(text.includes(PASSWORD), false);
        assert.equal(text.includes(TOKEN), false);
      }
      assert.match(body, /127\.0\.0\.1/);
    } finally {
      await handle.close();
    }
  });
});
