// Arena's web console: the growth team's admin console and the traders' event page, one app. It reads
// /config.json first (the API and WebSocket URLs, the sign-in mode), so one build serves every stage.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { configure, getConfig, setToken } from './lib/api.js';
import { cognitoCallback, cognitoSignIn, loadSession, localSignIn, signOut } from './lib/auth.js';
import { ErrorBox, Link, Select, TextInput, html, navigate } from './lib/ui.js';
import { AdminEvents, EventAdmin, EventEditor } from './views/admin-events.js';
import { Analytics, Reviews, Roles } from './views/admin-other.js';
import { Announcements } from './views/announcements.js';
import { Bell, Inbox, Preferences, useNotifications } from './views/notifications.js';
import { TraderEvent, TraderEvents } from './views/trader.js';

const ADMIN_ROLES = ['admin', 'event-manager'];

function usePath() {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const update = () => {
      setPath(window.location.pathname);
      window.scrollTo(0, 0);
      document.getElementById('main')?.focus();
    };
    window.addEventListener('popstate', update);
    window.addEventListener('arena:navigate', update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener('arena:navigate', update);
    };
  }, []);
  return path;
}

function SignIn({ onSession }) {
  const [sub, setSub] = useState('');
  const [role, setRole] = useState('user');
  const [error, setError] = useState(null);
  const mode = getConfig().auth?.mode;
  const submit = async (event) => {
    event.preventDefault();
    try {
      onSession(await localSignIn(sub.trim(), role));
    } catch (failure) {
      setError(failure);
    }
  };
  return html`<section class="card narrow" aria-labelledby="signin-title">
    <h1 id="signin-title">Sign in to Arena</h1>
    ${mode === 'cognito'
      ? html`<p>Sign in with your exchange account.</p>
          <button class="primary" type="button" onClick=${() => cognitoSignIn()}>Sign in</button>`
      : html`<form onSubmit=${submit}>
          <p class="muted">Local stack: sign in as any user with the role you choose (a token from <code>/local/token</code>).</p>
          <${TextInput} label="User id" name="sub" value=${sub} onInput=${setSub} required autocomplete="username" />
          <${Select} label="Role" name="role" value=${role} onChange=${setRole}
            options=${[['user', 'Trader (user)'], ['event-manager', 'Event manager'], ['admin', 'Admin']]} />
          <button class="primary" type="submit" disabled=${!sub.trim()}>Sign in</button>
          <${ErrorBox} error=${error} />
        </form>`}
  </section>`;
}

function Header({ session, onSignOut, notes }) {
  const admin = session && session.groups.some((g) => ADMIN_ROLES.includes(g));
  return html`<header class="top">
    <${Link} href="/" class="brand">Arena</${Link}>
    ${session
      ? html`<nav aria-label="Main">
          ${admin
            ? html`<${Link} href="/admin">Events</${Link}>
                <${Link} href="/admin/analytics">Analytics</${Link}>
                <${Link} href="/admin/announcements">Announcements</${Link}>
                ${session.groups.includes('admin') ? html`<${Link} href="/admin/reviews">Claims review</${Link}>
                <${Link} href="/admin/roles">Roles</${Link}>` : null}`
            : null}
          <${Link} href="/events">Event pages</${Link}>
          <${Link} href="/settings/notifications">Preferences</${Link}>
        </nav>
        <${Bell} unread=${notes.unread} />
        <div class="who">
          <span>Signed in as <strong data-testid="whoami">${session.sub}</strong> (${session.groups.join(', ') || 'no role'})</span>
          <button type="button" onClick=${onSignOut}>Sign out</button>
        </div>`
      : null}
  </header>`;
}

function Routes({ path, session, notes }) {
  const admin = session.groups.some((g) => ADMIN_ROLES.includes(g));
  let match;
  if (path === '/' || path === '') {
    navigate(admin ? '/admin' : '/events');
    return null;
  }
  if (path === '/admin') return html`<${AdminEvents} session=${session} />`;
  if (path === '/admin/events/new') return html`<${EventEditor} session=${session} />`;
  if ((match = path.match(/^\/admin\/events\/([^/]+)\/edit$/))) return html`<${EventEditor} session=${session} eventId=${decodeURIComponent(match[1])} />`;
  if ((match = path.match(/^\/admin\/events\/([^/]+)(?:\/([a-z]+))?$/))) {
    return html`<${EventAdmin} session=${session} eventId=${decodeURIComponent(match[1])} tab=${match[2] || 'overview'} />`;
  }
  if (path === '/admin/announcements') return html`<${Announcements} session=${session} />`;
  if (path === '/inbox') return html`<${Inbox} notes=${notes} />`;
  if (path === '/settings/notifications') return html`<${Preferences} />`;
  if (path === '/admin/analytics') return html`<${Analytics} session=${session} />`;
  if (path === '/admin/reviews') return html`<${Reviews} session=${session} />`;
  if (path === '/admin/roles') return html`<${Roles} session=${session} />`;
  if (path === '/events') return html`<${TraderEvents} session=${session} />`;
  if ((match = path.match(/^\/events\/([^/]+)$/))) return html`<${TraderEvent} session=${session} eventId=${decodeURIComponent(match[1])} />`;
  return html`<section class="card"><h1>Not found</h1><p>No page at this address.</p><${Link} href="/">Home</${Link}></section>`;
}

function App() {
  const path = usePath();
  const [session, setSession] = useState(() => loadSession());
  const [error, setError] = useState(null);
  useEffect(() => {
    setToken(session ? session.token : null, () => {
      signOut();
      setSession(null);
    });
  }, [session]);
  useEffect(() => {
    if (path === '/auth/callback') {
      cognitoCallback().then(
        (back) => {
          setSession(loadSession());
          navigate(back);
        },
        setError,
      );
    }
  }, [path]);
  if (session) setToken(session.token);
  const notes = useNotifications(session);
  const leave = () => {
    signOut();
    setSession(null);
    navigate('/');
  };
  return html`<${Header} session=${session} onSignOut=${leave} notes=${notes} />
    <main id="main" tabindex="-1">
      <${ErrorBox} error=${error} />
      ${session ? html`<${Routes} path=${path} session=${session} notes=${notes} />` : path === '/auth/callback' ? html`<p>Signing in…</p>` : html`<${SignIn} onSession=${setSession} />`}
    </main>`;
}

async function start() {
  const root = document.getElementById('app');
  try {
    const response = await fetch('/config.json', { cache: 'no-store' });
    if (!response.ok) throw new Error(`config.json answered ${response.status}`);
    configure(await response.json());
  } catch (failure) {
    root.textContent = `Arena could not load its configuration: ${failure.message}`;
    return;
  }
  root.textContent = '';
  render(html`<${App} />`, root);
}

start();
