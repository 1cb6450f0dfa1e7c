/**
 * OpenFeature Remote Evaluation Protocol (OFREP) over the flag namespaces of an environment. The environment is
 * a path prefix, so an OFREP provider's `baseUrl` (`<server>/v1/envs/<env>`) selects it.
 */
import type { Request } from 'express';
import { FlagNotFoundError, FlagRequestParseError } from '../../errors/index.js';
import { evaluationContextOf } from '../../flags/index.js';
import type { FlagEvaluation, FlagFailure } from '../../flags/index.js';
import { etagOf } from '../../snapshot/index.js';
import { clientIdOf, minCommitOf } from '../config-reader.js';
import type { ConfigReader } from '../config-reader.js';
import { MAX_BODY_DEPTH, readBody, sendJson, writeRendered } from '../http-io.js';
import { nestsDeeperThan } from '../../engine/index.js';
import type { JsonValue } from '../../engine/index.js';
import type { RouteSpec } from '../route-table.js';

export interface OfrepRouteDeps {
  reader: ConfigReader;
  /** Largest accepted request body (default 64 KiB: an evaluation context is small). */
  bodyLimit?: number | undefined;
}

/** The `context` of an OFREP request body (absent body = empty context). */
async function contextOf(req: Request, limit: number, key?: string) {
  const raw = (await readBody(req, limit)).toString('utf8');
  if (raw.trim() === '') return evaluationContextOf(undefined, key);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new FlagRequestParseError('the request body is not valid JSON', key);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FlagRequestParseError('the request body must be a JSON object {context: {...}}', key);
  }
  if (nestsDeeperThan(body as JsonValue, MAX_BODY_DEPTH)) {
    throw new FlagRequestParseError(`the request body nests deeper than ${MAX_BODY_DEPTH} levels`, key);
  }
  return evaluationContextOf((body as { context?: unknown }).context, key);
}

export function ofrepRoutes(deps: OfrepRouteDeps): RouteSpec[] {
  const { reader } = deps;
  const limit = deps.bodyLimit ?? 64 * 1024;
  return [
    {
      method: 'POST',
      path: '/v1/envs/:env/ofrep/v1/evaluate/flags/:key',
      access: { kind: 'read-checked' },
      summary: 'OFREP: evaluate one flag (read on the flag namespaces of the environment)',
      handler: async (req, res, { guard }) => {
        const key = String(req.params.key);
        const { sets, headers } = await reader.flagSets(
          guard,
          String(req.params.env),
          minCommitOf(req),
          clientIdOf(req),
        );
        const context = await contextOf(req, limit, key);
        const set = sets.find((s) => s.has(key));
        if (!set) throw new FlagNotFoundError(key);
        sendJson(res, 200, set.evaluate(key, context), headers);
      },
    },
    {
      method: 'POST',
      path: '/v1/envs/:env/ofrep/v1/evaluate/flags',
      access: { kind: 'read-checked' },
      summary: 'OFREP: evaluate every flag (read on the flag namespaces; ETag, If-None-Match -> 304)',
      handler: async (req, res, { guard }) => {
        const { sets, headers } = await reader.flagSets(
          guard,
          String(req.params.env),
          minCommitOf(req),
          clientIdOf(req),
        );
        const context = await contextOf(req, limit);
        const seen = new Set<string>();
        const flags: Array<FlagEvaluation | FlagFailure> = [];
        for (const set of sets) {
          for (const result of set.evaluateAll(context)) {
            // A key in two flag namespaces: the first namespace in the manifest's `flags` answers.
            if (seen.has(result.key)) continue;
            seen.add(result.key);
            flags.push(result);
          }
        }
        const body = Buffer.from(JSON.stringify({ flags }), 'utf8');
        writeRendered(req, res, { body, etag: etagOf(body) }, 'json', headers);
      },
    },
  ];
}
