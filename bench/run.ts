/**
 * The benchmark suite: read throughput, sync latency, pre-commit hook, memory and history, watch fan-out,
 * replicas (fleet convergence, reads through a proxy, Redis traffic), rollouts (client-id'd reads, inventory). Every
 * figure is compared with a baseline measured in the same run. Writes `bench/results/<date>.json` and
 * `bench/results/<date>.md` (the table of docs/performance.md); `--update-docs` also replaces that table in
 * docs/performance.md.
 *
 *   npm run bench                      full run (1k and 10k repositories, longer load runs)
 *   npm run bench -- --quick           under 3 minutes (1k only, short runs)
 *   npm run bench -- --only read,sync  some sections (read, sync, hook, fanout, fleet, rollouts; sync includes memory + history)
 *   npm run bench -- --only sync --sizes 10k --first-start   memory of the first start (and a restart) of one size
 *   npm run bench -- --render bench/results/<date>.json [--update-docs]   re-render a stored run
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './lib/child.js';
import { renderMarkdown, updatePerformanceDoc } from './lib/report.js';
import type { BenchReport } from './lib/report.js';
import type { SectionResult } from './lib/result.js';
import { benchFanout } from './suite/fanout.js';
import { benchFleet } from './suite/fleet.js';
import { benchHook } from './suite/hook.js';
import { benchRead } from './suite/read.js';
import { benchSync } from './suite/sync.js';
import { benchRollouts } from './rollouts.js';
import type { SyncSize } from './suite/sync.js';

const SECTIONS = ['read', 'sync', 'hook', 'fanout', 'fleet', 'rollouts'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'update-docs': { type: 'boolean', default: false },
    watchers: { type: 'string', default: '10000' },
    render: { type: 'string' },
    /** Sync sizes to run: `1k`, `10k` or both (default both; `--quick`: 1k). */
    sizes: { type: 'string' },
    /** Sync section: only the first start and the restart (memory), no webhooks and no history queries. */
    'first-start': { type: 'boolean', default: false },
  },
});

/** `--render <results.json>`: only re-renders a stored run (its .md, and the docs with --update-docs). */
function renderStored(file: string): void {
  const stored = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
  const table = renderMarkdown(stored);
  writeFileSync(file.replace(/\.json$/, '.md'), `${table}\n`);
  if (values['update-docs']) updatePerformanceDoc(table);
  console.log(table);
}

/** Runs the selected sections and writes the results. */
async function runSuite(): Promise<void> {
  const quick = values.quick;
  const only = new Set((values.only?.split(',') ?? SECTIONS) as Section[]);
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}`);
  const log = (line: string): void => console.log(line);

  const SIZE_1K: SyncSize = {
    files: 1000,
    commits: 500,
    target: '<= native fetch + 50 ms',
    meets: (served, native) => served <= native + 50,
  };
  const SIZE_10K: SyncSize = {
    files: 10_000,
    commits: 2000,
    target: '< 300 ms',
    meets: (served) => served < 300,
  };

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
  async function section(name: Section, fn: () => Promise<SectionResult | SectionResult[]>): Promise<void> {
    if (!only.has(name)) return;
    log(`\n[${name}]`);
    const t = performance.now();
    const out = await fn();
    sectionSeconds[name] = Math.round((performance.now() - t) / 100) / 10;
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
  const sizes = { '1k': SIZE_1K, '10k': SIZE_10K };
  const chosen = values.sizes?.split(',').map((name) => {
    const size = sizes[name as keyof typeof sizes];
    if (!size) throw new Error(`unknown size ${name} (1k, 10k)`);
    return size;
  });
  await section('sync', () =>
    benchSync({
      sizes: chosen ?? (quick ? [SIZE_1K] : [SIZE_1K, SIZE_10K]),
      iterations: quick ? 5 : 15,
      firstStartOnly: values['first-start'],
      log,
    }),
  );
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
    machine: machine(),
    loadAverage: { before: loadBefore, after: loadavg() },
    sections: results,
  };

  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = `${started.toISOString().slice(0, 19).replace(/:/g, '-')}${quick ? '-quick' : ''}`;
  writeFileSync(join(dir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const table = renderMarkdown(report);
  writeFileSync(join(dir, `${stamp}.md`), `${table}\n`);
  log(`\n${table}\n\nwritten bench/results/${stamp}.json and .md`);

  if (values['update-docs']) {
    updatePerformanceDoc(table);
    log('updated docs/performance.md');
  }
  const missed = results.flatMap((s) => s.figures).filter((f) => f.met === false);
  if (missed.length) log(`targets missed: ${missed.map((f) => f.metric).join('; ')}`);
}

if (values.render) renderStored(values.render);
else await runSuite();
