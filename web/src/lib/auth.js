// Who is signed in. Locally: POST /local/token as a chosen user and role. In AWS: the Cognito hosted UI
// (authorization code with PKCE, a public client), whose access token carries the user's groups.
import { getConfig, post } from './api.js';

const KEY = 'arena.session';

export function claimsOf(token) {
  const part = token.split('.')[1] || '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
  return JSON.parse(decodeURIComponent(escape(json)));
}

export function sessionFrom(token) {
  const claims = claimsOf(token);
  return {
    token,
    sub: claims.username || claims['cognito:username'] || claims.sub,
    groups: claims['cognito:groups'] || [],
    expires: (claims.exp || 0) * 1000,
  };
}

export function loadSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    return saved && saved.expires > Date.now() ? saved : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  const auth = getConfig().auth || {};
  if (auth.mode === 'cognito') {
    const back = encodeURIComponent(auth.logout_uri || window.location.origin + '/');
    window.location.assign(`${auth.domain}/logout?client_id=${auth.client_id}&logout_uri=${back}`);
  }
}

export async function localSignIn(sub, role) {
  const answer = await post('/local/token', { sub, groups: [role] });
  const session = sessionFrom(answer.token);
  saveSession(session);
  return session;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function cognitoSignIn() {
  const auth = getConfig().auth;
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem('arena.pkce', JSON.stringify({ verifier, state, back: window.location.pathname }));
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: auth.client_id,
    redirect_uri: auth.redirect_uri,
    scope: 'openid email profile',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  });
  window.location.assign(`${auth.domain}/oauth2/authorize?${params}`);
}

/** The hosted UI's redirect back: exchange the code for tokens; answers the path to return to. */
export async function cognitoCallback() {
  const auth = getConfig().auth;
  const params = new URLSearchParams(window.location.search);
  const saved = JSON.parse(sessionStorage.getItem('arena.pkce') || 'null');
  sessionStorage.removeItem('arena.pkce');
  if (!saved || params.get('state') !== saved.state || !params.get('code')) throw new Error('The sign-in did not complete: try again.');
  const response = await fetch(`${auth.domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: auth.client_id,
      code: params.get('code'),
      redirect_uri: auth.redirect_uri,
      code_verifier: saved.verifier,
    }),
  });
  if (!response.ok) throw new Error('The sign-in was refused: try again.');
  const tokens = await response.json();
  saveSession(sessionFrom(tokens.access_token));
  return saved.back && saved.back !== '/auth/callback' ? saved.back : '/';
}
