/**
 * The benchmark suite: read throughput, sync latency, pre-commit hook, memory and history, watch fan-out,
 * replicas (fleet convergence, reads through a proxy, Redis traffic), rollouts (client-id'd reads, inventory). Every
 * figure is compared with a baseline measured in the same run. Writes `bench/results/<date>.json` and
 * `bench/results/<date>.md` (the table of docs/performance.md, then the growth table of the sync sizes);
 * `--update-docs` also replaces both blocks in docs/performance.md.
 *
 *   npm run bench                      full run (1k and 10k repositories, longer load runs)
 *   npm run bench -- --sizes 1k,10k,50k   the full run with the 50k repository too (the published growth table)
 *   npm run bench -- --quick           under 3 minutes (1k only, short runs)
 *   npm run bench -- --only read,sync  some sections (read, sync, hook, fanout, fleet, rollouts; sync includes
 *                                      memory, history, old-commit reads and the hook on each size's checkout)
 *   npm run bench -- --only sync --sizes 10k --first-start   memory of the first start (and a restart) of one size
 *   npm run bench -- --only sync --sizes 10k --old-commits 300   fewer `?ref=` reads of old commits (0: none)
 *   npm run bench -- --render bench/results/<date>.json [--update-docs]   re-render a stored run
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './lib/child.js';
import { DOC_BLOCKS, renderGrowth, renderMarkdown, updatePerformanceDoc } from './lib/report.js';
import type { BenchReport, GrowthColumn } from './lib/report.js';
import type { SectionResult } from './lib/result.js';
import { benchFanout } from './suite/fanout.js';
import { benchFleet } from './suite/fleet.js';
import { benchHook } from './suite/hook.js';
import { benchRead } from './suite/read.js';
import { SYNC_SIZES, benchSync } from './suite/sync.js';
import { benchRollouts } from './rollouts.js';

const SECTIONS = ['read', 'sync', 'hook', 'fanout', 'fleet', 'rollouts'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'update-docs': { type: 'boolean', default: false },
    watchers: { type: 'string', default: '10000' },
    render: { type: 'string' },
    /** Sync sizes to run, e.g. `1k,10k,50k` (default `1k,10k`; `--quick`: 1k). */
    sizes: { type: 'string' },
    /** Distinct old commits each size reads through `?ref=` (default per size: 1k 500, 10k 400; 0: none). */
    'old-commits': { type: 'string' },
    /** Sync section: only the first start and the restart (memory), no webhooks and no history queries. */
    'first-start': { type: 'boolean', default: false },
  },
});

/** Writes a run's .md (the table, then the growth table) beside its .json, and the docs with --update-docs. */
async function writeTables(report: BenchReport, jsonFile: string): Promise<string> {
  const table = renderMarkdown(report);
  const growth = renderGrowth(report);
  const text = growth ? `${table}\n\n${growth}` : table;
  writeFileSync(jsonFile.replace(/\.json$/, '.md'), `${text}\n`);
  if (values['update-docs']) {
    await updatePerformanceDoc(table);
    if (growth) await updatePerformanceDoc(growth, DOC_BLOCKS.growth);
    console.log('updated docs/performance.md');
  }
  return text;
}

/** `--render <results.json>`: only re-renders a stored run (its .md, and the docs with --update-docs). */
async function renderStored(file: string): Promise<void> {
  console.log(await writeTables(JSON.parse(readFileSync(file, 'utf8')) as BenchReport, file));
}

/** Runs the selected sections and writes the results. */
async function runSuite(): Promise<void> {
  const quick = values.quick;
  const only = new Set((values.only?.split(',') ?? SECTIONS) as Section[]);
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}`);
  const log = (line: string): void => console.log(line);

  function machine(): BenchReport['machine'] {
    const gitVersion = execFileSync('git', ['--version'], { encoding: 'utf8' }).trim();
    return {
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
      node: process.version,
      git: gitVersion,
      platform: `${process.platform} ${process.arch}`,
    };
  }

  const started = new Date();
  const loadBefore = loadavg();
  log(
    `gitcfg bench ${quick ? '(quick) ' : ''}${started.toISOString()}, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const results: SectionResult[] = [];
  const sectionSeconds: Record<string, number> = {};
  const sectionLoad: NonNullable<BenchReport['sectionLoad']> = {};
  const fixed = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  async function section(name: Section, fn: () => Promise<SectionResult | SectionResult[]>): Promise<void> {
    if (!only.has(name)) return;
    const before = loadavg();
    log(`\n[${name}] load average ${fixed(before)}`);
    const t = performance.now();
    const out = await fn();
    sectionSeconds[name] = Math.round((performance.now() - t) / 100) / 10;
    sectionLoad[name] = { before, after: loadavg() };
    log(
      `[${name}] ${sectionSeconds[name]} s, load average ${fixed(before)} before, ${fixed(loadavg())} after`,
    );
    results.push(...(Array.isArray(out) ? out : [out]));
  }

  await section('read', () =>
    benchRead({
      duration: quick ? 3 : 8,
      rounds: quick ? 1 : 2,
      connections: 50,
      naiveConnections: 8,
      log,
    }),
  );
  const oldCommits = values['old-commits'] === undefined ? undefined : Number(values['old-commits']);
  if (oldCommits !== undefined && !(Number.isInteger(oldCommits) && oldCommits >= 0))
    throw new Error(`--old-commits must be a whole number, not ${values['old-commits']}`);
  const sizes = (values.sizes ?? (quick ? '1k' : '1k,10k')).split(',').map((name) => {
    const size = SYNC_SIZES[name];
    if (!size) throw new Error(`unknown size ${name} (${Object.keys(SYNC_SIZES).join(', ')})`);
    return {
      ...size,
      // --quick: a taste of each part (old-commit reads and hook runs), not the figures to publish.
      oldCommitReads: oldCommits ?? (quick ? Math.min(100, size.oldCommitReads) : size.oldCommitReads),
      shuffledReads: Math.min(oldCommits ?? size.shuffledReads, quick ? 50 : size.shuffledReads),
      hookRuns: quick ? Math.min(1, size.hookRuns) : size.hookRuns,
    };
  });
  let growth: GrowthColumn[] = [];
  await section('sync', async () => {
    const out = await benchSync({
      sizes,
      iterations: quick ? 5 : 15,
      firstStartOnly: values['first-start'],
      log,
    });
    growth = out.growth;
    return out.sections;
  });
  await section('hook', () => benchHook({ sizes: [100, 1000], runs: quick ? 1 : 5, log }));
  await section('fanout', () => benchFanout({ watchers: Number(values.watchers), processes: 4, log }));
  await section('fleet', () => benchFleet({ pushes: 20, duration: quick ? 3 : 6, log }));
  await section('rollouts', () => benchRollouts({ duration: quick ? 3 : 6, connections: 50, log }));

  const finished = new Date();
  const report: BenchReport = {
    date: started.toISOString(),
    command: `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick,
    durationSeconds: Math.round((finished.getTime() - started.getTime()) / 1000),
    sectionSeconds,
    sectionLoad,
    machine: machine(),
    loadAverage: { before: loadBefore, after: loadavg() },
    sections: results,
    ...(growth.length ? { growth } : {}),
  };

  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = `${started.toISOString().slice(0, 19).replace(/:/g, '-')}${quick ? '-quick' : ''}`;
  const json = join(dir, `${stamp}.json`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  log(`\n${await writeTables(report, json)}\n\nwritten bench/results/${stamp}.json and .md`);
  const missed = results.flatMap((s) => s.figures).filter((f) => f.met === false);
  if (missed.length) log(`targets missed: ${missed.map((f) => f.metric).join('; ')}`);
}

if (values.render) await renderStored(values.render);
else await runSuite();
