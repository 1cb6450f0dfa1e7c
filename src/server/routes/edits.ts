/**
 * Edit routes: `GET /v1/files/:namespace/:env` (the raw layer file and its ETag), `PUT /v1/config/:namespace/:env`
 * (replace it with a YAML or JSON body) and `PATCH` (JSON merge patch). Env `defaults` is the defaults file.
 */
import type { Request, Response } from 'express';
import { stringify } from 'yaml';
import {
  ForbiddenError,
  GitcfgError,
  InvalidConfigError,
  UnsupportedMediaTypeError,
  UsageError,
} from '../../errors/index.js';
import type { Author, EditResult, EditService, LayerEdit, Preconditions } from '../../edits/index.js';
import type { JsonValue } from '../../engine/index.js';
import type { Principal } from '../../auth/index.js';
import type { Logger } from '../../log/index.js';
import type { Snapshot, SnapshotStore } from '../../snapshot/index.js';
import { notModified, parseJsonBody, queryParam, readBody, sendJson, statusOf } from '../http-io.js';
import type { AccessGuard, RouteSpec } from '../route-table.js';

const YAML_RE = /^(application|text)\/(x-)?yaml$/;

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

function preconditions(req: Request): Preconditions {
  const out: Preconditions = {};
  if (req.headers['if-match'] !== undefined) out.ifMatch = req.headers['if-match'];
  if (req.headers['if-none-match'] !== undefined) out.ifNoneMatch = req.headers['if-none-match'];
  return out;
}

/** The commit message from `Gitcfg-Message` (percent-decoded, so it may span lines). */
export function messageOf(req: Request): string | undefined {
  const raw = req.headers['gitcfg-message'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new UsageError('Gitcfg-Message must be given once');
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    text = raw;
  }
  text = text.trim();
  if (!text) throw new UsageError('Gitcfg-Message is empty');
  if (text.length > 10_000) throw new UsageError('Gitcfg-Message is longer than 10000 characters');
  const trailer = trailerIn(text);
  if (trailer) {
    throw new UsageError(
      `Gitcfg-Message must not carry git trailers (found "${trailer}:"): the author is the token's holder, and the commit says nothing it was not given`,
      { trailer },
    );
  }
  return text;
}

const TRAILER_LINE = /^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]*\S/;

/**
 * A trailer git would read from `message`: an attribution line (`Signed-off-by:`, `Co-authored-by:`, any
 * `*-by:`) anywhere, or a last paragraph (after the subject) made only of `Token: value` lines.
 */
function trailerIn(message: string): string | null {
  const lines = message.split(/\r?\n/);
  for (const line of lines) {
    const token = TRAILER_LINE.exec(line.trim())?.[1];
    if (token && /-by$/i.test(token)) return token;
  }
  const paragraphs = message.split(/\r?\n[ \t]*\r?\n/);
  const last = paragraphs.length > 1 ? paragraphs[paragraphs.length - 1]!.split(/\r?\n/) : [];
  const tokens = last.map((line) => TRAILER_LINE.exec(line.trim())?.[1]);
  return tokens.length > 0 && tokens.every((t) => t !== undefined) ? tokens[0]! : null;
}

/** `?dryRun=true` (or `1`): validate and answer the effective diff, commit nothing. */
function dryRunOf(req: Request): boolean {
  const value = queryParam(req, 'dryRun');
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1' || value === '') return true;
  throw new UsageError(`dryRun must be true or false, not ${JSON.stringify(value)}`);
}

/** The commit author of a request (the token's holder). */
export function authorOf(principal: Principal | null): Author {
  if (!principal) throw new ForbiddenError('writes need a token');
  return { name: principal.name, email: principal.email };
}

/** Answers an edit: 201 when a file was created, 200 otherwise; headers carry the commit and the file ETag. */
export function sendEditResult(res: Response, result: EditResult, created = false): void {
  const headers: Record<string, string> = { 'Gitcfg-Commit': result.commit };
  if (result.etag) {
    headers.ETag = result.etag;
    headers['Gitcfg-File-ETag'] = result.etag;
  }
  sendJson(res, created && result.committed ? 201 : 200, result, headers);
}

function requireEdits(edits: EditService | undefined): EditService {
  if (!edits) throw new ForbiddenError('this server accepts no edits');
  return edits;
}

/** What the write routes (edits, rollback, pins) need. */
export interface WriteRouteDeps {
  /** Absent: the write routes answer 403 (nothing to write to). */
  edits?: EditService | undefined;
  store: SnapshotStore;
  sync: { snapshotAt(ref: string): Promise<Snapshot> };
  logger: Logger;
  /** Largest accepted request body, bytes (default 1 MiB). */
  bodyLimit?: number | undefined;
}

/**
 * Runs a write; a failure of the remote (5xx) says that nothing was committed, so the caller knows a retry is safe.
 */
export async function committing<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const status = err instanceof GitcfgError ? (statusOf(err.code) ?? 0) : 0;
    if (err instanceof GitcfgError && (status === 502 || status === 503)) {
      throw err.withNote('nothing was committed');
    }
    throw err;
  }
}

/** The edit routes. */
export function editRoutes(deps: WriteRouteDeps): RouteSpec[] {
  const { logger } = deps;
  const limit = deps.bodyLimit ?? 1024 * 1024;
  const edits = (): EditService => requireEdits(deps.edits);

  /** Runs one edit of the layer file named by the route for the caller, logs it and sends the result. */
  async function commitEdit(
    req: Request,
    res: Response,
    guard: AccessGuard,
    what: string,
    edit: (common: LayerEdit) => Promise<EditResult>,
  ): Promise<void> {
    const namespace = String(req.params.namespace);
    const env = String(req.params.env);
    const message = messageOf(req);
    const pre = preconditions(req);
    const dryRun = dryRunOf(req);
    const result = await committing(() =>
      edit({
        namespace,
        env,
        preconditions: pre,
        author: authorOf(guard.principal),
        dryRun,
        ...(message !== undefined ? { message } : {}),
      }),
    );
    logger.info(
      {
        namespace,
        env,
        by: guard.principal?.name,
        commit: result.commit,
        committed: result.committed,
        dryRun,
      },
      what,
    );
    sendEditResult(res, result, pre.ifMatch === undefined);
  }

  /**
   * The branch head may be a commit the server rejected (e.g. a plaintext secret): its raw files are answered
   * only to callers who may read that pair's secrets; others are told which commit is served instead.
   */
  async function assertHeadReadable(commit: string, guard: AccessGuard, ns: string, env: string) {
    if (commit === deps.store.current?.commit || guard.canReadSecrets(ns, env)) return;
    try {
      await deps.sync.snapshotAt(commit);
    } catch (err) {
      if (!(err instanceof InvalidConfigError)) throw err;
      throw new ForbiddenError(
        `the branch head ${commit.slice(0, 12)} was rejected by validation; its raw files are readable only ` +
          `with read-secrets on ${ns}/${env} (served: ${deps.store.current?.commit.slice(0, 12) ?? 'none'})`,
        { commit },
      );
    }
  }

  return [
    {
      method: 'GET',
      path: '/v1/files/:namespace/:env',
      access: { kind: 'read', namespaceParam: 'namespace', envParam: 'env' },
      summary: 'the raw layer file at the branch head, with its ETag for edits',
      // Read from git, and a rejected head is built to know whether it validates.
      limit: 'expensive',
      handler: async (req, res, { guard }) => {
        const namespace = String(req.params.namespace);
        const env = String(req.params.env);
        const file = await edits().readFile(namespace, env);
        await assertHeadReadable(file.commit, guard, namespace, env);
        const headers: Record<string, string> = { 'Gitcfg-Commit': file.commit, 'Cache-Control': 'no-cache' };
        if (!file.etag || !file.content) {
          sendJson(
            res,
            404,
            { error: { code: 'E_NOT_FOUND', message: `file not found: ${file.path}` } },
            headers,
          );
          return;
        }
        headers.ETag = file.etag;
        headers['Gitcfg-File-ETag'] = file.etag;
        if (notModified(req.headers, file.etag)) {
          res.writeHead(304, headers);
          res.end();
          return;
        }
        headers['Content-Type'] = 'application/yaml; charset=utf-8';
        headers['Content-Length'] = String(file.content.byteLength);
        res.writeHead(200, headers);
        res.end(req.method === 'HEAD' ? undefined : Buffer.from(file.content));
      },
    },
    {
      method: 'PUT',
      path: '/v1/config/:namespace/:env',
      access: { kind: 'write', namespaceParam: 'namespace', envParam: 'env' },
      summary: 'replace a layer file (YAML or JSON body; If-Match)',
      handler: async (req, res, { guard }) => {
        const service = edits();
        const type = mediaType(req);
        const body = await readBody(req, limit);
        let content: string;
        if (type === 'application/json') {
          const value = parseJsonBody(body) as JsonValue;
          if (typeof value !== 'object' || value === null || Array.isArray(value)) {
            throw new UsageError('the body must be a JSON object');
          }
          content = stringify(value, { lineWidth: 0 });
        } else if (type === '' || YAML_RE.test(type)) {
          try {
            content = new TextDecoder('utf-8', { fatal: true }).decode(body);
          } catch {
            throw new UsageError('the body is not UTF-8');
          }
        } else {
          throw new UnsupportedMediaTypeError(type, 'application/yaml or application/json');
        }
        await commitEdit(req, res, guard, 'config file replaced', (common) =>
          service.replaceFile({ ...common, content }),
        );
      },
    },
    {
      method: 'PATCH',
      path: '/v1/config/:namespace/:env',
      access: { kind: 'write', namespaceParam: 'namespace', envParam: 'env' },
      summary: 'JSON merge patch of a layer file (comments kept; If-Match)',
      handler: async (req, res, { guard }) => {
        const service = edits();
        const type = mediaType(req);
        if (type !== 'application/merge-patch+json' && type !== 'application/json') {
          throw new UnsupportedMediaTypeError(type, 'application/merge-patch+json');
        }
        const patch = parseJsonBody(await readBody(req, limit)) as JsonValue;
        await commitEdit(req, res, guard, 'config file patched', (common) =>
          service.patchFile({ ...common, patch }),
        );
      },
    },
  ];
}
