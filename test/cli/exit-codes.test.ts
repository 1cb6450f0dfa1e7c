/** The exit code of an error a command threw: by error class, not by comparing code strings. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { EXIT_CODES, exitCodeForError } from '../../src/commands/index.js';
import { InvalidConfigError, NotFoundError, RefMovedError, UsageError } from '../../src/errors/index.js';

test('an invalid configuration exits 1, any other gitcfg error 2, anything else 3 (a bug)', () => {
  const issue = { file: 'a.yaml', line: 1, column: 1, code: 'yaml-syntax', message: 'bad' } as const;
  assert.equal(exitCodeForError(new InvalidConfigError([issue])), EXIT_CODES.invalid);
  assert.equal(exitCodeForError(new UsageError('bad option')), EXIT_CODES.usage);
  assert.equal(exitCodeForError(new NotFoundError('ref', 'main')), EXIT_CODES.usage);
  assert.equal(exitCodeForError(new RefMovedError('push', 'the branch moved')), EXIT_CODES.usage);
  assert.equal(exitCodeForError(new Error('boom')), EXIT_CODES.internal);
  assert.equal(exitCodeForError({ code: 'E_INVALID_CONFIG' }), EXIT_CODES.internal);
  assert.deepEqual([EXIT_CODES.invalid, EXIT_CODES.usage, EXIT_CODES.internal], [1, 2, 3]);
});
