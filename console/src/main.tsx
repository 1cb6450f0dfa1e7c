/** The gitcfg web console: a single-page app over the public HTTP API. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './console.css';
import { ApiError, followEvents, storeToken, storedToken } from './api';
import { href, route } from './router';
import { generation, lastEvent, loadSession, me, online, refresh, status } from './state';
import { ErrorNote } from './ui';
import { Overview } from './views/overview';
import { Matrix } from './views/matrix';
import { Pair } from './views/pair';
import { Edit } from './views/edit';
import { History } from './views/history';

function SignIn({ onDone }: { onDone: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    storeToken(token.trim());
    try {
      await loadSession();
      onDone();
    } catch (err) {
      storeToken(null);
      me.value = null;
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>Sign in to gitcfg</h1>
      <p>
        Paste your API token. It is kept in this browser tab only (session storage) and sent to this server as
        a bearer header; it never goes in a URL or a cookie.
      </p>
      <form onSubmit={submit}>
        <label for="token">Token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          required
        />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <ErrorNote error={error} />
    </main>
  );
}

const VIEWS: Record<string, (props: { args: string[]; query: URLSearchParams }) => preact.JSX.Element> = {
  overview: Overview,
  matrix: Matrix,
  pair: Pair,
  edit: Edit,
  history: History,
};

function App() {
  const [phase, setPhase] = useState<'loading' | 'signin' | 'ready'>('loading');
  const [error, setError] = useState<unknown>(null);
  const start = async () => {
    try {
      await loadSession();
      setPhase('ready');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        storeToken(null);
        setPhase('signin');
      } else {
        setError(err);
        setPhase(storedToken() ? 'ready' : 'signin');
      }
    }
  };
  useEffect(() => {
    void start();
  }, []);
  useEffect(() => {
    if (phase !== 'ready') return;
    const abort = new AbortController();
    void followEvents((event) => {
      lastEvent.value = event.commit;
      generation.value++;
      refresh().catch(setError);
    }, abort.signal);
    return () => abort.abort();
  }, [phase]);
  // While the server cannot be reached, ask again every few seconds; the banner goes once it answers.
  useEffect(
    () =>
      online.subscribe((ok) => {
        if (ok || phase !== 'ready') return;
        const retry = window.setInterval(() => {
          if (online.value) window.clearInterval(retry);
          else refresh().catch(() => {});
        }, 3000);
      }),
    [phase],
  );
  // Recover after a lost connection: reload what the views show.
  useEffect(
    () =>
      online.subscribe((ok) => {
        if (ok && phase === 'ready') refresh().then(() => setError(null), setError);
      }),
    [phase],
  );

  if (phase === 'loading') return <p class="loading">Loading…</p>;
  if (phase === 'signin') return <SignIn onDone={() => setPhase('ready')} />;
  const { view, args, query } = route.value;
  const View = VIEWS[view] ?? Overview;
  const who = me.value;
  const signOut = () => {
    storeToken(null);
    me.value = null;
    setPhase('signin');
  };
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}
      >
        Skip to content
      </a>
      <header>
        <span class="brand">gitcfg</span>
        <nav aria-label="Views">
          <a href={href('overview')} aria-current={view === 'overview' ? 'page' : undefined}>
            Overview
          </a>
          <a href={href('matrix')} aria-current={view === 'matrix' ? 'page' : undefined}>
            Matrix
          </a>
        </nav>
        <span class="who">
          {who?.tokens ? (
            <>
              Signed in as <strong>{who.name}</strong>{' '}
              <button type="button" class="link" onClick={signOut}>
                Sign out
              </button>
            </>
          ) : (
            <span>Read-only (no tokens file)</span>
          )}
        </span>
      </header>
      {!online.value && (
        <div class="banner" role="alert">
          Connection to the gitcfg server lost. Retrying…
        </div>
      )}
      {who && !who.tokens && (
        <div class="note" role="note">
          This server has no tokens file, so the console is read-only. {who.writes}
        </div>
      )}
      {status.value && status.value.served?.commit !== status.value.branchHead && status.value.rejected && (
        <div class="banner warn" role="status">
          The branch head is not served: it was rejected by validation. <a href={href('overview')}>See why</a>
        </div>
      )}
      <ErrorNote error={error} />
      <main id="main" tabIndex={-1}>
        <View key={`${view}/${args.join('/')}`} args={args} query={query} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
