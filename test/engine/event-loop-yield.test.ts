import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialFiles } from '../../bench/lib/generate-repo.js';
import { EngineCache, evaluateRepo, memorySource } from '../../src/engine/index.js';

/** Counts timer callbacks that run until `work` settles (0 when `work` never gives the event loop a turn). */
async function timerTurnsDuring<T>(work: () => Promise<T>): Promise<{ turns: number; result: T }> {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns++;
    setTimeout(tick, 0);
  };
  const first = setTimeout(tick, 0);
  try {
    const result = await work();
    return { turns, result };
  } finally {
    running = false;
    clearTimeout(first);
  }
}

const files = (namespaces: number): Record<string, string> =>
  Object.fromEntries(initialFiles(namespaces).map((f) => [f.path, f.content]));

test('a cold evaluation gives the event loop turns (timers run while it works)', async () => {
  // memorySource answers reads without I/O: only the engine's own pauses can let a timer run.
  const source = memorySource(files(200));
  const { turns, result } = await timerTurnsDuring(() => evaluateRepo(source, { yieldEveryMs: 1 }));
  assert.equal(result.ok, true);
  assert.equal(result.configs.size, 200 * 4);
  assert.ok(turns > 0, 'timers ran during the evaluation');

  // yieldEveryMs 0 turns the pauses off: the same work then runs without a single timer in between.
  const off = await timerTurnsDuring(() =>
    evaluateRepo(source, { yieldEveryMs: 0, cache: new EngineCache() }),
  );
  assert.equal(off.turns, 0);
  assert.deepEqual([...off.result.configs.keys()], [...result.configs.keys()]);
});
