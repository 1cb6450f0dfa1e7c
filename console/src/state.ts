/** Shared state of the console: who is signed in, what the repository holds, the route, the connection. */
import { computed, signal } from '@preact/signals';
import { get, onConnection, storedToken } from './api';
import type { RepoDescription, Status, Whoami } from './api';

export const me = signal<Whoami | null>(null);
export const repo = signal<RepoDescription | null>(null);
export const status = signal<Status | null>(null);
export const online = signal(true);
export const lastEvent = signal<string | null>(null);
/** Bumped on every promotion (SSE): views that show served data reload when it changes. */
export const generation = signal(0);

onConnection((ok) => (online.value = ok));

function globRe(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/** Whether the signed-in token's scopes allow `access` (the server enforces it; this only hides controls). */
export function can(access: 'read' | 'write' | 'read-secrets' | 'admin', ns = '', env = ''): boolean {
  const who = me.value;
  if (!who || !who.tokens) return access === 'read';
  for (const scope of who.scopes) {
    if (scope === 'admin') return true;
    if (access === 'admin') continue;
    const m = /^(read|write|read-secrets):([^/]+)\/(.+)$/.exec(scope);
    if (!m) continue;
    const kindOk = m[1] === access || (access === 'read' && (m[1] === 'write' || m[1] === 'read-secrets'));
    if (kindOk && globRe(m[2]!).test(ns) && globRe(m[3]!).test(env)) return true;
  }
  return false;
}

export const signedIn = computed(() => me.value !== null);

/** Environments that inherit from `env`, directly or through others. */
export function heirsOf(env: string): string[] {
  const envs = repo.value?.environments ?? [];
  const out: string[] = [];
  const walk = (parent: string) => {
    for (const e of envs) {
      if (e.extends === parent && !out.includes(e.name)) {
        out.push(e.name);
        walk(e.name);
      }
    }
  };
  walk(env);
  return out;
}

export async function loadSession(): Promise<void> {
  me.value = await get<Whoami>('/v1/whoami');
  await refresh();
}

export async function refresh(): Promise<void> {
  const [r, s] = await Promise.all([get<RepoDescription>('/v1/namespaces'), get<Status>('/v1/status')]);
  repo.value = r;
  status.value = s;
}

export const hasToken = () => storedToken() !== null;
