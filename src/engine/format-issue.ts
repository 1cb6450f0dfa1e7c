/** Human-readable rendering of issues. */
import type { Issue } from './types.js';

/** Renders `file:line:col: message [namespace/env at /json/path]`, leaving out the parts an issue lacks. */
export function formatIssue(issue: Issue): string {
  return formatWithEnvironments(issue, issue.environment === undefined ? [] : [issue.environment]);
}

/**
 * Renders every issue once: an issue that several environments inherit from the same line (a defaults value, or
 * an override that a child environment extends) is one line listing them, `[ns/production, staging at /a]`.
 */
export function formatIssues(issues: readonly Issue[]): string[] {
  const groups = new Map<string, { issue: Issue; environments: string[] }>();
  for (const issue of issues) {
    const { environment, ...rest } = issue;
    const key = JSON.stringify([
      rest.code,
      rest.file,
      rest.line,
      rest.column,
      rest.message,
      rest.namespace,
      rest.path,
    ]);
    const group = groups.get(key);
    if (!group) groups.set(key, { issue, environments: environment === undefined ? [] : [environment] });
    else if (environment !== undefined && !group.environments.includes(environment)) {
      group.environments.push(environment);
    }
  }
  return [...groups.values()].map((g) => formatWithEnvironments(g.issue, g.environments));
}

function formatWithEnvironments(issue: Issue, environments: readonly string[]): string {
  let where = '';
  if (issue.file !== undefined) {
    where = issue.file;
    if (issue.line !== undefined) where += `:${issue.line}:${issue.column ?? 1}`;
    where += ': ';
  }
  const envs = environments.length > 0 ? environments.join(', ') : undefined;
  const scope = [issue.namespace, envs].filter((s) => s !== undefined).join('/');
  let context = scope;
  if (issue.path !== undefined && issue.path !== '')
    context += context ? ` at ${issue.path}` : `at ${issue.path}`;
  return `${where}${issue.message}${context ? ` [${context}]` : ''}`;
}

function cmp(a: string | number | undefined, b: string | number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return a < b ? -1 : 1;
}

/** Orders issues by file, line, column (issues without a file first), then by namespace, environment, path. */
export function compareIssues(a: Issue, b: Issue): number {
  return (
    cmp(a.file, b.file) ||
    cmp(a.line, b.line) ||
    cmp(a.column, b.column) ||
    cmp(a.namespace, b.namespace) ||
    cmp(a.environment, b.environment) ||
    cmp(a.path, b.path) ||
    cmp(a.code, b.code) ||
    cmp(a.message, b.message)
  );
}
