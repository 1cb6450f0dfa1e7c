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
}

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
  opts: { ratioMeaning: string; target?: string; met?: boolean; invert?: boolean },
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
  };
}
