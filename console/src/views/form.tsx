/** A form generated from the JSON Schema: numbers with bounds, enums, booleans, strings, arrays of scalars. */
import { deref, pointer, typeOf } from '../schema';
import type { Schema } from '../schema';
import { show } from '../ui';

export interface FieldState {
  /** The value shown (pending edit, else this layer's, else inherited). */
  value(ptr: string): unknown;
  /** Whether this layer sets the key (or a pending edit does). */
  setHere(ptr: string): boolean;
  /** The value inherited from lower layers, if known. */
  inherited(ptr: string): unknown;
  change(ptr: string, value: unknown): void;
  reset(ptr: string): void;
  canReveal: boolean;
}

const clip = (text: string) => (text.length > 80 ? `${text.slice(0, 77)}…` : text);

const id = (ptr: string) => `f${ptr.replace(/[^a-zA-Z0-9_-]/g, '_')}`;

function Field({
  name,
  schema,
  ptr,
  state,
}: {
  name: string;
  schema: Schema;
  ptr: string;
  state: FieldState;
}) {
  const type = typeOf(schema);
  const value = state.value(ptr);
  const here = state.setHere(ptr);
  const inherited = state.inherited(ptr);
  const fid = id(ptr);
  const describedBy = schema.description ? `${fid}-d` : undefined;
  const label = (
    <label for={fid}>
      {schema.title ?? name} <code class="muted small">{name}</code>
    </label>
  );
  let input;
  if (schema.enum) {
    input = (
      <select
        id={fid}
        aria-describedby={describedBy}
        onChange={(e) => state.change(ptr, schema.enum![Number((e.target as HTMLSelectElement).value)])}
      >
        {value === undefined && <option value="">(unset)</option>}
        {schema.enum.map((opt, i) => (
          <option key={i} value={String(i)} selected={JSON.stringify(opt) === JSON.stringify(value)}>
            {show(opt)}
          </option>
        ))}
      </select>
    );
  } else if (type === 'boolean') {
    input = (
      <input
        id={fid}
        type="checkbox"
        aria-describedby={describedBy}
        checked={value === true}
        onChange={(e) => state.change(ptr, (e.target as HTMLInputElement).checked)}
      />
    );
  } else if (type === 'number' || type === 'integer') {
    input = (
      <input
        id={fid}
        type="number"
        aria-describedby={describedBy}
        step={type === 'integer' ? 1 : 'any'}
        min={schema.minimum ?? schema.exclusiveMinimum}
        max={schema.maximum ?? schema.exclusiveMaximum}
        value={value === undefined ? '' : String(value)}
        onInput={(e) => {
          const raw = (e.target as HTMLInputElement).value;
          // An unparsable entry is sent as text: the server names the problem with file and line.
          state.change(ptr, raw === '' ? null : Number.isFinite(Number(raw)) ? Number(raw) : raw);
        }}
      />
    );
  } else if (type === 'string') {
    const text = value === undefined ? '' : String(value);
    const onInput = (e: Event) => state.change(ptr, (e.target as HTMLInputElement).value);
    // A secret field stays masked unless the token may read secrets.
    input =
      schema['x-gitcfg-secret'] && !state.canReveal ? (
        <input id={fid} type="password" aria-describedby={describedBy} value={text} onInput={onInput} />
      ) : (
        <input id={fid} type="text" aria-describedby={describedBy} value={text} onInput={onInput} />
      );
  } else if (
    type === 'array' &&
    ['string', 'number', 'integer', 'boolean'].includes(typeOf(schema.items) ?? 'string')
  ) {
    const itemType = typeOf(schema.items);
    input = (
      <textarea
        id={fid}
        aria-describedby={describedBy}
        rows={3}
        value={Array.isArray(value) ? value.map(show).join('\n') : ''}
        onInput={(e) => {
          const lines = (e.target as HTMLTextAreaElement).value.split('\n').filter((l) => l.trim() !== '');
          state.change(
            ptr,
            lines.map((l) => (itemType === 'string' || !itemType ? l : (JSON.parse(l) as unknown))),
          );
        }}
      />
    );
  } else {
    input = <span class="muted">Edit this value in the YAML editor.</span>;
  }
  const bounds =
    schema.minimum !== undefined || schema.maximum !== undefined
      ? ` Allowed: ${schema.minimum ?? '−∞'} … ${schema.maximum ?? '∞'}.`
      : '';
  return (
    <div class={here ? 'field here' : 'field'}>
      {label}
      {input}
      <div id={describedBy} class="muted small">
        {schema.description}
        {bounds}
        {here
          ? ' Set in this layer.'
          : inherited !== undefined
            ? ` Inherited: ${clip(show(inherited))}.`
            : ''}
      </div>
      {here && (
        <button
          type="button"
          class="link"
          onClick={() => state.reset(ptr)}
          aria-label={`Reset ${name} to inherited`}
        >
          Reset to inherited
        </button>
      )}
    </div>
  );
}

export function SchemaForm({
  root,
  schema,
  tokens,
  state,
}: {
  root: Schema;
  schema: Schema;
  tokens: string[];
  state: FieldState;
}) {
  const props = Object.entries(deref(root, schema)?.properties ?? {});
  return (
    <>
      {props.map(([name, raw]) => {
        const sub = deref(root, raw) ?? {};
        const t = [...tokens, name];
        if (typeOf(sub) === 'object' && sub.properties) {
          return (
            <fieldset key={name} class="section">
              <legend>{sub.title ?? name}</legend>
              {sub.description && <p class="muted small">{sub.description}</p>}
              <SchemaForm root={root} schema={sub} tokens={t} state={state} />
            </fieldset>
          );
        }
        return <Field key={name} name={name} schema={sub} ptr={pointer(t)} state={state} />;
      })}
    </>
  );
}
