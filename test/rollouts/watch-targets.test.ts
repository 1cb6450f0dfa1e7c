import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { createMetrics } from '../../src/metrics/index.js';
import { WatchHub } from '../../src/server/index.js';
import { SnapshotStore } from '../../src/snapshot/index.js';
import type { Snapshot } from '../../src/snapshot/index.js';

/** The parts of a response the hub writes to. */
class FakeResponse extends EventEmitter {
  readonly chunks: string[] = [];
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  end(): this {
    return this;
  }
  events(): string[] {
    return this.chunks.filter((c) => c.startsWith('id: ')).map((c) => c.split('\n')[0]!.slice(4));
  }
}

const snapshot = (commit: string) => ({ commit, configs: new Map() }) as unknown as Snapshot;

test('watchers with a rollout target wake when their client moves, not on every promotion', async () => {
  const store = new SnapshotStore();
  const hub = new WatchHub(store, createMetrics({ processMetrics: false }), 60_000);
  store.promote(snapshot('a'));
  // What a stable client of the rollout should see: `a` until the rollout moves it.
  let seen = 'a';
  const target = () => seen;
  const sse = new FakeResponse();
  hub.stream(sse as unknown as ServerResponse, 'prod', null, target);
  const plain = new FakeResponse();
  hub.stream(plain as unknown as ServerResponse, 'prod', null);
  let answered: string | null | undefined;
  void hub.wait('prod', 'a', 60_000, new FakeResponse() as unknown as ServerResponse, target).then((e) => {
    answered = e?.commit ?? null;
  });

  store.promote(snapshot('b')); // the candidate: a client on the stable is not told
  await Promise.resolve();
  assert.deepEqual(sse.events(), []);
  assert.equal(answered, undefined);
  assert.deepEqual(plain.events(), ['b']);

  hub.recheck('prod'); // nothing moved for this client
  assert.deepEqual(sse.events(), []);

  seen = 'b'; // the share grew past this client's bucket
  hub.recheck('prod');
  await Promise.resolve();
  assert.deepEqual(sse.events(), ['b']);
  assert.equal(answered, 'b');
  assert.deepEqual(plain.events(), ['b'], 'a watcher without a client is not told twice');
  hub.close();
});
