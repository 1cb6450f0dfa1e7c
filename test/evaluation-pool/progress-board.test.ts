/** The progress board a worker writes at every step and the pool's timer reads (no message per step). */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProgressBoard } from '../../src/evaluation-pool/protocol.js';

test('the board tells the last step, as another view of the same memory sees it', () => {
  const worker = new ProgressBoard();
  const pool = new ProgressBoard(worker.buffer);
  assert.equal(pool.at(), undefined, 'nothing before the first step');
  worker.step({ file: 'schemas/café.schema.json' });
  assert.deepEqual(pool.at(), { file: 'schemas/café.schema.json' });
  worker.step({ file: 'environments/prod/retry.yaml', namespace: 'retry', environment: 'prod' });
  assert.deepEqual(pool.at(), {
    file: 'environments/prod/retry.yaml',
    namespace: 'retry',
    environment: 'prod',
  });
  worker.step({ file: 'defaults/retry.yaml', namespace: 'retry' });
  assert.deepEqual(pool.at(), { file: 'defaults/retry.yaml', namespace: 'retry' });
  pool.clear();
  assert.equal(worker.at(), undefined, 'a new job has reported no step');
});

test('a step restarts the clock the pool reads', () => {
  const board = new ProgressBoard();
  board.startClock();
  const stamp = () => Atomics.load(new BigInt64Array(board.buffer, 0, 1), 0);
  Atomics.store(new BigInt64Array(board.buffer, 0, 1), 0, stamp() - 60_000n);
  assert.ok(board.idleMs() >= 60_000, 'a step begun a minute ago');
  board.step({ file: 'gitcfg.yaml' });
  assert.ok(board.idleMs() < 60_000, 'the new step is younger');
});

test('a path longer than the board is cut, never written past it', () => {
  const board = new ProgressBoard();
  const long = `defaults/${'a'.repeat(20_000)}.yaml`;
  board.step({ file: long, namespace: 'n' });
  const at = board.at();
  assert.ok(at && long.startsWith(at.file) && at.file.length < long.length);
});
