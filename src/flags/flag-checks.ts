/**
 * Checks of a merged flag document (flagd flag definitions) that a JSON Schema cannot express: the default
 * variant is a variant, all variants of a flag have one type, `$ref`s name a declared `$evaluator`, fractional
 * weights are numbers, and the targeting compiles. Pure: problems carry a JSON pointer; the caller locates them.
 */
import { formatPointer } from '../values/index.js';
import { newFlagdCore } from './flagd.js';

/** One problem of a flag document; `path` is a JSON pointer into the merged document. */
export interface FlagProblem {
  path: string;
  message: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonMap = { [key: string]: Json };

const isMap = (v: Json | undefined): v is JsonMap => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The flagd type of a variant value: boolean, string, number or object (anything else is not a flag value). */
export function variantType(value: Json): 'boolean' | 'string' | 'number' | 'object' | undefined {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'number';
  return isMap(value) ? 'object' : undefined;
}

/** Every problem of a merged flag document (empty when it is a valid flagd flag set). */
export function checkFlagDocument(document: unknown): FlagProblem[] {
  const doc = document as Json;
  const problems: FlagProblem[] = [];
  if (!isMap(doc) || !isMap(doc.flags)) {
    return [{ path: '/flags', message: 'a flag namespace needs a "flags" mapping of flag definitions' }];
  }
  const evaluators = isMap(doc.$evaluators) ? doc.$evaluators : {};
  for (const [name, body] of Object.entries(evaluators)) {
    checkLogic(body, ['$evaluators', name], evaluators, undefined, problems);
  }
  for (const [key, flag] of Object.entries(doc.flags)) {
    const at = (...tokens: string[]) => formatPointer(['flags', key, ...tokens]);
    if (!isMap(flag) || !isMap(flag.variants)) {
      problems.push({ path: at(), message: `flag "${key}" needs a "variants" mapping` });
      continue;
    }
    const variants = flag.variants;
    const names = Object.keys(variants);
    const first = names[0];
    const firstType = first === undefined ? undefined : variantType(variants[first]!);
    for (const name of names) {
      const type = variantType(variants[name]!);
      if (type === undefined) {
        problems.push({
          path: at('variants', name),
          message: `variant "${name}" must be a boolean, string, number or mapping`,
        });
      } else if (type !== firstType && firstType !== undefined) {
        problems.push({
          path: at('variants', name),
          message: `variant "${name}" is a ${type} but "${first}" is a ${firstType}: all variants of a flag have one type`,
        });
      }
    }
    const dv = flag.defaultVariant;
    if (dv !== undefined && dv !== null && (typeof dv !== 'string' || !Object.hasOwn(variants, dv))) {
      problems.push({
        path: at('defaultVariant'),
        message: `default variant ${JSON.stringify(dv)} is not a variant of "${key}" (variants: ${names.join(', ')})`,
      });
    }
    if (flag.targeting !== undefined) {
      checkLogic(flag.targeting, ['flags', key, 'targeting'], evaluators, variants, problems);
    }
  }
  if (problems.length === 0) problems.push(...compileProblems(doc));
  return problems;
}

/** Walks JsonLogic: unknown `$ref`s, fractional buckets (weights must be numbers, names must be variants). */
function checkLogic(
  node: Json,
  tokens: string[],
  evaluators: JsonMap,
  variants: JsonMap | undefined,
  problems: FlagProblem[],
): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => checkLogic(item, [...tokens, String(i)], evaluators, variants, problems));
    return;
  }
  if (!isMap(node)) return;
  if (Object.hasOwn(node, '$ref')) {
    const ref = node.$ref;
    if (typeof ref !== 'string' || !Object.hasOwn(evaluators, ref)) {
      const known = Object.keys(evaluators);
      problems.push({
        path: formatPointer([...tokens, '$ref']),
        message: `$ref ${JSON.stringify(ref)} names no entry of $evaluators (${known.length > 0 ? known.join(', ') : 'none declared'})`,
      });
    }
  }
  const fractional = node.fractional;
  if (Array.isArray(fractional)) {
    fractional.forEach((bucket, i) => {
      // A first argument that is not a bucket is the bucketing value (e.g. {"var": "email"}).
      if (!Array.isArray(bucket)) return;
      const at = [...tokens, 'fractional', String(i)];
      const [name, weight] = bucket;
      if (bucket.length > 2 || bucket.length < 1) {
        problems.push({ path: formatPointer(at), message: 'a fractional bucket is [variant, weight]' });
      }
      if (bucket.length >= 2 && typeof weight !== 'number') {
        problems.push({
          path: formatPointer([...at, '1']),
          message: `fractional weight must be a number, not ${JSON.stringify(weight)}`,
        });
      }
      if (variants && typeof name === 'string' && !Object.hasOwn(variants, name)) {
        problems.push({
          path: formatPointer([...at, '0']),
          message: `fractional bucket names "${name}", which is not a variant`,
        });
      }
    });
  }
  for (const [k, v] of Object.entries(node)) {
    checkLogic(v, [...tokens, k], evaluators, variants, problems);
  }
}

/** Compiles the document with flagd itself: what it still refuses (e.g. an unknown operator) is a problem. */
function compileProblems(doc: JsonMap): FlagProblem[] {
  const core = newFlagdCore();
  try {
    core.setConfigurations(JSON.stringify(doc));
  } catch (err) {
    return [
      { path: '/flags', message: `flagd refuses the flag set: ${(err as Error).message.split('\n')[0]}` },
    ];
  }
  const problems: FlagProblem[] = [];
  for (const [key, flag] of core.getFlags()) {
    const r = flag.evaluate({ targetingKey: 'gitcfg-validation' });
    if (r.reason === 'ERROR' && String(r.errorCode) === 'PARSE_ERROR') {
      problems.push({
        path: formatPointer(['flags', key, 'targeting']),
        message: `targeting of "${key}" does not compile (unknown operator or malformed JsonLogic)`,
      });
    }
  }
  return problems;
}
