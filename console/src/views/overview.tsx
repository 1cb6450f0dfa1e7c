import { lastEvent, repo, status } from '../state';
import { href } from '../router';
import { Card, Issues, short, when } from '../ui';
import { RolloutsCard } from './rollouts';

export function Overview() {
  const s = status.value;
  const r = repo.value;
  if (!s || !r) return <p>Loading…</p>;
  const same = s.served?.commit === s.branchHead;
  return (
    <>
      <h1>Overview</h1>
      {r.description && <p class="muted">{r.description}</p>}
      <div class="grid">
        <Card title="Served commit">
          <dl>
            <dt>Repository</dt>
            <dd>
              <code>{s.repository}</code> (branch <code>{s.branch}</code>)
            </dd>
            <dt>Served</dt>
            <dd>
              <code data-testid="served-commit">{short(s.served?.commit)}</code> since{' '}
              {when(s.served?.promotedAt ?? s.served?.builtAt)}
            </dd>
            <dt>Branch head</dt>
            <dd>
              <code>{short(s.branchHead)}</code>{' '}
              {same ? <span class="ok">same as served</span> : <span class="bad">not served</span>}
            </dd>
            <dt>State</dt>
            <dd>
              {s.stale ? (
                <span class="bad">stale: the remote could not be fetched</span>
              ) : (
                <span class="ok">up to date</span>
              )}
            </dd>
            <dt>Last fetch</dt>
            <dd>
              {when(s.lastFetch?.at)}{' '}
              {s.lastFetch && !s.lastFetch.ok && (
                <span class="bad">failed: {s.lastFetch.error?.message}</span>
              )}
            </dd>
            <dt>Last sync</dt>
            <dd>
              {when(s.lastSync?.at)} {s.lastSync && `(${s.lastSync.reason}: ${s.lastSync.outcome})`}
            </dd>
            <dt>Live updates</dt>
            <dd aria-live="polite">
              {lastEvent.value ? `last promotion ${short(lastEvent.value)}` : 'listening'}
            </dd>
          </dl>
        </Card>
        {s.rejected && (
          <Card title="Rejected commit">
            <p>
              Commit <code>{short(s.rejected.commit)}</code> was rejected at {when(s.rejected.at)}:
            </p>
            <Issues issues={s.rejected.issues} />
          </Card>
        )}
        <RolloutsCard />
        <Card title="Pins">
          {s.pins && s.pins.length > 0 ? (
            <ul>
              {s.pins.map((p) => (
                <li key={p.env}>
                  <strong>{p.env}</strong> pinned to <code>{short(p.commit)}</code>
                  {p.by ? ` by ${p.by}` : ''}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No environment is pinned: every environment serves the branch.</p>
          )}
        </Card>
        <Card title="Webhook deliveries">
          {s.webhooks && s.webhooks.recent.length > 0 ? (
            <ul data-testid="webhook-deliveries">
              {s.webhooks.recent.slice(0, 8).map((d, i) => (
                <li key={`${d.at}-${i}`}>
                  {when(d.at)} <strong>{d.provider}</strong> {d.event ?? 'delivery'}{' '}
                  <span class={d.outcome === 'accepted' || d.outcome === 'ping' ? 'ok' : 'muted'}>
                    {d.outcome}
                  </span>
                  {d.refs && d.refs.length > 0 && (
                    <>
                      {' '}
                      <code>{d.refs.join(', ')}</code>
                    </>
                  )}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">
              No webhook delivery since the server started: it polls the remote, or the git host has not sent
              one yet.
            </p>
          )}
        </Card>
        <Card title="Namespaces">
          <ul class="ns-list">
            {r.namespaces.map((n) => (
              <li key={n.name}>
                <strong>{n.title ?? n.name}</strong> <code>{n.name}</code> (schema v{n.schemaVersion})
                {n.description && <div class="muted">{n.description}</div>}
                <div>
                  {n.environments.map((e) => (
                    <a key={e.name} class="chip" href={href('pair', n.name, e.name)}>
                      {e.name}
                    </a>
                  ))}
                </div>
              </li>
            ))}
          </ul>
        </Card>
      </div>
    </>
  );
}
