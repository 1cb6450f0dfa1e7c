/**
 * A first start on a big repository (cold evaluation: every YAML parsed, every schema compiled, every config
 * rendered) must not stop the server from answering: `/healthz` answers while the first build is still
 * running, with `/readyz` still 503 at the same moment.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { generateRepo } from '../../bench/lib/generate-repo.js';
import { serveCommand } from '../../src/commands/serve.js';
import { cleanupTempDirs, tempDir } from '../helpers/git-repo.js';
import { LogSink, status } from '../server/server-fixture.js';
import type { StatusDoc } from '../server/server-fixture.js';

after(cleanupTempDirs);

/** Fetched (so the build is what runs), nothing served yet, sync still running. */
const building = (s: StatusDoc): boolean =>
  s.served === null && s.lastFetch?.ok === true && s.syncs.running && s.rejected === null;

test('healthz answers while the first build of a big repository is still running', async (t) => {
  const root = await tempDir('gitcfg-startup-');
  // One pack (fast-import): object reads hit memory, so only the engine's own pauses let requests in.
  const repo = await generateRepo({ dir: path.join(root, 'repo'), namespaces: 500 });
  const logs = new LogSink();
  const handle = await serveCommand({
    cwd: root,
    env: {},
    repo: repo.dir,
    port: 0,
    dataDir: path.join(root, 'data'),
    poll: 'off',
    logDestination: logs,
    print: () => {},
  });
  try {
    let rounds = 0;
    let duringBuild = 0;
    let last: StatusDoc = await status(handle.url);
    while (last.served === null && last.rejected === null) {
      rounds++;
      const before = last;
      const [health, ready] = await Promise.all([
        fetch(`${handle.url}/healthz`),
        fetch(`${handle.url}/readyz`),
      ]);
      await Promise.all([health.arrayBuffer(), ready.arrayBuffer()]);
      last = await status(handle.url);
      // Both probes were answered between two status answers that saw the build still running.
      if (building(before) && building(last) && health.status === 200 && ready.status === 503) duringBuild++;
    }
    t.diagnostic(`${rounds} rounds, ${duringBuild} answered during the build`);
    assert.equal(last.rejected, null, 'the generated repository is valid');
    assert.equal(last.counts.configs, 500 * 4);
    assert.ok(duringBuild > 0, 'healthz and readyz answered while the first build was running');
  } finally {
    await handle.close();
  }
});
