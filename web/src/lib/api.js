// The one way the app talks to Arena: the public HTTP API with the signed-in user's token.

let config = { api_url: '', ws_url: '', auth: { mode: 'local' } };
let token = null;
let onUnauthorized = () => {};

export function configure(value) {
  config = value;
}

export function getConfig() {
  return config;
}

export function setToken(value, unauthorized) {
  token = value;
  if (unauthorized) onUnauthorized = unauthorized;
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || body?.message || `The API answered ${status}`);
    this.status = status;
    this.code = body?.error?.code || null;
    this.details = body?.error?.details || null;
  }

  /** Every problem the API listed (a prize table's), else the message. */
  get problems() {
    const listed = this.details?.problems;
    if (Array.isArray(listed) && listed.length) return listed.map(String);
    // A 422's details are the list of fields that failed, each {field, message}
    const errors = Array.isArray(this.details) ? this.details : this.details?.errors;
    if (Array.isArray(errors) && errors.length) {
      return errors.map((e) => `${(e.loc || e.field || []).toString().replace(/^body\./, '')}: ${e.msg || e.message || ''}`);
    }
    return [this.message];
  }
}

export async function api(method, path, body, headers = {}, options = {}) {
  const init = { method, headers: { ...headers }, ...options };
  if (token) init.headers.authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${config.api_url}${path}`, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (response.status === 401) onUnauthorized();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path, options) => api('GET', path, undefined, {}, options);
export const post = (path, body = {}, headers) => api('POST', path, body, headers);
export const patch = (path, body) => api('PATCH', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const enc = encodeURIComponent;
