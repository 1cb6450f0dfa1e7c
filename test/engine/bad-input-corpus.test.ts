/**
 * The bad-input corpus, case by case: each bad tree (in memory: symlinks and gitlinks as git modes) evaluated by
 * the bounded evaluation pool the server validates commits with. Every case must have issues (the commit is
 * never served) and the expected one (file, line, code). A few cases also go through git, a real remote and a
 * server process in test/faults/bad-commits.test.ts.
 */
import * as assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { EvaluationPool } from '../../src/evaluation-pool/index.js';
import { memorySource } from '../../src/engine/index.js';
import { CONFIG_FILES } from '../server/server-fixture.js';
import { CASES, caseSource, reportsCase } from './bad-input-corpus.js';

describe('the bad-input corpus against the evaluation pool', () => {
  const pool = new EvaluationPool({ size: 1 });
  after(() => pool.close());

  test('the corpus has at least 40 cases and the good base has no issue', async () => {
    assert.ok(CASES.length >= 40, 'the corpus has at least 40 cases');
    const evaluation = await pool.evaluate(memorySource(CONFIG_FILES));
    assert.deepEqual(evaluation.issues, []);
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const { issues } = await pool.evaluate(caseSource(c));
      assert.ok(issues.length > 0, 'a bad commit has issues');
      const got = issues.map((i) => ({ file: i.file, line: i.line, code: i.code, message: i.message }));
      assert.ok(reportsCase(c, issues), `expected ${JSON.stringify(c.expect)}, got ${JSON.stringify(got)}`);
    });
  }
});
