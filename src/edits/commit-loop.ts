/**
 * The optimistic commit loop of every edit: read the branch head, apply a plan to it, validate the whole
 * resulting tree, commit on that head and publish; when the head moved meanwhile, redo it all on the new head,
 * a bounded number of times. Knows nothing of HTTP, preconditions or which edit it runs.
 */
import { diffConfigs, evaluateRepo, maskChanges } from '../engine/index.js';
import type { ConfigDiff, Evaluation, RepoEvaluator, RepoSource, TreeEntry } from '../engine/index.js';
import {
  ConflictError,
  InvalidConfigError,
  NotFoundError,
  PushRejectedError,
  RefMovedError,
} from '../errors/index.js';
import { blobOid } from '../git/index.js';
import type { FileChange, GitRepository, IdentityInput } from '../git/index.js';
import type { WriteTarget } from './write-target.js';

/** Who asked for a change (the commit author). */
export interface Author {
  name: string;
  email: string;
}

/** Outcome of an edit, rollback or revert. */
export interface EditResult {
  /** The new commit; the head itself when nothing changed or for a dry run. */
  commit: string;
  /** The head the change was built on. */
  parent: string;
  /** Whether a commit was made. */
  committed: boolean;
  dryRun: boolean;
  /** Repository paths written or deleted. */
  files: string[];
  /** ETag of the edited file afterwards (single-file edits). */
  etag?: string | null;
  /** Effective change per namespace x environment; secret fields masked. */
  diff: ConfigDiff[];
  /** Attempts used (more than 1 when the branch moved under us). */
  attempts: number;
  /** Commit served once the change was handed to the sync (see `onCommitted`), when known. */
  served?: string | null;
}

/** What a plan returns: the config-root relative files to write (`null` deletes). */
export type Plan = { changes: Map<string, Uint8Array | null>; message: string; dryRun?: boolean };

/** Context a plan runs in. */
export interface PlanContext {
  head: string;
  repository: GitRepository;
  /** Config-root view of the head. */
  files: Map<string, TreeEntry>;
  read(path: string): Promise<Uint8Array | null>;
}

/** Ports and settings of a `CommitLoop`. */
export interface CommitLoopOptions {
  target: WriteTarget;
  /** The server's identity: committer of every commit. */
  committer: Author;
  /** Config root inside the repository (`''` or `dir/`). */
  prefix: string;
  /** The config-root view of a source at the head. */
  scope: (source: RepoSource) => RepoSource;
  /** Attempts before giving up with 409 when the branch keeps moving. */
  maxAttempts: number;
  /** Evaluates the trees before and after (default: `evaluateRepo` in process). */
  evaluate?: RepoEvaluator;
  evaluateOptions?: Parameters<RepoEvaluator>[1];
}

/** A planned change applied to the head: the trees before and after, and the head's files. */
interface Attempt {
  head: string;
  before: RepoSource;
  after: RepoSource;
  files: Map<string, TreeEntry>;
  planned: Plan;
}

/** ETag of a file's content (`"<git blob oid>"`). */
export function fileEtag(oid: string): string {
  return `"${oid}"`;
}

function isMoved(err: unknown): boolean {
  return err instanceof RefMovedError || err instanceof PushRejectedError;
}

/** See the module comment. Callers serialise `run` (one write queue). */
export class CommitLoop {
  constructor(private readonly options: CommitLoopOptions) {}

  /** Runs `plan` on the head until its commit lands (or a dry run / no-op is validated); `single` gets an ETag. */
  async run(author: Author, plan: (ctx: PlanContext) => Promise<Plan>, single?: string): Promise<EditResult> {
    for (let attempt = 1; ; attempt++) {
      const applied = await this.apply(plan);
      const { head, files, planned } = applied;
      const diff = await this.validate(applied);
      const base = {
        parent: head,
        files: [...planned.changes.keys()].map((p) => this.options.prefix + p),
        diff,
        attempts: attempt,
        dryRun: planned.dryRun ?? false,
        ...(single !== undefined ? { etag: etagAfter(files.get(single), planned.changes, single) } : {}),
      };
      if (planned.changes.size === 0 || planned.dryRun) return { ...base, commit: head, committed: false };
      const commit = await this.publish(author, applied, attempt);
      if (commit !== null) return { ...base, commit, committed: true };
    }
  }

  /** Reads the head and runs the plan on it, without the writes that change nothing. */
  private async apply(plan: (ctx: PlanContext) => Promise<Plan>): Promise<Attempt> {
    const { target, scope } = this.options;
    const head = await target.refresh();
    if (!head) throw new NotFoundError('branch', target.branch);
    const repository = await target.repository();
    const before = scope(await repository.source(head));
    const files = new Map(before.entries.filter((e) => e.type === 'blob').map((e) => [e.path, e]));
    const planned = await plan({
      head,
      repository,
      files,
      read: async (p) => {
        const e = files.get(p);
        return e ? before.readBlob(e.oid, p) : null;
      },
    });
    // Drop writes that change nothing, so a no-op never makes an empty commit.
    for (const [p, content] of planned.changes) {
      const e = files.get(p);
      if (content === null ? !e : e?.oid === blobOid(content)) planned.changes.delete(p);
    }
    return { head, before, after: overlaySource(before, planned.changes), files, planned };
  }

  /** Evaluates both trees: the change is refused (InvalidConfigError) when the result has any issue. */
  private async validate({ before, after }: Attempt): Promise<ConfigDiff[]> {
    const evaluate = this.options.evaluate ?? evaluateRepo;
    const opts = this.options.evaluateOptions;
    const [evBefore, evAfter] = await Promise.all([evaluate(before, opts), evaluate(after, opts)]);
    if (!evAfter.ok) throw new InvalidConfigError(evAfter.issues, 'the changed configuration');
    return maskedDiff(evBefore, evAfter);
  }

  /** Commits on the head and publishes; null when the head moved (redo), ConflictError after the last attempt. */
  private async publish(author: Author, { head, planned }: Attempt, attempt: number): Promise<string | null> {
    const { target, committer, prefix } = this.options;
    const changes: FileChange[] = [...planned.changes].map(([p, content]) => ({ path: prefix + p, content }));
    try {
      return await target.commit({
        branch: target.branch,
        parent: head,
        changes,
        author: { name: author.name, email: author.email } satisfies IdentityInput,
        committer: { name: committer.name, email: committer.email },
        message: planned.message,
      });
    } catch (err) {
      if (!isMoved(err)) throw err;
      if (attempt >= this.options.maxAttempts) {
        throw new ConflictError(`the branch kept moving: gave up after ${attempt} attempts; retry`, {
          attempts: attempt,
        });
      }
      return null;
    }
  }
}

/** A source equal to `base` with some files replaced or removed. */
function overlaySource(base: RepoSource, changes: Map<string, Uint8Array | null>): RepoSource {
  const blobs = new Map<string, Uint8Array>();
  const entries: TreeEntry[] = base.entries.filter((e) => !changes.has(e.path));
  for (const [path, content] of changes) {
    if (content === null) continue;
    const oid = blobOid(content);
    blobs.set(oid, content);
    const old = base.entries.find((e) => e.path === path);
    entries.push({ path, oid, type: 'blob', mode: old?.mode === '100755' ? '100755' : '100644' });
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    entries,
    readBlob: async (oid, path) => blobs.get(oid) ?? base.readBlob(oid, path),
  };
}

/** Effective diff with secret fields masked by the schemas in force before and after. */
function maskedDiff(before: Evaluation, after: Evaluation): ConfigDiff[] {
  return diffConfigs(before, after).map((d) => ({
    ...d,
    changes: maskChanges(d.changes, after.schemas.get(d.namespace) ?? before.schemas.get(d.namespace)),
  }));
}

function etagAfter(
  entry: TreeEntry | undefined,
  changes: Map<string, Uint8Array | null>,
  path: string,
): string | null {
  if (!changes.has(path)) return entry ? fileEtag(entry.oid) : null;
  const content = changes.get(path)!;
  return content === null ? null : fileEtag(blobOid(content));
}
