import { useState } from 'preact/hooks';
import { repo, status } from '../state';
import { href } from '../router';

export function Matrix({ query }: { query: URLSearchParams }) {
  const [filter, setFilter] = useState(query.get('q') ?? '');
  const r = repo.value;
  const s = status.value;
  if (!r) return <p>Loading…</p>;
  const pins = new Map((s?.pins ?? []).map((p) => [p.env, p.commit]));
  const rejected = new Set(
    (s?.rejected?.issues ?? []).map((i) => `${i.namespace ?? ''}/${i.environment ?? ''}`),
  );
  const rejectedNs = new Set(
    (s?.rejected?.issues ?? []).filter((i) => !i.environment).map((i) => i.namespace),
  );
  const envs = r.environments;
  const rows = r.namespaces.filter(
    (n) =>
      n.name.includes(filter.trim().toLowerCase()) ||
      (n.title ?? '').toLowerCase().includes(filter.trim().toLowerCase()),
  );
  const update = (value: string) => {
    setFilter(value);
    history.replaceState(null, '', value ? `#/matrix?q=${encodeURIComponent(value)}` : '#/matrix');
  };
  return (
    <>
      <h1>Namespaces × environments</h1>
      <label for="filter">Filter namespaces</label>{' '}
      <input
        id="filter"
        type="search"
        value={filter}
        onInput={(e) => update((e.target as HTMLInputElement).value)}
      />
      <div class="table-wrap">
        <table class="matrix">
          <caption class="sr-only">
            Each cell: served state and whether the environment has its own override file
          </caption>
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              {envs.map((e) => (
                <th scope="col" key={e.name}>
                  {e.name}
                  {e.extends && <div class="muted small">extends {e.extends}</div>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((n) => (
              <tr key={n.name}>
                <th scope="row">{n.name}</th>
                {envs.map((e) => {
                  const pair = n.environments.find((x) => x.name === e.name);
                  if (!pair)
                    return (
                      <td key={e.name} class="muted">
                        no access
                      </td>
                    );
                  const own = pair.files.filter((f) => f.startsWith('environments/')).length;
                  const bad = rejected.has(`${n.name}/${e.name}`) || rejectedNs.has(n.name);
                  const state = pins.has(e.name) ? 'pinned' : bad ? 'head rejected' : 'valid';
                  return (
                    <td key={e.name} class={bad ? 'cell bad' : 'cell'}>
                      <a href={href('pair', n.name, e.name)} aria-label={`${n.name} in ${e.name}: ${state}`}>
                        {state}
                      </a>
                      <div class="small muted">
                        {overridesText(pair, e.name)}
                        {own > 1 ? `, ${own} override layers` : ''}
                      </div>
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length === 0 && <p>No namespace matches “{filter}”.</p>}
    </>
  );
}

/** `3 keys overridden` (by this environment's own file), or `inherits` when it has none. */
function overridesText(pair: { files: string[]; overrides?: number }, env: string): string {
  const ownFile = pair.files.some((f) => f.startsWith(`environments/${env}/`));
  if (!ownFile) return 'inherits';
  if (pair.overrides === undefined) return 'own overrides';
  return `${pair.overrides} ${pair.overrides === 1 ? 'key' : 'keys'} overridden`;
}
