/** Joins the evaluations of disjoint namespace groups (and limit issues) into one `Evaluation`. */
import { DEFAULT_LIMITS, compareIssues, deepFreeze } from '../engine/index.js';
import type { Evaluation, Issue } from '../engine/index.js';

/**
 * Each part evaluated some namespaces of the same tree, so layout and manifest issues appear in every part:
 * they are kept once. A part that is an issue (a bound was hit) only adds that issue.
 */
export function mergeEvaluations(parts: readonly (Evaluation | Issue)[], namespaces: string[]): Evaluation {
  const evaluations = parts.filter((p): p is Evaluation => 'configs' in p);
  const first = evaluations[0];
  const seen = new Set<string>();
  const issues: Issue[] = [];
  const add = (issue: Issue) => {
    const key = JSON.stringify(issue);
    if (seen.has(key)) return;
    seen.add(key);
    issues.push(issue);
  };
  for (const part of parts) {
    if ('configs' in part) part.issues.forEach(add);
    else add(part);
  }
  issues.sort(compareIssues);
  const merged: Evaluation = {
    ok: issues.length === 0,
    issues,
    ...(first?.manifest ? { manifest: first.manifest } : {}),
    namespaces,
    environments: first?.environments ?? [],
    schemas: new Map(evaluations.flatMap((e) => [...e.schemas])),
    configs: new Map(evaluations.flatMap((e) => [...e.configs])),
    versions: new Map(evaluations.flatMap((e) => [...e.versions])),
    limits: first?.limits ?? { ...DEFAULT_LIMITS },
  };
  // Values crossed a thread boundary as copies: freeze them again, as the engine's contract says.
  for (const config of merged.configs.values()) deepFreeze(config.value);
  for (const schema of merged.schemas.values()) deepFreeze(schema);
  return merged;
}
