/** Shape of the figures every benchmark section reports (written to bench/results/<date>.json). */

/** One measured figure next to the baseline measured in the same run. */
export interface Figure {
  /** What was measured, e.g. `GET /v1/config throughput`. */
  metric: string;
  unit: string;
  /** The gitcfg figure. */
  value: number;
  /** What it is compared with, measured in the same run. */
  baseline: { name: string; value: number };
  /** value / baseline (or baseline / value where higher is better; see `ratioMeaning`). */
  ratio: number;
  ratioMeaning: string;
  /** The target in words, e.g. `>= 0.6x`, and whether this run met it (null when there is no target). */
  target: string | null;
  met: boolean | null;
  /** CPU time (user + system) the measured work cost, where measured. */
  cpuMs?: number;
  /** Where the figure goes in the growth table of docs/performance.md: its row and size column. */
  growth?: { row: GrowthRow; size: string };
}

/** Rows of the growth table (1k / 10k / 50k columns), in order. */
export const GROWTH_ROWS = {
  'first-start-time': 'first start: clone -> served',
  'first-start-rss': 'first start: server RSS with the history index',
  'first-start-peak': 'first start: peak RSS (VmHWM)',
  'restart-rss': 'restart on the same data dir: server RSS',
  'one-file-sync': 'one-file sync: webhook -> served (median)',
  'hook-cold': 'hook: `validate --staged --no-cache`, compiled validators warm',
  'hook-warm': 'hook: `validate --staged`, one file changed, validation cache warm',
  history: 'history page: `GET /v1/history/:ns/:env?limit=20`',
  'old-commits-rss': 'old-commit reads (`?ref=`): peak RSS',
  'old-commits-p99': 'old-commit reads: p99 of plain reads meanwhile',
  'old-commits-time': 'old-commit reads: time per read (2 at a time)',
} as const;
export type GrowthRow = keyof typeof GROWTH_ROWS;

/** What one section of the suite returns. */
export interface SectionResult {
  section: string;
  figures: Figure[];
  /** Absolute numbers and settings, for context. */
  details: Record<string, unknown>;
}

/** Builds a figure; `higherIsBetter` decides how the ratio reads. */
export function figure(
  metric: string,
  unit: string,
  value: number,
  baseline: { name: string; value: number },
  opts: {
    ratioMeaning: string;
    target?: string;
    met?: boolean;
    invert?: boolean;
    cpuMs?: number;
    growth?: Figure['growth'];
  },
): Figure {
  const ratio = opts.invert ? baseline.value / value : value / baseline.value;
  return {
    metric,
    unit,
    value,
    baseline,
    ratio,
    ratioMeaning: opts.ratioMeaning,
    target: opts.target ?? null,
    met: opts.met ?? null,
    ...(opts.cpuMs !== undefined && Number.isFinite(opts.cpuMs) ? { cpuMs: opts.cpuMs } : {}),
    ...(opts.growth ? { growth: opts.growth } : {}),
  };
}
