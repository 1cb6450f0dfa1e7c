/** Human-readable rendering of issues. */
import type { Issue } from './types.js';

/** Renders `file:line:col: message [namespace/env at /json/path]`, leaving out the parts an issue lacks. */
export function formatIssue(issue: Issue): string {
  let where = '';
  if (issue.file !== undefined) {
    where = issue.file;
    if (issue.line !== undefined) where += `:${issue.line}:${issue.column ?? 1}`;
    where += ': ';
  }
  const scope = [issue.namespace, issue.environment].filter((s) => s !== undefined).join('/');
  let context = scope;
  if (issue.path !== undefined && issue.path !== '')
    context += context ? ` at ${issue.path}` : `at ${issue.path}`;
  return `${where}${issue.message}${context ? ` [${context}]` : ''}`;
}
