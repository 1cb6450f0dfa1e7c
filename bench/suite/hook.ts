/**
 * Hook section: whole-process `gitcfg validate --staged` on generated repositories, measured by
 * bench/validate.ts (run as a child; its table is parsed), against a bare `node -e ''` start in the same run.
 * `hookOnCheckout` measures the same two cases on a checkout of a sync size's repository (the growth table).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/child.js';
import { compileSources } from '../lib/compile.js';
import { timeProcess } from '../lib/cpu.js';
import type { ProcessSample } from '../lib/cpu.js';
import { figure } from '../lib/result.js';
import type { Figure, SectionResult } from '../lib/result.js';
import { median } from '../lib/stats.js';

/** Targets as ratios to the same run's node start: `--no-cache` with compiled validators warm, and a fresh clone. */
const TARGET_RATIO: Record<number, number> = { 100: 8, 1000: 25 };
const FRESH_CLONE_RATIO = 30;

/** Options of the hook section. */
export interface HookOptions {
  sizes: number[];
  runs: number;
  log: (line: string) => void;
}

interface Row {
  size: number | null;
  command: string;
  wall: number;
  cpu: number;
}

/** Parses the table bench/validate.ts prints (columns separated by two or more spaces). */
export function parseValidateTable(text: string): Row[] {
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    const cells = line.trim().split(/\s{2,}/);
    const size = /^(\d+) x \d+$/.exec(cells[0] ?? '');
    if ((!size && cells[0] !== '-') || cells.length < 4) continue;
    rows.push({
      size: size ? Number(size[1]) : null,
      command: cells[1]!,
      wall: Number(cells[2]),
      cpu: Number(cells[3]),
    });
  }
  return rows;
}

/** Runs the hook section. */
export async function benchHook(opts: HookOptions): Promise<SectionResult> {
  const args = [
    '--import',
    'tsx',
    'bench/validate.ts',
    '--sizes',
    opts.sizes.join(','),
    '--runs',
    String(opts.runs),
  ];
  const text = await new Promise<string>((resolve, reject) => {
    const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    proc.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`bench/validate.ts exited ${code}:\n${out}`)),
    );
  });
  const rows = parseValidateTable(text);
  const nodeStart = rows.find((r) => r.size === null);
  if (!nodeStart) throw new Error(`no baseline row in:\n${text}`);
  const figures = [];
  const details: Record<string, unknown> = { runs: opts.runs, nodeStartMs: nodeStart.wall, rows };
  for (const size of opts.sizes) {
    const of = (command: string): Row => {
      const row = rows.find((r) => r.size === size && r.command === command);
      if (!row) throw new Error(`no row for ${size} x ${command} in:\n${text}`);
      return row;
    };
    const full = of('validate --staged --no-cache');
    const fresh = of('validate --staged --no-cache, fresh clone');
    const everyday = of('validate --staged, 1 file changed');
    opts.log(
      `  hook ${size} x 4: validate --staged ${full.wall} ms (no cache), ${fresh.wall} ms (fresh clone), ${everyday.wall} ms (1 file changed); node start ${nodeStart.wall} ms`,
    );
    for (const [label, row, ratio] of [
      ['every namespace checked (--no-cache, compiled validators cached)', full, TARGET_RATIO[size]],
      ['fresh clone (no cache of any kind)', fresh, FRESH_CLONE_RATIO],
      ['one file changed (validation cache)', everyday, undefined],
    ] as const) {
      figures.push(
        figure(
          `gitcfg validate --staged, ${size} namespaces x 4 envs, ${label}`,
          'ms',
          row.wall,
          {
            name: "node -e '' (process start)",
            value: nodeStart.wall,
          },
          {
            ratioMeaning: 'gitcfg / baseline',
            ...(ratio !== undefined
              ? { target: `<= ${ratio}x node start`, met: row.wall <= ratio * nodeStart.wall }
              : {}),
          },
        ),
      );
    }
  }
  return { section: 'hook', figures, details };
}

/** Medians of `runs` runs after one uncounted run; `before` runs untimed before each, the uncounted one too. */
function medianRuns(runs: number, run: () => ProcessSample, before?: (run: number) => void): ProcessSample {
  before?.(-1);
  run();
  const samples = Array.from({ length: runs }, (_, i) => {
    before?.(i);
    return run();
  });
  return { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) };
}

/** Options of `hookOnCheckout`. */
export interface CheckoutHookOptions {
  /** A checkout (work tree) of a generated repository. */
  dir: string;
  /** Growth-table column (`10k`) and the figures' label. */
  size: string;
  label: string;
  runs: number;
  log: (line: string) => void;
}

/**
 * The hook's two cases on a checkout, with the compiled CLI, against `node -e ''` measured just before: every
 * namespace checked (`--staged --no-cache`, compiled validators stored by the uncounted first run), and one
 * staged override changed with the validation cache warm (filled by the uncounted first run).
 */
export function hookOnCheckout(opts: CheckoutHookOptions): Figure[] {
  const cli = compileSources(opts.log);
  const nodeStart = medianRuns(opts.runs, () => timeProcess(process.execPath, ['-e', ''], opts.dir));
  const validate = (args: string[]) => () =>
    timeProcess(process.execPath, [cli, 'validate', '--staged', ...args], opts.dir);
  const cold = medianRuns(opts.runs, validate(['--no-cache']));
  const production = join('environments', 'production');
  const override = join(production, readdirSync(join(opts.dir, production)).sort()[0]!);
  const original = readFileSync(join(opts.dir, override), 'utf8');
  const warm = medianRuns(opts.runs, validate([]), (run) => {
    writeFileSync(join(opts.dir, override), `${original}# bench run ${run}\n`);
    spawnSync('git', ['add', override], { cwd: opts.dir });
  });
  opts.log(
    `  hook ${opts.label}: --no-cache ${cold.wall.toFixed(0)} ms (CPU ${cold.cpu.toFixed(0)}), one file changed ${warm.wall.toFixed(0)} ms (CPU ${warm.cpu.toFixed(0)}); node start ${nodeStart.wall.toFixed(0)} ms`,
  );
  const baseline = { name: "node -e '' (process start)", value: nodeStart.wall };
  return (
    [
      ['hook-cold', 'every namespace checked (--no-cache, compiled validators warm)', cold],
      ['hook-warm', 'one file changed (validation cache warm)', warm],
    ] as const
  ).map(([row, what, sample]) =>
    figure(`gitcfg validate --staged on a checkout of ${opts.label}, ${what}`, 'ms', sample.wall, baseline, {
      ratioMeaning: 'gitcfg / baseline',
      cpuMs: sample.cpu,
      growth: { row, size: opts.size },
    }),
  );
}
