/**
 * Where edits are written: a bare mirror (commit locally, push; take the commit back if the push fails) or a
 * local repository (commit straight onto its branch). Both compare-and-swap the branch ref.
 */
import {
  AuthFailedError,
  PushOutcomeUnknownError,
  PushRejectedError,
  RefMovedError,
} from '../errors/index.js';
import { commitChanges, moveBranch, push, remoteHead } from '../git/index.js';
import type { CommitChangesOptions, GitMirror, GitRepository, LocalRepository } from '../git/index.js';

/** The port the edit service writes through. */
export interface WriteTarget {
  /** The branch edits go to. */
  readonly branch: string;
  /** True when commits are pushed to a network remote. */
  readonly remote: boolean;
  /** The repository to read from (after `refresh`). */
  repository(): Promise<GitRepository>;
  /** Brings the branch up to date (fetch for a mirror) and returns its head (null when unborn). */
  refresh(): Promise<string | null>;
  /** The branch head as known locally, without talking to a remote (reads for editors). */
  current(): Promise<string | null>;
  /**
   * Commits on `opts.parent` and publishes. Throws RefMovedError / PushRejectedError when the branch moved
   * (redo on the new head), typed remote errors otherwise; on any failure the local branch is back at `parent`.
   */
  commit(opts: CommitChangesOptions): Promise<string>;
}

/** Runs async sections one at a time (shared by edits and the sync's fetches of the same mirror). */
export class WriteLock {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every section queued before it. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * A mirror as write target. `lock` must also guard the sync's fetches of this mirror: a fetch moves the local
 * branch to the remote's head, which must not happen between our local commit and its push.
 */
export function mirrorWriteTarget(
  mirror: () => Promise<GitMirror>,
  lock: WriteLock,
  branch: string,
): WriteTarget {
  return {
    branch,
    remote: true,
    repository: mirror,
    async refresh() {
      const m = await mirror();
      return lock.run(async () => (await m.fetch()).head);
    },
    async current() {
      return (await mirror()).head;
    },
    async commit(opts) {
      const m = await mirror();
      return lock.run(async () => {
        const oid = await commitChanges(m, opts);
        try {
          await push(m, { branch: opts.branch });
        } catch (err) {
          const outcome = await pushOutcome(m, opts.branch, oid, err);
          if (outcome === 'landed') {
            m.head = oid;
            return oid;
          }
          await moveBranch(m, opts.branch, oid, opts.parent ?? '0'.repeat(40));
          if (outcome === 'unknown') throw new PushOutcomeUnknownError(oid, opts.branch, err);
          throw err;
        }
        m.head = oid;
        return oid;
      });
    },
  };
}

/** Answers of the remote that say for sure the push did not land. */
const REFUSED = [PushRejectedError, RefMovedError, AuthFailedError];

/**
 * After a failed push: did it land anyway? A lost answer (connection reset after the remote took the pack) looks
 * like any network failure, so unless the remote refused outright, ask it for the branch head.
 */
async function pushOutcome(
  mirror: GitMirror,
  branch: string,
  commit: string,
  err: unknown,
): Promise<'landed' | 'absent' | 'unknown'> {
  if (REFUSED.some((refused) => err instanceof refused)) return 'absent';
  try {
    return (await remoteHead(mirror, branch)) === commit ? 'landed' : 'absent';
  } catch {
    return 'unknown';
  }
}

/** A local repository as write target: commits go straight onto its branch (no push). */
export function localWriteTarget(repo: () => Promise<LocalRepository>): WriteTarget {
  let branch: string | null = null;
  return {
    get branch() {
      return branch ?? 'HEAD';
    },
    remote: false,
    repository: repo,
    async refresh() {
      const r = await repo();
      branch = r.branch;
      return (await r.refresh()).head;
    },
    current() {
      return this.refresh();
    },
    async commit(opts) {
      const r = await repo();
      const oid = await commitChanges(r, opts);
      await r.refresh();
      return oid;
    },
  };
}
