import { useEffect, useState } from 'preact/hooks';
import { request } from '../api';
import { useLoad } from '../hooks';
import { can, generation } from '../state';
import { Card, ErrorNote, short, when } from '../ui';

/** A rollout as `GET /v1/rollouts` lists it (the parts shown). */
interface Rollout {
  env: string;
  id: string;
  stable: string;
  candidate: string;
  status: string;
  share: number;
  steps: number[];
  nextStepAt: string | null;
  endedAt: string | null;
  by: string | null;
  clients: { stable: number; candidate: number; other: number };
}

const ACTIVE = new Set(['running', 'paused', 'baking']);

/** Running rollouts with their share, next step, clients per commit, and pause / resume / abort (admin). */
export function RolloutsCard() {
  const admin = can('admin');
  const { data, error, reload } = useLoad(
    async () => (admin ? (await request<{ rollouts: Rollout[] }>('GET', '/v1/rollouts')).body.rollouts : []),
    [admin, generation.value],
  );
  const [failure, setFailure] = useState<unknown>(null);
  const active = (data ?? []).filter((r) => ACTIVE.has(r.status) || (r.status === 'aborted' && !r.endedAt));
  // The share moves with time: refresh while a rollout runs.
  useEffect(() => {
    if (active.length === 0) return;
    const timer = setInterval(reload, 5000);
    return () => clearInterval(timer);
  }, [active.length]);
  if (!admin) return null;
  const act = async (env: string, action: string) => {
    if (
      action === 'abort' &&
      !confirm(`Abort the rollout of ${env}? Everyone goes back to the stable commit.`)
    )
      return;
    setFailure(null);
    try {
      await request('POST', `/v1/rollouts/${encodeURIComponent(env)}/${action}`);
    } catch (err) {
      setFailure(err);
    }
    reload();
  };
  return (
    <Card title="Rollouts">
      <ErrorNote error={error ?? failure} />
      {active.length === 0 ? (
        <p class="muted">No rollout is running: new commits reach every client of their environment.</p>
      ) : (
        <ul data-testid="rollouts">
          {active.map((r) => (
            <li key={r.id}>
              <strong>{r.env}</strong>: <code>{short(r.candidate)}</code> to {r.share}% ({r.status}
              {r.nextStepAt ? `, next step ${when(r.nextStepAt)}` : ''}), stable{' '}
              <code>{short(r.stable)}</code>
              <div class="muted">
                clients seen: {r.clients.candidate} on the candidate, {r.clients.stable} on the stable
                {r.clients.other ? `, ${r.clients.other} on other commits` : ''}; steps {r.steps.join(' → ')}%
              </div>
              <div>
                {r.status === 'paused' ? (
                  <button type="button" onClick={() => void act(r.env, 'resume')}>
                    Resume
                  </button>
                ) : (
                  <button
                    type="button"
                    onClick={() => void act(r.env, 'pause')}
                    disabled={r.status === 'aborted'}
                  >
                    Pause
                  </button>
                )}{' '}
                <button
                  type="button"
                  onClick={() => void act(r.env, 'abort')}
                  disabled={r.status === 'aborted'}
                >
                  Abort
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
