/** Small shared pieces: errors in plain words, issue lists, effective diffs, values. */
import type { ComponentChildren } from 'preact';
import { ApiError, NetworkError, formatIssue } from './api';
import type { Issue, PairDiff } from './api';

export function short(commit: string | null | undefined): string {
  return commit ? commit.slice(0, 8) : '—';
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

/** Plain words for what went wrong, next to what caused it. */
export function explainError(err: unknown): string {
  if (err instanceof NetworkError)
    return 'The gitcfg server cannot be reached. Check the connection; the page retries.';
  if (err instanceof ApiError) {
    switch (err.status) {
      case 401:
        return 'Your token was not accepted. Sign in again with a valid token.';
      case 403:
        return `Not allowed: ${err.message}`;
      case 404:
        return `Not found: ${err.message}`;
      case 409:
        return `Conflict: ${err.message}`;
      case 412:
        return 'Someone changed this file since you opened it.';
      case 422:
        return `The change would make the configuration invalid (${err.issues.length} issue${err.issues.length === 1 ? '' : 's'}).`;
      case 429:
        return 'Too many requests: wait a moment and try again.';
      default:
        return `${err.message} (${err.code})`;
    }
  }
  return String((err as Error)?.message ?? err);
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const issues = error instanceof ApiError ? error.issues : [];
  return (
    <div class="error" role="alert">
      <p>{explainError(error)}</p>
      {issues.length > 0 && <Issues issues={issues} />}
    </div>
  );
}

export function Issues({ issues }: { issues: Issue[] }) {
  return (
    <ul class="issues" aria-label="Validation issues">
      {issues.map((i, n) => (
        <li key={n}>
          <code>{formatIssue(i)}</code>
        </li>
      ))}
    </ul>
  );
}

export function show(value: unknown): string {
  if (value === undefined) return '(unset)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The effective diff of each pair: `path: from -> to`. */
export function Diffs({ diffs, empty = 'No effective change.' }: { diffs: PairDiff[]; empty?: string }) {
  if (diffs.length === 0) return <p class="muted">{empty}</p>;
  return (
    <div class="diffs">
      {diffs.map((d) => (
        <section
          key={`${d.namespace}/${d.environment}`}
          class="diff"
          aria-label={`Effective change in ${d.environment}`}
        >
          <h4>
            {d.namespace} in <strong>{d.environment}</strong> <span class="muted">({d.status})</span>
          </h4>
          <ul>
            {d.changes.map((c) => (
              <li key={c.path}>
                <code>{c.path}</code>: {c.op === 'add' ? '' : <del>{show(c.from)}</del>}
                {c.op === 'replace' ? ' → ' : ''}
                {c.op === 'remove' ? '' : <ins>{show(c.to)}</ins>}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

export function Card({
  title,
  children,
  label,
}: {
  title: string;
  children: ComponentChildren;
  label?: string;
}) {
  return (
    <section class="card" aria-label={label ?? title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}
