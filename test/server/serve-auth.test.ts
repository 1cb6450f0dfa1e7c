/** Remote credentials: used for the mirror, never shown in status, logs or errors. */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConfigRepo } from '../helpers/config-repo.js';
import type { ConfigRepo } from '../helpers/config-repo.js';
import { cleanupTempDirs } from '../helpers/git-repo.js';
import { withTestServer } from '../helpers/test-server.js';
import { CONFIG_FILES, status, waitFor, waitForServed } from './server-fixture.js';

const TOKEN = 'tok-s3cret-value';
const PASSWORD = 'pw-s3cret-value';

describe('serve from a remote that requires credentials', () => {
  let repo: ConfigRepo;

  before(async () => {
    repo = await createConfigRepo(
      { files: CONFIG_FILES },
      { remote: { auth: { username: 'x-access-token', password: TOKEN } } },
    );
  });

  after(async () => {
    await repo?.close();
    await cleanupTempDirs();
  });

  it('mirrors with GITCFG_GIT_TOKEN', async () => {
    await withTestServer(
      { repo: repo.url!, env: { GITCFG_GIT_TOKEN: TOKEN }, logLevel: 'debug' },
      async ({ base, logs }) => {
        const s = await waitForServed(base, repo.head);
        assert.equal(s.lastFetch?.ok, true);
        assert.equal(logs.lines.join('\n').includes(TOKEN), false);
      },
    );
  });

  it('reports a failed login without the password, from the URL or the environment', async () => {
    const url = repo.remote!.url('config.git', { username: 'x-access-token', password: PASSWORD });
    await withTestServer({ repo: url, logLevel: 'debug' }, async ({ base, logs }) => {
      const s = await waitFor('failed fetch', async () => {
        const st = await status(base);
        return st.lastFetch && !st.syncs.running ? st : null;
      });
      assert.equal(s.lastFetch?.ok, false);
      assert.equal(s.served, null);
      assert.equal((await fetch(`${base}/readyz`)).status, 503);
      const body = await (await fetch(`${base}/v1/status`)).text();
      for (const text of [body, logs.lines.join('\n')]) {
        assert.equal(text.includes(PASSWORD), false);
        assert.equal(text.includes(TOKEN), false);
      }
      assert.match(body, /127\.0\.0\.1/);
    });
  });
});
