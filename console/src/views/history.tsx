/** A pair's history: what each commit changed; compare two; roll back or revert (dry run, then confirm); pins. */
import { useState } from 'preact/hooks';
import { get, paths, request } from '../api';
import type { EditResult, PairDiff, PairHistory } from '../api';
import { useLoad } from '../hooks';
import { href } from '../router';
import { can, generation, refresh, status } from '../state';
import { Diffs, ErrorNote, short, when } from '../ui';

type Pending = { kind: 'rollback' | 'revert'; commit: string; result: EditResult } | null;

export function History({ args }: { args: string[] }) {
  const [ns = '', env = ''] = args;
  const gen = generation.value;
  const data = useLoad(() => get<PairHistory>(`${paths.history(ns, env)}?limit=50`), [ns, env, gen]);
  const [pending, setPending] = useState<Pending>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [picked, setPicked] = useState<string[]>([]);
  const [compare, setCompare] = useState<PairDiff[] | null>(null);
  const admin = can('admin');
  const pin = status.value?.pins?.find((p) => p.env === env);

  const dryRun = async (kind: 'rollback' | 'revert', commit: string) => {
    setError(null);
    setDone(null);
    try {
      const body =
        kind === 'rollback'
          ? { namespace: ns, env, to: commit, dryRun: true }
          : { revert: commit, namespace: ns, dryRun: true };
      const res = await request<EditResult>('POST', '/v1/rollback', { body });
      setPending({ kind, commit, result: res.body });
    } catch (err) {
      setError(err);
    }
  };
  const confirm = async () => {
    if (!pending) return;
    try {
      const body =
        pending.kind === 'rollback'
          ? {
              namespace: ns,
              env,
              to: pending.commit,
              message: `Roll back ${ns}/${env} to ${short(pending.commit)}`,
            }
          : { revert: pending.commit, namespace: ns };
      const res = await request<EditResult>('POST', '/v1/rollback', { body });
      setDone(
        res.body.committed
          ? `Committed ${short(res.body.commit)}.`
          : 'Nothing to change: no commit was made.',
      );
      setPending(null);
      data.reload();
    } catch (err) {
      setError(err);
    }
  };
  const pinAt = async (commit: string | null) => {
    setError(null);
    try {
      if (commit) await request('POST', '/v1/pins', { body: { env, commit } });
      else await request('DELETE', `/v1/pins/${encodeURIComponent(env)}`);
      await refresh();
    } catch (err) {
      setError(err);
    }
  };
  const toggle = (commit: string, on: boolean) => {
    setCompare(null);
    setPicked(
      on ? [...picked.filter((c) => c !== commit), commit].slice(-2) : picked.filter((c) => c !== commit),
    );
  };
  const runCompare = async () => {
    const order = (data.data?.commits ?? []).map((c) => c.commit);
    const [a, b] = [...picked].sort((x, y) => order.indexOf(y) - order.indexOf(x));
    try {
      const diff = await get<{ pairs: PairDiff[] }>(
        `/v1/diff?from=${a}&to=${b}&env=${encodeURIComponent(env)}`,
      );
      setCompare(diff.pairs.filter((p) => p.namespace === ns));
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={href('matrix')}>Matrix</a> /{' '}
        <a href={href('pair', ns, env)}>
          {ns} in {env}
        </a>{' '}
        / history
      </nav>
      <h1>
        History of {ns} in {env}
      </h1>
      {pin && (
        <p class="note">
          {env} is pinned to <code>{short(pin.commit)}</code>.{' '}
          {admin && (
            <button type="button" onClick={() => void pinAt(null)}>
              Unpin {env}
            </button>
          )}
        </p>
      )}
      <ErrorNote error={error ?? data.error} />
      {done && (
        <p class="ok" role="status">
          {done}
        </p>
      )}
      {pending && (
        <section class="confirm" role="alertdialog" aria-label="Confirm" aria-modal="false">
          <h2>
            {pending.kind === 'rollback'
              ? `Roll back ${ns}/${env} to ${short(pending.commit)}?`
              : `Revert ${short(pending.commit)}?`}
          </h2>
          <p>The server checked it (dry run). This is what changes:</p>
          <Diffs diffs={pending.result.diff} />
          <button type="button" onClick={() => void confirm()}>
            Confirm {pending.kind}
          </button>{' '}
          <button type="button" onClick={() => setPending(null)}>
            Cancel
          </button>
        </section>
      )}
      {picked.length === 2 && (
        <p>
          <button type="button" onClick={() => void runCompare()}>
            Compare the two selected commits
          </button>
        </p>
      )}
      {compare && (
        <section aria-label="Comparison">
          <h2>Between {picked.map(short).join(' and ')}</h2>
          <Diffs diffs={compare} />
        </section>
      )}
      {data.data && data.data.commits.length === 0 && <p>No commit changed this configuration yet.</p>}
      <ol class="timeline">
        {data.data?.commits.map((c) => (
          <li key={c.commit}>
            <div class="commit-head">
              <input
                type="checkbox"
                id={`pick-${c.commit}`}
                checked={picked.includes(c.commit)}
                onChange={(e) => toggle(c.commit, (e.target as HTMLInputElement).checked)}
              />
              <label for={`pick-${c.commit}`}>
                <code>{short(c.commit)}</code> <strong>{c.message.split('\n')[0]}</strong>
              </label>
              <div class="muted small">
                {c.author.name} · {when(c.time)} · {c.status}
              </div>
            </div>
            <Diffs diffs={[{ namespace: ns, environment: env, status: c.status, changes: c.changes }]} />
            {admin && (
              <div class="actions">
                <button type="button" onClick={() => void dryRun('rollback', c.commit)}>
                  Roll back to this
                </button>
                <button type="button" onClick={() => void dryRun('revert', c.commit)}>
                  Revert this commit
                </button>
                <button type="button" onClick={() => void pinAt(c.commit)}>
                  Pin {env} here
                </button>
              </div>
            )}
          </li>
        ))}
      </ol>
    </>
  );
}
