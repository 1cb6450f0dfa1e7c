/**
 * Whole-process cost of `gitcfg validate` (what the pre-commit hook pays on every commit), from the compiled
 * CLI. The sources are compiled with tsconfig.build.json into bench/.work/dist (so the project's own dist/,
 * which bin/gitcfg.js prefers, is left alone); `--dist` measures the existing dist/ of `npm run build`
 * instead. Generates repos of N namespaces x 4 environments (bench/lib/generate-repo.ts) in a temp dir and prints medians next to two
 * baselines measured in the same run: a bare node start (`node -e ''`) and `git ls-files -s`. `--no-cache`
 * rows re-check every namespace with the compiled validators of .git/gitcfg warm; the fresh-clone row removes
 * .git/gitcfg before each run (nothing cached at all). `--base <main.js>` also runs another compiled CLI (e.g.
 * the code before a change, compiled into a second folder), alternating with this one run by run, so a
 * before/after comparison shares the machine's load; `--cases` picks rows (fresh,worktree,staged,ref,one).
 * Peak RSS comes from /usr/bin/time when present.
 *
 *   node --import tsx bench/validate.ts [--dist] [--runs 7] [--sizes 100,1000] [--base old/main.js] [--cases staged]
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compileSources } from './lib/compile.js';
import { childrenCpuMs } from './lib/cpu.js';
import { generateRepo } from './lib/generate-repo.js';
import { median } from './lib/stats.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Targets as ratios to the same run's node start (bench/suite/hook.ts). */
const TARGET_RATIO: Record<number, number> = { 100: 8, 1000: 25 };

const { values } = parseArgs({
  options: {
    dist: { type: 'boolean', default: false },
    runs: { type: 'string', default: '7' },
    sizes: { type: 'string', default: '100,1000' },
    base: { type: 'string' },
    cases: { type: 'string', default: 'fresh,worktree,staged,ref,one' },
  },
});
const runs = Number(values.runs);
const sizes = values.sizes.split(',').map(Number);
const cases = new Set(values.cases.split(','));
const TIME = '/usr/bin/time';
const hasTime = existsSync(TIME);

const mainJs = values.dist ? join(root, 'dist', 'src', 'cli', 'main.js') : compileSources();
if (!existsSync(mainJs)) throw new Error(`${mainJs} missing: build first (npm run build)`);

interface Sample {
  wall: number;
  cpu: number;
  /** Peak RSS in MB (NaN without /usr/bin/time). */
  rss: number;
}

/** Wall and CPU milliseconds of one process run; throws when the exit code is not `expect`. */
function timeProcess(command: string, args: string[], cwd: string, expect = 0): Sample {
  const cpuBefore = childrenCpuMs();
  const start = process.hrtime.bigint();
  const result = hasTime
    ? spawnSync(TIME, ['-f', 'gitcfg-bench-maxrss %M', command, ...args], { cwd, encoding: 'utf8' })
    : spawnSync(command, args, { cwd, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== expect) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stdout}${result.stderr}`);
  }
  const kb = /gitcfg-bench-maxrss (\d+)/.exec(result.stderr ?? '')?.[1];
  return { wall, cpu: childrenCpuMs() - cpuBefore, rss: kb === undefined ? Number.NaN : Number(kb) / 1024 };
}

const medianSample = (samples: Sample[]): Sample => ({
  wall: median(samples.map((s) => s.wall)),
  cpu: median(samples.map((s) => s.cpu)),
  rss: median(samples.map((s) => s.rss)),
});

/**
 * Medians over `runs` runs of each command after one uncounted warm-up run each (OS file cache); the commands
 * alternate run by run; `before` runs untimed before every run.
 */
function measureEach(
  commands: Array<[string, string[], string]>,
  before?: (run: number, cwd: string) => void,
): Sample[] {
  const samples: Sample[][] = commands.map(() => []);
  for (let run = -1; run < runs; run++) {
    commands.forEach(([command, args, cwd], i) => {
      before?.(run, cwd);
      const sample = timeProcess(command, args, cwd);
      if (run >= 0) samples[i]!.push(sample);
    });
  }
  return samples.map(medianSample);
}

function measure(command: string, args: string[], cwd: string): Sample {
  return measureEach([[command, args, cwd]])[0]!;
}

function cells(sample: Sample): [string, string, string] {
  return [
    sample.wall.toFixed(0),
    Number.isNaN(sample.cpu) ? '-' : sample.cpu.toFixed(0),
    Number.isNaN(sample.rss) ? '-' : sample.rss.toFixed(0),
  ];
}

const work = mkdtempSync(join(tmpdir(), 'gitcfg-bench-validate-'));
try {
  const rows: string[][] = [];
  const nodeStart = measure(process.execPath, ['-e', ''], work);
  for (const size of sizes) {
    const dir = join(work, `repo-${size}`);
    mkdirSync(dir);
    await generateRepo({ dir, namespaces: size, environments: 4, commits: 1 });
    const lsFiles = measure('git', ['ls-files', '-s'], dir);
    // Each CLI gets its own copy of the repository: the two builds' validator files carry different salts.
    const clis: Array<[string, string]> = [[mainJs, dir]];
    if (values.base) {
      cpSync(dir, `${dir}-base`, { recursive: true });
      clis.push([resolve(values.base), `${dir}-base`]);
    }
    const cli = (args: string[], before?: (run: number, dir: string) => void) =>
      measureEach(
        clis.map(([js, cwd]) => [process.execPath, [js, 'validate', ...args], cwd]),
        before,
      );
    // The hook's everyday case: one override changed and staged, every other namespace known valid.
    const override = readdirSync(join(dir, 'environments', 'production'))[0] as string;
    const overridePath = join('environments', 'production', override);
    const original = readFileSync(join(dir, overridePath), 'utf8');
    const stageOneChange = (run: number, cwd: string) => {
      writeFileSync(join(cwd, overridePath), `${original}# bench run ${run}\n`);
      spawnSync('git', ['add', overridePath], { cwd });
    };
    // A fresh clone: no cache of any kind (validation results and compiled validators live in .git/gitcfg).
    const freshClone = (_run: number, cwd: string) =>
      rmSync(join(cwd, '.git', 'gitcfg'), { recursive: true, force: true });
    const all: Array<[string, string, () => Sample[]]> = [
      [
        'fresh',
        'validate --staged --no-cache, fresh clone',
        () => cli(['--staged', '--no-cache'], freshClone),
      ],
      ['worktree', 'validate --no-cache (working tree)', () => cli(['--no-cache'])],
      ['staged', 'validate --staged --no-cache', () => cli(['--staged', '--no-cache'])],
      ['ref', 'validate --ref HEAD --no-cache', () => cli(['--ref', 'HEAD', '--no-cache'])],
      ['one', 'validate --staged, 1 file changed', () => cli(['--staged'], stageOneChange)],
    ];
    // The compiled validators of .git/gitcfg are written by the first --no-cache run (warm-up) of each case.
    const measured: Array<[string, Sample]> = all
      .filter(([key]) => cases.has(key))
      .flatMap(([, label, run]) => {
        const [current, base] = run();
        return base
          ? [[label, current!] as [string, Sample], [`${label} (base)`, base]]
          : [[label, current!]];
      });
    const target = TARGET_RATIO[size];
    const ratio = (ms: number) => `${(ms / nodeStart.wall).toFixed(1)}x`;
    const verdict = (ms: number) =>
      target === undefined ? '' : ms <= target * nodeStart.wall ? 'ok' : 'OVER';
    for (const [label, sample] of measured) {
      rows.push([
        `${size} x 4`,
        label,
        ...cells(sample),
        ratio(sample.wall),
        target ? `${target}x` : '',
        verdict(sample.wall),
      ]);
    }
    rows.push([`${size} x 4`, 'git ls-files -s', ...cells(lsFiles), '', '', '']);
  }
  rows.push(['-', "node -e ''", ...cells(nodeStart), '1x', '', '']);
  console.log(
    `\nmedian of ${runs} runs, milliseconds (node ${process.version}, load ${loadavg()[0]?.toFixed(1)})\n`,
  );
  const header = ['repo', 'command', 'wall', 'cpu', 'rss MB', 'vs node', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows])
    console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  '));
} finally {
  rmSync(work, { recursive: true, force: true });
}
