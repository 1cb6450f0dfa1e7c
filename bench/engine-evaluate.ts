/**
 * Cost of the validation engine alone (no git, no process start): generates a repository of N namespaces x 4
 * environments in a temp dir, reads it into memory, then times `evaluateRepo` cold (new cache), warm (same tree,
 * same cache) and after one changed file (same cache).
 *
 *   node --import tsx bench/engine-evaluate.ts [--namespaces 1000] [--runs 5]
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { EngineCache, evaluateRepo, formatIssue, memorySource } from '../src/engine/index.js';

const { values } = parseArgs({
  options: { namespaces: { type: 'string', default: '1000' }, runs: { type: 'string', default: '5' } },
});
const count = Number(values.namespaces);
const runs = Number(values.runs);

function write(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** A realistic namespace: nested maps, a cross-field rule, ~25 leaves; every schema differs. */
function generate(root: string): void {
  write(
    root,
    'gitcfg.yaml',
    'version: 1\nenvironments:\n  development: {}\n  testing: {}\n  production: {}\n  staging: {extends: production}\n',
  );
  for (let i = 0; i < count; i++) {
    const ns = `service-${String(i).padStart(4, '0')}`;
    const op = {
      type: 'object',
      additionalProperties: false,
      required: ['max_retries', 'base_delay_ms', 'max_delay_ms'],
      properties: {
        max_retries: { type: 'integer', minimum: 0, maximum: 20 + (i % 7) },
        base_delay_ms: { type: 'integer', minimum: 1 },
        max_delay_ms: { type: 'integer', minimum: { $data: '1/base_delay_ms' } },
        multiplier: { type: 'number', minimum: 1 },
      },
    };
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: ns,
      type: 'object',
      additionalProperties: false,
      required: ['enabled', 'endpoint', 'retry'],
      properties: {
        enabled: { type: 'boolean' },
        endpoint: { type: 'string', format: 'uri' },
        owner: { type: 'string', pattern: '^[a-z0-9-]+$' },
        tags: { type: 'array', items: { type: 'string' }, maxItems: 10 },
        limits: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } },
        retry: { type: 'object', additionalProperties: false, properties: { http: op, db: op, queue: op } },
        [`field_${i}`]: { type: 'string', enum: ['a', 'b', 'c'] },
      },
    };
    write(root, `schemas/${ns}.schema.json`, JSON.stringify(schema, null, 2));
    write(
      root,
      `defaults/${ns}.yaml`,
      `# defaults of ${ns}
enabled: true
endpoint: https://${ns}.internal.example/api
owner: team-${i % 13}
tags: [core, tier-${i % 3}]
field_${i}: a
limits:
  requests_per_second: ${100 + i}
  burst: 20
  connections: 8
retry:
  http: {max_retries: 3, base_delay_ms: 100, max_delay_ms: 2000, multiplier: 2}
  db: {max_retries: 5, base_delay_ms: 20, max_delay_ms: 500, multiplier: 2}
  queue: {max_retries: 8, base_delay_ms: 500, max_delay_ms: 30000, multiplier: 3}
`,
    );
    write(
      root,
      `environments/development/${ns}.yaml`,
      'retry:\n  http:\n    max_retries: 0\nlimits:\n  burst: 1\n',
    );
    write(
      root,
      `environments/production/${ns}.yaml`,
      `limits:\n  requests_per_second: ${1000 + i}\nretry:\n  http:\n    max_retries: 5\n`,
    );
    write(root, `environments/staging/${ns}.yaml`, 'tags: [staging]\n');
  }
}

function readTree(root: string): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else files[relative(root, p).split('\\').join('/')] = readFileSync(p);
    }
  };
  walk(root);
  return files;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** CPU milliseconds of this process while `fn` runs, kept next to wall time (wall time suffers on a busy host). */
const cpu: number[] = [];
async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(cpuStart);
  cpu.push((used.user + used.system) / 1000);
  return performance.now() - start;
}

const root = mkdtempSync(join(tmpdir(), 'gitcfg-engine-bench-'));
try {
  generate(root);
  const files = readTree(root);
  const source = memorySource(files);
  const changedFiles = {
    ...files,
    [`environments/production/service-0007.yaml`]: new TextEncoder().encode('tags: [changed]\n'),
  };
  const changed = memorySource(changedFiles);
  const cold: number[] = [];
  const warm: number[] = [];
  const oneChanged: number[] = [];
  for (let r = 0; r < runs; r++) {
    const cache = new EngineCache();
    let ok = false;
    cold.push(await time(async () => (ok = (await evaluateRepo(source, { cache })).ok)));
    if (!ok) {
      const ev = await evaluateRepo(source);
      throw new Error(
        `generated repository is not valid: ${ev.issues.slice(0, 3).map(formatIssue).join('; ')}`,
      );
    }
    warm.push(await time(() => evaluateRepo(source, { cache })));
    oneChanged.push(await time(() => evaluateRepo(changed, { cache })));
  }
  const noCache = await time(() => evaluateRepo(source));
  console.log(`${count} namespaces x 4 environments, ${Object.keys(files).length} files, median of ${runs}:`);
  // cpu[] holds, per run, cold / warm / one changed; the last entry is the run without a cache.
  const cpuOf = (phase: number) => median(cold.map((_, r) => cpu[r * 3 + phase]!));
  console.log(`  cold, first in the process: ${cold[0]!.toFixed(0)} ms wall, ${cpu[0]!.toFixed(0)} ms cpu`);
  console.log(`  cold (new cache): ${median(cold).toFixed(0)} ms wall, ${cpuOf(0).toFixed(0)} ms cpu`);
  console.log(`  warm (same tree): ${median(warm).toFixed(0)} ms wall, ${cpuOf(1).toFixed(0)} ms cpu`);
  console.log(`  one file changed: ${median(oneChanged).toFixed(0)} ms wall, ${cpuOf(2).toFixed(0)} ms cpu`);
  console.log(
    `  without a cache:  ${noCache.toFixed(0)} ms wall, ${cpu[cpu.length - 1]!.toFixed(0)} ms cpu (one run)`,
  );
  console.log(`  host load average: ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);
  console.log(`  rss: ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
