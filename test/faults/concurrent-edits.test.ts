/**
 * 50 concurrent API edits against a server mirroring a smart-HTTP remote: unconditional edits of two files,
 * edits racing on one stale file ETag, and invalid edits. Each must be committed or refused (never a 5xx), the
 * branch must stay linear, and every accepted edit must be on the branch with its content: none lost.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServeHandle } from '../../src/commands/serve.js';
import { cleanupTempDirs, run, tempDir } from '../helpers/git-repo.js';
import { waitFor } from '../server/server-fixture.js';
import { TOKENS, WRITE_FILES, bearer, startServer, waitReady } from '../edits/writes-fixture.js';
import { startFaultRemote } from './fault-fixture.js';
import type { FaultRemote } from './fault-fixture.js';

interface Edit {
  kind: 'counter' | 'db-host' | 'stale-etag' | 'invalid';
  file: string;
  url: string;
  patch: Record<string, unknown>;
  ifMatch: string;
  /** Text the committed file must contain. */
  expect: string;
}

describe('50 concurrent API edits', () => {
  let remote: FaultRemote;
  let handle: ServeHandle;
  let base: string;

  before(async () => {
    remote = await startFaultRemote(WRITE_FILES);
    const dir = await tempDir('gitcfg-faults-edits-');
    ({ handle, base } = await startServer({ repo: remote.url, dir, dataDir: path.join(dir, 'data') }));
    await waitReady(base, TOKENS.admin);
  });

  after(async () => {
    await handle?.close();
    await remote?.remote.close();
    await cleanupTempDirs();
  });

  it('commits or refuses each one, keeps the history linear and loses no accepted edit', async (t) => {
    const start = await run(remote.bare, 'rev-parse', 'main');
    const staging = await fetch(`${base}/v1/files/app/staging`, { headers: bearer('writer') });
    assert.equal(staging.status, 200);
    const staleEtag = staging.headers.get('etag') ?? '';
    assert.ok(staleEtag);

    const edits: Edit[] = [];
    for (let i = 0; i < 20; i++) {
      edits.push({
        kind: 'counter',
        file: 'environments/production/app.yaml',
        url: `${base}/v1/config/app/production`,
        patch: { counter: 1000 + i },
        ifMatch: '*',
        expect: `counter: ${1000 + i}`,
      });
    }
    for (let i = 0; i < 10; i++) {
      edits.push({
        kind: 'db-host',
        file: 'defaults/db.yaml',
        url: `${base}/v1/config/db/defaults`,
        patch: { host: `db-${i}.internal` },
        ifMatch: '*',
        expect: `host: db-${i}.internal`,
      });
      edits.push({
        kind: 'stale-etag',
        file: 'environments/staging/app.yaml',
        url: `${base}/v1/config/app/staging`,
        patch: { greeting: `hi ${i}` },
        ifMatch: staleEtag,
        expect: `greeting: hi ${i}`,
      });
      edits.push({
        kind: 'invalid',
        file: 'environments/production/app.yaml',
        url: `${base}/v1/config/app/production`,
        patch: { retry: { max: 99 } },
        ifMatch: '*',
        expect: 'max: 99',
      });
    }
    assert.equal(edits.length, 50);

    const answers = await Promise.all(
      edits.map(async (edit) => {
        const res = await fetch(edit.url, {
          method: 'PATCH',
          headers: {
            ...bearer('writer'),
            'content-type': 'application/merge-patch+json',
            'if-match': edit.ifMatch,
          },
          body: JSON.stringify(edit.patch),
        });
        const body = (await res.json()) as { commit?: string; committed?: boolean };
        return { edit, status: res.status, body };
      }),
    );

    const accepted = answers.filter((a) => a.status === 200 || a.status === 201);
    const refused = answers.filter((a) => [409, 412, 422].includes(a.status));
    const unexpected = answers.filter((a) => !accepted.includes(a) && !refused.includes(a));
    assert.deepEqual(
      unexpected.map((a) => `${a.edit.kind}: ${a.status} ${JSON.stringify(a.body).slice(0, 200)}`),
      [],
    );
    const byKind = (kind: Edit['kind']) => accepted.filter((a) => a.edit.kind === kind).length;
    assert.equal(byKind('invalid'), 0, 'invalid edits are refused');
    assert.ok(
      answers.filter((a) => a.edit.kind === 'invalid').every((a) => a.status === 422),
      'invalid edits answer 422',
    );
    assert.equal(byKind('stale-etag'), 1, 'exactly one edit wins the race on one file version');
    assert.equal(byKind('counter'), 20, 'unconditional edits are all applied');
    assert.equal(byKind('db-host'), 10, 'unconditional edits are all applied');

    // Linear history, and exactly the accepted edits on it, each with its own content.
    const head = await run(remote.bare, 'rev-parse', 'main');
    const firstParent = (await run(remote.bare, 'rev-list', '--first-parent', `${start}..${head}`)).split(
      '\n',
    );
    const all = (await run(remote.bare, 'rev-list', '--parents', `${start}..${head}`)).split('\n');
    assert.ok(
      all.every((line) => line.split(' ').length === 2),
      'no merge commits',
    );
    const committed = accepted.filter((a) => a.body.committed !== false);
    assert.equal(firstParent.length, committed.length, 'one commit per accepted edit, none extra');
    let lost = 0;
    for (const a of committed) {
      if (!a.body.commit || !firstParent.includes(a.body.commit)) {
        lost++;
        continue;
      }
      const content = await run(remote.bare, 'show', `${a.body.commit}:${a.edit.file}`);
      if (!content.includes(a.edit.expect)) lost++;
    }
    t.diagnostic(
      `edits 50, accepted ${accepted.length}, refused ${refused.length} (${refused.map((a) => a.status).join(',')}), lost ${lost}`,
    );
    assert.equal(lost, 0, 'no accepted edit lost');
    // The server ends up serving the branch head.
    await waitFor('head served', async () => {
      const res = await fetch(`${base}/v1/status`, { headers: bearer('admin') });
      const s = (await res.json()) as { served: { commit: string } | null; syncs: { running: boolean } };
      return s.served?.commit === head && !s.syncs.running;
    });
  });
});
