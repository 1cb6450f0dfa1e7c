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
import { waitFor } from '../helpers/wait-for.js';
import { LogSink, status } from '../server/server-fixture.js';
import type { StatusDoc } from '../server/server-fixture.js';

after(cleanupTempDirs);

/** Fetched (so the build is what runs), nothing served yet, sync still running. */
const building = (s: StatusDoc): boolean =>
  s.served === null && s.lastFetch?.ok === true && s.syncs.running && s.rejected === null;

test('healthz answers while the first build of a big repository is still running', async () => {
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
    // Rounds of: status, both probes at once, status. A round whose two status answers both saw the build
    // running had its probes answered during the build: the order of the answers shows it, not their durations.
    // The rounds stop at the first such round, or when the build ended first (then the test fails).
    const round = await waitFor(
      async () => {
        const before = await status(handle.url);
        const [health, ready] = await Promise.all([
          fetch(`${handle.url}/healthz`),
          fetch(`${handle.url}/readyz`),
        ]);
        await Promise.all([health.arrayBuffer(), ready.arrayBuffer()]);
        const after = await status(handle.url);
        if (building(before) && building(after))
          return { during: true, health: health.status, ready: ready.status };
        return after.served !== null || after.rejected !== null ? { during: false } : null;
      },
      { what: 'a round of probes during the first build', intervalMs: 0 },
    );
    assert.deepEqual(round, { during: true, health: 200, ready: 503 }, 'probes answered during the build');
    // Closing finishes the running build; its outcome is in the log, no polling for the end of it.
    await handle.close();
    const promoted = logs.records().filter((r) => r.msg === 'snapshot promoted');
    assert.deepEqual(
      promoted.map((r) => r.changed),
      [500 * 4],
      'the generated repository is valid and every pair was built',
    );
  } finally {
    await handle.close();
  }
});
