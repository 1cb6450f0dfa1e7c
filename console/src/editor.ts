/**
 * The YAML editor (CodeMirror 6), a chunk of its own loaded on demand: completion and hover from the namespace's
 * JSON Schema, live lint from a local YAML parse and the server's dry-run issues of this file.
 */
import { autocompletion } from '@codemirror/autocomplete';
import type { CompletionContext, CompletionResult } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { linter, lintGutter, forceLinting } from '@codemirror/lint';
import type { Diagnostic } from '@codemirror/lint';
import { EditorState, StateEffect } from '@codemirror/state';
import { EditorView, hoverTooltip, keymap, lineNumbers } from '@codemirror/view';
import type { Text } from '@codemirror/state';
import { parseDocument } from 'yaml';
import type { Issue } from './api';
import { schemaAt, typeOf } from './schema';
import type { Schema } from './schema';

export interface YamlEditor {
  setServerIssues(issues: Issue[]): void;
  destroy(): void;
}

/** The key path of line `lineNo` (1-based) from the indentation of the lines above. */
function pathAt(doc: Text, lineNo: number, indent: number): string[] {
  const path: string[] = [];
  let want = indent;
  for (let n = lineNo - 1; n >= 1 && want > 0; n--) {
    const text = doc.line(n).text;
    const m = /^(\s*)(?:- )?([^\s#:][^:]*):/.exec(text);
    if (!m) continue;
    const ind = m[1]!.length;
    if (ind < want) {
      path.unshift(m[2]!.trim());
      want = ind;
    }
  }
  return path;
}

function describe(s: Schema | undefined): string {
  if (!s) return '';
  const parts = [s.title, s.description, typeOf(s) && `type: ${typeOf(s)}`];
  if (s.enum) parts.push(`one of: ${s.enum.map((v) => JSON.stringify(v)).join(', ')}`);
  if (s.minimum !== undefined || s.maximum !== undefined)
    parts.push(`range: ${s.minimum ?? '−∞'} … ${s.maximum ?? '∞'}`);
  return parts.filter(Boolean).join('\n');
}

/** Tells the linter that the server's issues changed (the document did not). */
const serverIssuesChanged = StateEffect.define<null>();

export function createYamlEditor(
  parent: HTMLElement,
  text: string,
  schema: Schema,
  onChange: (text: string) => void,
): YamlEditor {
  let serverIssues: Issue[] = [];

  const complete = (ctx: CompletionContext): CompletionResult | null => {
    const line = ctx.state.doc.lineAt(ctx.pos);
    const before = line.text.slice(0, ctx.pos - line.from);
    const keyMatch = /^(\s*)([\w-]*)$/.exec(before);
    if (keyMatch) {
      const parent = schemaAt(schema, pathAt(ctx.state.doc, line.number, keyMatch[1]!.length));
      const props = Object.entries(parent?.properties ?? {});
      if (!props.length) return null;
      return {
        from: ctx.pos - keyMatch[2]!.length,
        options: props.map(([name, s]) => ({
          label: name,
          apply: `${name}: `,
          type: 'property',
          info: describe(s) || undefined,
        })),
      };
    }
    const valueMatch = /^(\s*)([\w-]+):\s*([\w-]*)$/.exec(before);
    if (valueMatch) {
      const s = schemaAt(schema, [
        ...pathAt(ctx.state.doc, line.number, valueMatch[1]!.length),
        valueMatch[2]!,
      ]);
      const values = s?.enum ?? (typeOf(s) === 'boolean' ? [true, false] : []);
      if (!values.length) return null;
      return {
        from: ctx.pos - valueMatch[3]!.length,
        options: values.map((v) => ({ label: String(v), type: 'enum' })),
      };
    }
    return null;
  };

  const lint = (view: EditorView): Diagnostic[] => {
    const out: Diagnostic[] = [];
    const doc = view.state.doc;
    const parsed = parseDocument(doc.toString());
    for (const e of parsed.errors) {
      const from = Math.min(e.pos[0], doc.length);
      out.push({
        from,
        to: Math.min(Math.max(e.pos[1], from + 1), doc.length),
        severity: 'error',
        message: e.message.split('\n')[0]!,
      });
    }
    for (const issue of serverIssues) {
      const line = doc.line(Math.min(Math.max(issue.line ?? 1, 1), doc.lines));
      out.push({ from: line.from, to: line.to, severity: 'error', message: issue.message, source: 'gitcfg' });
    }
    return out;
  };

  const hover = hoverTooltip((view, pos) => {
    const line = view.state.doc.lineAt(pos);
    const m = /^(\s*)([\w-]+):/.exec(line.text);
    if (!m) return null;
    const s = schemaAt(schema, [...pathAt(view.state.doc, line.number, m[1]!.length), m[2]!]);
    const info = describe(s);
    if (!info) return null;
    return {
      pos: line.from + m[1]!.length,
      end: line.from + m[1]!.length + m[2]!.length,
      create: () => {
        const dom = document.createElement('div');
        dom.className = 'cm-schema-tip';
        dom.textContent = info;
        return { dom };
      },
    };
  });

  // Inside a shadow root CodeMirror styles itself with constructed style sheets (adoptedStyleSheets), which the
  // console's CSP allows; on the document it would insert <style> elements, which the CSP refuses.
  const root = parent.shadowRoot ?? parent.attachShadow({ mode: 'open' });
  root.replaceChildren();
  const view = new EditorView({
    parent: root,
    root,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(),
        history(),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        yaml(),
        syntaxHighlighting(defaultHighlightStyle),
        autocompletion({ override: [complete] }),
        linter(lint, {
          delay: 300,
          needsRefresh: (u) => u.transactions.some((t) => t.effects.some((e) => e.is(serverIssuesChanged))),
        }),
        lintGutter(),
        hover,
        EditorView.contentAttributes.of({ 'aria-label': 'YAML of this layer file' }),
        EditorView.theme({
          '&': { minHeight: '12rem', fontSize: '14px' },
          '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' },
          '.cm-schema-tip': { padding: '0.3rem 0.5rem', whiteSpace: 'pre-wrap', maxWidth: '28rem' },
        }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    setServerIssues(issues) {
      serverIssues = issues;
      view.dispatch({ effects: serverIssuesChanged.of(null) });
      forceLinting(view);
    },
    destroy: () => view.destroy(),
  };
}
