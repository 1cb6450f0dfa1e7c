/**
 * Hook section: whole-process `gitcfg validate --staged` on generated repositories, measured by
 * bench/validate.ts (run as a child; its table is parsed), against a bare `node -e ''` start in the same run.
 */
import { spawn } from 'node:child_process';
import { ROOT } from '../lib/child.js';
import { figure } from '../lib/result.js';
import type { SectionResult } from '../lib/result.js';

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
