/**
 * Sync latency of the git part: for a one-file commit on a smart-HTTP remote, time `mirror.fetch()` +
 * `source()` + `evaluateRepo` (warm EngineCache) against native `git fetch` of the same commit.
 *
 *   node --import tsx bench/sync-latency.ts [--files 1000,10000] [--iterations 15] [--history 200]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EngineCache, evaluateRepo } from '../src/engine/index.js';
import { openMirror } from '../src/git/index.js';
import { startGitHttpRemote } from '../test/helpers/git-http-remote.js';
import { addCommits, generateRepo, namespacesForFiles } from './lib/generate-repo.js';
import { median, timed } from './lib/stats.js';

/** Medians (ms) of one repository size. */
export interface SyncLatencyRow {
  files: number;
  commits: number;
  cloneIso: number;
  cloneNative: number;
  startupList: number;
  startupRead: number;
  startupEvaluate: number;
  fetchIso: number;
  fetchNative: number;
  source: number;
  evaluate: number;
  total: number;
  rssMb: number;
}

function git(cwd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } }, (err, _out, stderr) =>
      err ? reject(new Error(`git ${args[0]}: ${stderr}`)) : resolve(),
    );
  });
}

/** Measures one repository size. */
export async function measureSyncLatency(opts: {
  files: number;
  iterations: number;
  history: number;
}): Promise<SyncLatencyRow> {
  const root = await mkdtemp(join(tmpdir(), 'gitcfg-bench-sync-'));
  const remote = await startGitHttpRemote({ root });
  try {
    const gen = await generateRepo({
      dir: join(root, 'cfg.git'),
      bare: true,
      namespaces: namespacesForFiles(opts.files),
      commits: opts.history,
    });
    const url = remote.url('cfg.git');
    const [mirror, cloneIso] = await timed(() =>
      openMirror({ url, dataDir: join(root, 'data', 'mirror'), branch: 'main' }),
    );
    const [, cloneNative] = await timed(() =>
      git(root, ['clone', '--quiet', '--bare', '--single-branch', '-b', 'main', url, 'native.git']),
    );
    const native = join(root, 'native.git');
    const cache = new EngineCache();
    // start-up: full listing, every blob read once (16 at a time, as the engine does), then the engine
    const [initial, startupList] = await timed(() => mirror.source(mirror.head!));
    const [, startupRead] = await timed(async () => {
      const queue = [...initial.entries];
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let e = queue.pop(); e; e = queue.pop()) await initial.readBlob(e.oid, e.path);
        }),
      );
    });
    const [first, startupEvaluate] = await timed(() => evaluateRepo(initial, { cache }));
    if (!first.ok) throw new Error(`generated repository is invalid: ${first.issues.length} issue(s)`);

    const samples = {
      fetchIso: [] as number[],
      fetchNative: [] as number[],
      source: [] as number[],
      evaluate: [] as number[],
      total: [] as number[],
    };
    for (let i = 0; i <= opts.iterations; i++) {
      const head = await addCommits(gen, 1, 1);
      const [outcome, fetchIso] = await timed(() => mirror.fetch());
      if (outcome.head !== head) throw new Error('mirror did not fetch the new commit');
      const [source, sourceMs] = await timed(() => mirror.source(head));
      const [evaluation, evaluateMs] = await timed(() => evaluateRepo(source, { cache }));
      if (!evaluation.ok) throw new Error('evaluation failed after a one-file change');
      const [, fetchNative] = await timed(() =>
        git(native, ['fetch', '--quiet', url, '+refs/heads/main:refs/heads/main']),
      );
      if (i === 0) continue; // warm-up
      samples.fetchIso.push(fetchIso);
      samples.fetchNative.push(fetchNative);
      samples.source.push(sourceMs);
      samples.evaluate.push(evaluateMs);
      samples.total.push(fetchIso + sourceMs + evaluateMs);
    }
    return {
      files: gen.files,
      commits: gen.commits,
      cloneIso,
      cloneNative,
      startupList,
      startupRead,
      startupEvaluate,
      fetchIso: median(samples.fetchIso),
      fetchNative: median(samples.fetchNative),
      source: median(samples.source),
      evaluate: median(samples.evaluate),
      total: median(samples.total),
      rssMb: process.memoryUsage().rss / 1024 / 1024,
    };
  } finally {
    await remote.close();
    await rm(root, { recursive: true, force: true });
  }
}

/** Prints the table (medians, ms). */
export function formatSyncLatency(rows: SyncLatencyRow[]): string {
  const f = (n: number) => n.toFixed(n < 10 ? 1 : 0);
  const header = [
    'files',
    'fetch iso',
    'fetch native',
    'ratio',
    'source()',
    'evaluate',
    'total',
    'total/native',
    'clone iso/native',
    'startup list/read/eval',
    'rss MB',
  ];
  const lines = [header.join(' | ')];
  for (const r of rows) {
    lines.push(
      [
        `${r.files} (${r.commits} commits)`,
        f(r.fetchIso),
        f(r.fetchNative),
        `${(r.fetchIso / r.fetchNative).toFixed(2)}x`,
        f(r.source),
        f(r.evaluate),
        f(r.total),
        `${(r.total / r.fetchNative).toFixed(2)}x`,
        `${f(r.cloneIso)} / ${f(r.cloneNative)}`,
        `${f(r.startupList)} / ${f(r.startupRead)} / ${f(r.startupEvaluate)}`,
        f(r.rssMb),
      ].join(' | '),
    );
  }
  return lines.join('\n');
}

if (import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', default: '1000,10000' },
      iterations: { type: 'string', default: '15' },
      history: { type: 'string', default: '200' },
    },
  });
  const rows: SyncLatencyRow[] = [];
  for (const files of values.files.split(',').map(Number)) {
    rows.push(
      await measureSyncLatency({
        files,
        iterations: Number(values.iterations),
        history: Number(values.history),
      }),
    );
  }
  console.log(
    'sync latency, one-file commit, medians in ms (iso = isomorphic-git mirror + engine, warm caches)',
  );
  console.log(formatSyncLatency(rows));
}
