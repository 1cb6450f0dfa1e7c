import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { unifiedDiff } from '../../src/migrate/index.js';

/** Applies a unified diff to `before` (checking every context and removed line), returning the new text. */
function applyPatch(before: string, patch: string): string {
  const source = before.split('\n');
  if (source.at(-1) === '') source.pop();
  const lines = patch.split('\n');
  assert.match(lines[0] ?? '', /^--- /);
  assert.match(lines[1] ?? '', /^\+\+\+ /);
  const out: string[] = [];
  let cursor = 0;
  for (let i = 2; i < lines.length && lines[i] !== '';) {
    const header = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$/.exec(lines[i] ?? '');
    assert.ok(header, `hunk header expected: ${lines[i]}`);
    const oldStart = Number(header[1]) - 1;
    assert.ok(oldStart >= cursor, 'hunks are ordered and do not overlap');
    out.push(...source.slice(cursor, oldStart));
    cursor = oldStart;
    let oldCount = 0;
    let newCount = 0;
    for (i++; i < lines.length && /^[ +-]/.test(lines[i] ?? ''); i++) {
      const line = lines[i] as string;
      const text = line.slice(1);
      if (line[0] !== '+') {
        assert.equal(source[cursor], text, `line ${cursor + 1} of the original`);
        cursor++;
        oldCount++;
      }
      if (line[0] !== '-') {
        out.push(text);
        newCount++;
      }
    }
    assert.deepEqual([oldCount, newCount], [Number(header[2]), Number(header[4])]);
  }
  out.push(...source.slice(cursor));
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** Deterministic pseudo-random numbers (the same cases on every run). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    assert.equal(unifiedDiff('a\nb\n', 'a\nb\n', { from: 'a', to: 'b' }), '');
  });

  it('shows context around a change and labels both sides', () => {
    const patch = unifiedDiff('1\n2\n3\n4\n5\n6\n7\n', '1\n2\n3\nfour\n5\n6\n7\n', {
      from: 'a/x',
      to: 'b/x',
    });
    assert.equal(patch, '--- a/x\n+++ b/x\n@@ -2,5 +2,5 @@\n 2\n 3\n-4\n+four\n 5\n 6\n');
  });

  it('applied as a patch, turns the old text into the new one (random edits)', () => {
    const next = random(7);
    for (let round = 0; round < 200; round++) {
      const before = Array.from({ length: Math.floor(next() * 30) }, () => `line ${Math.floor(next() * 8)}`);
      const after = before.flatMap((line) => {
        const dice = next();
        if (dice < 0.15) return [];
        if (dice < 0.3) return [`new ${Math.floor(next() * 8)}`, line];
        if (dice < 0.4) return [`changed ${line}`];
        return [line];
      });
      const a = before.length ? `${before.join('\n')}\n` : '';
      const b = after.length ? `${after.join('\n')}\n` : '';
      assert.equal(
        applyPatch(a, unifiedDiff(a, b, { from: 'a', to: 'b' }) || '--- a\n+++ b\n'),
        b,
        `round ${round}`,
      );
    }
  });

  it('stays correct on files too large to compare line by line', () => {
    const before = Array.from({ length: 5000 }, (_, i) => `key${i}: ${i}`);
    const after = before.map((line, i) => (i % 2 === 0 ? line.replace(':', ' =') : line));
    const a = `${before.join('\n')}\n`;
    const b = `${after.join('\n')}\n`;
    assert.equal(applyPatch(a, unifiedDiff(a, b, { from: 'a', to: 'b' })), b);
  });
});
