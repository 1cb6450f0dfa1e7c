import { useState } from 'preact/hooks';
import { ApiError, get, paths, request } from '../api';
import type { Explanation } from '../api';
import { useLoad } from '../hooks';
import { href } from '../router';
import { can, generation, heirsOf, repo } from '../state';
import { pointer, schemaAt } from '../schema';
import type { Schema } from '../schema';
import { ErrorNote, short, show, when } from '../ui';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function Leaf({ value, secret, ns, env }: { value: Json; secret: boolean; ns: string; env: string }) {
  const [revealed, setRevealed] = useState(false);
  if (!secret) return <code class="value">{show(value)}</code>;
  return (
    <>
      <code class="value">{revealed ? show(value) : '••••••'}</code>{' '}
      {can('read-secrets', ns, env) && (
        <button type="button" class="link" onClick={() => setRevealed(!revealed)}>
          {revealed ? 'Hide' : 'Reveal'}
        </button>
      )}
    </>
  );
}

function Tree(props: {
  value: Json;
  tokens: string[];
  schema: Schema;
  explain: Map<string, Explanation['values'][number]>;
  ns: string;
  env: string;
}) {
  const { value, tokens, schema, explain, ns, env } = props;
  const entries: [string, Json][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : value !== null && typeof value === 'object'
      ? Object.entries(value)
      : [];
  const heirs = heirsOf(env);
  return (
    <ul class="tree" aria-label={tokens.length === 0 ? `${ns} in ${env}` : undefined}>
      {entries.map(([key, child]) => {
        const t = [...tokens, key];
        const sub = schemaAt(schema, t);
        const ptr = pointer(t);
        const why = explain.get(ptr);
        const container = child !== null && typeof child === 'object' && !Array.isArray(child);
        return (
          <li key={key}>
            <span class="key">{key}</span>
            {sub?.title && <span class="muted"> — {sub.title}</span>}
            {container ? (
              <Tree {...props} value={child} tokens={t} />
            ) : (
              <>
                : <Leaf value={child} secret={sub?.['x-gitcfg-secret'] === true} ns={ns} env={env} />
                {sub?.description && <div class="muted small">{sub.description}</div>}
                {why && (
                  <details class="why">
                    <summary>Why this value?</summary>
                    <p>
                      Set in{' '}
                      <code>
                        {why.file ?? 'unknown file'}
                        {why.line ? `:${why.line}` : ''}
                      </code>
                      {why.commit && (
                        <>
                          {' '}
                          by commit <code>{short(why.commit.commit)}</code> ({why.commit.author.name},{' '}
                          {when(why.commit.time)}): “{why.commit.message.split('\n')[0]}”
                          {why.exact ? '' : ' (newest commit of that file)'}
                        </>
                      )}
                    </p>
                    {heirs.length > 0 && <p>Inherited by: {heirs.join(', ')} (unless they override it).</p>}
                  </details>
                )}
              </>
            )}
          </li>
        );
      })}
    </ul>
  );
}

export function Pair({ args }: { args: string[] }) {
  const [ns = '', env = ''] = args;
  const [format, setFormat] = useState<'tree' | 'yaml' | 'json'>('tree');
  const gen = generation.value;
  const data = useLoad(async () => {
    const [config, schema, explain, yaml] = await Promise.all([
      get<Json>(paths.config(ns, env)),
      get<Schema>(paths.schema(ns)),
      get<Explanation>(`${paths.config(ns, env)}?explain=1`).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      }),
      request<string>('GET', paths.config(ns, env), { headers: { Accept: 'application/yaml' }, text: true }),
    ]);
    return { config, schema, explain, yaml: yaml.body, commit: yaml.headers.get('gitcfg-commit') };
  }, [ns, env, gen]);
  const info = repo.value?.namespaces.find((n) => n.name === ns);
  const envInfo = repo.value?.environments.find((e) => e.name === env);
  const origin = location.origin;
  const layers = ['defaults', ...(repo.value?.environments.map((e) => e.name) ?? [])];
  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={href('matrix')}>Matrix</a> / {ns} / {env}
      </nav>
      <h1>
        {info?.title ?? ns} <span class="muted">in</span> {env}
      </h1>
      {info?.description && <p class="muted">{info.description}</p>}
      {envInfo?.extends && (
        <p>
          {env} extends <a href={href('pair', ns, envInfo.extends)}>{envInfo.extends}</a>.
        </p>
      )}
      <div class="actions">
        <a class="button" href={href('history', ns, env)}>
          History
        </a>
        {layers
          .filter((l) => can('write', ns, l))
          .map((l) => (
            <a key={l} class="button" href={href('edit', ns, l)}>
              Edit {l === 'defaults' ? 'defaults' : `${l} overrides`}
            </a>
          ))}
      </div>
      <ErrorNote error={data.error} />
      {data.data && (
        <>
          <p class="muted small">
            Served commit <code>{short(data.data.commit)}</code>. Layers:{' '}
            {(info?.environments.find((e) => e.name === env)?.files ?? []).join(' → ')}
          </p>
          <fieldset class="tabs plain">
            <legend class="sr-only">Show as</legend>
            {(['tree', 'yaml', 'json'] as const).map((f) => (
              <label key={f}>
                <input type="radio" name="format" checked={format === f} onChange={() => setFormat(f)} />{' '}
                {f.toUpperCase()}
              </label>
            ))}
          </fieldset>
          {format === 'tree' && (
            <Tree
              value={data.data.config}
              tokens={[]}
              schema={data.data.schema}
              explain={new Map((data.data.explain?.values ?? []).map((v) => [v.path, v]))}
              ns={ns}
              env={env}
            />
          )}
          {format === 'yaml' && (
            <pre class="code" tabIndex={0} aria-label="YAML">
              {data.data.yaml}
            </pre>
          )}
          {format === 'json' && (
            <pre class="code" tabIndex={0} aria-label="JSON">
              {JSON.stringify(data.data.config, null, 2)}
            </pre>
          )}
          <details class="snippets">
            <summary>Use it from code</summary>
            <h3>curl</h3>
            <pre
              class="code"
              tabIndex={0}
            >{`curl -H "Authorization: Bearer $GITCFG_TOKEN" ${origin}${paths.config(ns, env)}`}</pre>
            <h3>Client SDK (Node)</h3>
            <pre class="code" tabIndex={0}>{`import { createClient } from 'gitcfg/client';

const config = createClient({ url: '${origin}', env: '${env}', token: process.env.GITCFG_TOKEN });
const ${ns.replace(/[^a-zA-Z0-9]/g, '_')} = await config.get('${ns}');`}</pre>
          </details>
        </>
      )}
    </>
  );
}
