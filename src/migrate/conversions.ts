/** Built-in value conversions of `convert` operations; each named pair has its inverse (the swapped pair). */
import type { JsonPrimitive, JsonValue } from '../values/index.js';
import { formatDuration, parseDuration } from './duration.js';

/** Names usable in `convert: {from, to}`. */
export const CONVERSION_NAMES = [
  'seconds',
  'milliseconds',
  'duration',
  'scalar',
  'list',
  'string',
  'number',
] as const;

/** One of {@link CONVERSION_NAMES}. */
export type ConversionName = (typeof CONVERSION_NAMES)[number];

/** Outcome of converting one value: the new value, or why it cannot be converted. */
export type ConversionResult = { ok: true; value: JsonValue } | { ok: false; reason: string };

type Converter = (value: JsonValue) => ConversionResult;

const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Short description of a value for messages (type and a clipped rendering). */
export function describeValue(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 37)}...` : text}`;
}

function fail(reason: string): ConversionResult {
  return { ok: false, reason };
}

function numberToDuration(value: JsonValue, factor: number, unit: string): ConversionResult {
  if (typeof value !== 'number') return fail(`expected a number of ${unit}, found ${describeValue(value)}`);
  if (!Number.isFinite(value) || value < 0) return fail(`cannot express ${value} ${unit} as a duration`);
  const milliseconds = Math.round(value * factor);
  if (Math.abs(milliseconds - value * factor) > 1e-6) {
    return fail(`${value} ${unit} is finer than a millisecond`);
  }
  return { ok: true, value: formatDuration(milliseconds) };
}

function durationToNumber(value: JsonValue, factor: number): ConversionResult {
  if (typeof value !== 'string') return fail(`expected a duration string, found ${describeValue(value)}`);
  const milliseconds = parseDuration(value);
  if (milliseconds === undefined) return fail(`"${value}" is not a duration (e.g. 1h30m, 90s, 250ms)`);
  return { ok: true, value: milliseconds / factor };
}

function scale(unitFrom: string, factor: number): Converter {
  return (value) => {
    if (typeof value !== 'number')
      return fail(`expected a number of ${unitFrom}, found ${describeValue(value)}`);
    return { ok: true, value: value * factor };
  };
}

const CONVERTERS: Partial<Record<`${ConversionName}>${ConversionName}`, Converter>> = {
  'seconds>duration': (value) => numberToDuration(value, 1000, 'seconds'),
  'milliseconds>duration': (value) => numberToDuration(value, 1, 'milliseconds'),
  'duration>seconds': (value) => durationToNumber(value, 1000),
  'duration>milliseconds': (value) => durationToNumber(value, 1),
  'seconds>milliseconds': scale('seconds', 1000),
  'milliseconds>seconds': scale('milliseconds', 1 / 1000),
  'scalar>list': (value) =>
    value !== null && typeof value === 'object'
      ? fail(`expected a scalar, found ${describeValue(value)}`)
      : { ok: true, value: [value] },
  'list>scalar': (value) => {
    if (!Array.isArray(value)) return fail(`expected a list, found ${describeValue(value)}`);
    const [only] = value;
    if (value.length !== 1 || only === undefined || (only !== null && typeof only === 'object')) {
      return fail(`only a list of exactly one scalar can become a scalar, found ${describeValue(value)}`);
    }
    return { ok: true, value: only };
  },
  'string>number': (value) => {
    if (typeof value !== 'string') return fail(`expected a string, found ${describeValue(value)}`);
    const text = value.trim();
    return NUMBER_TEXT.test(text) ? { ok: true, value: Number(text) } : fail(`"${value}" is not a number`);
  },
  'number>string': (value) =>
    typeof value === 'number'
      ? { ok: true, value: String(value) }
      : fail(`expected a number, found ${describeValue(value)}`),
};

/** Whether `from -> to` is a built-in conversion (its inverse `to -> from` then exists as well). */
export function isConversion(from: string, to: string): boolean {
  return `${from}>${to}` in CONVERTERS;
}

/** Every supported `from -> to` pair, for messages and docs. */
export function conversionPairs(): string[] {
  return Object.keys(CONVERTERS).map((key) => key.replace('>', ' -> '));
}

/** Converts one value with a named pair. */
export function convertValue(value: JsonValue, from: ConversionName, to: ConversionName): ConversionResult {
  const converter = CONVERTERS[`${from}>${to}`];
  return converter ? converter(value) : fail(`no conversion from ${from} to ${to}`);
}

/** Converts one value with a mapping table (`reverse` applies the inverse table). Unlisted values fail. */
export function convertWithTable(
  value: JsonValue,
  table: ReadonlyArray<readonly [string, JsonPrimitive]>,
  reverse: boolean,
): ConversionResult {
  if (value !== null && typeof value === 'object')
    return fail(`expected a scalar, found ${describeValue(value)}`);
  for (const [key, mapped] of table) {
    if (!reverse && value === key) return { ok: true, value: mapped };
    if (reverse && value === mapped) return { ok: true, value: key };
  }
  return fail(`${describeValue(value)} is not listed in the table`);
}
