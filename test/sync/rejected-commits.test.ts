/** Remembered rejections are reused only under the engine version and server settings that made them. */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RejectedCommitsFile } from '../../src/sync/index.js';
import { cleanupTempDirs, tempDir } from '../helpers/git-repo.js';

const rejection = (commit: string) => ({
  commit,
  at: '2026-01-01T00:00:00.000Z',
  issues: [{ code: 'schema-violation' as const, file: 'defaults/app.yaml', line: 1, message: 'bad' }],
  messages: ['defaults/app.yaml:1: bad'],
});

describe('RejectedCommitsFile', () => {
  it('reloads what it remembered, under the same settings only', async () => {
    const dir = await tempDir();
    try {
      const first = new RejectedCommitsFile(dir, { settings: 'scopes-a' });
      await first.load();
      await first.remember(rejection('a'.repeat(40)));
      const same = new RejectedCommitsFile(dir, { settings: 'scopes-a' });
      await same.load();
      assert.equal(same.get('a'.repeat(40))?.issues[0]?.message, 'bad');
      // Another secret scope list (or validation bound) may judge the same commit otherwise: validate again.
      const other = new RejectedCommitsFile(dir, { settings: 'scopes-b' });
      await other.load();
      assert.equal(other.get('a'.repeat(40)), undefined);
    } finally {
      await cleanupTempDirs();
    }
  });

  it('keeps the most recent ones', async () => {
    const dir = await tempDir();
    try {
      const file = new RejectedCommitsFile(dir, { max: 2 });
      for (const c of ['a', 'b', 'c']) await file.remember(rejection(c.repeat(40)));
      const reloaded = new RejectedCommitsFile(dir, { max: 2 });
      await reloaded.load();
      assert.equal(reloaded.get('a'.repeat(40)), undefined);
      assert.ok(reloaded.get('c'.repeat(40)));
    } finally {
      await cleanupTempDirs();
    }
  });
});
