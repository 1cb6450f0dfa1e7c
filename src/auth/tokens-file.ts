/** Parsing and validation of the tokens file. Errors name entries by index and never echo hashes. */
import Ajv2020 from 'ajv/dist/2020.js';
import { LineCounter, parseDocument } from 'yaml';
import { TokensFileError } from '../errors/index.js';
import { parseScope } from './scopes.js';
import type { Scope } from './scopes.js';
import { TOKENS_FILE_SCHEMA } from './tokens-schema.js';

/** One token of the tokens file, parsed. */
export interface TokenEntry {
  name: string;
  email: string;
  /** sha256 of the token, 32 bytes. */
  digest: Buffer;
  scopes: Scope[];
  /** Own rate limits per route class (`20/s:40`, `off`), replacing the server's. */
  limits?: Record<string, string>;
}

interface RawEntry {
  name: string;
  email: string;
  sha256: string;
  scopes: string[];
  limits?: Record<string, string>;
}

let validator: ReturnType<InstanceType<typeof Ajv2020.default>['compile']> | undefined;

function validate(value: unknown) {
  validator ??= new Ajv2020.default({ allErrors: true, strict: true }).compile(TOKENS_FILE_SCHEMA);
  return { ok: validator(value), errors: validator.errors ?? [] };
}

/**
 * Parses a tokens file (YAML or JSON). Throws TokensFileError listing every problem; messages carry
 * positions and field paths only, never the offending value (it may be a hash, or a pasted token).
 */
export function parseTokensFile(text: string, file = 'tokens file'): TokenEntry[] {
  // prettyErrors off: its messages quote the offending line, which may hold a hash or a pasted token.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    const where = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return `line ${pos.line}, column ${pos.col} (${e.code})`;
    });
    throw new TokensFileError(`${file} is not valid YAML: ${where.join('; ')}`, { file });
  }
  const value: unknown = doc.toJS();
  const { ok, errors } = validate(value);
  if (!ok) {
    const problems = errors.map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    throw new TokensFileError(`${file} is invalid: ${[...new Set(problems)].join('; ')}`, { file });
  }
  const raw = (value as { tokens: RawEntry[] }).tokens;
  const seen = new Map<string, number>();
  const problems: string[] = [];
  const entries = raw.map((t, i) => {
    const hex = t.sha256.toLowerCase();
    const first = seen.get(hex);
    if (first !== undefined) problems.push(`/tokens/${i} has the same sha256 as /tokens/${first}`);
    seen.set(hex, i);
    return {
      name: t.name,
      email: t.email,
      digest: Buffer.from(hex, 'hex'),
      scopes: t.scopes.map(parseScope),
      ...(t.limits ? { limits: t.limits } : {}),
    };
  });
  if (problems.length > 0) throw new TokensFileError(`${file} is invalid: ${problems.join('; ')}`, { file });
  return entries;
}

/**
 * Reads the tokens file at `file` through `readFile` (passed in; e.g. `fs.readFileSync(p, 'utf8')`); throws
 * TokensFileError when it cannot be read or is invalid.
 */
export function loadTokensFile(file: string, readFile: (file: string) => string): TokenEntry[] {
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new TokensFileError(`cannot read the tokens file ${file}: ${code}`, { file, reason: code });
  }
  return parseTokensFile(text, file);
}
