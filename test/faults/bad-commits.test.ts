/**
 * Hostile repository content end to end: bad commits of the corpus (one of each kind: YAML syntax, an alias
 * bomb, a 5 MB file, bad bytes, a symlink and a gitlink in the git tree, a missing manifest, an extends cycle),
 * each force-pushed over smart HTTP onto the same good base commit and announced by a signed webhook, all
 * against one running server. For every case the served commit must not move, the server must stay up, and
 * `/v1/status` must name the file (and the line where the problem has one). A good commit is promoted at the
 * end; then over 50 force-pushes make the server re-mirror. Every case of the corpus is checked against the
 * evaluation pool in test/engine/bad-input-corpus.test.ts.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServeHandle } from '../../src/commands/serve.js';
import { cleanupTempDirs, run, runGit } from '../helpers/git-repo.js';
import { getJson, status, waitFor, waitForServed } from '../server/server-fixture.js';
import type { LogSink, StatusDoc } from '../server/server-fixture.js';
import { CASES, commitCase, reportsCase } from '../engine/bad-input-corpus.js';
import type { BadCase } from '../engine/bad-input-corpus.js';
import { notifyPush, startFaultRemote, startFaultServer } from './fault-fixture.js';
import type { FaultRemote } from './fault-fixture.js';

const E2E_CASES = [
  'unclosed flow sequence',
  'alias bomb (billion laughs)',
  '5 MB defaults file',
  'invalid UTF-8 bytes',
  'symlink escaping the repository',
  'submodule entry in defaults/',
  'manifest deleted',
  'extends cycle',
].map((name) => {
  const found = CASES.find((c) => c.name === name);
  if (!found) throw new Error(`no corpus case named "${name}"`);
  return found;
});

describe('a corpus of bad commits against one running server', () => {
  let remote: FaultRemote;
  let handle: ServeHandle;
  let base: string;
  let logs: LogSink;
  let good: string;

  before(async () => {
    remote = await startFaultRemote();
    good = await remote.head();
    ({ handle, base, logs } = await startFaultServer({ url: remote.url }));
    await waitForServed(base, good);
  });

  after(async () => {
    await handle?.close();
    await remote?.remote.close();
    await cleanupTempDirs();
  });

  /** Commits a case on top of the good base and force-pushes it over HTTP; resolves to the commit. */
  async function pushCase(c: BadCase): Promise<string> {
    const commit = await commitCase(remote.work, good, c);
    await run(remote.work, 'push', '--quiet', '--force', 'origin', 'HEAD:main');
    return commit;
  }

  it(`rejects each of ${E2E_CASES.length} bad commits, keeps serving the good one, names file and line`, async (t) => {
    const failures: string[] = [];
    let served = 0;
    for (const c of E2E_CASES) {
      const bad = await pushCase(c);
      assert.equal((await notifyPush(base, bad)).status, 202, c.name);
      const t0 = performance.now();
      const s: StatusDoc = await waitFor(
        `rejection of "${c.name}"`,
        async () => {
          const st = await status(base);
          return !st.syncs.running &&
            !st.syncs.pending &&
            (st.rejected?.commit === bad || st.served?.commit === bad)
            ? st
            : null;
        },
        2400,
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}; status: ${JSON.stringify(await status(base))}`);
      });
      if (process.env.FAULTS_DEBUG) t.diagnostic(`${c.name}: ${(performance.now() - t0).toFixed(0)} ms`);
      if (s.served?.commit !== good) {
        served++;
        failures.push(`${c.name}: served ${s.served?.commit}`);
        continue;
      }
      assert.equal((await fetch(`${base}/healthz`)).status, 200, `server up after "${c.name}"`);
      const res = await fetch(`${base}/v1/config/app/staging`);
      assert.equal(res.headers.get('gitcfg-commit'), good, c.name);
      const issues = (s.rejected?.issues ?? []) as Array<{
        file?: string;
        line?: number;
        code?: string;
        message?: string;
      }>;
      if (!reportsCase(c, issues)) {
        failures.push(
          `${c.name}: expected ${JSON.stringify(c.expect)}, got ${JSON.stringify(issues.map((i) => ({ file: i.file, line: i.line, code: i.code })))}`,
        );
      }
    }
    t.diagnostic(
      `cases ${E2E_CASES.length}, bad commits served ${served}, reports not matching ${failures.length - served}`,
    );
    assert.deepEqual(failures, []);

    // The branch is fixed: a good commit on top of the base is promoted.
    await run(remote.work, 'reset', '--quiet', '--hard', good);
    await run(remote.work, 'clean', '-fdxq');
    const fixed = await remote.push({ 'defaults/db.yaml': 'host: db.after-the-corpus\n' }, 'good again');
    assert.equal((await notifyPush(base, fixed)).status, 202);
    const s = await waitForServed(base, fixed);
    assert.equal(s.rejected, null);
    assert.deepEqual(await getJson(`${base}/v1/config/db/production`), { host: 'db.after-the-corpus' });
  });

  it('over 50 force-pushes: the mirror is re-mirrored and later force-pushes are still promoted', async () => {
    // Each force-push is a fetch and a pack; over 50 packs the server re-mirrors (a commit it listed is gone).
    const ROUNDS = 52;
    let stream = '';
    for (let i = 0; i < ROUNDS; i++) {
      const content = `host: db-${i}.internal\n`;
      stream +=
        `commit refs/heads/f${String(i).padStart(2, '0')}\ncommitter Test <test@example.com> ${1_700_000_000 + i} +0000\n` +
        `data 5\nround\nfrom ${good}\nM 100644 inline defaults/db.yaml\ndata ${content.length}\n${content}\n`;
    }
    // Written into the remote's bare repository at once; each round only moves its main there.
    await runGit({ cwd: remote.bare, args: ['fast-import', '--quiet'], input: stream });
    const commits = (await run(remote.bare, 'for-each-ref', '--format=%(objectname)', 'refs/heads/f*')).split(
      '\n',
    );
    assert.equal(commits.length, ROUNDS);
    for (const [i, commit] of commits.entries()) {
      await run(remote.bare, 'update-ref', 'refs/heads/main', commit);
      assert.equal((await notifyPush(base, commit)).status, 202);
      await waitForServed(base, commit);
      assert.deepEqual(await getJson(`${base}/v1/config/db/production`), { host: `db-${i}.internal` });
    }
    assert.ok(
      logs.records().some((r) => r.msg === 'mirror remirrored'),
      'the mirror was re-mirrored during the run',
    );
  });
});
