import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  closestName,
  evaluateRepo,
  formatIssue,
  formatIssues,
  memorySource,
} from '../../src/engine/index.js';
import type { Issue } from '../../src/engine/index.js';
import { MANIFEST, baseRepo } from './engine-fixtures.js';

async function issuesOf(files: Record<string, string>): Promise<Issue[]> {
  return (await evaluateRepo(memorySource(baseRepo(files)))).issues;
}

test('closestName suggests a near name, and nothing for a far or ambiguous one', () => {
  assert.equal(closestName('max_retrys', ['max_retries', 'base_delay_ms']), 'max_retries');
  assert.equal(closestName('prodution', ['development', 'production', 'staging']), 'production');
  assert.equal(closestName('Production', ['production']), 'production');
  assert.equal(closestName('qa', ['production', 'staging']), undefined);
  assert.equal(closestName('zzz_unrelated', ['max_retries']), undefined);
  // Two candidates at the same distance: guessing would mislead.
  assert.equal(closestName('stage-b', ['stage-a', 'stage-c']), undefined);
});

test('an unknown key names the declared property it is close to, at the key (not the value)', async () => {
  const issues = await issuesOf({
    'environments/production/retry.yaml': '# prod\nhttp:\n  max_retrys:   4\n',
  });
  const unknown = issues.filter((i) => i.message.startsWith('unknown property'));
  assert.deepEqual(
    unknown.map((i) => [i.file, i.line, i.column, i.environment, i.message]),
    [
      [
        'environments/production/retry.yaml',
        3,
        3,
        'production',
        'unknown property "max_retrys" (not allowed by the schema); did you mean "max_retries"?',
      ],
      [
        'environments/production/retry.yaml',
        3,
        3,
        'staging',
        'unknown property "max_retrys" (not allowed by the schema); did you mean "max_retries"?',
      ],
    ],
  );
});

test('an unknown key far from every declared property gets no guess', async () => {
  const issues = await issuesOf({ 'environments/testing/retry.yaml': 'http:\n  colour: blue\n' });
  assert.deepEqual(
    issues.map((i) => i.message),
    ['unknown property "colour" (not allowed by the schema)'],
  );
});

test('a misspelt environment, namespace, parent or manifest key names the one meant', async () => {
  const issues = await issuesOf({
    'gitcfg.yaml': `${MANIFEST}  canary:\n    extends: prodution\n`,
    'environments/prodution/retry.yaml': 'tags: [x]\n',
    'environments/staging/rerty.yaml': 'tags: [x]\n',
  });
  const messages = issues.map((i) => i.message);
  assert.ok(
    messages.includes(
      'environment "canary" extends "prodution", which is not declared; did you mean "production"?',
    ),
    messages.join('\n'),
  );
  assert.ok(
    messages.includes('environment "prodution" is not declared in gitcfg.yaml; did you mean "production"?'),
  );
  assert.ok(messages.includes('override for namespace "rerty", which has no schema; did you mean "retry"?'));

  const manifest = await issuesOf({ 'gitcfg.yaml': 'version: 1\nenviroments:\n  production: {}\n' });
  assert.ok(
    manifest.some((i) => i.message.endsWith('did you mean "environments"?') && i.line === 2),
    manifest.map(formatIssue).join('\n'),
  );
});

test('an unclosed quote is reported where the quote opens', async () => {
  const issues = await issuesOf({
    'environments/development/retry.yaml': 'tags: [a]\nhttp:\n  note: "never closed\n  max_retries: 1\n',
  });
  assert.deepEqual(
    issues.map((i) => [i.file, i.line, i.column, i.message]),
    [
      [
        'environments/development/retry.yaml',
        3,
        9,
        'quoted string is never closed (it runs to the end of the file)',
      ],
    ],
  );
});

test('an issue several environments inherit from one line is printed once, naming them', async () => {
  const issues = await issuesOf({ 'environments/production/retry.yaml': 'http:\n  max_retries: -1\n' });
  assert.equal(issues.length, 2); // production and staging (which extends it)
  assert.deepEqual(formatIssues(issues), [
    'environments/production/retry.yaml:2:16: must be >= 0 [retry/production, staging at /http/max_retries]',
  ]);
  // Different lines or paths stay apart.
  const apart = await issuesOf({
    'environments/production/retry.yaml': 'http:\n  max_retries: -1\n',
    'environments/testing/retry.yaml': 'http:\n  max_retries: -2\n',
  });
  assert.equal(formatIssues(apart).length, 2);
});
