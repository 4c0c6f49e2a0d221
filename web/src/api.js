// The dashboard's only door to the daemon. Reads are plain GETs; mutations are POSTs that carry the session's
// CSRF token (X-CSRF-Token) next to the HttpOnly session cookie the browser sends by itself. Errors become
// ApiError with the daemon's stable code ({"error": {"code", "message"}}); a 401 also tells the app to show the
// login page. The bearer token is never stored by the page: logging in trades it for the cookie.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// What /api/v1/session said; `known` is false when the daemon has no session route (then the page assumes that
// mutations need a login and lets the daemon's 401 decide).
export const session = { known: false, authenticated: false, mutationsNeedLogin: true, csrfToken: null };

const listeners = new Set();
export function onUnauthorized(listener) {
  listeners.add(listener);
}

async function errorOf(response) {
  let code = `http_${response.status}`;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message);
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session.csrfToken) headers['X-CSRF-Token'] = session.csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) for (const listener of listeners) listener();
  return response;
}

// GET a JSON resource. With optional: a 404 (module not hosted, route not in this daemon) answers null.
export async function getJson(path, { optional = false } = {}) {
  const response = await call('GET', path);
  if (optional && response.status === 404) return null;
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

export async function postJson(path, body = {}) {
  const response = await call('POST', path, body);
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

export async function loadSession() {
  const response = await call('GET', '/api/v1/session');
  if (!response.ok) {
    session.known = false;
    return session;
  }
  const body = await response.json();
  Object.assign(session, {
    known: true,
    authenticated: Boolean(body.authenticated),
    mutationsNeedLogin: body.mutations_need_login !== false,
    csrfToken: body.csrf_token || null,
  });
  return session;
}

export async function login(token) {
  const response = await call('POST', '/api/v1/login', { token });
  if (response.status === 401) throw new ApiError(401, 'unauthorized', 'That token is not right.');
  if (response.status === 429) throw new ApiError(429, 'rate_limited', 'Too many failed logins: wait a minute.');
  if (!response.ok) throw await errorOf(response);
  const body = await response.json();
  Object.assign(session, { known: true, authenticated: true, csrfToken: body.csrf_token || null });
  return session;
}

export async function logout() {
  await call('POST', '/api/v1/logout', {});
  Object.assign(session, { authenticated: false, csrfToken: null });
}
