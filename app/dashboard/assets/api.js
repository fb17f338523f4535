// The public API, with the caller's key. The key lives in sessionStorage: this tab only,
// gone when the tab closes, sent only as the X-API-Key header to this origin.

const KEY_ITEM = 'certify.apiKey';
const ROOT = document.documentElement.dataset.root || '';
const keyListeners = new Set();

export class ApiError extends Error {
  /** `field`: the request field the error is about (`file`, `model`, an option), or null. */
  constructor(status, code, detail, field = null) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.field = field;
  }

  get needsKey() {
    return this.status === 401;
  }
}

export const apiKey = {
  get: () => sessionStorage.getItem(KEY_ITEM),
  set(key) {
    sessionStorage.setItem(KEY_ITEM, key);
    keyListeners.forEach((listener) => listener());
  },
  clear: () => sessionStorage.removeItem(KEY_ITEM),
  /** `listener()` runs whenever a new key is set. */
  onChange: (listener) => keyListeners.add(listener),
};

const authListeners = new Set();

/** `listener(error)` runs on every 401: the key is missing or wrong. */
export function onAuthError(listener) {
  authListeners.add(listener);
}

export function url(path) {
  return ROOT + path;
}

async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON (a proxy's page): described by its status below
  }
  const code = typeof body?.error === 'string' ? body.error : 'http_error';
  const detail = typeof body?.detail === 'string' ? body.detail
    : `The service answered HTTP ${response.status}.`;
  const field = typeof body?.field === 'string' ? body.field : null;
  return new ApiError(response.status, code, detail, field);
}

export async function request(path, {method = 'GET', body} = {}) {
  const headers = {Accept: 'application/json'};
  const key = apiKey.get();
  if (key) headers['X-API-Key'] = key;
  let response;
  try {
    // no-cache: always ask the server, which may answer 304 to the browser's validator.
    response = await fetch(url(path), {method, body, headers, cache: 'no-cache',
                                       credentials: 'omit', redirect: 'error'});
  } catch {
    throw new ApiError(0, 'network_error', 'The service did not answer; it may be down or '
                       + 'restarting. The dashboard will try again.');
  }
  if (response.ok) return response;
  const error = await failure(response);
  if (error.needsKey) authListeners.forEach((listener) => listener(error));
  throw error;
}

// Seeds are 62-bit integers: beyond 2^53 a JavaScript number would round them, so such
// integers are read from their source text as BigInt (JSON.parse source access).
function exactIntegers(key, value, context) {
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)
      && /^-?\d+$/.test(context?.source ?? '')) {
    return BigInt(context.source);
  }
  return value;
}

export function parseJson(text) {
  return JSON.parse(text, exactIntegers);
}

/** JSON text of a value read by `parseJson` (a BigInt as a string of its digits). */
export function jsonText(value) {
  return JSON.stringify(value, (key, item) => (typeof item === 'bigint' ? item.toString() : item));
}

function retryAfterMs(response) {
  const seconds = Number(response.headers.get('Retry-After'));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

/** The answer as JSON text (to tell whether it changed), as a value, and how long the
 *  server asked a poller to wait before asking again (its Retry-After, if any). */
export async function getAnswer(path) {
  const response = await request(path);
  const text = await response.text();
  return {text, value: parseJson(text), retryAfterMs: retryAfterMs(response)};
}

export async function getJson(path) {
  return (await getAnswer(path)).value;
}
