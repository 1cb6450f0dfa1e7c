/** The suite's report: its JSON shape, the markdown tables of docs/performance.md, and the docs update. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './child.js';
import { GROWTH_ROWS } from './result.js';
import type { Figure, GrowthRow, SectionResult } from './result.js';

/** One size column of the growth table: a repository measured from generation to its last figure. */
export interface GrowthColumn {
  /** `1k`, `10k`, `50k`. */
  size: string;
  /** `10003 files / 2000 commits`. */
  label: string;
  seconds: number;
  /** Load average (1/5/15 min) when this size started and when it ended. */
  load: { before: number[]; after: number[] };
}

/** What `bench/results/<date>.json` holds. */
export interface BenchReport {
  date: string;
  command: string;
  quick: boolean;
  durationSeconds: number;
  sectionSeconds: Record<string, number>;
  /** Load average (1/5/15 min) before and after each section (older results do not have it). */
  sectionLoad?: Record<string, { before: number[]; after: number[] }>;
  /** Sizes of the sync section, in the order they ran (older results do not have it). */
  growth?: GrowthColumn[];
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; git: string; platform: string };
  loadAverage: { before: number[]; after: number[] };
  sections: SectionResult[];
}

const fmt = (n: number | null): string =>
  n === null || !Number.isFinite(n)
    ? 'n/a'
    : Math.abs(n) >= 100
      ? n.toFixed(0)
      : Math.abs(n) >= 10
        ? n.toFixed(1)
        : n.toFixed(2);
const verdict = (f: Figure): string => (f.met === null ? '' : f.met ? 'met' : '**missed**');
// A ratio of two zero-millisecond latencies (autocannon's resolution is 1 ms) is not a number.
const ratio = (f: Figure): string =>
  f.ratio === null || !Number.isFinite(f.ratio) ? 'n/a' : `${f.ratio.toFixed(2)}x`;
const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' / ');
/** ` (CPU 1.2 s)` where the figure carries its CPU time. */
const cpu = (f: Figure): string =>
  f.cpuMs === undefined
    ? ''
    : ` (CPU ${f.cpuMs >= 1000 ? `${fmt(f.cpuMs / 1000)} s` : `${fmt(f.cpuMs)} ms`})`;

/** The first line of both tables: when, how, on what, at which load. */
function runLine(report: BenchReport): string {
  const m = report.machine;
  return `Run ${report.date} (\`${report.command}\`, ${report.durationSeconds} s): ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGb} GB, node ${m.node}, ${m.git}; load average (1/5/15 min) ${load(report.loadAverage.before)} before, ${load(report.loadAverage.after)} after.`;
}

/** The results as the markdown table of docs/performance.md. */
export function renderMarkdown(report: BenchReport): string {
  const lines = [
    runLine(report),
    '',
    '| section | figure | gitcfg | baseline (same run) | ratio | target | |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of report.sections) {
    for (const f of s.figures) {
      lines.push(
        `| ${s.section} | ${f.metric} | ${fmt(f.value)} ${f.unit}${cpu(f)} | ${f.baseline.name}: ${fmt(f.baseline.value)} ${f.unit} | ${ratio(f)} (${f.ratioMeaning}) | ${f.target ?? ''} | ${verdict(f)} |`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * The growth table: one row per figure of `GROWTH_ROWS`, one column per repository size, each cell with its
 * value, its ratio to the same run's baseline and its verdict; empty when the run measured no size.
 */
export function renderGrowth(report: BenchReport): string {
  const columns = report.growth ?? [];
  const figures = report.sections.flatMap((s) => s.figures).filter((f) => f.growth);
  if (columns.length === 0 || figures.length === 0) return '';
  const lines = [
    runLine(report),
    '',
    `Sizes one after the other in that run: ${columns.map((c) => `${c.size} ${c.seconds} s, load ${c.load.before[0]?.toFixed(1)} -> ${c.load.after[0]?.toFixed(1)}`).join('; ')}. A cell reads: gitcfg (CPU where measured); ratio to the baseline of the same size and run (baseline).`,
    '',
    `| figure | baseline (same run) | ${columns.map((c) => `${c.size}: ${c.label}`).join(' | ')} | target |`,
    `| --- | --- | ${columns.map(() => '---').join(' | ')} | --- |`,
  ];
  for (const row of Object.keys(GROWTH_ROWS) as GrowthRow[]) {
    const cells = columns.map((c) => figures.find((f) => f.growth?.row === row && f.growth.size === c.size));
    const first = cells.find((f) => f !== undefined);
    if (!first) continue;
    const targets = new Map<string, string[]>();
    cells.forEach((f, i) => {
      if (f?.target) targets.set(f.target, [...(targets.get(f.target) ?? []), columns[i]!.size]);
    });
    const target = [...targets]
      .map(([t, sizes]) => (sizes.length === cells.filter(Boolean).length ? t : `${sizes.join(', ')}: ${t}`))
      .join('; ');
    const cell = (f: Figure | undefined): string =>
      f
        ? `${fmt(f.value)} ${f.unit}${cpu(f)}; ${ratio(f)} (${fmt(f.baseline.value)} ${f.unit})${f.met === null ? '' : ` ${verdict(f)}`}`
        : 'not run';
    lines.push(
      `| ${GROWTH_ROWS[row]} | ${first.baseline.name} | ${cells.map(cell).join(' | ')} | ${target} |`,
    );
  }
  return lines.join('\n');
}

/** The marked blocks of docs/performance.md: the main table and the growth table. */
export const DOC_BLOCKS = { table: 'bench', growth: 'bench-growth' } as const;

/** Replaces the block between `<!-- <name>:begin -->` and `<!-- <name>:end -->` in docs/performance.md. */
export async function updatePerformanceDoc(table: string, name: string = DOC_BLOCKS.table): Promise<void> {
  const docs = join(ROOT, 'docs', 'performance.md');
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const text = readFileSync(docs, 'utf8');
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`docs/performance.md has no ${begin} ... ${end} block`);
  const updated = `${text.slice(0, a + begin.length)}\n\n${table}\n\n${text.slice(b)}`;
  // Formatted as `npm run lint` checks it (the tables are padded), so a run with --update-docs leaves lint green.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(docs)) ?? {};
  writeFileSync(docs, await prettier.format(updated, { ...options, filepath: docs }));
}
