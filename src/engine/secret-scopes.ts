/**
 * Secret scopes: which environment variables the `${env:NAME}` references of each namespace x environment may
 * name. Parsed from the operator's spec (`ai-provider/production:OPENAI_API_KEY,ai-provider/staging:STAGING_*`);
 * `*` globs work in the namespace, the environment and the name. Deny by default: a pair may only reference
 * what an entry grants it, and `GITCFG_*` (the server's own settings and credentials) is never granted.
 */
import { UsageError } from '../errors/index.js';

/** One `namespace/environment:NAME` grant, each part a `*` glob. */
export interface SecretScopeEntry {
  namespace: string;
  environment: string;
  name: string;
}

const ENTRY_RE = /^([a-z0-9*-]+)\/([a-z0-9*-]+):([A-Za-z0-9_*]+)$/;
const RESERVED_PREFIX = 'GITCFG_';

/** `*` matches any run of characters; the parts hold no other pattern characters (checked by `ENTRY_RE`). */
function globMatcher(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').join('.*')}$`);
}

/** The grants of one spec, and the check `(namespace, environment, name)` against them. */
export class SecretScopes {
  private readonly compiled: ReadonlyArray<[RegExp, RegExp, RegExp]>;

  constructor(readonly entries: readonly SecretScopeEntry[]) {
    // Case-sensitive, also for names: a reference spelled in another case is refused even where the lookup of
    // the environment would ignore case (Windows).
    this.compiled = entries.map((e) => [
      globMatcher(e.namespace),
      globMatcher(e.environment),
      globMatcher(e.name),
    ]);
  }

  /** No grant at all: nothing resolves. */
  static none(): SecretScopes {
    return new SecretScopes([]);
  }

  /**
   * Parses a spec: entries separated by commas or new lines, blank lines and `#` comments ignored. `source`
   * names where the spec came from (a variable or a file) in errors. A bare `NAME` (the old global syntax) is
   * refused: it would grant the variable to every namespace and environment without saying so.
   */
  static parse(spec: string, source: string): SecretScopes {
    const entries: SecretScopeEntry[] = [];
    spec.split('\n').forEach((line, index) => {
      const where = spec.includes('\n') ? `${source}:${index + 1}` : source;
      for (const raw of line.replace(/#.*$/, '').split(',')) {
        const text = raw.trim();
        if (text === '') continue;
        const m = ENTRY_RE.exec(text);
        if (!m) {
          const hint = /^[A-Za-z0-9_*]+$/.test(text)
            ? `a bare name no longer applies everywhere: write <namespace>/<environment>:${text} (e.g. */*:${text} for every pair)`
            : 'expected <namespace>/<environment>:<NAME>, each part letters, digits, - or _ and * globs';
          throw new UsageError(`${where}: invalid secret scope entry "${text}": ${hint}`, { source: where });
        }
        entries.push({ namespace: m[1]!, environment: m[2]!, name: m[3]! });
      }
    });
    return new SecretScopes(entries);
  }

  /** Whether a reference `${env:name}` in `namespace/environment` may resolve. */
  allows(namespace: string, environment: string, name: string): boolean {
    if (name.toUpperCase().startsWith(RESERVED_PREFIX)) return false;
    return this.compiled.some(([ns, env, n]) => ns.test(namespace) && env.test(environment) && n.test(name));
  }
}
