/** Unified-diff hunks of a rewrite (the `diff` package), to show what a rewrite changes. */
import { createRequire } from 'node:module';
import type * as Diff from 'diff';

const requireHere = createRequire(import.meta.url);
/** Loaded on first use: only `gitcfg migrate` shows diffs, and every evaluation loads this module. */
let diff: typeof Diff | undefined;

/** Above this many edits the middle of the file is shown replaced whole (bounds time and memory). */
const MAX_EDIT_LENGTH = 1000;

/** Unified diff of two texts with `context` lines around changes; `''` when they are equal. */
export function unifiedDiff(
  before: string,
  after: string,
  labels: { from: string; to: string },
  context = 2,
): string {
  if (before === after) return '';
  // A missing final newline is not a change worth a "\ No newline" marker here.
  const a = withFinalNewline(before);
  const b = withFinalNewline(after);
  diff ??= requireHere('diff') as typeof Diff;
  const patch = diff.structuredPatch('', '', a, b, undefined, undefined, {
    context,
    maxEditLength: MAX_EDIT_LENGTH,
  });
  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  if (patch === undefined) {
    out.push(...replacedWhole(a, b));
  } else {
    for (const hunk of patch.hunks) {
      out.push(`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`, ...hunk.lines);
    }
  }
  return `${out.join('\n')}\n`;
}

function withFinalNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** One hunk replacing every line between the common prefix and suffix. */
function replacedWhole(before: string, after: string): string[] {
  const a = before.split('\n').slice(0, -1);
  const b = after.split('\n').slice(0, -1);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  // Unified diff numbers an empty range by the line before it.
  const range = (count: number): string => `${count === 0 ? start : start + 1},${count}`;
  return [
    `@@ -${range(endA - start)} +${range(endB - start)} @@`,
    ...a.slice(start, endA).map((line) => `-${line}`),
    ...b.slice(start, endB).map((line) => `+${line}`),
  ];
}
