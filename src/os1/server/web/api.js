// The HTTP API: this device's token (kept in localStorage) and authenticated JSON fetch.

const TOKEN_KEY = "os1.token";

let token = localStorage.getItem(TOKEN_KEY);
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, data, retryAfter = null) {
    super((data && data.message) || `HTTP ${status}`);
    this.status = status;
    this.data = data || {};
    this.retryAfter = retryAfter;
  }
}

export function getToken() {
  return token;
}

export function saveToken(value) {
  localStorage.setItem(TOKEN_KEY, value);
  token = value;
}

export function forgetToken() {
  localStorage.removeItem(TOKEN_KEY);
  token = null;
}

/** Call `handler` whenever the server refuses this device's token on an API call. */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

async function request(path, { method = "GET", body, auth = true } = {}, signOutOn401 = true) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, { error: "network", message: "OS1 could not be reached." });
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text.slice(0, 200) }; }
  }
  if (!response.ok) {
    const retry = Number(response.headers.get("Retry-After"));
    const error = new ApiError(response.status, data, Number.isFinite(retry) ? retry : null);
    if (response.status === 401 && auth && signOutOn401) onUnauthorized();
    throw error;
  }
  return data || {};
}

/** JSON request to the server; throws ApiError (status 0 when OS1 could not be reached). */
export function api(path, options = {}) {
  return request(path, options);
}

/**
 * Ask the server about the stored token without signing out: resolves to /api/me's answer
 * if it is good, null if the server refused it; throws ApiError if that could not be told.
 */
export async function checkToken() {
  if (!token) return null;
  try {
    return await request("/api/me", {}, false);
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}
