/** Test helpers: parse a migration written as YAML text into a step (failing the test on issues). */
import { strict as assert } from 'node:assert';
import { parse } from 'yaml';
import type { JsonObject, JsonValue, Origin } from '../../src/values/index.js';
import { parseMigration } from '../../src/migrate/index.js';
import type { MigrationStep } from '../../src/migrate/index.js';

/** A valid step from YAML text, for `migrations/<namespace>/<version>.yaml`. */
export function step(version: number, yamlText: string, namespace = 'cache'): MigrationStep {
  const file = `migrations/${namespace}/${version}.yaml`;
  const parsed = parseMigration(parse(yamlText) as JsonValue, file, version);
  assert.deepEqual(parsed.issues, [], `migration ${version} should be valid`);
  assert.ok(parsed.step);
  return parsed.step;
}

/** A document value with one origin per leaf at a fake position (line = order of appearance). */
export function withOrigins(value: JsonObject, file: string): Map<string, Origin> {
  const origins = new Map<string, Origin>();
  let line = 1;
  const walk = (item: JsonValue, pointer: string): void => {
    origins.set(pointer, { file, line: line++, column: 3 });
    if (item !== null && typeof item === 'object') {
      const entries = Array.isArray(item)
        ? item.map((v, i) => [String(i), v] as const)
        : Object.entries(item);
      for (const [key, child] of entries)
        walk(child, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    }
  };
  walk(value, '');
  return origins;
}
