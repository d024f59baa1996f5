// HTTP client for the Gemma Chat API (docs/api.md): JSON calls plus the turn event stream.

import { sessionEnded } from './session.js';

/** An HTTP error carrying the server's human-readable `detail`. */
export class ApiError extends Error {
  constructor(status, detail, confirm = null) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    // 409 {"confirm": {"url"}}: a model server on another machine awaits the user's yes.
    this.confirm = confirm;
  }
}

const OFFLINE = 'Cannot reach the Gemma Chat server. Is it still running?';

async function errorFrom(res) {
  if (res.status === 401) sessionEnded(); // the server no longer knows this tab's key
  let detail = `${res.status} ${res.statusText || 'error'}`.trim();
  let confirm = null;
  try {
    const body = await res.json();
    if (body.confirm && typeof body.confirm.url === 'string') confirm = body.confirm;
    if (typeof body.detail === 'string') detail = body.detail;
    // FastAPI validation errors: a list of {loc, msg}.
    else if (Array.isArray(body.detail)) detail = body.detail.map((e) => e.msg).join('; ');
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(res.status, detail, confirm);
}

async function request(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetchOk(path, init);
  return res.status === 204 ? null : res.json();
}

/**
 * fetch() that fails the way every API call does: ApiError(0, OFFLINE) when the server
 * cannot be reached (an abort stays an AbortError), the server's own error for an answer
 * that is not 2xx. Resolves with the Response.
 */
export async function fetchOk(path, init = {}) {
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError(0, OFFLINE);
  }
  if (!res.ok) throw await errorFrom(res);
  return res;
}

const conv = (id) => `/api/conversations/${encodeURIComponent(id)}`;

// --- Build mode (canvas) -------------------------------------------------------------
/** A workspace path as URL segments ("css/a b.css" → "css/a%20b.css"). */
const filePath = (path) => path.split('/').map(encodeURIComponent).join('/');

async function requestText(path, tagged = false) {
  const res = await fetchOk(path, { headers: { Accept: 'text/plain' } });
  const text = await res.text();
  return tagged ? { text, etag: res.headers.get('ETag') } : text;
}

export const workspaceApi = {
  preview: (id) => request('GET', `${conv(id)}/preview`),
  files: (id) => request('GET', `${conv(id)}/files`),
  fileText: (id, path) => requestText(`${conv(id)}/files/${filePath(path)}`),
  /** {text, etag}: the etag names this copy, for saveFile. */
  fileWithTag: (id, path) => requestText(`${conv(id)}/files/${filePath(path)}`, true),
  /** Save a hand edit; 409 (ApiError) when the file changed since `etag` was read. */
  saveFile: (id, path, text, etag) =>
    request('PUT', `${conv(id)}/files/${filePath(path)}`, { text, etag }),
  versions: (id) => request('GET', `${conv(id)}/versions`),
  diff: (id, from, to) => {
    const q = new URLSearchParams();
    if (from) q.set('from', from);
    if (to) q.set('to', to);
    return request('GET', `${conv(id)}/versions/diff?${q}`);
  },
  restore: (id, version) =>
    request('POST', `${conv(id)}/versions/${encodeURIComponent(version)}/restore`),
  exportUrl: (id) => `${conv(id)}/export.zip`,
};
// --- end Build mode ---------------------------------------------------------------------

export const api = {
  health: () => request('GET', '/api/health'),
  models: () => request('GET', '/api/models'),
  // The model picker (models.js)
  loadModel: (spec, { confirmHost = false } = {}) =>
    request('POST', '/api/models/load', {
      model: spec,
      ...(confirmHost ? { confirm_host: true } : {}),
    }),
  engines: () => request('GET', '/api/models/engines'),
  cancelPull: (id) => request('POST', '/api/models/pull/cancel', { model: id }),
  deleteModel: (id) => request('DELETE', `/api/models/${encodeURIComponent(id)}`),
  // Speech to text models (speech_models.js)
  speechModels: () => request('GET', '/api/speech/models'),
  useSpeechModel: (id) => request('POST', '/api/speech/models/use', { id }),
  cancelSpeechPull: (id) => request('POST', '/api/speech/models/pull/cancel', { id }),
  updateConversation: (id, changes) => request('PATCH', conv(id), changes),
  listConversations: (limit = 50, offset = 0) =>
    request('GET', `/api/conversations?limit=${limit}&offset=${offset}`),
  // Full-text search: each conversation has `match` {message_id, snippet, title}.
  searchConversations: (q, limit = 50, offset = 0) =>
    request(
      'GET',
      `/api/conversations?q=${encodeURIComponent(q)}&limit=${limit}&offset=${offset}`,
    ),
  createConversation: (body = { mode: 'chat' }) => request('POST', '/api/conversations', body),
  getConversation: (id) => request('GET', conv(id)),
  renameConversation: (id, title) => request('PATCH', conv(id), { title }),
  deleteConversation: (id) => request('DELETE', conv(id)),
  stop: (id) => request('POST', `${conv(id)}/stop`),
  /** Show another alternative: the conversation as GET gives it, plus `version` (Build). */
  chooseBranch: (id, messageId) =>
    request('POST', `${conv(id)}/branches`, { message_id: messageId }),
};

/**
 * Incremental Server-Sent Events parser (the WHATWG rules that matter here):
 * `event:`/`data:` fields, multi-line data joined by "\n", comments, any line ending.
 * EventSource can't POST, so the turn stream is read from fetch() and fed through this.
 */
export class SSEParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.reset();
  }

  reset() {
    this.event = '';
    this.data = [];
  }

  push(chunk) {
    this.buffer += chunk;
    // Keep a trailing "\r" in the buffer: its "\n" may arrive in the next chunk.
    const re = /\r\n|\r(?!$)|\n/g;
    let start = 0;
    let m;
    while ((m = re.exec(this.buffer))) {
      this.line(this.buffer.slice(start, m.index));
      start = re.lastIndex;
    }
    this.buffer = this.buffer.slice(start);
  }

  end() {
    if (this.buffer) this.line(this.buffer.replace(/\r$/, ''));
    this.buffer = '';
    this.line(''); // a final event without its blank line still counts
  }

  line(line) {
    if (line === '') {
      if (this.data.length) {
        const raw = this.data.join('\n');
        let data = raw;
        try {
          data = JSON.parse(raw);
        } catch {
          /* keep raw text */
        }
        this.onEvent(this.event || 'message', data);
      }
      this.reset();
      return;
    }
    if (line.startsWith(':')) return; // comment / keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
  }
}

/** Feed a fetch() response body through the SSE parser until it ends. */
async function readEvents(res, onEvent) {
  const parser = new SSEParser(onEvent);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(decoder.decode(value, { stream: true }));
  }
  parser.push(decoder.decode());
  parser.end();
}

async function postStream(path, body, onEvent, signal) {
  const res = await fetchOk(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify(body),
    signal,
  });
  await readEvents(res, onEvent);
}

/**
 * Run one turn: POST the message and call onEvent(name, data) for each turn event.
 * Rejects with ApiError on an HTTP error (404 unknown conversation, 409 busy, 422 empty).
 */
export function streamTurn(id, content, onEvent, attachments = [], kit = null, edit = null) {
  const body = { content };
  if (attachments.length) body.attachments = attachments;
  if (kit) body.kit = kit; // Build mode: start from this starter kit
  if (edit) body.edit = edit; // Branches: an alternative of that user message

  return postStream(`${conv(id)}/messages`, body, onEvent);
}

/** Retry: another reply to user message `messageId`, kept beside the ones it has. */
export function streamRetry(id, messageId, onEvent, kit = null) {
  const body = kit ? { kit } : {};
  return postStream(`${conv(id)}/messages/${encodeURIComponent(messageId)}/retry`, body, onEvent);
}

/**
 * Join the turn running in a conversation this page did not start (a reload mid-reply,
 * a second tab): onEvent(name, data) for each of its events from the first on (or after
 * the first `after`), then live ones until it ends. Rejects with ApiError 404 when no
 * turn is running there (it may just have ended).
 */
export async function joinTurn(id, onEvent, { after = 0, signal } = {}) {
  const res = await fetchOk(`${conv(id)}/turn/events?after=${after}`, {
    headers: { Accept: 'text/event-stream' },
    signal,
  });
  await readEvents(res, onEvent);
}

/**
 * Send one file as multipart `file` to `path`; resolves with the JSON answer.
 * XMLHttpRequest rather than fetch() for its upload progress: onProgress(0…1).
 * Returns {promise, abort}. Rejects with ApiError (the server's `detail` for 413/415/422).
 */
function uploadFile(path, file, { name, onProgress } = {}) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    const form = new FormData();
    form.append('file', file, name ?? file.name ?? 'file');
    xhr.open('POST', path);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.responseType = 'text';
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable && e.total) onProgress?.(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body);
        return;
      }
      if (xhr.status === 401) sessionEnded();
      let detail = `${xhr.status} ${xhr.statusText || 'error'}`.trim();
      if (xhr.status === 413) detail = 'This file is too large to upload.';
      if (typeof body?.detail === 'string') detail = body.detail;
      else if (Array.isArray(body?.detail)) detail = body.detail.map((e) => e.msg).join('; ');
      reject(new ApiError(xhr.status, detail));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, OFFLINE)));
    xhr.addEventListener('abort', () => reject(new DOMException('Upload cancelled', 'AbortError')));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

/** Upload an attachment (docs/api.md `POST /api/attachments`): {promise, abort}. */
export const uploadAttachment = (file, options) => uploadFile('/api/attachments', file, options);

/** Local speech to text (`POST /api/transcribe`): resolves {text, engine}. */
export const transcribe = (blob, name = 'voice.webm') =>
  uploadFile('/api/transcribe', blob, { name }).promise;

/**
 * Download a model: `progress` events, then `done {model}` or `error {message}`.
 * A second call for a download in progress joins it (the server's rule).
 */
/** Download a Whisper model: the same events as `streamPull`. */
export const streamSpeechPull = (id, onEvent, signal) =>
  postStream('/api/speech/models/pull', { id }, onEvent, signal);

export function streamPull(id, quant, onEvent, signal) {
  const body = { model: id };
  if (quant) body.quant = quant;
  return postStream('/api/models/pull', body, onEvent, signal);
}

// --- settings (settings.js) and Continue ----------------------------------------------
export const settingsApi = {
  global: () => request('GET', '/api/settings'),
  /** Any subset of the settings; null sets one back to the built-in default. */
  updateGlobal: (changes) => request('PATCH', '/api/settings', changes),
  /** The conversation's own settings (null: the global default) and `effective`. */
  conversation: async (id) => (await request('GET', conv(id))).settings,
  updateConversation: async (id, changes) =>
    (await request('PATCH', conv(id), { settings: changes })).settings,
};

/** Continue the last reply where it stopped (the length limit): its events, as a turn's. */
export function streamContinue(id, onEvent) {
  return postStream(`${conv(id)}/continue`, undefined, onEvent);
}
