/**
 * Floods against a real `gitcfg serve` process with the default limits: 2,000 `?ref=` reads over 200 distinct old
 * commits from one token while another client reads plain config, and 5,000 SSE connections from one address.
 * Asserted: the plain reader is always answered, the flood is limited (429/503), the server stays up, another
 * address still connects. Printed (not asserted; see docs/reliability.md): the plain reader's p99 idle and during
 * the flood, and the server's RSS.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WRITE_FILES, bearer, tokensYaml } from '../edits/writes-fixture.js';
import { cleanupTempDirs, createTempRepo, run, runGit, tempDir } from '../helpers/git-repo.js';
import { rssOf, startServeProcess } from './serve-process.js';
import type { ServeProcess } from './serve-process.js';

const OLD_COMMITS = 200;
const FLOOD = 2_000;
const STREAMS = 5_000;

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
}

/** Sequential plain reads; resolves to their latencies (ms) and statuses. */
async function plainReads(base: string, count: number): Promise<{ ms: number[]; statuses: number[] }> {
  const ms: number[] = [];
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const res = await fetch(`${base}/v1/config/app/production`, { headers: bearer('reader') });
    const body = await res.text();
    if (res.status !== 200) console.log(`plain read ${res.status}: ${body.slice(0, 300)}`);
    ms.push(performance.now() - start);
    statuses.push(res.status);
  }
  return { ms, statuses };
}

/** Opens an SSE stream; resolves to its status (kept open until `destroy`). */
function openStream(base: string, localAddress: string): Promise<{ status: number; destroy: () => void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/v1/events`, { localAddress, agent: false }, (res) => {
      resolve({ status: res.statusCode ?? 0, destroy: () => req.destroy() });
      res.resume();
    });
    req.on('error', reject);
  });
}

describe('abuse floods against a server process with the default limits', () => {
  let repo: string;
  let dir: string;
  const commits: string[] = [];
  const servers: ServeProcess[] = [];

  before(async () => {
    dir = await tempDir();
    repo = await createTempRepo({ files: WRITE_FILES });
    // One fast-import run writes the 200 commits (one per staging greeting) in well under a second.
    let stream = '';
    for (let i = 0; i < OLD_COMMITS; i++) {
      const content = `greeting: staging ${i}\n`;
      stream +=
        `commit refs/heads/main\nmark :${i + 1}\ncommitter Test <test@example.com> ${1_700_000_000 + i} +0000\n` +
        `data ${`staging ${i}`.length}\nstaging ${i}\n${i === 0 ? 'from refs/heads/main^0\n' : ''}` +
        `M 100644 inline environments/staging/app.yaml\ndata ${content.length}\n${content}\n`;
    }
    await runGit({ cwd: repo, args: ['fast-import', '--quiet'], input: stream });
    commits.push(...(await run(repo, 'rev-list', '--reverse', `HEAD~${OLD_COMMITS}..HEAD`)).split('\n'));
    assert.equal(commits.length, OLD_COMMITS);
    await writeFile(path.join(dir, 'tokens.yaml'), tokensYaml());
  });

  after(async () => {
    for (const s of servers) await s.kill();
    await cleanupTempDirs();
  });

  it('2,000 old-commit reads from one token do not starve a plain reader', async () => {
    const server = await startServeProcess({
      repo,
      dataDir: path.join(dir, 'data-ref'),
      cwd: dir,
      env: { GITCFG_TOKENS_FILE: path.join(dir, 'tokens.yaml') },
    });
    servers.push(server);
    const base = server.url;
    for (let i = 0; i < 200; i++) {
      const ready = await fetch(`${base}/readyz`);
      if (ready.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await fetch(`${base}/readyz`)).status, 200, server.output().slice(-3000));
    const idle = await plainReads(base, 300);
    const rssIdle = rssOf(server.pid);
    const floodStatuses = new Map<number, number>();
    let next = 0;
    let peakRss = rssIdle;
    const flooder = async () => {
      while (next < FLOOD) {
        const commit = commits[next++ % OLD_COMMITS]!;
        const res = await fetch(`${base}/v1/config/app/staging?ref=${commit}`, { headers: bearer('writer') });
        await res.arrayBuffer();
        floodStatuses.set(res.status, (floodStatuses.get(res.status) ?? 0) + 1);
        peakRss = Math.max(peakRss, rssOf(server.pid));
      }
    };
    const [during] = await Promise.all([
      plainReads(base, 300),
      ...Array.from({ length: 16 }, () => flooder()),
    ]);
    assert.ok(
      during.statuses.every((s) => s === 200),
      `every plain read answered: ${[...new Set(during.statuses)].join(',')}`,
    );
    assert.ok(idle.statuses.every((s) => s === 200));
    for (const status of floodStatuses.keys())
      assert.ok([200, 429, 503].includes(status), `flood got ${status}`);
    assert.ok((floodStatuses.get(429) ?? 0) > 0, 'the flood was limited');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    console.log(
      `flood: ${JSON.stringify(Object.fromEntries(floodStatuses))}; plain p99 idle ${p99(idle.ms).toFixed(1)} ms, ` +
        `during ${p99(during.ms).toFixed(1)} ms (${(p99(during.ms) / p99(idle.ms)).toFixed(2)}x); ` +
        `RSS idle ${(rssIdle / 2 ** 20).toFixed(0)} MB, peak ${(peakRss / 2 ** 20).toFixed(0)} MB`,
    );
  });

  it('5,000 SSE connections from one address: the cap refuses the excess, another address connects', async () => {
    const server = await startServeProcess({
      repo,
      dataDir: path.join(dir, 'data-sse'),
      cwd: dir,
      raiseFdLimit: true,
    });
    servers.push(server);
    const base = server.url;
    const open: { status: number; destroy: () => void }[] = [];
    try {
      for (let i = 0; i < STREAMS; i += 250) {
        const batch = Array.from({ length: Math.min(250, STREAMS - i) }, () => openStream(base, '127.0.0.1'));
        open.push(...(await Promise.all(batch)));
      }
      const counts = new Map<number, number>();
      for (const s of open) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
      assert.equal(counts.get(200), 1000, JSON.stringify(Object.fromEntries(counts)));
      assert.equal(counts.get(429), STREAMS - 1000);
      const other = await openStream(base, '127.0.0.2');
      open.push(other);
      assert.equal(other.status, 200);
      console.log(
        `SSE flood: ${JSON.stringify(Object.fromEntries(counts))} from one address; RSS ${(rssOf(server.pid) / 2 ** 20).toFixed(0)} MB`,
      );
    } finally {
      for (const s of open) s.destroy();
    }
  });
});
