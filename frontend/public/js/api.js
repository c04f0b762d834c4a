// The one way the pages talk to the API: same-origin /api/ through nginx and the frontend's
// own Dapr sidecar. Errors come back as ApiError with the API's {"code","message"} so each
// page can show them next to the field they are about.

/** ApiError is a failed API call: status 0 means the network or nginx never answered. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

const fallbackMessages = {
  0: 'We cannot reach Kafka Restaurants right now. Check your connection and try again.',
  413: 'That request is too large.',
  429: 'Too many requests from here in a short time. Please wait a few seconds and try again.',
  502: 'Our service is not answering right now. Please try again in a moment.',
  503: 'Our service is busy right now. Please try again in a moment.',
  504: 'Our service took too long to answer. Please try again in a moment.',
};

async function request(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { ...init, headers: { Accept: 'application/json', ...init.headers } });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', fallbackMessages[0]);
  }
  let body = null;
  if ((response.headers.get('Content-Type') || '').includes('json')) {
    try {
      body = await response.json();
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    const code = body && typeof body.code === 'string' ? body.code : 'http_' + response.status;
    const message = body && typeof body.message === 'string' && body.message
      ? body.message
      : fallbackMessages[response.status] || `Something went wrong (HTTP ${response.status}). Please try again.`;
    throw new ApiError(response.status, code, message);
  }
  return { body, headers: response.headers, status: response.status };
}

/** getJSON fetches a JSON document; signal lets a newer search cancel an older one. */
export function getJSON(path, { signal } = {}) {
  return request(path, { signal, cache: 'no-store' });
}

/** postJSON sends a JSON body with extra headers (the Idempotency-Key). */
export function postJSON(path, data, headers = {}) {
  return request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(data),
  });
}
