import { type JSX, render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { Orchestrator } from '../../sdk/index.js';
import { createClient, describe, forgetToken, isUnauthorized, savedToken, saveToken } from './api.js';
import { type Access as Allowed, accessOf, ClientContext, useAccess } from './client-context.js';
import { describePrincipal } from '../../sdk/principal.js';
import { href, useRoute } from './router.js';
import { Board } from './views/board.js';
import { SessionView } from './views/session.js';
import { NewSession } from './views/new-session.js';
import { Blueprints } from './views/blueprints.js';
import { UsageView } from './views/usage.js';
import { SchedulesView } from './views/schedules.js';
import { RuntimeView } from './views/runtime.js';
import './styles.css';

type Access =
  | { state: 'checking' }
  | { state: 'ok'; client: Orchestrator; allowed: Allowed }
  | { state: 'token'; message: string | undefined }
  | { state: 'down'; message: string };

function App() {
  const [access, setAccess] = useState<Access>({ state: 'checking' });

  const connect = useCallback(async (token: string | null, onWrong?: string) => {
    const client = createClient(token);
    try {
      await client.runtimeInfo();
      // Who this is decides which buttons show; the servers refuse the rest whatever the page shows.
      const who = await client.whoami().catch(() => undefined);
      setAccess({ state: 'ok', client, allowed: accessOf(who) });
      return true;
    } catch (error) {
      if (isUnauthorized(error)) {
        setAccess({
          state: 'token',
          message: token ? (onWrong ?? 'The saved token was refused; enter the current one.') : undefined,
        });
      } else {
        setAccess({ state: 'down', message: describe(error) });
      }
      return false;
    }
  }, []);

  useEffect(() => {
    void connect(savedToken());
  }, [connect]);

  // Any call that meets a 401 later (the token changed on the server) brings the prompt back.
  const onUnauthorized = useCallback(() => {
    forgetToken();
    setAccess({ state: 'token', message: 'The runtime no longer accepts this token; enter the current one.' });
  }, []);

  if (access.state === 'checking')
    return (
      <main class="center">
        <p>Connecting…</p>
      </main>
    );
  if (access.state === 'down') {
    return (
      <main class="center">
        <h1>aof</h1>
        <p class="error" role="alert">
          {access.message}
        </p>
        <button type="button" onClick={() => void connect(savedToken())}>
          Try again
        </button>
      </main>
    );
  }
  if (access.state === 'token') return <TokenGate message={access.message} onSubmit={connect} />;
  return (
    <ClientContext.Provider value={{ client: access.client, onUnauthorized, access: access.allowed }}>
      <Shell
        signOut={
          savedToken()
            ? {
                label: 'Forget token',
                run: () => {
                  forgetToken();
                  setAccess({ state: 'token', message: undefined });
                },
              }
            : {
                // Signed in with a login link (a cookie): the runtime ends the session.
                label: 'Sign out',
                run: () =>
                  void access.client
                    .logout()
                    .catch(() => undefined)
                    .then(() => connect(null)),
              }
        }
      />
    </ClientContext.Provider>
  );
}

function TokenGate(props: {
  message: string | undefined;
  onSubmit: (token: string, onWrong: string) => Promise<boolean>;
}) {
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    const candidate = token.trim();
    const ok = await props.onSubmit(candidate, 'That token is wrong: the runtime refused it (401).');
    if (ok) saveToken(candidate, remember);
    setBusy(false);
  };
  return (
    <main class="center">
      <form class="card narrow" onSubmit={submit} aria-labelledby="token-title">
        <h1 id="token-title">aof needs its token</h1>
        <p class="muted">
          This runtime is protected by <code>AGENT_ORCHESTRATOR_API_TOKEN</code>. The token stays in this browser (never
          in a URL).
        </p>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-describedby="token-error"
        />
        {props.message && (
          <p id="token-error" class="field-error" role="alert">
            {props.message}
          </p>
        )}
        <label class="check">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.currentTarget.checked)} /> Remember
          on this browser
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Open the dashboard
        </button>
      </form>
    </main>
  );
}

const NAV: Array<[string, string]> = [
  ['', 'Board'],
  ['new', 'New session'],
  ['blueprints', 'Blueprints'],
  ['schedules', 'Schedules'],
  ['usage', 'Usage'],
  ['runtime', 'Runtime'],
];

function Shell(props: { signOut: { label: string; run: () => void } }) {
  const route = useRoute();
  const { who, mayAct } = useAccess();
  const [first = '', second] = route;
  let view: JSX.Element;
  if (first === 'sessions' && second) view = <SessionView name={second} />;
  else if (first === 'new')
    view = mayAct ? <NewSession /> : <p role="status">You sign in as a viewer: you read, and start no sessions.</p>;
  else if (first === 'blueprints') view = <Blueprints selected={second} />;
  else if (first === 'usage') view = <UsageView />;
  else if (first === 'schedules') view = <SchedulesView selected={second} />;
  else if (first === 'runtime') view = <RuntimeView />;
  else if (first === 'agent' && second) view = <Board key={second} agent={second} />;
  else view = <Board />;
  const current = first === 'sessions' || first === 'agent' ? '' : first;
  return (
    <>
      <header class="top">
        <a class="brand" href={href()}>
          aof
        </a>
        <nav aria-label="Main">
          {NAV.filter(([path]) => mayAct || path !== 'new').map(([path, label]) => (
            <a href={path ? href(path) : href()} aria-current={current === path ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        {who && (
          <span class="muted who" data-testid="signed-in-as">
            {describePrincipal(who)}
            {mayAct ? '' : ' · read only'}
          </span>
        )}
        <button type="button" class="link" onClick={props.signOut.run}>
          {props.signOut.label}
        </button>
      </header>
      <main class="page">{view}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
