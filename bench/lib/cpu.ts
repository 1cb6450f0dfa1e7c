/**
 * CPU time (user + system) of processes, from /proc (Linux; NaN elsewhere): the suite reports it beside wall
 * time, which a shared machine stretches far more than CPU.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** Fields after `(comm)` of /proc/<pid>/stat: utime, stime, cutime, cstime are fields 14-17 of the whole line. */
function statTicks(pid: number | 'self'): { own: number; children: number } {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]));
    return { own: utime! + stime!, children: cutime! + cstime! };
  } catch {
    return { own: Number.NaN, children: Number.NaN };
  }
}

const toMs = (ticks: number): number => (ticks * 1000) / TICKS_PER_SECOND;

/** CPU milliseconds of a live process so far, its waited-for children (a clone process) included. */
export function processCpuMs(pid: number): number {
  const { own, children } = statTicks(pid);
  return toMs(own + children);
}

/** CPU milliseconds of this process's waited-for children so far. */
export function childrenCpuMs(): number {
  return toMs(statTicks('self').children);
}

/** Wall and CPU milliseconds of one run of a process. */
export interface ProcessSample {
  wall: number;
  cpu: number;
}

/**
 * Runs a process to its end (synchronously: nothing else of this process runs meanwhile, so the CPU of the
 * children it waited for is this one's) and measures it; throws, with its output, when it does not exit 0.
 */
export function timeProcess(command: string, args: string[], cwd: string): ProcessSample {
  const cpuBefore = childrenCpuMs();
  const start = performance.now();
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const wall = performance.now() - start;
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status ?? result.signal}: ${result.stdout.slice(-2000)}${result.stderr.slice(-2000)}`,
    );
  }
  return { wall, cpu: childrenCpuMs() - cpuBefore };
}
