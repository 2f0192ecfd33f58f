// The console's only way to the JSON API (docs/http-api.md). It keeps the
// CSRF token of the session and sends it on every state-changing request,
// and turns a 401 from any route but login into a return to the Login page.
// Errors are thrown as ApiError with the status and the JSON body so a page
// can show them beside the field at fault.

let csrfToken = null;
let loginRequired = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function setCsrfToken(token) {
  csrfToken = token || null;
}

export function onLoginRequired(handler) {
  loginRequired = handler;
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, { error: `cannot reach cppbx (${error.message})` });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text.slice(0, 200) };
  }
  if (response.status === 401 && path !== '/api/login') {
    csrfToken = null;
    loginRequired();
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    error.retryAfter = response.headers.get('Retry-After');
    throw error;
  }
  return data;
}

// GET with a query string built from the non-empty values of `params`.
export function get(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
  }
  const suffix = query.toString();
  return api('GET', suffix ? `${path}?${suffix}` : path);
}
