/**
 * Edits through the API: replace or merge-patch one layer file, roll a namespace back, revert a commit. Every
 * change runs through one queue: bring the branch up to date, plan the file changes, validate the whole
 * resulting tree with the engine, commit (author = caller, committer = server), publish. A publish lost to a
 * moved branch is redone on the new head a bounded number of times.
 */
import { maskChanges } from '../engine/index.js';
import { diffConfigs, evaluateRepo } from '../engine/index.js';
import type {
  ConfigDiff,
  EngineCache,
  Evaluation,
  RepoEvaluator,
  RepoSource,
  SecretScopes,
  TreeEntry,
} from '../engine/index.js';
import {
  ConflictError,
  InvalidConfigError,
  NotFoundError,
  PreconditionFailedError,
  PreconditionRequiredError,
  PushRejectedError,
  RefMovedError,
  UsageError,
} from '../errors/index.js';
import { blobOid, subtreeSource } from '../git/index.js';
import type { FileChange, GitRepository, IdentityInput } from '../git/index.js';
import type { JsonValue } from '../engine/index.js';
import { applyMergePatchToYaml } from './merge-patch.js';
import { checkName, isNamespaceFile, layerFile } from './repo-paths.js';
import { WriteLock } from './write-target.js';
import type { WriteTarget } from './write-target.js';

/** Who asked for a change (the commit author). */
export interface Author {
  name: string;
  email: string;
}

/** Conditions of an edit (HTTP `If-Match` / `If-None-Match` values, verbatim). */
export interface Preconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}

/** One layer file at the branch head. */
export interface FileVersion {
  commit: string;
  /** Repository path. */
  path: string;
  /** Strong ETag of the file (`"<git blob oid>"`), null when the file does not exist. */
  etag: string | null;
  content: Uint8Array | null;
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

/** Options of `EditService`. */
export interface EditServiceOptions {
  target: WriteTarget;
  /** Config root inside the repository ('' for the root). */
  subdir?: string;
  /** The server's identity: committer of every commit. */
  committer: Author;
  cache?: EngineCache;
  /** Evaluates edited trees (default: in process); the server passes an isolated, bounded evaluator. */
  evaluate?: RepoEvaluator;
  /** Attempts before giving up with 409 when the branch keeps moving (default 5). */
  maxAttempts?: number;
  /** Called after each published commit, outside the queue (e.g. sync and wait); returns the served commit. */
  onCommitted?: (commit: string) => Promise<string | null>;
  /** Secret scopes an edit is validated against, as the sync validates every commit. */
  secretScopes?: SecretScopes;
}

/** What a plan returns: the config-root relative files to write (`null` deletes). */
type Plan = { changes: Map<string, Uint8Array | null>; message: string; dryRun?: boolean };

/** Context a plan runs in. */
interface PlanContext {
  head: string;
  repository: GitRepository;
  /** Config-root view of the head. */
  files: Map<string, TreeEntry>;
  read(path: string): Promise<Uint8Array | null>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** ETag of a file's content (`"<git blob oid>"`). */
export function fileEtag(oid: string): string {
  return `"${oid}"`;
}

function tagList(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/** Checks RFC 9110 preconditions against the current file ETag (strong comparison for If-Match). */
export function checkPreconditions(current: string | null, pre: Preconditions, what: string): void {
  if (pre.ifMatch === undefined && pre.ifNoneMatch === undefined) {
    throw new PreconditionRequiredError(
      `editing ${what} needs If-Match with its ETag (GET /v1/files/... returns it), or If-None-Match: * to create it`,
      { etag: current },
    );
  }
  if (pre.ifMatch !== undefined) {
    const tags = tagList(pre.ifMatch);
    const ok = current !== null && (tags.includes('*') || tags.includes(current));
    if (!ok) {
      throw new PreconditionFailedError(
        current === null ? `${what} does not exist` : `${what} changed since it was read (ETag ${current})`,
        { etag: current },
      );
    }
  }
  if (pre.ifNoneMatch !== undefined) {
    const tags = tagList(pre.ifNoneMatch);
    if (current !== null && (tags.includes('*') || tags.includes(current))) {
      throw new PreconditionFailedError(`${what} already exists (ETag ${current})`, { etag: current });
    }
  }
}

function isMoved(err: unknown): boolean {
  return err instanceof RefMovedError || err instanceof PushRejectedError;
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

/** The edit, rollback and revert service (see the module comment). */
/** What every edit of one layer file names: the file, the caller's preconditions, author and message. */
export interface LayerEdit {
  namespace: string;
  env: string;
  preconditions: Preconditions;
  author: Author;
  message?: string;
  /** Validate and report the effective diff without committing. */
  dryRun?: boolean;
}

export class EditService {
  private readonly queue = new WriteLock();
  private readonly prefix: string;
  private readonly maxAttempts: number;

  constructor(private readonly options: EditServiceOptions) {
    const subdir = (options.subdir ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = subdir ? `${subdir}/` : '';
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  /**
   * The layer file of `namespace`/`env` (env `defaults` = the defaults file) at the branch head as known
   * locally (no fetch: an edit fetches anyway, and answers 412 if the file moved on meanwhile).
   */
  async readFile(namespace: string, env: string): Promise<FileVersion> {
    const rel = layerFile(namespace, env);
    const target = this.options.target;
    const repository = await target.repository();
    const head = await target.current();
    if (!head) throw new NotFoundError('branch', target.branch);
    const entry = (await repository.listTree(head)).find((e) => e.path === this.prefix + rel);
    return {
      commit: head,
      path: this.prefix + rel,
      etag: entry ? fileEtag(entry.oid) : null,
      content: entry ? await repository.readBlob(entry.oid) : null,
    };
  }

  /** Replaces (or creates) a layer file with `content` (YAML text). */
  replaceFile(opts: LayerEdit & { content: string }): Promise<EditResult> {
    return this.editLayer(opts, 'Update', async () => opts.content);
  }

  /** Applies a JSON merge patch (RFC 7396) to a layer file, keeping comments and order of untouched parts. */
  patchFile(opts: LayerEdit & { patch: JsonValue }): Promise<EditResult> {
    return this.editLayer(opts, 'Patch', async (ctx, rel) => {
      const bytes = await ctx.read(rel);
      let text: string | null = null;
      if (bytes !== null) {
        try {
          text = decoder.decode(bytes);
        } catch {
          throw new UsageError(`${this.prefix + rel} is not UTF-8; replace it with PUT instead`);
        }
      }
      return applyMergePatchToYaml(text, opts.patch);
    });
  }

  /** One edit of one layer file: checks the caller's preconditions against the file, then writes `content`. */
  private editLayer(
    opts: LayerEdit,
    verb: string,
    content: (ctx: PlanContext, rel: string) => Promise<string>,
  ): Promise<EditResult> {
    const rel = layerFile(opts.namespace, opts.env);
    return this.run(
      opts.author,
      async (ctx) => {
        const current = ctx.files.get(rel);
        checkPreconditions(current ? fileEtag(current.oid) : null, opts.preconditions, this.prefix + rel);
        return {
          changes: new Map([[rel, encoder.encode(await content(ctx, rel))]]),
          message: opts.message ?? `${verb} ${this.prefix + rel}`,
          dryRun: opts.dryRun === true,
        };
      },
      rel,
    );
  }

  /**
   * Restores `namespace`'s files (defaults, overrides — only `env`'s when given —, schemas, migrations) to their
   * content at `to`, as one commit; `dryRun` only reports the effective diff.
   */
  rollback(opts: {
    namespace: string;
    to: string;
    env?: string;
    message?: string;
    dryRun?: boolean;
    author: Author;
  }): Promise<EditResult> {
    checkName('namespace', opts.namespace);
    if (opts.env !== undefined) checkName('environment', opts.env);
    return this.run(opts.author, async (ctx) => {
      const to = await resolveCommit(ctx.repository, opts.to);
      const old = this.view(await ctx.repository.listTree(to));
      const changes = new Map<string, Uint8Array | null>();
      const paths = new Set([...old.keys(), ...ctx.files.keys()]);
      for (const path of [...paths].sort()) {
        if (!isNamespaceFile(path, opts.namespace, opts.env)) continue;
        const was = old.get(path);
        const now = ctx.files.get(path);
        if (was?.oid === now?.oid) continue;
        changes.set(path, was ? await ctx.repository.readBlob(was.oid) : null);
      }
      const scope = opts.env ? `${opts.namespace} (${opts.env})` : opts.namespace;
      return {
        changes,
        message: opts.message ?? `Roll back ${scope} to ${to.slice(0, 12)}`,
        dryRun: opts.dryRun ?? false,
      };
    });
  }

  /**
   * Reverts one commit (its changes under the config root; only `namespace`'s files when given). A path whose
   * current content is not what that commit left is a conflict (409 with the paths).
   */
  revert(opts: {
    commit: string;
    /** Revert every change from this ancestor to `commit` (a range) instead of `commit`'s own. */
    since?: string;
    namespace?: string;
    message?: string;
    dryRun?: boolean;
    author: Author;
  }): Promise<EditResult> {
    if (opts.namespace !== undefined) checkName('namespace', opts.namespace);
    return this.run(opts.author, async (ctx) => {
      const oid = await resolveCommit(ctx.repository, opts.commit);
      const info = await ctx.repository.readCommit(oid);
      const parent =
        opts.since !== undefined
          ? await resolveCommit(ctx.repository, opts.since)
          : (info.parents[0] ?? null);
      const changes = new Map<string, Uint8Array | null>();
      const conflicts: string[] = [];
      for (const change of await ctx.repository.diffCommits(parent, oid)) {
        if (!change.path.startsWith(this.prefix)) continue;
        const rel = change.path.slice(this.prefix.length);
        if (opts.namespace !== undefined && !isNamespaceFile(rel, opts.namespace)) continue;
        if (ctx.files.get(rel)?.oid !== change.newOid) {
          conflicts.push(change.path);
          continue;
        }
        changes.set(rel, change.oldOid ? await ctx.repository.readBlob(change.oldOid) : null);
      }
      if (conflicts.length > 0) {
        throw new ConflictError(`cannot revert ${oid.slice(0, 12)}: changed since: ${conflicts.join(', ')}`, {
          paths: conflicts,
        });
      }
      if (changes.size === 0)
        throw new UsageError(`commit ${oid.slice(0, 12)} changes no configuration file to revert`);
      const subject = info.message.split('\n')[0] ?? '';
      return {
        changes,
        message: opts.message ?? `Revert "${subject}"\n\nThis reverts commit ${oid}.`,
        dryRun: opts.dryRun ?? false,
      };
    });
  }

  /** Config-root relative path -> entry. */
  private view(entries: readonly TreeEntry[]): Map<string, TreeEntry> {
    const out = new Map<string, TreeEntry>();
    for (const e of entries) {
      if (e.type !== 'blob' || !e.path.startsWith(this.prefix)) continue;
      out.set(e.path.slice(this.prefix.length), e);
    }
    return out;
  }

  /** The queue: plan, validate, commit and publish, redoing on a moved branch. */
  private async run(
    author: Author,
    plan: (ctx: PlanContext) => Promise<Plan>,
    single?: string,
  ): Promise<EditResult> {
    const { target, committer, cache } = this.options;
    const result = await this.queue.run(async () => {
      for (let attempt = 1; ; attempt++) {
        const head = await target.refresh();
        if (!head) throw new NotFoundError('branch', target.branch);
        const repository = await target.repository();
        const source = await repository.source(head);
        const before = subtreeSource(source, this.prefix);
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
        const after = overlaySource(before, planned.changes);
        const scopes = this.options.secretScopes;
        const evalOpts = { ...(cache ? { cache } : {}), ...(scopes ? { secretScopes: scopes } : {}) };
        const evaluate = this.options.evaluate ?? evaluateRepo;
        const [evBefore, evAfter] = await Promise.all([
          evaluate(before, evalOpts),
          evaluate(after, evalOpts),
        ]);
        if (!evAfter.ok) throw new InvalidConfigError(evAfter.issues, 'the changed configuration');
        const base = {
          parent: head,
          files: [...planned.changes.keys()].map((p) => this.prefix + p),
          diff: maskedDiff(evBefore, evAfter),
          attempts: attempt,
          dryRun: planned.dryRun ?? false,
          ...(single !== undefined ? { etag: etagAfter(files.get(single), planned.changes, single) } : {}),
        };
        if (planned.changes.size === 0 || planned.dryRun) return { ...base, commit: head, committed: false };
        const changes: FileChange[] = [...planned.changes].map(([p, content]) => ({
          path: this.prefix + p,
          content,
        }));
        try {
          const commit = await target.commit({
            branch: target.branch,
            parent: head,
            changes,
            author: { name: author.name, email: author.email } satisfies IdentityInput,
            committer: { name: committer.name, email: committer.email },
            message: planned.message,
          });
          return { ...base, commit, committed: true };
        } catch (err) {
          if (!isMoved(err)) throw err;
          if (attempt >= this.maxAttempts) {
            throw new ConflictError(`the branch kept moving: gave up after ${attempt} attempts; retry`, {
              attempts: attempt,
            });
          }
        }
      }
    });
    if (result.committed && this.options.onCommitted) {
      return { ...result, served: await this.options.onCommitted(result.commit) };
    }
    return result;
  }
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

async function resolveCommit(repository: GitRepository, ref: string): Promise<string> {
  if (!ref || ref.startsWith('-')) throw new UsageError(`invalid revision: ${JSON.stringify(ref)}`);
  try {
    return await repository.resolveRef(ref);
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError('revision', ref);
    throw err;
  }
}
