/**
 * Spring Cloud Config request paths. Clients encode each segment with `encodeURIComponent`, so a profile list
 * arrives as `dev%2Cmysql` and a label `feature/x` as `feature%2Fx`: the path is split on `/` first and each
 * segment decoded after. Spring users also write `feature(_)x` for a label with `/`.
 */
import { UsageError } from '../errors/index.js';

/** The profile a request without profiles stands for (Spring's name). */
export const DEFAULT_PROFILE = 'default';

/** Flat-file formats Spring serves (`.yml` and `.yaml` are the same). */
export type SpringFileFormat = 'yaml' | 'properties' | 'json';

const FILE_EXTENSIONS: Readonly<Record<string, SpringFileFormat>> = {
  yml: 'yaml',
  yaml: 'yaml',
  properties: 'properties',
  json: 'json',
};

/** What a path under the Spring prefix asks for. */
export type SpringRequest =
  | { kind: 'environment'; application: string; profiles: string[]; label: string | undefined }
  /** `stem` is `{application}-{profiles}`: where it splits depends on the repository (see `splitFileStem`). */
  | { kind: 'file'; stem: string; format: SpringFileFormat; label: string | undefined };

function decodeSegment(raw: string, where: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new UsageError(`${where} is not valid percent-encoding: ${JSON.stringify(raw)}`);
  }
}

/** Comma-separated profiles, blanks dropped; none means `default`. */
export function parseProfiles(text: string): string[] {
  const profiles = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  return profiles.length > 0 ? profiles : [DEFAULT_PROFILE];
}

/** A decoded label: `(_)` stands for `/`. */
export function parseLabel(text: string): string {
  const label = text.replaceAll('(_)', '/');
  if (label === '') throw new UsageError('the label in the request path is empty');
  return label;
}

function fileOf(segment: string, label: string | undefined): SpringRequest | null {
  const dot = segment.lastIndexOf('.');
  const format = dot > 0 ? FILE_EXTENSIONS[segment.slice(dot + 1)] : undefined;
  if (!format) return null;
  return { kind: 'file', stem: segment.slice(0, dot), format, label };
}

/**
 * Parses the part of a request path after the Spring prefix (`/orders/dev%2Cmysql/main`, still
 * percent-encoded). Returns null for a shape Spring does not serve; throws UsageError for bad encoding.
 */
export function parseSpringPath(rawPath: string): SpringRequest | null {
  if (!rawPath.startsWith('/')) return null;
  const raw = rawPath.slice(1).split('/');
  const segments = raw.map((s, i) => decodeSegment(s, `segment ${i + 1} of the request path`));
  const [first, second, third] = segments;
  if (first === undefined || first === '') return null;
  switch (segments.length) {
    case 1:
      return fileOf(first, undefined);
    case 2: {
      // `{application}/` is what a client with no active profiles sends.
      if (second === '')
        return { kind: 'environment', application: first, profiles: [DEFAULT_PROFILE], label: undefined };
      const file = fileOf(second!, parseLabel(first));
      if (file) return file;
      return { kind: 'environment', application: first, profiles: parseProfiles(second!), label: undefined };
    }
    case 3:
      if (second === '' || third === '') return null;
      return {
        kind: 'environment',
        application: first,
        profiles: parseProfiles(second!),
        label: parseLabel(third!),
      };
    default:
      return null;
  }
}

/**
 * Splits `{application}-{profiles}`: names may hold `-` themselves, so the split that names an existing
 * namespace wins (the longest such name); otherwise the last `-`, as Spring's server splits.
 */
export function splitFileStem(
  stem: string,
  isNamespace: (name: string) => boolean,
): { application: string; profiles: string[] } | null {
  const dashes: number[] = [];
  for (let i = stem.indexOf('-'); i > 0; i = stem.indexOf('-', i + 1)) dashes.push(i);
  if (dashes.length === 0) return null;
  const known = dashes.reverse().find((i) => isNamespace(stem.slice(0, i)));
  const at = known ?? dashes[0]!;
  const rest = stem.slice(at + 1);
  if (rest === '') return null;
  return { application: stem.slice(0, at), profiles: parseProfiles(rest) };
}
