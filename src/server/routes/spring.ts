/**
 * Spring Cloud Config compatibility: the `Environment` answer and flat files under a prefix, so Spring Boot
 * apps and the npm clients read gitcfg unchanged. Each request spans several namespace x environment pairs
 * (every profile, and the shared `application` namespace), so access is checked per pair while answering.
 */
import type { Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestLimits } from '../../limits/index.js';
import type { AccessControl } from '../../auth/index.js';
import type { JsonObject } from '../../engine/index.js';
import { NotFoundError, UsageError } from '../../errors/index.js';
import {
  FLAT_FILE_CONTENT_TYPE,
  SHARED_APPLICATION,
  buildEnvironment,
  flattenProperties,
  mergeDocuments,
  orderDocuments,
  parseSpringPath,
  renderFlatFile,
  splitFileStem,
} from '../../spring/index.js';
import type { FlatProperties, ProfileDocument, SpringFileFormat, SpringRequest } from '../../spring/index.js';
import { etagOf } from '../../snapshot/index.js';
import type { RenderedBody, RenderedConfig, Snapshot, SnapshotStore } from '../../snapshot/index.js';
import type { ConfigReader } from '../config-reader.js';
import { notModified, writeRendered } from '../http-io.js';
import { authenticate, guardFor } from '../route-table.js';
import type { AccessGuard, RouteSpec } from '../route-table.js';

/** Where the Spring routes are mounted unless configured otherwise. */
export const DEFAULT_SPRING_PREFIX = '/spring';

/** First path segments the rest of the API owns. */
const RESERVED = new Set(['v1', 'healthz', 'readyz', 'metrics']);

/** Checks a Spring prefix (`/spring`, `/config/spring`): plain segments, none the API already uses. */
export function springPrefix(text: string): string {
  const prefix = text.replace(/\/+$/, '');
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix) || /(^|\/)\.\.?(\/|$)/.test(prefix)) {
    throw new UsageError(`invalid Spring prefix ${JSON.stringify(text)}: expected a path such as /spring`);
  }
  if (RESERVED.has(prefix.split('/')[1]!)) {
    throw new UsageError(
      `invalid Spring prefix ${JSON.stringify(text)}: ${prefix} belongs to the gitcfg API`,
    );
  }
  return prefix;
}

/** The flat form of a rendered config, computed once per rendering. */
const flatCache = new WeakMap<RenderedConfig, FlatProperties>();

function flatOf(config: RenderedConfig): FlatProperties {
  let flat = flatCache.get(config);
  if (!flat) flatCache.set(config, (flat = flattenProperties(config.value)));
  return flat;
}

/** What one answer is made of, highest priority first. */
interface Answer {
  documents: ProfileDocument[];
  version: string;
  stale: boolean;
  secretsResolved: boolean;
}

/**
 * The documents of `application` (and of the shared namespace) for each profile that is an environment, each
 * read-checked. When no pair contributes, the caller must still be allowed to read the application somewhere
 * among the profiles, so an unknown name answers exactly like a known one the caller may not read.
 */
async function collect(
  reader: ConfigReader,
  guard: AccessGuard,
  application: string,
  profiles: readonly string[],
  label: string | undefined,
): Promise<Answer> {
  const documents: ProfileDocument[] = [];
  let stale = false;
  let secretsResolved = false;
  const namespaces = application === SHARED_APPLICATION ? [application] : [application, SHARED_APPLICATION];
  for (const namespace of namespaces) {
    for (const environment of new Set(profiles)) {
      const merged = await reader.mergedConfig(guard, namespace, environment, label);
      if (!merged) continue;
      stale ||= merged.stale;
      secretsResolved ||= merged.secretsResolved;
      documents.push({
        namespace,
        environment,
        commit: merged.commit,
        value: merged.value,
        ...(merged.secretsResolved ? {} : { flat: flatOf(merged.config) }),
      });
    }
  }
  const ordered = orderDocuments(application, profiles, documents);
  let version = ordered[0]?.commit;
  if (version === undefined) {
    // An unknown label is a 404 even for an unknown application.
    version = (await reader.snapshotOf(label)).commit;
    guard.readSomewhere(application, profiles);
  }
  return { documents: ordered, version, stale, secretsResolved };
}

function send(
  req: Request,
  res: Response,
  body: Buffer,
  contentType: string,
  answer: Pick<Answer, 'version' | 'stale' | 'secretsResolved'>,
): void {
  const etag = etagOf(body);
  const headers: Record<string, string> = {
    ETag: etag,
    'Gitcfg-Commit': answer.version,
    'Cache-Control': answer.secretsResolved ? 'no-store' : 'no-cache',
  };
  if (answer.secretsResolved) headers.Vary = 'Authorization';
  if (answer.stale) headers['Gitcfg-Stale'] = 'true';
  if (!answer.secretsResolved && notModified(req.headers, etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Type': contentType, 'Content-Length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function environmentBody(
  application: string,
  profiles: string[],
  label: string | undefined,
  version: string,
  documents: ProfileDocument[],
): Buffer {
  const environment = buildEnvironment({ application, profiles, label, version, documents });
  return Buffer.from(JSON.stringify(environment), 'utf8');
}

/** Environment bodies of the served snapshot, by `application/profiles` (bounded: profiles are the caller's). */
const servedBodies = new WeakMap<Snapshot, Map<string, RenderedBody>>();
const MAX_SERVED_BODIES = 1024;

/**
 * The pre-routed fast path of the Spring protocol: a plain GET of `{prefix}/{application}/{profiles}` (no label,
 * no query) answered from the served snapshot when no pin or secret resolution is involved and the caller may
 * read every pair it answers; null for anything else, which the routes then answer (and refuse) in full.
 */
export function springFastPath(deps: {
  prefix: string;
  reader: ConfigReader;
  access: AccessControl;
  store: SnapshotStore;
  sync: { readonly isStale: boolean };
  limits?: RequestLimits | undefined;
}): (req: IncomingMessage, res: ServerResponse) => { route: string } | null {
  const { prefix, reader, access, store, sync, limits } = deps;
  const route = `${prefix}/:application/:profiles`;
  return (req, res) => {
    const url = req.url;
    if (
      (req.method !== 'GET' && req.method !== 'HEAD') ||
      !url?.startsWith(`${prefix}/`) ||
      url.includes('?')
    ) {
      return null;
    }
    const snapshot = store.current;
    let request: SpringRequest | null;
    let guard: AccessGuard;
    try {
      request = parseSpringPath(url.slice(prefix.length));
      guard = guardFor(access, authenticate(access, req, true));
    } catch {
      return null;
    }
    if (!snapshot || request?.kind !== 'environment' || request.label !== undefined) return null;
    const { application, profiles } = request;
    const documents: ProfileDocument[] = [];
    const namespaces = application === SHARED_APPLICATION ? [application] : [application, SHARED_APPLICATION];
    for (const namespace of namespaces) {
      for (const environment of new Set(profiles)) {
        const config = reader.plainServedConfig(guard, snapshot, namespace, environment);
        if (config === undefined) return null;
        if (config)
          documents.push({
            namespace,
            environment,
            commit: snapshot.commit,
            value: config.value,
            flat: flatOf(config),
          });
      }
    }
    // Nothing to answer with still needs the full route's access check.
    if (documents.length === 0) return null;
    let bodies = servedBodies.get(snapshot);
    if (!bodies) servedBodies.set(snapshot, (bodies = new Map()));
    const key = `${application}/${profiles.join(',')}`;
    let rendered = bodies.get(key);
    if (!rendered) {
      const body = environmentBody(
        application,
        profiles,
        undefined,
        snapshot.commit,
        orderDocuments(application, profiles, documents),
      );
      rendered = { body, etag: etagOf(body) };
      if (bodies.size < MAX_SERVED_BODIES) bodies.set(key, rendered);
    }
    let headers: Record<string, string> = { 'Gitcfg-Commit': snapshot.commit };
    if (sync.isStale) headers['Gitcfg-Stale'] = 'true';
    const limited = limits?.admitPlainRead(req, guard.principal);
    if (limited === null) return null;
    headers = { ...limited, ...headers };
    writeRendered(req, res, rendered, 'json', headers);
    return { route };
  };
}

export interface SpringRouteDeps {
  /** Checked with `springPrefix`. */
  prefix: string;
  reader: ConfigReader;
}

/** The Spring Cloud Config routes under `deps.prefix`. */
export function springRoutes(deps: SpringRouteDeps): RouteSpec[] {
  const { prefix, reader } = deps;

  const environment = async (
    req: Request,
    res: Response,
    guard: AccessGuard,
    application: string,
    profiles: string[],
    label: string | undefined,
  ) => {
    const answer = await collect(reader, guard, application, profiles, label);
    const body = Buffer.from(
      JSON.stringify(
        buildEnvironment({
          application,
          profiles,
          label,
          version: answer.version,
          documents: answer.documents,
        }),
      ),
      'utf8',
    );
    send(req, res, body, FLAT_FILE_CONTENT_TYPE.json, answer);
  };

  const flatFile = async (
    req: Request,
    res: Response,
    guard: AccessGuard,
    stem: string,
    format: SpringFileFormat,
    label: string | undefined,
  ) => {
    const snapshot = await reader.snapshotOf(label);
    const split = splitFileStem(stem, (name) => snapshot.namespaces.includes(name));
    if (!split) throw new NotFoundError('Spring file', `${stem} (expected {application}-{profiles})`);
    const answer = await collect(reader, guard, split.application, split.profiles, label);
    // Lowest priority first for the merge.
    const merged: JsonObject = mergeDocuments(answer.documents.map((d) => d.value).reverse());
    send(req, res, renderFlatFile(merged, format).body, FLAT_FILE_CONTENT_TYPE[format], answer);
  };

  /** Parses the raw path (split on `/` before decoding) and answers whatever shape it is. */
  const handler: RouteSpec['handler'] = async (req, res, { guard }) => {
    const url = req.url;
    const q = url.indexOf('?');
    const request = parseSpringPath((q < 0 ? url : url.slice(0, q)).slice(prefix.length));
    if (!request) throw new NotFoundError('route', `${req.method} ${req.path}`);
    if (request.kind === 'file') {
      await flatFile(req, res, guard, request.stem, request.format, request.label);
    } else {
      await environment(req, res, guard, request.application, request.profiles, request.label);
    }
  };

  const spec = (path: string, summary: string): RouteSpec => ({
    method: 'GET',
    path: `${prefix}${path}`,
    access: { kind: 'read-checked' },
    basicAuth: true,
    // A label makes the server build that commit's snapshot.
    limit: (req) => {
      const q = req.url.indexOf('?');
      const parsed = parseSpringPath((q < 0 ? req.url : req.url.slice(0, q)).slice(prefix.length));
      return parsed?.label !== undefined || q >= 0 ? 'expensive' : 'cheap';
    },
    summary,
    handler,
  });
  return [
    spec('/:application/', 'Spring Environment of an application with no profile (the default profile)'),
    spec(
      '/:application/:profiles',
      'Spring Environment of an application and profiles, or a flat file of a label ({label}/{app}-{profiles}.yml)',
    ),
    spec('/:application/:profiles/:label', 'Spring Environment of an application and profiles at a label'),
    spec('/:file', 'Spring flat file {application}-{profiles}.yml|yaml|properties|json'),
  ];
}
