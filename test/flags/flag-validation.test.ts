import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { evaluateRepo, formatIssue, memorySource } from '../../src/engine/index.js';
import type { Issue } from '../../src/engine/index.js';
import { flagsRepo } from './flags-fixture.js';

async function flagIssues(files: Record<string, string>): Promise<Issue[]> {
  const ev = await evaluateRepo(memorySource(files));
  return ev.issues;
}

const show = (issues: Issue[]) => issues.map(formatIssue).join('\n');

test('the fixture repository and its flag namespace are valid', async () => {
  const ev = await evaluateRepo(memorySource(flagsRepo()));
  assert.deepEqual(ev.issues, []);
  assert.deepEqual(ev.manifest?.flags, ['flags']);
});

test('a $ref to an undeclared $evaluator is reported where the $ref was written', async () => {
  const issues = await flagIssues(
    flagsRepo({
      'environments/production/flags.yaml': `flags:
  theme:
    targeting:
      if:
        - { $ref: is_vip }
        - dark
`,
    }),
  );
  assert.equal(issues.length, 1, show(issues));
  const [issue] = issues;
  assert.equal(issue!.code, 'flag-invalid');
  assert.equal(issue!.file, 'environments/production/flags.yaml');
  assert.equal(issue!.line, 5);
  assert.equal(issue!.environment, 'production');
  assert.equal(issue!.path, '/flags/theme/targeting/if/0/$ref');
  assert.match(issue!.message, /\$ref "is_vip" names no entry of \$evaluators \(is_admin\)/);
});

test('a default variant that is not a variant points at the layer that set it', async () => {
  const issues = await flagIssues(
    flagsRepo({ 'environments/production/flags.yaml': 'flags:\n  limit:\n    defaultVariant: medium\n' }),
  );
  assert.equal(issues.length, 1, show(issues));
  assert.equal(issues[0]!.file, 'environments/production/flags.yaml');
  assert.equal(issues[0]!.line, 3);
  assert.match(
    issues[0]!.message,
    /default variant "medium" is not a variant of "limit" \(variants: low, high\)/,
  );
});

test('a variant of another type than the others is reported at that variant', async () => {
  const issues = await flagIssues(
    flagsRepo({
      'environments/development/flags.yaml': 'flags:\n  limit:\n    variants:\n      high: "8"\n',
    }),
  );
  assert.equal(issues.length, 1, show(issues));
  assert.equal(issues[0]!.file, 'environments/development/flags.yaml');
  assert.equal(issues[0]!.line, 4);
  assert.equal(issues[0]!.path, '/flags/limit/variants/high');
  assert.match(issues[0]!.message, /variant "high" is a string but "low" is a number/);
});

test('fractional weights that are not numbers, and buckets naming no variant', async () => {
  const issues = await flagIssues(
    flagsRepo({
      'environments/production/flags.yaml': `flags:
  rollout:
    targeting:
      fractional:
        - ["on", "25"]
        - ["of", 75]
`,
    }),
  );
  assert.deepEqual(
    issues.map((i) => `${i.line}:${i.path}:${i.message}`),
    [
      '5:/flags/rollout/targeting/fractional/0/1:fractional weight must be a number, not "25"',
      '6:/flags/rollout/targeting/fractional/1/0:fractional bucket names "of", which is not a variant',
    ],
  );
});

test('targeting flagd cannot compile (unknown operator) is refused', async () => {
  const issues = await flagIssues(
    flagsRepo({
      'environments/production/flags.yaml': `flags:
  theme:
    targeting:
      no_such_operator: [1, 2]
`,
    }),
  );
  assert.equal(issues.length, 1, show(issues));
  assert.equal(issues[0]!.path, '/flags/theme/targeting');
  assert.equal(issues[0]!.file, 'environments/production/flags.yaml');
  assert.equal(issues[0]!.line, 3);
  assert.match(issues[0]!.message, /does not compile/);
});

test('the manifest may only name existing namespaces as flags', async () => {
  const issues = await flagIssues(
    flagsRepo({
      'gitcfg.yaml':
        'version: 1\nenvironments:\n  development: {}\n  production: {}\nflags: [flags, toggles]\n',
    }),
  );
  assert.equal(issues.length, 1, show(issues));
  assert.equal(issues[0]!.code, 'manifest-invalid');
  assert.match(issues[0]!.message, /"toggles", which has no schema/);
});

test('a namespace not marked as flags is plain config: no flag checks', async () => {
  const files = flagsRepo({
    'environments/production/flags.yaml': 'flags:\n  limit:\n    defaultVariant: medium\n',
  });
  files['gitcfg.yaml'] = 'version: 1\nenvironments:\n  development: {}\n  production: {}\n';
  assert.deepEqual(await flagIssues(files), []);
});
