/**
 * Labels that name another branch or a tag, on a server mirroring a real smart-HTTP remote: with
 * `--mirror-all-refs` the mirror holds every branch and tag, so `cloud-config-client` with a label and `?ref=`
 * both read them; without it, they are unknown (404).
 */
import * as assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WRITE_FILES, startServer, waitReady, TOKENS } from '../edits/writes-fixture.js';
import type { TestServer } from '../edits/writes-fixture.js';
import { serveOverHttp } from '../helpers/config-repo.js';
import type { GitHttpRemote } from '../helpers/git-http-remote.js';
import {
  cleanupTempDirs,
  cloneRepo,
  commitFiles,
  createTempRepo,
  run,
  tempDir,
} from '../helpers/git-repo.js';

type Json = Record<string, unknown>;
const require = createRequire(import.meta.url);
const cloudConfigClient = require('cloud-config-client') as {
  load(options: Json): Promise<{ toObject(): Json }>;
};

describe('labels over a mirrored remote', () => {
  let remote: GitHttpRemote;
  let dir: string;
  const servers: TestServer[] = [];

  before(async () => {
    dir = await tempDir();
    ({ remote } = await serveOverHttp(await createTempRepo({ files: WRITE_FILES })));
    const work = await cloneRepo(remote.url('config.git'));
    await run(work, 'tag', '-a', 'v1', '-m', 'release 1');
    await run(work, 'checkout', '--quiet', '-b', 'feature/x');
    await commitFiles(
      work,
      { 'environments/production/app.yaml': 'greeting: from the feature branch\n' },
      'x',
    );
    await run(work, 'checkout', '--quiet', 'main');
    await commitFiles(work, { 'environments/production/app.yaml': 'greeting: main moved on\n' }, 'main');
    await run(work, 'push', '--quiet', '--tags', 'origin', 'main', 'feature/x');
  });

  after(async () => {
    for (const s of servers) await s.handle.close();
    await remote.close();
    await cleanupTempDirs();
  });

  async function serve(allRefs: boolean): Promise<string> {
    const server = await startServer({
      repo: remote.url('config.git'),
      dir,
      dataDir: path.join(dir, allRefs ? 'all' : 'one'),
      tokens: false,
      env: allRefs ? { GITCFG_MIRROR_ALL_REFS: '1' } : {},
    });
    servers.push(server);
    await waitReady(server.base, TOKENS.admin);
    return server.base;
  }

  const greeting = async (url: string) => {
    const res = await fetch(url);
    return {
      status: res.status,
      greeting: res.status === 200 ? ((await res.json()) as Json).greeting : null,
    };
  };

  it('with --mirror-all-refs, a branch label (with a slash) and a tag label are served', async () => {
    const base = await serve(true);
    assert.deepEqual(await greeting(`${base}/v1/config/app/production`), {
      status: 200,
      greeting: 'main moved on',
    });
    assert.deepEqual(await greeting(`${base}/v1/config/app/production?ref=feature/x`), {
      status: 200,
      greeting: 'from the feature branch',
    });
    assert.deepEqual(await greeting(`${base}/v1/config/app/production?ref=v1`), {
      status: 200,
      greeting: 'hello',
    });
    for (const label of ['feature/x', 'feature(_)x']) {
      const loaded = await cloudConfigClient.load({
        endpoint: `${base}/spring`,
        name: 'app',
        profiles: ['production'],
        label,
      });
      assert.equal(loaded.toObject().greeting, 'from the feature branch', label);
    }
    const tagged = await cloudConfigClient.load({
      endpoint: `${base}/spring`,
      name: 'app',
      profiles: ['production'],
      label: 'v1',
    });
    assert.equal(tagged.toObject().greeting, 'hello');
    // Spring requests are told apart in the request metric.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(
      metrics,
      /gitcfg_http_request_duration_seconds_count\{route="\/spring\/[^"]+",method="GET",status="200",protocol="spring"\} [1-9]/,
    );
  });

  it('without it, the mirror holds the served branch only: other labels are unknown (404)', async () => {
    const base = await serve(false);
    assert.equal((await greeting(`${base}/v1/config/app/production?ref=feature/x`)).status, 404);
    assert.equal((await fetch(`${base}/spring/app/production/feature(_)x`)).status, 404);
  });
});
