/**
 * The one config-repository builder of the tests: a manifest/schemas/defaults/overrides tree from a small
 * description, written to a temp dir, optionally committed with native git, optionally served by the smart-HTTP
 * remote of `git-http-remote.ts`.
 */
import { stringify } from 'yaml';
import type { JsonObject } from '../../src/values/index.js';
import { startGitHttpRemote } from './git-http-remote.js';
import type { GitHttpRemote } from './git-http-remote.js';
import { commitFiles, createTempRepo, publishBare, run, tempDir, writeFiles } from './git-repo.js';

/** A layer or a schema: text written as is, or a value (YAML for layers, JSON for schemas). */
export type Document = string | JsonObject;

/** Files by repository path; `null` deletes (in `commit`). */
export type Files = Record<string, string | Uint8Array>;

/** What `gitcfg.yaml` declares, when not given as text. */
export interface ManifestDescription {
  /** Environment -> the environment it extends (`null`: none). */
  environments: Record<string, string | null>;
  /** Namespaces holding feature flags. */
  flags?: string[];
}

/** A configuration repository in a few lines. */
export interface ConfigRepoDescription {
  /**
   * `gitcfg.yaml`: text, or environments and flags. Omitted: the environments `overrides` names (each extending
   * nothing), else `production` alone.
   */
  manifest?: string | ManifestDescription;
  /** Namespace -> JSON Schema (`schemas/<ns>.schema.json`). */
  schemas?: Record<string, Document>;
  /** Namespace -> defaults layer (`defaults/<ns>.yaml`). */
  defaults?: Record<string, Document>;
  /** Environment -> namespace -> override layer (`environments/<env>/<ns>.yaml`). */
  overrides?: Record<string, Record<string, Document>>;
  /** More files, verbatim; they win over the ones above. */
  files?: Files;
  /** Config root inside the repository (`cfg` puts everything under `cfg/`). */
  subdir?: string;
}

/** The manifest text of a description. */
export function manifestYaml(manifest: ManifestDescription): string {
  const environments = Object.fromEntries(
    Object.entries(manifest.environments).map(([env, parent]) => [env, parent ? { extends: parent } : {}]),
  );
  return stringify({ version: 1, environments, ...(manifest.flags ? { flags: manifest.flags } : {}) });
}

const layerText = (doc: Document): string => (typeof doc === 'string' ? doc : stringify(doc));
const schemaText = (doc: Document): string => (typeof doc === 'string' ? doc : JSON.stringify(doc));

/** The files of a described repository (pure: nothing is written). */
export function configFiles(desc: ConfigRepoDescription): Files {
  const overrides = desc.overrides ?? {};
  const manifest =
    desc.manifest ??
    ({
      environments: Object.fromEntries(
        (Object.keys(overrides).length > 0 ? Object.keys(overrides) : ['production']).map((e) => [e, null]),
      ),
    } satisfies ManifestDescription);
  const files: Files = {
    'gitcfg.yaml': typeof manifest === 'string' ? manifest : manifestYaml(manifest),
  };
  for (const [ns, schema] of Object.entries(desc.schemas ?? {}))
    files[`schemas/${ns}.schema.json`] = schemaText(schema);
  for (const [ns, layer] of Object.entries(desc.defaults ?? {}))
    files[`defaults/${ns}.yaml`] = layerText(layer);
  for (const [env, layers] of Object.entries(overrides))
    for (const [ns, layer] of Object.entries(layers))
      files[`environments/${env}/${ns}.yaml`] = layerText(layer);
  Object.assign(files, desc.files);
  return desc.subdir ? underSubdir(files, desc.subdir) : files;
}

/** The same files under `subdir/` (`''`: unchanged). */
export function underSubdir<T>(files: Record<string, T>, subdir: string): Record<string, T> {
  if (subdir === '') return files;
  const prefix = subdir.replace(/\/+$/, '') + '/';
  return Object.fromEntries(Object.entries(files).map(([p, c]) => [prefix + p, c]));
}

/** Options of {@link createConfigRepo}. */
export interface ConfigRepoOptions {
  /** `git init` + commit "initial" on `main` (default true). */
  git?: boolean;
  /** Publish as bare `config.git` behind a new smart-HTTP remote (implies `git`), optionally requiring basic auth. */
  remote?: boolean | { auth?: { username: string; password: string } };
}

/** A built repository. Its temp dirs go with `cleanupTempDirs()`; `close()` stops the remote it started. */
export interface ConfigRepo {
  /** The work tree. */
  dir: string;
  /** The files written. */
  files: Files;
  /** The commit of `main` (with `git`), else ''. */
  head: string;
  /** With `remote`: the served bare repository, its URL (without credentials) and the remote. */
  bare?: string;
  url?: string;
  remote?: GitHttpRemote;
  /** Commits files (`null` deletes) in the work tree, pushes to the bare repository if any; resolves to the commit. */
  commit(files: Record<string, string | Uint8Array | null>, message?: string): Promise<string>;
  /** Stops the remote (if any). */
  close(): Promise<void>;
}

/** Builds a described repository (or a plain files record wrapped as `{ files }`). */
export async function createConfigRepo(
  desc: ConfigRepoDescription,
  opts: ConfigRepoOptions = {},
): Promise<ConfigRepo> {
  const files = configFiles(desc);
  const git = opts.git !== false || opts.remote !== undefined;
  if (!git) {
    const dir = await tempDir('gitcfg-config-');
    await writeFiles(dir, files);
    const commit = () => Promise.reject(new Error('createConfigRepo({ git: false }) has no commits'));
    return { dir, files, head: '', commit, close: async () => {} };
  }
  const dir = await createTempRepo({ files });
  const head = await run(dir, 'rev-parse', 'HEAD');
  if (!opts.remote) {
    return { dir, files, head, commit: (f, m) => commitFiles(dir, f, m), close: async () => {} };
  }
  const served = await serveOverHttp(dir, opts.remote === true ? {} : opts.remote);
  return {
    dir,
    files,
    head,
    ...served,
    async commit(f, message) {
      const oid = await commitFiles(dir, f, message);
      await run(dir, 'push', '--quiet', served.bare, 'main');
      return oid;
    },
  };
}

/** A work tree's branches served over smart HTTP: the bare copy, its URL (without credentials), the remote. */
export interface ServedRepo {
  bare: string;
  url: string;
  remote: GitHttpRemote;
  /** Stops the remote. */
  close(): Promise<void>;
}

/**
 * Publishes the branches of `workTree` as bare `config.git` (receive-pack on) behind a new smart-HTTP remote,
 * optionally requiring basic auth. Push to `bare` to publish more commits.
 */
export async function serveOverHttp(
  workTree: string,
  opts: { auth?: { username: string; password: string } } = {},
): Promise<ServedRepo> {
  const root = await tempDir('gitcfg-remote-');
  const bare = await publishBare(workTree, root, 'config.git');
  const remote = await startGitHttpRemote({ root, ...(opts.auth ? { auth: opts.auth } : {}) });
  return { bare, url: remote.url('config.git'), remote, close: () => remote.close() };
}
