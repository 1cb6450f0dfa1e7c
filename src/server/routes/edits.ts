/**
 * Edit routes: `GET /v1/files/:namespace/:env` (the raw layer file and its ETag), `PUT /v1/config/:namespace/:env`
 * (replace it with a YAML or JSON body) and `PATCH` (JSON merge patch). Env `defaults` is the defaults file.
 */
import type { Express, Request, Response } from 'express';
import { stringify } from 'yaml';
import { ForbiddenError, GitcfgError, UsageError } from '../../errors/index.js';
import type { Author, EditResult, EditService, LayerEdit, Preconditions } from '../../edits/index.js';
import type { JsonValue } from '../../engine/index.js';
import type { Principal } from '../../auth/index.js';
import { guarded, principalOf, readBody, sendJson } from './access.js';
import type { RouteContext } from './access.js';

const YAML_RE = /^(application|text)\/(x-)?yaml$/;

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

function unsupported(type: string, expected: string): GitcfgError {
  return new GitcfgError(
    'E_UNSUPPORTED_MEDIA_TYPE',
    `unsupported Content-Type ${JSON.stringify(type)}: use ${expected}`,
  );
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

/** The commit author of a request (the token's holder). */
export function authorOf(principal: Principal | null): Author {
  if (!principal) throw new ForbiddenError('writes need a token');
  return { name: principal.name, email: principal.email };
}

/** Deepest nesting of arrays and objects a JSON body may have (configuration files are far shallower). */
export const MAX_BODY_DEPTH = 100;

function parseJson(body: Buffer): JsonValue {
  let value: JsonValue;
  try {
    value = JSON.parse(body.toString('utf8')) as JsonValue;
  } catch {
    throw new UsageError('the body is not valid JSON');
  }
  if (exceedsDepth(value, MAX_BODY_DEPTH)) {
    throw new UsageError(`the body nests arrays and objects deeper than ${MAX_BODY_DEPTH} levels`);
  }
  return value;
}

/** Whether `value` nests deeper than `max`; walked without recursion, since the input chooses the depth. */
function exceedsDepth(value: JsonValue, max: number): boolean {
  const stack: Array<[JsonValue, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
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

/** Registers the edit routes. */
export function registerEditRoutes(app: Express, ctx: RouteContext): void {
  const { writes, logger } = ctx;
  const limit = writes.bodyLimit ?? 1024 * 1024;

  /** Checks the caller may write the layer file named by the route (before the body is read). */
  function authorizeEdit(req: Request, res: Response): EditService {
    writes.access.authorize(principalOf(res), 'write', String(req.params.namespace), String(req.params.env));
    return requireEdits(writes.edits);
  }

  /** Runs one edit of the layer file named by the route for the caller, logs it and sends the result. */
  async function commitEdit(
    req: Request,
    res: Response,
    what: string,
    edit: (common: LayerEdit) => Promise<EditResult>,
  ): Promise<void> {
    const namespace = String(req.params.namespace);
    const env = String(req.params.env);
    const principal = principalOf(res);
    const message = messageOf(req);
    const pre = preconditions(req);
    const result = await edit({
      namespace,
      env,
      preconditions: pre,
      author: authorOf(principal),
      ...(message !== undefined ? { message } : {}),
    });
    logger.info(
      { namespace, env, by: principal?.name, commit: result.commit, committed: result.committed },
      what,
    );
    sendEditResult(res, result, pre.ifMatch === undefined);
  }

  app.get(
    '/v1/files/:namespace/:env',
    guarded(logger, async (req, res) => {
      const namespace = String(req.params.namespace);
      const env = String(req.params.env);
      writes.access.authorize(principalOf(res), 'read', namespace, env);
      const file = await requireEdits(writes.edits).readFile(namespace, env);
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
      if (req.headers['if-none-match']?.split(',').some((t) => t.trim() === file.etag)) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      headers['Content-Type'] = 'application/yaml; charset=utf-8';
      headers['Content-Length'] = String(file.content.byteLength);
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : Buffer.from(file.content));
    }),
  );

  app.put(
    '/v1/config/:namespace/:env',
    guarded(logger, async (req, res) => {
      const edits = authorizeEdit(req, res);
      const type = mediaType(req);
      const body = await readBody(req, limit);
      let content: string;
      if (type === 'application/json') {
        const value = parseJson(body);
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
        throw unsupported(type, 'application/yaml or application/json');
      }
      await commitEdit(req, res, 'config file replaced', (common) =>
        edits.replaceFile({ ...common, content }),
      );
    }),
  );

  app.patch(
    '/v1/config/:namespace/:env',
    guarded(logger, async (req, res) => {
      const edits = authorizeEdit(req, res);
      const type = mediaType(req);
      if (type !== 'application/merge-patch+json' && type !== 'application/json') {
        throw unsupported(type, 'application/merge-patch+json');
      }
      const patch = parseJson(await readBody(req, limit));
      await commitEdit(req, res, 'config file patched', (common) => edits.patchFile({ ...common, patch }));
    }),
  );
}
