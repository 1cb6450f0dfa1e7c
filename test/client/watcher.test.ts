/**
 * The watcher over a scripted transport: each request the client makes is answered by the test, in order, so
 * the ordering, reconnect and abort paths run without a server and without timers.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ConfigChange, JsonObject } from '../../src/client/index.js';
import { GitcfgClientError } from '../../src/client/index.js';
import { CommitOrder } from '../../src/client/commit-order.js';
import { NamespaceCopies } from '../../src/client/namespace-copies.js';
import { AbortedError } from '../../src/client/transport.js';
import type { HttpAnswer, RequestOptions, Transport } from '../../src/client/transport.js';
import { Watcher } from '../../src/client/watcher.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const D = 'd'.repeat(40);
const ENV = 'production';
const CONFIG = `/v1/config/ml/${ENV}`;
const poll = (since: string) => `/v1/watch/${ENV}?timeout=30&since=${since}`;

interface Pending {
  path: string;
  options: RequestOptions;
  answer(answer: HttpAnswer): void;
  fail(error: unknown): void;
}

/** A transport whose requests wait until the test answers them; retry sleeps are recorded and end at once. */
class ScriptedTransport implements Transport {
  closed = false;
  /** Every request made, in order. */
  readonly made: string[] = [];
  /** The attempts of every retry sleep, in order. */
  readonly sleeps: number[] = [];
  readonly #queue: Pending[] = [];
  readonly #waiters: ((pending: Pending) => void)[] = [];

  url(path: string): string {
    return `http://gitcfg.test${path}`;
  }

  request(path: string, options: RequestOptions = {}): Promise<HttpAnswer> {
    if (this.closed || options.signal?.aborted) return Promise.reject(new AbortedError('closed'));
    this.made.push(path);
    return new Promise((resolve, reject) => {
      options.signal?.addEventListener('abort', () => reject(new AbortedError('aborted')), { once: true });
      const pending: Pending = { path, options, answer: resolve, fail: reject };
      const waiter = this.#waiters.shift();
      if (waiter) waiter(pending);
      else this.#queue.push(pending);
    });
  }

  /** The next request the client makes (already made, or the one it makes next). */
  next(): Promise<Pending> {
    const pending = this.#queue.shift();
    return pending ? Promise.resolve(pending) : new Promise((resolve) => this.#waiters.push(resolve));
  }

  retrySleep(attempt: number): Promise<void> {
    this.sleeps.push(attempt);
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
  }
}

function document(commit: string, etag: string, value: JsonObject): HttpAnswer {
  const headers = new Headers({ etag, 'gitcfg-commit': commit });
  return { status: 200, headers, body: JSON.stringify(value) };
}

function notModified(commit: string): HttpAnswer {
  return { status: 304, headers: new Headers({ 'gitcfg-commit': commit }), body: '' };
}

function announcement(commit: string, namespaces: string[]): HttpAnswer {
  const changed = namespaces.map((namespace) => ({ namespace, environment: ENV }));
  return { status: 200, headers: new Headers(), body: JSON.stringify({ commit, changed }) };
}

/** Lets pending promise callbacks run (no clock involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

function setup() {
  const transport = new ScriptedTransport();
  const commits = new CommitOrder();
  const copies = new NamespaceCopies({ transport, commits, environment: ENV, maxAgeMs: 0 });
  const watcher = new Watcher({
    transport,
    copies,
    render: (_state, entry) => Promise.resolve({ key: '', value: entry.value, applied: [] }),
    commits,
    environment: ENV,
    watchTimeoutSeconds: 30,
    timeoutMs: 1000,
  });
  const deliveries: { doc: JsonObject; change: ConfigChange }[] = [];
  const errors: Error[] = [];
  const state = copies.state('ml');
  const unsubscribe = watcher.watch(
    state,
    (doc, change) => void deliveries.push({ doc, change }),
    (error) => errors.push(error),
  );
  /** Answers the next request, after checking it is the one expected. */
  const answer = async (path: string, reply: HttpAnswer | Error, etag?: string) => {
    const request = await transport.next();
    assert.equal(request.path, path);
    if (etag !== undefined) assert.equal(request.options.etag, etag, `If-None-Match of ${path}`);
    if (reply instanceof Error) request.fail(reply);
    else request.answer(reply);
    return request;
  };
  return { transport, copies, watcher, state, deliveries, errors, unsubscribe, answer };
}

describe('client watcher (scripted transport)', () => {
  it('delivers changes in commit order: an older commit after a newer one is skipped', async () => {
    const { transport, watcher, deliveries, errors, answer } = setup();
    await answer(CONFIG, document(A, '"a"', { size: 1 })); // the baseline, not a change
    await answer(poll(A), announcement(B, ['ml']));
    await answer(CONFIG, document(B, '"b"', { size: 2 }), '"a"');
    await answer(poll(B), announcement(C, ['ml']));
    // A lagging replica answers with the older commit: asked again a few times, then skipped.
    for (let i = 0; i < 4; i++) await answer(CONFIG, document(A, '"a"', { size: 1 }));
    await answer(poll(C), announcement(D, ['ml']));
    await answer(CONFIG, document(D, '"d"', { size: 3 }));
    await transport.next(); // the next long-poll: everything before it is delivered
    assert.deepEqual(deliveries, [
      {
        doc: { size: 2 },
        change: { namespace: 'ml', environment: ENV, commit: B, previousCommit: A, etag: '"b"' },
      },
      {
        doc: { size: 3 },
        change: { namespace: 'ml', environment: ENV, commit: D, previousCommit: B, etag: '"d"' },
      },
    ]);
    assert.deepEqual(transport.sleeps, [0, 1, 2, 3], 'the lagging replica was asked again with backoff');
    assert.deepEqual(errors, []);
    watcher.close();
  });

  it('delivers only what changed: other namespaces and unchanged documents are no delivery', async () => {
    const { transport, watcher, deliveries, answer } = setup();
    await answer(CONFIG, document(A, '"a"', { size: 1 }));
    await answer(poll(A), announcement(B, ['cache'])); // ml not listed: not even revalidated
    await answer(poll(B), announcement(C, ['ml']));
    await answer(CONFIG, notModified(C), '"a"'); // a commit that left ml as it was
    await answer(poll(C), announcement(D, ['ml']));
    await answer(CONFIG, document(D, '"d"', { size: 4 }), '"a"');
    await transport.next();
    assert.deepEqual(
      deliveries.map((d) => d.change),
      // The previous commit is the one of the document delivered (or known) before: C changed nothing.
      [{ namespace: 'ml', environment: ENV, commit: D, previousCommit: A, etag: '"d"' }],
    );
    assert.deepEqual(deliveries[0]!.doc, { size: 4 });
    assert.ok(Object.isFrozen(deliveries[0]!.doc), 'delivered documents are shared, so frozen');
    watcher.close();
  });

  it('reconnects after a dropped stream: reports the outage, backs off, catches up, then follows again', async () => {
    const { transport, copies, watcher, state, deliveries, errors, answer } = setup();
    await answer(CONFIG, document(A, '"a"', { size: 1 }));
    const dropped = new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
    await answer(poll(A), dropped);
    // Still down while catching up: the backoff grows, only a poll that works resets it.
    await answer(CONFIG, new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }), '"a"');
    const catchUp = await transport.next();
    assert.equal(catchUp.path, CONFIG);
    const stale = copies.metadata('ml', state.entry!);
    assert.equal(stale.stale, true);
    assert.match(
      stale.lastError ?? '',
      /GET http:\/\/gitcfg\.test\/v1\/config\/ml\/production failed: .*ECONNREFUSED/,
    );
    catchUp.answer(notModified(A)); // back, on the same commit: nothing to deliver
    await answer(poll(A), announcement(B, ['ml']));
    await answer(CONFIG, document(B, '"b"', { size: 2 }), '"a"');
    await transport.next();
    assert.deepEqual(transport.sleeps, [0, 1]);
    assert.equal(errors.length, 1, 'one report for the dropped poll');
    assert.ok(errors[0] instanceof GitcfgClientError);
    assert.equal(errors[0].code, 'E_UNAVAILABLE');
    assert.match(
      errors[0].message,
      /GET http:\/\/gitcfg\.test\/v1\/watch\/production\?.* failed: .*ECONNRESET/,
    );
    assert.deepEqual(
      deliveries.map((d) => d.change),
      [{ namespace: 'ml', environment: ENV, commit: B, previousCommit: A, etag: '"b"' }],
    );
    assert.equal(copies.metadata('ml', state.entry!).stale, false, 'fresh again once the server answered');
    watcher.close();
  });

  it('aborts the long-poll when the last subscriber leaves and on close, and then asks nothing more', async () => {
    const { transport, watcher, state, deliveries, unsubscribe, answer } = setup();
    await answer(CONFIG, document(A, '"a"', { size: 1 }));
    const first = await transport.next();
    assert.equal(first.path, poll(A));
    unsubscribe();
    assert.equal(first.options.signal?.aborted, true);
    await settle();
    assert.deepEqual(transport.made, [CONFIG, poll(A)], 'no poll without subscribers');

    const late: JsonObject[] = [];
    watcher.watch(state, (doc) => void late.push(doc));
    const second = await transport.next(); // the baseline is kept: straight to the long-poll
    assert.equal(second.path, poll(A));
    watcher.close();
    assert.equal(second.options.signal?.aborted, true);
    second.answer(announcement(B, ['ml'])); // too late: the poll was aborted
    await settle();
    assert.deepEqual(transport.made, [CONFIG, poll(A), poll(A)]);
    assert.deepEqual(deliveries, []);
    assert.deepEqual(late, []);
  });
});
