/**
 * Edits through the API: replace or merge-patch one layer file, roll a namespace back, revert a commit. Each
 * request becomes a plan (the file changes, from the head it is given); every plan runs through one queue and
 * the commit loop (`commit-loop.ts`: validate, commit, publish, redo on a moved branch).
 */
import type { EngineCache, RepoEvaluator, SecretScopes, TreeEntry } from '../engine/index.js';
import {
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  PreconditionRequiredError,
  UsageError,
} from '../errors/index.js';
import { subtreeSource } from '../git/index.js';
import type { GitRepository } from '../git/index.js';
import type { JsonValue } from '../engine/index.js';
import { CommitLoop, fileEtag } from './commit-loop.js';
import type { Author, EditResult, Plan, PlanContext } from './commit-loop.js';
import { applyMergePatchToYaml } from './merge-patch.js';
import { checkName, isNamespaceFile, layerFile } from './repo-paths.js';
import { WriteLock } from './write-target.js';
import type { WriteTarget } from './write-target.js';

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

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

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
  private readonly loop: CommitLoop;

  constructor(private readonly options: EditServiceOptions) {
    const subdir = (options.subdir ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = subdir ? `${subdir}/` : '';
    const { cache, secretScopes: scopes } = options;
    this.loop = new CommitLoop({
      target: options.target,
      committer: options.committer,
      prefix: this.prefix,
      scope: (source) => subtreeSource(source, this.prefix),
      maxAttempts: options.maxAttempts ?? 5,
      ...(options.evaluate ? { evaluate: options.evaluate } : {}),
      evaluateOptions: { ...(cache ? { cache } : {}), ...(scopes ? { secretScopes: scopes } : {}) },
    });
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

  /** The queue: one write at a time through the commit loop, then `onCommitted` outside the queue. */
  private async run(
    author: Author,
    plan: (ctx: PlanContext) => Promise<Plan>,
    single?: string,
  ): Promise<EditResult> {
    const result = await this.queue.run(() => this.loop.run(author, plan, single));
    if (result.committed && this.options.onCommitted) {
      return { ...result, served: await this.options.onCommitted(result.commit) };
    }
    return result;
  }
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
