/** Hash routing: every view has a URL (`#/pair/app/production`) that can be shared and bookmarked. */
import { signal } from '@preact/signals';

export interface Route {
  view: string;
  args: string[];
  query: URLSearchParams;
}

function parse(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', q = ''] = hash.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] ?? 'overview', args: parts.slice(1), query: new URLSearchParams(q) };
}

export const route = signal<Route>(parse());
addEventListener('hashchange', () => (route.value = parse()));

/** The href of a view. */
export function href(view: string, ...args: string[]): string {
  return `#/${[view, ...args].map(encodeURIComponent).join('/')}`;
}

export function go(view: string, ...args: string[]): void {
  location.hash = href(view, ...args).slice(1);
}
