/** Child processes of the benchmark suite: TypeScript entry points that print one JSON line when ready. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Root of the project, computed from this file's location. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A running child and the JSON line it printed. */
export interface JsonChild<T> {
  proc: ChildProcess;
  ready: T;
  /** The next JSON line it prints (after `ready`). */
  next<U>(): Promise<U>;
  /** Ends its stdin (the children stop on that) and waits for the exit; kills it after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns `node --import tsx <script> ...args` (script relative to the project root), optionally with the soft
 * file-descriptor limit raised to the hard limit, and resolves with the first JSON line it prints.
 */
export function spawnJsonChild<T>(
  script: string,
  args: string[] = [],
  opts: { raiseFdLimit?: boolean; env?: Record<string, string> } = {},
): Promise<JsonChild<T>> {
  const argv = ['--import', 'tsx', script, ...args];
  const options = {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'inherit'] as ['pipe', 'pipe', 'inherit'],
  };
  const proc = opts.raiseFdLimit
    ? spawn(
        'sh',
        ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...argv],
        options,
      )
    : spawn(process.execPath, argv, options);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((r) =>
    proc.once('exit', (code) => {
      exitCode = code;
      r();
      for (const w of waiting.splice(0)) w.reject(new Error(`${script} exited with ${code}`));
    }),
  );
  const lines: string[] = [];
  const waiting: Array<{ resolve(line: string): void; reject(error: Error): void }> = [];
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const w = waiting.shift();
      if (w) w.resolve(line);
      else lines.push(line);
    }
  });
  const nextLine = (): Promise<string> => {
    const line = lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (exitCode !== undefined) return Promise.reject(new Error(`${script} exited with ${exitCode}`));
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  };
  return nextLine().then((line) => ({
    proc,
    ready: JSON.parse(line) as T,
    next: async <U>() => JSON.parse(await nextLine()) as U,
    async stop(graceMs = 10_000) {
      proc.stdin!.end();
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  }));
}
