/** A small line diff (LCS) rendered as unified-diff hunks, to show what a rewrite changes. */

type Edit = { op: ' ' | '-' | '+'; line: string };

/** Unified diff of two texts with `context` lines around changes; `''` when they are equal. */
export function unifiedDiff(
  before: string,
  after: string,
  labels: { from: string; to: string },
  context = 2,
): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  const edits = diffLines(a, b);
  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  let i = 0;
  while (i < edits.length) {
    if ((edits[i] as Edit).op === ' ') {
      i++;
      continue;
    }
    // Grow the hunk while changes are separated by at most 2*context unchanged lines.
    let start = Math.max(0, i - context);
    let end = i;
    for (;;) {
      while (end < edits.length && (edits[end] as Edit).op !== ' ') end++;
      let gap = end;
      while (gap < edits.length && (edits[gap] as Edit).op === ' ') gap++;
      if (gap < edits.length && gap - end <= 2 * context) end = gap;
      else break;
    }
    const stop = Math.min(edits.length, end + context);
    const oldStart = edits.slice(0, start).filter((e) => e.op !== '+').length + 1;
    const newStart = edits.slice(0, start).filter((e) => e.op !== '-').length + 1;
    const hunk = edits.slice(start, stop);
    const oldCount = hunk.filter((e) => e.op !== '+').length;
    const newCount = hunk.filter((e) => e.op !== '-').length;
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`);
    for (const edit of hunk) out.push(`${edit.op}${edit.line}`);
    i = stop;
    start = stop;
  }
  return `${out.join('\n')}\n`;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Edit script: common prefix and suffix, then an LCS of the middle (or remove-all/add-all when it is huge). */
function diffLines(a: readonly string[], b: readonly string[]): Edit[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const same = (lines: readonly string[]): Edit[] => lines.map((line) => ({ op: ' ', line }));
  const middleA = a.slice(start, endA);
  const middleB = b.slice(start, endB);
  const middle =
    middleA.length * middleB.length > MAX_LCS_CELLS
      ? [
          ...middleA.map((line): Edit => ({ op: '-', line })),
          ...middleB.map((line): Edit => ({ op: '+', line })),
        ]
      : lcsEdits(middleA, middleB);
  return [...same(a.slice(0, start)), ...middle, ...same(a.slice(endA))];
}

/** Above this many table cells the LCS would cost too much memory; the middle is shown replaced whole. */
const MAX_LCS_CELLS = 4_000_000;

/** Longest-common-subsequence edit script (quadratic: only for the part between common prefix and suffix). */
function lcsEdits(a: readonly string[], b: readonly string[]): Edit[] {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const table = new Uint32Array(rows * cols);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i * cols + j] =
        a[i] === b[j]
          ? (table[(i + 1) * cols + j + 1] as number) + 1
          : Math.max(table[(i + 1) * cols + j] as number, table[i * cols + j + 1] as number);
    }
  }
  const edits: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      edits.push({ op: ' ', line: a[i++] as string });
      j++;
    } else if ((table[(i + 1) * cols + j] as number) >= (table[i * cols + j + 1] as number)) {
      edits.push({ op: '-', line: a[i++] as string });
    } else {
      edits.push({ op: '+', line: b[j++] as string });
    }
  }
  while (i < a.length) edits.push({ op: '-', line: a[i++] as string });
  while (j < b.length) edits.push({ op: '+', line: b[j++] as string });
  return edits;
}
