/**
 * The engine and snapshot part of a one-file sync, in process: `buildSnapshot` of a commit that changes one
 * override, given the previous snapshot (a) as built in this process (only the namespaces the change reaches
 * are evaluated) and (b) restored from its data (every pair visited, as before pairs were indexed by their
 * input files). Both with a warm engine cache; medians of `--runs`, ratio (a)/(b) in the same run.
 *
 *   node --import tsx bench/one-file-build.ts [--files 1000,10000] [--runs 9]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import * as fs from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EngineCache } from '../src/engine/index.js';
import { ObjectStore } from '../src/git/index.js';
import { buildSnapshot, snapshotFromData, snapshotToData } from '../src/snapshot/index.js';
import type { Snapshot } from '../src/snapshot/index.js';
import { addCommits, generateRepo, namespacesForFiles } from './lib/generate-repo.js';
import { median, timed } from './lib/stats.js';

const { values } = parseArgs({
  options: { files: { type: 'string', default: '1000,10000' }, runs: { type: 'string', default: '9' } },
});

for (const files of values.files.split(',').map(Number)) {
  const root = await mkdtemp(join(tmpdir(), 'gitcfg-bench-one-file-'));
  try {
    const gen = await generateRepo({
      dir: join(root, 'cfg.git'),
      bare: true,
      namespaces: namespacesForFiles(files),
    });
    const store = new ObjectStore({ fs, gitdir: gen.dir });
    // One warm engine cache per way of building (a reach build ages out the entries of other namespaces).
    const reachCache = new EngineCache();
    const fullCache = new EngineCache();
    const build = async (commit: string, previous: Snapshot | null, cache = reachCache) => {
      const result = await buildSnapshot({ commit, source: await store.source(commit), previous, cache });
      if (!result.ok) throw new Error(JSON.stringify(result.issues.slice(0, 3)));
      return result.snapshot;
    };
    let previous = await build(gen.head, null);
    await build(gen.head, null, fullCache);
    const reach: number[] = [];
    const full: number[] = [];
    for (let run = 0; run <= Number(values.runs); run++) {
      const head = await addCommits(gen, 1, 1);
      const restored = snapshotFromData(snapshotToData(previous), null);
      // Same commit built both ways; the first one parses the changed file, so the order alternates.
      let fullMs = 0;
      let reachMs = 0;
      let next: Snapshot;
      if (run % 2 === 0) {
        [, fullMs] = await timed(() => build(head, restored, fullCache));
        [next, reachMs] = await timed(() => build(head, previous));
      } else {
        [next, reachMs] = await timed(() => build(head, previous));
        [, fullMs] = await timed(() => build(head, restored, fullCache));
      }
      previous = next;
      if (run === 0) continue;
      reach.push(reachMs);
      full.push(fullMs);
    }
    const a = median(reach);
    const b = median(full);
    console.log(
      `${gen.files} files: one-file build ${a.toFixed(1)} ms (reached namespaces only) vs ${b.toFixed(1)} ms (every pair visited): ${(a / b).toFixed(2)}x; load ${loadavg()[0]?.toFixed(1)}`,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
