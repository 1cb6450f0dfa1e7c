/** The suite's report: its JSON shape, the markdown table of docs/performance.md, and the docs update. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './child.js';
import type { Figure, SectionResult } from './result.js';

/** What `bench/results/<date>.json` holds. */
export interface BenchReport {
  date: string;
  command: string;
  quick: boolean;
  durationSeconds: number;
  sectionSeconds: Record<string, number>;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; git: string; platform: string };
  loadAverage: { before: number[]; after: number[] };
  sections: SectionResult[];
}

/** The results as the markdown table of docs/performance.md. */
export function renderMarkdown(report: BenchReport): string {
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
  const m = report.machine;
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' / ');
  const lines = [
    `Run ${report.date} (\`${report.command}\`, ${report.durationSeconds} s): ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGb} GB, node ${m.node}, ${m.git}; load average (1/5/15 min) ${load(report.loadAverage.before)} before, ${load(report.loadAverage.after)} after.`,
    '',
    '| section | figure | gitcfg | baseline (same run) | ratio | target | |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of report.sections) {
    for (const f of s.figures) {
      lines.push(
        `| ${s.section} | ${f.metric} | ${fmt(f.value)} ${f.unit} | ${f.baseline.name}: ${fmt(f.baseline.value)} ${f.unit} | ${ratio(f)} (${f.ratioMeaning}) | ${f.target ?? ''} | ${verdict(f)} |`,
      );
    }
  }
  return lines.join('\n');
}

/** Replaces the table between `<!-- bench:begin -->` and `<!-- bench:end -->` in docs/performance.md. */
export function updatePerformanceDoc(table: string): void {
  const docs = join(ROOT, 'docs', 'performance.md');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const text = readFileSync(docs, 'utf8');
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`docs/performance.md has no ${begin} ... ${end} block`);
  writeFileSync(docs, `${text.slice(0, a + begin.length)}\n\n${table}\n\n${text.slice(b)}`);
}
