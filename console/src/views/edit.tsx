/**
 * Edit one layer file (defaults or an environment's overrides) with a schema form or the YAML editor. Every change
 * is dry-run by the server first (issues with file:line, effective diff of every environment reached); saving
 * commits with the user's message; a file changed meanwhile shows the conflict and re-applies on top.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { parse } from 'yaml';
import { ApiError, get, paths, request } from '../api';
import type { EditResult, Issue } from '../api';
import { useLoad } from '../hooks';
import { href } from '../router';
import { can, me, repo } from '../state';
import { pointerTokens } from '../schema';
import type { Schema } from '../schema';
import { Diffs, ErrorNote, Issues, explainError, short } from '../ui';
import { SchemaForm } from './form';
import type { FieldState } from './form';
import type { YamlEditor } from '../editor';

type Obj = Record<string, unknown>;

function at(value: unknown, tokens: string[]): unknown {
  let cur = value;
  for (const t of tokens) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Obj)[t];
  }
  return cur;
}

/** A merge patch (RFC 7396) from pointer -> value (null removes). */
function mergePatch(edits: Map<string, unknown>): Obj {
  const out: Obj = {};
  for (const [ptr, value] of edits) {
    const tokens = pointerTokens(ptr);
    let cur = out;
    tokens.forEach((t, i) => {
      if (i === tokens.length - 1) cur[t] = value;
      else cur = (cur[t] ??= {}) as Obj;
    });
  }
  return out;
}

interface LayerFile {
  text: string | null;
  etag: string | null;
  value: unknown;
}

async function readLayer(ns: string, layer: string): Promise<LayerFile> {
  try {
    const res = await request<string>('GET', paths.file(ns, layer), {
      text: true,
      headers: { Accept: 'application/yaml' },
    });
    return { text: res.body, etag: res.headers.get('gitcfg-file-etag'), value: parse(res.body) as unknown };
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && /file not found/.test(err.message)) {
      return { text: null, etag: null, value: {} };
    }
    throw err;
  }
}

type Outcome =
  | { kind: 'idle' }
  | { kind: 'checking' }
  | { kind: 'ok'; result: EditResult }
  | { kind: 'error'; error: unknown };

export function Edit({ args, query }: { args: string[]; query: URLSearchParams }) {
  const [ns = '', layer = 'defaults'] = args;
  const mode = query.get('mode') === 'yaml' ? 'yaml' : 'form';
  const envs = repo.value?.environments.map((e) => e.name) ?? [];
  const refEnv = layer === 'defaults' ? null : layer;
  const base = useLoad(async () => {
    const [file, schema, effective] = await Promise.all([
      readLayer(ns, layer),
      get<Schema>(paths.schema(ns)),
      refEnv ? get<unknown>(paths.config(ns, refEnv)) : Promise.resolve(null),
    ]);
    return { file, schema, effective };
  }, [ns, layer]);
  const [file, setFile] = useState<LayerFile | null>(null);
  const [edits, setEdits] = useState<Map<string, unknown>>(new Map());
  const [yamlText, setYamlText] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome>({ kind: 'idle' });
  const [message, setMessage] = useState('');
  const [saved, setSaved] = useState<EditResult | null>(null);
  const [conflict, setConflict] = useState<{ base: string | null; theirs: LayerFile } | null>(null);
  const [saving, setSaving] = useState(false);
  useEffect(() => {
    if (base.data) {
      setFile(base.data.file);
      setYamlText(base.data.file.text ?? '');
    }
  }, [base.data]);

  const dirty = mode === 'form' ? edits.size > 0 : yamlText !== null && yamlText !== (file?.text ?? '');

  /** Sends the change: a dry run, or the commit. */
  const send = async (dryRun: boolean, target: LayerFile, signal?: AbortSignal): Promise<EditResult> => {
    const headers: Record<string, string> = target.etag
      ? { 'If-Match': target.etag }
      : { 'If-None-Match': '*' };
    if (!dryRun) headers['Gitcfg-Message'] = encodeURIComponent(message.trim());
    const url = `${paths.config(ns, layer)}${dryRun ? '?dryRun=true' : ''}`;
    const res =
      mode === 'form'
        ? await request<EditResult>('PATCH', url, {
            body: JSON.stringify(mergePatch(edits)),
            headers: { ...headers, 'Content-Type': 'application/merge-patch+json' },
            ...(signal ? { signal } : {}),
          })
        : await request<EditResult>('PUT', url, {
            body: yamlText ?? '',
            headers: { ...headers, 'Content-Type': 'application/yaml' },
            ...(signal ? { signal } : {}),
          });
    return res.body;
  };

  // Dry-run every change (debounced): issues and the effective diff show before saving.
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (!file || !dirty || conflict) {
      setOutcome({ kind: 'idle' });
      return;
    }
    setOutcome({ kind: 'checking' });
    clearTimeout(timer.current);
    let live = true;
    // A check the next keystroke supersedes is cancelled: it would hold one of the browser's few connections
    // to the server and make the server validate a text nobody will save.
    const superseded = new AbortController();
    timer.current = window.setTimeout(() => {
      send(true, file, superseded.signal).then(
        (result) => live && setOutcome({ kind: 'ok', result }),
        (error: unknown) => {
          if (!live) return;
          if (error instanceof ApiError && error.status === 412) void openConflict();
          setOutcome({ kind: 'error', error });
        },
      );
    }, 350);
    return () => {
      live = false;
      superseded.abort();
    };
  }, [edits, yamlText, file, mode, conflict]);

  const openConflict = async () => {
    const theirs = await readLayer(ns, layer);
    setConflict({ base: file?.text ?? null, theirs });
  };

  const save = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setSaving(true);
    try {
      const result = await send(false, file);
      setSaved(result);
      setEdits(new Map());
      setMessage('');
      const fresh = await readLayer(ns, layer);
      setFile(fresh);
      setYamlText(fresh.text ?? '');
    } catch (error) {
      if (error instanceof ApiError && (error.status === 412 || error.status === 409)) await openConflict();
      setOutcome({ kind: 'error', error });
    } finally {
      setSaving(false);
    }
  };

  const reapply = () => {
    if (!conflict) return;
    setFile(conflict.theirs);
    if (mode === 'yaml') setYamlText(yamlText);
    setConflict(null);
  };

  if (!can('write', ns, layer)) {
    return (
      <>
        <h1>Edit {ns}</h1>
        <p role="alert">
          Your token may not change {layer === 'defaults' ? 'the defaults' : `the ${layer} overrides`} of {ns}
          .
        </p>
      </>
    );
  }
  const data = base.data;
  const schema = data?.schema;
  const state: FieldState = {
    value: (ptr) =>
      // A reset key (null in the patch) shows empty: the dry-run diff says what it falls back to.
      edits.has(ptr)
        ? (edits.get(ptr) ?? undefined)
        : (at(file?.value, pointerTokens(ptr)) ?? at(data?.effective, pointerTokens(ptr))),
    setHere: (ptr) =>
      edits.has(ptr) ? edits.get(ptr) !== null : at(file?.value, pointerTokens(ptr)) !== undefined,
    inherited: (ptr) => (layer === 'defaults' ? undefined : at(data?.effective, pointerTokens(ptr))),
    change: (ptr, value) => setEdits(new Map(edits).set(ptr, value)),
    reset: (ptr) => setEdits(new Map(edits).set(ptr, null)),
    canReveal: can('read-secrets', ns, layer),
  };
  const modeHref = (m: string) => `${href('edit', ns, layer)}${m === 'yaml' ? '?mode=yaml' : ''}`;
  const issues: Issue[] =
    outcome.kind === 'error' && outcome.error instanceof ApiError ? outcome.error.issues : [];
  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href={href('matrix')}>Matrix</a> / <a href={href('pair', ns, refEnv ?? envs[0] ?? '')}>{ns}</a> /
        edit {layer}
      </nav>
      <h1>
        Edit {ns}: {layer === 'defaults' ? 'defaults (every environment)' : `${layer} overrides`}
      </h1>
      <div class="actions">
        <label for="layer">Layer</label>
        <select
          id="layer"
          onChange={(e) => (location.hash = href('edit', ns, (e.target as HTMLSelectElement).value).slice(1))}
        >
          {['defaults', ...envs].map((l) => (
            <option key={l} value={l} selected={l === layer} disabled={!can('write', ns, l)}>
              {l === 'defaults' ? 'defaults' : `${l} overrides`}
            </option>
          ))}
        </select>
        <span role="group" aria-label="Editor" class="tabs">
          <a href={modeHref('form')} aria-current={mode === 'form' ? 'page' : undefined}>
            Form
          </a>
          <a href={modeHref('yaml')} aria-current={mode === 'yaml' ? 'page' : undefined}>
            YAML
          </a>
        </span>
      </div>
      <ErrorNote error={base.error} />
      {file && file.text === null && <p class="note">This layer has no file yet: saving creates it.</p>}
      {saved && (
        <p class="ok" role="status">
          {saved.committed ? (
            <>
              Saved as commit <code data-testid="saved-commit">{short(saved.commit)}</code> by{' '}
              {me.value?.name}
              {saved.served ? `; served ${short(saved.served)}` : ''}.
            </>
          ) : (
            'Nothing changed: no commit was made.'
          )}{' '}
          {refEnv && (
            <a href={href('pair', ns, refEnv)}>
              See {ns} in {refEnv}
            </a>
          )}
        </p>
      )}
      {conflict && (
        <section class="conflict" role="alert" aria-label="Conflict">
          <h2>Someone changed this file meanwhile</h2>
          <p>
            Your change was not saved. Compare, then re-apply your change on top of theirs (it is validated
            again).
          </p>
          <div class="three">
            <div>
              <h3>When you opened it</h3>
              <pre class="code" tabIndex={0}>
                {conflict.base ?? '(no file)'}
              </pre>
            </div>
            <div>
              <h3>Now (theirs)</h3>
              <pre class="code" tabIndex={0}>
                {conflict.theirs.text ?? '(no file)'}
              </pre>
            </div>
            <div>
              <h3>Your change</h3>
              <pre class="code" tabIndex={0}>
                {mode === 'form' ? JSON.stringify(mergePatch(edits), null, 2) : yamlText}
              </pre>
            </div>
          </div>
          <button type="button" onClick={reapply}>
            Re-apply my change on top
          </button>
        </section>
      )}
      {schema && file && (
        <form onSubmit={save} class="edit">
          {mode === 'form' ? (
            <div class="form-fields">
              <SchemaForm root={schema} schema={schema} tokens={[]} state={state} />
            </div>
          ) : (
            <YamlPane
              text={yamlText ?? ''}
              schema={schema}
              issues={issues}
              file={layer === 'defaults' ? `defaults/${ns}.yaml` : `environments/${layer}/${ns}.yaml`}
              onChange={setYamlText}
            />
          )}
          <section class="check" aria-live="polite" aria-label="Check before saving">
            <h2>Before saving</h2>
            {!dirty && <p class="muted">Change something to see what it does.</p>}
            {outcome.kind === 'checking' && <p>Checking with the server…</p>}
            {outcome.kind === 'error' && (
              <div class="error">
                <p>{explainError(outcome.error)}</p>
                {issues.length > 0 && <Issues issues={issues} />}
              </div>
            )}
            {outcome.kind === 'ok' && (
              <>
                <p class="ok">Valid. Effective change of every environment it reaches:</p>
                <Diffs diffs={outcome.result.diff} />
              </>
            )}
          </section>
          <label for="message">Commit message</label>
          <input
            id="message"
            value={message}
            required
            placeholder="Why this change?"
            onInput={(e) => setMessage((e.target as HTMLInputElement).value)}
          />
          <button
            type="submit"
            disabled={saving || outcome.kind !== 'ok' || !message.trim() || conflict !== null}
          >
            {saving ? 'Saving…' : 'Save'}
          </button>
        </form>
      )}
    </>
  );
}

/** The YAML editor (CodeMirror), loaded only when this pane is shown. */
function YamlPane(props: {
  text: string;
  schema: Schema;
  issues: Issue[];
  file: string;
  onChange: (text: string) => void;
}) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<YamlEditor | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    import('../editor').then(
      ({ createYamlEditor }) => {
        if (!live || !host.current) return;
        editor.current = createYamlEditor(host.current, props.text, props.schema, props.onChange);
      },
      (err: unknown) => setError(err),
    );
    return () => {
      live = false;
      editor.current?.destroy();
    };
  }, []);
  useEffect(() => {
    editor.current?.setServerIssues(props.issues.filter((i) => i.file === props.file));
  }, [props.issues, props.file]);
  return (
    <div>
      <ErrorNote error={error} />
      <div ref={host} class="yaml-editor" />
    </div>
  );
}
