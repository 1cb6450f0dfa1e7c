/** The client's disk copy of the last good document per namespace: one JSON file, replaced atomically. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../data-file/index.js';
import { isJsonObject } from '../values/index.js';
import type { JsonObject } from '../values/index.js';

/** Marker of the file format, checked on read. */
export const CACHE_FORMAT = 'gitcfg-client-cache';
/** Version of the file format; a file of another version is ignored. */
export const CACHE_FORMAT_VERSION = 1;

/** What is kept on disk for one namespace of one environment. */
export interface CacheRecord {
  namespace: string;
  environment: string;
  /** Commit the server served the document from (`Gitcfg-Commit`). */
  commit?: string;
  etag?: string;
  /** When the server last confirmed this copy (ISO 8601). */
  fetchedAt: string;
  schemaVersion?: string;
  /** The merged document as served (before environment overrides). */
  value: JsonObject;
  /** The namespace's JSON Schema, kept so overrides are coerced the same way while offline. */
  schema?: JsonObject;
}

/** Where the record of `namespace` in `environment` lives under `cacheDir`. */
export function cacheFilePath(cacheDir: string, environment: string, namespace: string): string {
  return join(cacheDir, environment, `${namespace}.json`);
}

/** The file body of a record. */
export function serializeCacheRecord(record: CacheRecord): string {
  return `${JSON.stringify({ format: CACHE_FORMAT, version: CACHE_FORMAT_VERSION, ...record })}\n`;
}

/** Parses a file body; throws an Error saying what is wrong when it is not a record of this format. */
export function parseCacheRecord(text: string): CacheRecord {
  const data: unknown = JSON.parse(text);
  if (!isJsonObject(data) || data.format !== CACHE_FORMAT) throw new Error(`not a ${CACHE_FORMAT} file`);
  if (data.version !== CACHE_FORMAT_VERSION)
    throw new Error(`unsupported cache format version ${String(data.version)}`);
  const { namespace, environment, commit, etag, fetchedAt, schemaVersion, value, schema } = data;
  if (typeof namespace !== 'string' || typeof environment !== 'string')
    throw new Error('namespace/environment missing');
  if (typeof fetchedAt !== 'string' || Number.isNaN(Date.parse(fetchedAt)))
    throw new Error('fetchedAt missing');
  if (!isJsonObject(value)) throw new Error('value is not an object');
  const optionalString = (v: unknown, name: string) => {
    if (v !== undefined && typeof v !== 'string') throw new Error(`${name} is not a string`);
    return v;
  };
  const record: CacheRecord = { namespace, environment, fetchedAt, value };
  if (optionalString(commit, 'commit') !== undefined) record.commit = commit as string;
  if (optionalString(etag, 'etag') !== undefined) record.etag = etag as string;
  if (optionalString(schemaVersion, 'schemaVersion') !== undefined)
    record.schemaVersion = schemaVersion as string;
  if (schema !== undefined) {
    if (!isJsonObject(schema)) throw new Error('schema is not an object');
    record.schema = schema;
  }
  return record;
}

/** Reads a record; `problem` says why there is none (`absent`, or what is wrong with the file). */
export async function readCacheFile(path: string): Promise<{ record?: CacheRecord; problem?: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { problem: 'absent' };
    return { problem: `unreadable: ${(error as Error).message}` };
  }
  try {
    return { record: parseCacheRecord(text) };
  } catch (error) {
    return { problem: `damaged: ${(error as Error).message}` };
  }
}

/** Writes a record atomically: temp file in the same folder, fsync, rename over the old one. */
export async function writeCacheFile(path: string, record: CacheRecord): Promise<void> {
  await writeFileAtomic(path, Buffer.from(serializeCacheRecord(record), 'utf8'));
}
