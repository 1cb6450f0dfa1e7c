/** Duration strings (`1h30m`, `90s`, `250ms`, `7d`): parsing and canonical formatting, in milliseconds. */

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Milliseconds of a duration string, or undefined when it is not one (units d, h, m, s, ms in that order). */
export function parseDuration(text: string): number | undefined {
  if (text === '') return undefined;
  const match = DURATION.exec(text);
  if (!match) return undefined;
  let total = 0;
  UNITS.forEach(([, factor], i) => {
    const part = match[i + 1];
    if (part !== undefined) total += Number(part) * factor;
  });
  return Number.isSafeInteger(total) ? total : undefined;
}

/** Canonical duration string of a whole, non-negative number of milliseconds (`5400000` -> `1h30m`). */
export function formatDuration(milliseconds: number): string {
  if (milliseconds === 0) return '0s';
  let rest = milliseconds;
  let text = '';
  for (const [unit, factor] of UNITS) {
    const count = Math.floor(rest / factor);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * factor;
  }
  return text;
}
