// The agent's desk (issue #10): sign-in, screen pops, contact search, the PIN verification tool.
// Plain JavaScript as an ES module, no build step. The page is served with a Content-Security-Policy
// of default-src 'self': no inline scripts or styles, no eval. DOM is built with createElement and
// textContent only, never innerHTML, so nothing the server or a caller sends can become markup.
// Routes and JSON shapes: src/desk/desk-api.ts; `tsc -p src/desk/public` checks this file against them.

/* global window, document, fetch -- browser globals; the type check knows them, the linter's no-undef does not. */

/**
 * The contract's types, for the type check only (tsc -p src/desk/public); erased at run time.
 * @typedef {import('../desk-api').MeResponse} MeResponse
 * @typedef {import('../desk-api').ContactSummary} ContactSummary
 * @typedef {import('../desk-api').ContactDetail} ContactDetail
 * @typedef {ContactDetail['contact']['lock']} ContactLock
 * @typedef {import('../desk-api').VerificationView} VerificationView
 * @typedef {import('../desk-api').CheckResponse} CheckResponse
 * @typedef {import('../desk-api').SendRequest} SendRequest
 * @typedef {import('../desk-api').OutcomeRequest} OutcomeRequest
 * @typedef {import('../desk-api').PopView} PopView
 * @typedef {{verification: VerificationView, message: string}} VerificationAnswer
 */

/** /desk/api/, resolved from this script's own URL so the page works at /desk and /desk/. */
const API = new URL('./api/', import.meta.url);

/** Pops kept on screen; the server sends the last hour's. */
const MAX_POPS = 50;
/** A pop this recent on load still opens its contact (the agent reloaded while the phone rang). */
const FRESH_POP_MS = 120_000;
/** A verification the agent touched this recently, without an outcome yet, is not interrupted by a pop. */
const BUSY_MS = 5 * 60_000;

/** @type {Record<string, string>} */
const CHANNEL_WORDS = { sms: 'text message', email: 'email', call: 'call', pin: 'PIN' };
/** @type {Record<string, string>} */
const ORIGIN_WORDS = {
  inbound_call: 'inbound call',
  agent: 'desk',
  api: 'API',
  outbound_call: 'outbound call',
};
/** @type {Record<string, string>} */
const ROLE_WORDS = { agent: 'Agent', supervisor: 'Supervisor' };
/** @type {Record<string, string>} */
const TICKET_SYSTEM_WORDS = { webhook: 'your ticket system', zendesk: 'Zendesk', connectwise: 'ConnectWise' };

/** Words for error codes when the server gives no message of its own. */
/** @type {Record<string, string>} */
const FALLBACK_MESSAGES = {
  network: 'The desk server did not answer. Check the connection and try again.',
  not_signed_in: 'Your session has ended. Sign in again.',
  invalid_login: 'Wrong login or password.',
  rate_limited: 'Too many attempts. Wait a moment and try again.',
  ticket_required: 'Enter the ticket reference first: your team requires one for each verification.',
  invalid_request: 'The desk server could not use what was entered. Check the fields and try again.',
  no_destination: 'There is no number or address on file for that method.',
  locked: 'This contact is locked after too many wrong codes. No code can be sent for now.',
  max_sends: 'No more codes can be sent for this verification.',
  delivery_failed: 'The code could not be delivered.',
  not_found: 'Not found: it may have been removed.',
  server_error: 'The desk server had a problem. Try again in a moment.',
};

// ---------------------------------------------------------------------------------------------
// State

/** @type {null | {agent: {login: string, name: string, role: string, extensions: string[]}, settings: {requireTicket: boolean, ticketNoteIncludesCode: boolean, ticketSystem: string, codeLength: number}}} */
let me = null;
/** Server clock minus ours (from the Date header), so "40 s ago" is right on a skewed PC. */
let clockSkewMs = 0;

const state = {
  /** @type {Map<number, {pop: PopView, el: HTMLElement}>} */
  pops: new Map(),
  /** @type {EventSource | null} */
  events: null,
  hadStreamError: false,
  reconnectTimer: 0,
  reconnectAt: 0,
  reconnectDelayMs: 2000,
  /** The contact view on screen. */
  contactSeq: 0,
  /** @type {ContactDetail | null} */
  contact: null,
  /** @type {PopView | null} the call the open contact came from */
  contactCall: null,
  /** @type {PopView | null} the no_match call the search is for */
  searchCall: null,
  /** @type {AbortController | null} */
  searchAbort: null,
  searchTimer: 0,
  /** @type {null | ReturnType<typeof createTool>} */
  tool: null,
  loginRetryUntil: 0,
};

// ---------------------------------------------------------------------------------------------
// Small helpers

/** @param {string} id */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`desk.html is missing #${id}`);
  return el;
}

/**
 * An element with attributes and children. Attribute values are set with setAttribute and
 * children that are strings become text nodes: nothing is parsed as markup.
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

let idCounter = 0;
/** @param {string} prefix */
function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

function now() {
  return Date.now() + clockSkewMs;
}

/** @param {string | null | undefined} iso */
function parseTime(iso) {
  if (!iso) return NaN;
  return Date.parse(iso);
}

/** "40 s ago", "3 min ago", "2 h ago". @param {number} ms */
function ago(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ago`;
  return `${Math.floor(min / 60)} h ago`;
}

const clockFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
});

/** @param {string | null | undefined} iso */
function clockTime(iso) {
  const t = parseTime(iso);
  return Number.isNaN(t) ? '' : clockFormat.format(new Date(t));
}

/** Today: 14:03:12. Earlier: 12 Mar, 14:03. @param {string | null | undefined} iso */
function shortTime(iso) {
  const t = parseTime(iso);
  if (Number.isNaN(t)) return '';
  const d = new Date(t);
  return d.toDateString() === new Date().toDateString() ? clockFormat.format(d) : dateTimeFormat.format(d);
}

/** @param {number} ms */
function countdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** @param {string} text */
let announcements = /** @type {string[]} */ ([]);
let announceTimer = 0;
/** Reads text out through the polite live region; what comes in the same moment is read together. @param {string} text */
function announce(text) {
  announcements.push(text);
  if (announceTimer) return;
  const el = byId('announcer');
  el.textContent = '';
  // New text after a tick makes screen readers read it even when it repeats.
  announceTimer = window.setTimeout(() => {
    el.textContent = announcements.join(' ');
    announcements = [];
    announceTimer = 0;
  }, 100);
}

/**
 * Shows a result in words and reads it out; data-result carries the machine word for tests and styling.
 * @param {HTMLElement} el
 * @param {string} result
 * @param {string} text
 * @param {'ok' | 'error' | 'warn' | 'info'} tone
 */
function showResult(el, result, text, tone) {
  el.hidden = false;
  el.dataset.result = result;
  el.className = `result result--${tone}`;
  el.textContent = text;
  // Read out by the one live region that is always on the page: a region that appears together
  // with its text is missed by some screen readers.
  if (el.getAttribute('role') !== 'alert') announce(text);
}

/** @param {HTMLElement} el */
function clearResult(el) {
  el.hidden = true;
  el.textContent = '';
  delete el.dataset.result;
}

/** @param {number} n @param {string} one @param {string} many */
function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** @param {HTMLElement} el @param {boolean} invalid */
function setInvalid(el, invalid) {
  if (invalid) el.setAttribute('aria-invalid', 'true');
  else el.removeAttribute('aria-invalid');
}

/** True while the agent types in a field (a pop must not steal their focus). */
function typingSomewhere() {
  const el = document.activeElement;
  return (
    el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement
  );
}

// ---------------------------------------------------------------------------------------------
// The API

class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {unknown} body
   * @param {number | null} retryAfterSeconds
   */
  constructor(status, code, message, body, retryAfterSeconds) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** @param {Response} res */
function noteServerDate(res) {
  const header = res.headers.get('date');
  if (!header) return;
  const server = Date.parse(header);
  if (Number.isNaN(server)) return;
  const skew = server - Date.now();
  // The header has 1 s resolution: only a real skew is worth correcting.
  clockSkewMs = Math.abs(skew) > 3000 ? skew : 0;
}

/** A field of a parsed JSON body, when it is an object. @param {unknown} data @param {string} key */
function field(data, key) {
  return data !== null && typeof data === 'object'
    ? /** @type {Record<string, unknown>} */ (data)[key]
    : undefined;
}

/**
 * One request to the desk API: the parsed body when 2xx, else an ApiError in words.
 * @param {'GET' | 'POST'} method
 * @param {string} path relative to /desk/api/
 * @param {unknown} [body]
 * @param {AbortSignal} [signal]
 * @returns {Promise<unknown>}
 */
async function api(method, path, body, signal) {
  /** @type {Response} */
  let res;
  try {
    res = await fetch(new URL(path, API), {
      method,
      headers:
        body === undefined
          ? { Accept: 'application/json' }
          : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', FALLBACK_MESSAGES.network, null, null);
  }
  noteServerDate(res);
  /** @type {unknown} */
  let data = null;
  if (res.status !== 204) {
    const text = await res.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
  }
  if (res.ok) return data;

  const error = field(data, 'error');
  const code =
    typeof error === 'string'
      ? error
      : res.status === 404
        ? 'not_found'
        : res.status >= 500
          ? 'server_error'
          : `http_${res.status}`;
  const retryHeader = Number.parseInt(res.headers.get('retry-after') ?? '', 10);
  const retryField = field(data, 'retryAfterSeconds');
  const retryAfterSeconds =
    typeof retryField === 'number' ? retryField : Number.isNaN(retryHeader) ? null : retryHeader;
  const messageField = field(data, 'message');
  const message =
    typeof messageField === 'string' && messageField
      ? messageField
      : (FALLBACK_MESSAGES[code] ?? FALLBACK_MESSAGES.server_error);
  if (res.status === 401 && path !== 'login') signedOut(FALLBACK_MESSAGES.not_signed_in);
  throw new ApiError(res.status, code, message, data, retryAfterSeconds);
}

/** The routes of src/desk/desk-api.ts, typed. */
const desk = {
  /** @param {string} login @param {string} password */
  login: (login, password) => /** @type {Promise<MeResponse>} */ (api('POST', 'login', { login, password })),
  logout: () => api('POST', 'logout'),
  me: () => /** @type {Promise<MeResponse>} */ (api('GET', 'me')),
  /** @param {string} q @param {AbortSignal} signal */
  contacts: (q, signal) =>
    /** @type {Promise<{contacts: ContactSummary[]}>} */ (
      api('GET', `contacts?q=${encodeURIComponent(q)}`, undefined, signal)
    ),
  /** @param {number} id */
  contact: (id) =>
    /** @type {Promise<ContactDetail>} */ (api('GET', `contacts/${encodeURIComponent(String(id))}`)),
  /** @param {SendRequest} request */
  send: (request) => /** @type {Promise<VerificationAnswer>} */ (api('POST', 'verifications', request)),
  /** @param {string} id */
  resend: (id) =>
    /** @type {Promise<VerificationAnswer>} */ (
      api('POST', `verifications/${encodeURIComponent(id)}/resend`)
    ),
  /** @param {string} id @param {string} code */
  check: (id, code) =>
    /** @type {Promise<CheckResponse>} */ (
      api('POST', `verifications/${encodeURIComponent(id)}/check`, { code })
    ),
  /** @param {string} id @param {OutcomeRequest} request */
  outcome: (id, request) =>
    /** @type {Promise<VerificationAnswer>} */ (
      api('POST', `verifications/${encodeURIComponent(id)}/outcome`, request)
    ),
  pops: () => /** @type {Promise<{pops: PopView[]}>} */ (api('GET', 'pops')),
};

/** An error the caller shows; a 401 already took the agent to the sign-in form. @param {unknown} err */
function wordsFor(err) {
  if (err instanceof ApiError) return err.message;
  return FALLBACK_MESSAGES.server_error;
}

// ---------------------------------------------------------------------------------------------
// Sign-in and sign-out

function showLogin() {
  byId('boot').hidden = true;
  byId('desk-view').hidden = true;
  byId('agent-bar').hidden = true;
  byId('login-view').hidden = false;
  document.title = 'Sign in · pinverify desk';
  const name = /** @type {HTMLInputElement} */ (byId('login-name'));
  if (name.value) byId('login-password').focus();
  else name.focus();
}

/** Back to the sign-in form, everything of the session cleared. @param {string | null} message */
function signedOut(message) {
  const wasSignedIn = me !== null;
  me = null;
  closeEvents();
  state.pops.clear();
  byId('pops').replaceChildren();
  byId('pops-empty').hidden = false;
  closeContact();
  byId('contact-results').replaceChildren();
  byId('search-status').textContent = '';
  setSearchCall(null);
  /** @type {HTMLInputElement} */ (byId('contact-search-input')).value = '';
  /** @type {HTMLInputElement} */ (byId('login-password')).value = '';
  const error = byId('login-error');
  if (message && wasSignedIn) showResult(error, 'signed_out', message, 'info');
  else clearResult(error);
  showLogin();
}

/** @param {SubmitEvent} event */
async function submitLogin(event) {
  event.preventDefault();
  const nameEl = /** @type {HTMLInputElement} */ (byId('login-name'));
  const passwordEl = /** @type {HTMLInputElement} */ (byId('login-password'));
  const error = byId('login-error');
  const submit = /** @type {HTMLButtonElement} */ (byId('login-submit'));
  const login = nameEl.value.trim();
  const password = passwordEl.value;
  if (now() < state.loginRetryUntil) return;
  if (!login || !password) {
    showResult(error, 'missing', 'Enter your login and your password.', 'error');
    (login ? passwordEl : nameEl).focus();
    return;
  }
  clearResult(error);
  submit.disabled = true;
  submit.textContent = 'Signing in…';
  try {
    me = await desk.login(login, password);
    passwordEl.value = '';
    await startDesk();
  } catch (err) {
    if (err instanceof ApiError && err.status === 429) {
      const seconds = err.retryAfterSeconds ?? 30;
      state.loginRetryUntil = now() + seconds * 1000;
      showResult(error, 'rate_limited', loginRetryText(), 'error');
    } else if (err instanceof ApiError && err.status === 401) {
      showResult(error, err.code, err.message || FALLBACK_MESSAGES.invalid_login, 'error');
    } else {
      showResult(error, err instanceof ApiError ? err.code : 'error', wordsFor(err), 'error');
    }
    passwordEl.value = '';
    passwordEl.focus();
  } finally {
    submit.textContent = 'Sign in';
    submit.disabled = now() < state.loginRetryUntil;
  }
}

function loginRetryText() {
  const seconds = Math.max(0, Math.ceil((state.loginRetryUntil - now()) / 1000));
  return `Too many attempts, try again in ${seconds} s.`;
}

function tickLogin() {
  if (!state.loginRetryUntil) return;
  const error = byId('login-error');
  const submit = /** @type {HTMLButtonElement} */ (byId('login-submit'));
  if (now() >= state.loginRetryUntil) {
    state.loginRetryUntil = 0;
    submit.disabled = false;
    if (error.dataset.result === 'rate_limited')
      showResult(error, 'rate_limited', 'You can try again now.', 'info');
  } else if (error.dataset.result === 'rate_limited') {
    error.textContent = loginRetryText();
    submit.disabled = true;
  }
}

async function signOut() {
  const button = /** @type {HTMLButtonElement} */ (byId('signout'));
  button.disabled = true;
  try {
    await desk.logout();
  } catch {
    // Signed out here either way; the cookie expires on its own.
  } finally {
    button.disabled = false;
  }
  if (me) {
    signedOut(null);
    showResult(byId('login-error'), 'signed_out', 'You are signed out.', 'info');
  }
}

// ---------------------------------------------------------------------------------------------
// The desk

async function startDesk() {
  if (!me) return;
  const { agent } = me;
  byId('boot').hidden = true;
  byId('login-view').hidden = true;
  byId('agent-bar').hidden = false;
  byId('desk-view').hidden = false;
  byId('agent-name').textContent = agent.name;
  byId('agent-role').textContent = ROLE_WORDS[agent.role] ?? agent.role;
  byId('agent-ext').textContent =
    agent.extensions.length === 0
      ? 'No extension'
      : `${agent.extensions.length === 1 ? 'Extension' : 'Extensions'} ${agent.extensions.join(', ')}`;
  document.title = `${agent.name} · pinverify desk`;
  byId('contact-search-input').focus();
  connectEvents();
  await loadPops(true);
}

/** @param {boolean} first the desk just opened (a fresh pop may open its contact) */
async function loadPops(first) {
  let pops;
  try {
    ({ pops } = await desk.pops());
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    announce(`The recent calls could not be loaded. ${wordsFor(err)}`);
    return;
  }
  if (!me || !Array.isArray(pops)) return;
  // Newest first from the server: add oldest first so each lands on top.
  for (const pop of [...pops].reverse()) addPop(pop, false);
  sortPops();
  const newest = pops[0];
  if (first && newest && newest.contact && !state.contact && now() - parseTime(newest.at) < FRESH_POP_MS) {
    void openContact(newest.contact.id, { fromPop: newest, focus: false });
  }
}

// ---------------------------------------------------------------------------------------------
// Live events

function connectEvents() {
  closeEvents();
  if (!me) return;
  const es = new EventSource(new URL('events', API));
  state.events = es;
  setLive('connecting');
  es.addEventListener('open', () => {
    state.reconnectDelayMs = 2000;
    setLive('live');
    if (state.hadStreamError) {
      state.hadStreamError = false;
      // Pops sent while the stream was down.
      void loadPops(false);
    }
  });
  es.addEventListener('pop', (event) => {
    /** @type {unknown} */
    let data;
    try {
      data = JSON.parse(String(/** @type {MessageEvent} */ (event).data));
    } catch {
      return;
    }
    if (typeof field(data, 'id') === 'number') addPop(/** @type {PopView} */ (data), true);
  });
  es.addEventListener('error', () => {
    if (state.events !== es) return;
    state.hadStreamError = true;
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (a 401, or an answer that was not a stream): retry ourselves.
      es.close();
      state.events = null;
      scheduleReconnect();
    } else {
      setLive('reconnecting');
    }
  });
}

function closeEvents() {
  window.clearTimeout(state.reconnectTimer);
  state.reconnectTimer = 0;
  state.reconnectAt = 0;
  if (state.events) {
    state.events.close();
    state.events = null;
  }
}

function scheduleReconnect() {
  const delay = state.reconnectDelayMs;
  state.reconnectDelayMs = Math.min(delay * 2, 30_000);
  state.reconnectAt = Date.now() + delay;
  setLive('offline');
  state.reconnectTimer = window.setTimeout(() => void reconnect(), delay);
}

async function reconnect() {
  state.reconnectTimer = 0;
  state.reconnectAt = 0;
  if (!me) return;
  try {
    // Still signed in? A 401 takes the agent to the sign-in form.
    me = await desk.me();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    scheduleReconnect();
    return;
  }
  connectEvents();
}

/** @param {'connecting' | 'live' | 'reconnecting' | 'offline'} live */
function setLive(live) {
  const el = byId('live-status');
  el.dataset.state = live;
  el.title =
    live === 'live'
      ? 'New calls appear as they reach your extension'
      : 'New calls may not appear until the desk reconnects';
  tickLive();
}

function tickLive() {
  const el = byId('live-status');
  /** @type {Record<string, string>} */
  const words = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…' };
  el.textContent =
    words[el.dataset.state ?? ''] ??
    (state.reconnectAt
      ? `Offline, retrying in ${Math.max(1, Math.ceil((state.reconnectAt - Date.now()) / 1000))} s`
      : 'Offline');
}

// ---------------------------------------------------------------------------------------------
// Screen pops

/** @param {PopView} pop */
function popTone(pop) {
  if (pop.result === null) return 'pending';
  if (pop.result === 'verified') return 'verified';
  if (pop.candidates && pop.candidates.length > 0) return 'pick';
  if (pop.searchSuggested) return 'search';
  return 'failed';
}

/** @param {ContactSummary} contact */
function contactLine(contact) {
  return (
    [contact.mobileMasked, contact.emailMasked].filter(Boolean).join(' · ') || 'No number or email on file'
  );
}

/** @param {PopView} pop @param {boolean} live */
function renderPop(pop, live) {
  const tone = popTone(pop);
  const headlineId = uid('pop-headline');
  const li = h('li', {
    class: `pop pop--${tone}${live ? ' pop--arrived' : ''}`,
    'data-testid': 'pop',
    'data-call-id': pop.callId,
    'data-result': pop.result ?? 'pending',
    'aria-labelledby': headlineId,
  });

  const since = pop.decidedAt ?? pop.at;
  const age = h('p', {
    class: 'pop-age',
    'data-testid': 'pop-age',
    'data-since': since,
    'data-prefix': pop.decidedAt ? '' : 'rang ',
    title: pop.decidedAt ? `Decided at ${clockTime(pop.decidedAt)}` : `Rang at ${clockTime(pop.at)}`,
  });
  li.append(
    h(
      'div',
      { class: 'pop-head' },
      h('p', { class: 'pop-headline', id: headlineId, 'data-testid': 'pop-headline' }, pop.headline),
      age,
    ),
  );
  updateAge(age);

  if (pop.result === null) {
    li.append(h('p', { class: 'pop-pending' }, 'Call still being recorded: the result shows in a moment.'));
  }
  if (pop.strengthText) {
    li.append(
      h(
        'p',
        { class: `pop-strength strength--${pop.strength ?? 'unknown'}`, 'data-testid': 'pop-strength' },
        pop.strengthText,
      ),
    );
  }

  const meta = h('dl', { class: 'pop-meta' });
  /** @param {string} term @param {string | null | undefined} value */
  const addMeta = (term, value) => {
    if (value) meta.append(h('div', {}, h('dt', {}, term), h('dd', {}, value)));
  };
  addMeta('Caller', pop.callerMasked ?? 'Number withheld');
  addMeta('Extension', pop.extension);
  addMeta('Route', pop.route);
  addMeta('Rang at', clockTime(pop.at));
  li.append(meta);

  const popContact = pop.contact;
  if (popContact) {
    li.append(
      h(
        'div',
        { class: 'pop-contact' },
        h(
          'p',
          {},
          h('span', { class: 'pop-contact-name' }, popContact.name),
          ' ',
          h('span', { class: 'muted' }, contactLine(popContact)),
        ),
        button('Open contact', { 'data-testid': 'pop-open-contact' }, () =>
          openContact(popContact.id, { fromPop: pop, focus: true }),
        ),
      ),
    );
  }

  if (pop.candidates && pop.candidates.length > 0) {
    const group = h('ul', { class: 'pop-candidates', 'aria-label': 'Contacts sharing the caller’s number' });
    for (const candidate of pop.candidates) {
      const b = button(
        '',
        { 'data-testid': 'pop-candidate', 'data-contact-id': candidate.id, class: 'candidate' },
        () => openContact(candidate.id, { fromPop: pop, focus: true }),
      );
      b.append(
        h('span', { class: 'candidate-name' }, candidate.name),
        h('span', { class: 'muted' }, contactLine(candidate)),
      );
      group.append(h('li', {}, b));
    }
    li.append(h('p', { class: 'pop-ask' }, 'Ask the caller which one they are, then open it:'), group);
  }

  if (pop.searchSuggested) {
    li.append(
      h(
        'div',
        { class: 'pop-contact' },
        h('p', { class: 'muted' }, 'No contact has this number. Find the caller by name or email.'),
        button('Search contacts', { 'data-testid': 'pop-search' }, () => startSearchFor(pop, true)),
      ),
    );
  }
  return li;
}

/**
 * @param {string} label
 * @param {Record<string, string | number | boolean | null | undefined>} attrs
 * @param {() => unknown} onClick
 */
function button(label, attrs, onClick) {
  const b = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', ...attrs }, label));
  b.addEventListener('click', () => void onClick());
  return b;
}

/** @param {HTMLElement} el */
function updateAge(el) {
  const since = parseTime(el.dataset.since);
  el.textContent = Number.isNaN(since) ? '' : `${el.dataset.prefix ?? ''}${ago(now() - since)}`;
}

/** Newest call on top, after pops missed while the stream was down are merged in. */
function sortPops() {
  const entries = [...state.pops.values()].sort(
    (a, b) => parseTime(b.pop.at) - parseTime(a.pop.at) || b.pop.id - a.pop.id,
  );
  byId('pops').append(...entries.map((entry) => entry.el));
}

/** @param {PopView} pop @param {boolean} live it just arrived on the event stream */
function addPop(pop, live) {
  const list = byId('pops');
  const known = state.pops.get(pop.id);
  const el = renderPop(pop, live);
  if (known) {
    // The same call again, e.g. once its record is written: update it in place.
    known.el.replaceWith(el);
    if (live && list.firstElementChild !== el) list.prepend(el);
  } else {
    list.prepend(el);
  }
  const wasPending = known ? known.pop.result === null : true;
  state.pops.set(pop.id, { pop, el });
  byId('pops-empty').hidden = true;

  while (list.children.length > MAX_POPS) {
    const last = /** @type {HTMLElement} */ (list.lastElementChild);
    for (const [id, entry] of state.pops) if (entry.el === last) state.pops.delete(id);
    last.remove();
  }
  if (!live) return;

  announce(`Call on extension ${pop.extension}: ${pop.headline}.`);
  if (!wasPending) return;
  if (pop.contact) {
    if (toolBusy() && state.contact && state.contact.contact.id !== pop.contact.id) {
      announce(`Finish the verification in progress, then open ${pop.contact.name} from the Calls panel.`);
    } else {
      void openContact(pop.contact.id, { fromPop: pop, focus: false });
    }
  } else if (pop.candidates && pop.candidates.length > 0 && !toolBusy()) {
    showPick(pop);
  } else if (pop.searchSuggested && !toolBusy()) {
    // A new caller nobody knows: the contact of the previous call must not look like theirs.
    closeContact();
    startSearchFor(pop, !typingSomewhere());
  }
}

/** multi_match: the contacts sharing the number, in the main pane, to pick the caller from. @param {PopView} pop */
function showPick(pop) {
  closeContact();
  const list = h('ul', { class: 'pick-list', 'aria-label': 'Contacts sharing the caller’s number' });
  for (const candidate of pop.candidates) {
    const b = button(
      '',
      { class: 'candidate', 'data-testid': 'pick-candidate', 'data-contact-id': candidate.id },
      () => openContact(candidate.id, { fromPop: pop, focus: true }),
    );
    b.append(
      h('span', { class: 'candidate-name' }, candidate.name),
      h('span', { class: 'muted' }, contactLine(candidate)),
    );
    list.append(h('li', {}, b));
  }
  byId('contact-slot').replaceChildren(
    h(
      'section',
      { class: 'pick', 'data-testid': 'pick', 'aria-label': 'Pick the caller’s contact' },
      renderCallBanner(pop),
      h(
        'p',
        { class: 'pop-ask' },
        'Ask the caller their name or email, then open their contact and verify them:',
      ),
      list,
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Contact search

/** @param {PopView} pop the no_match pop the agent searches for @param {boolean} focus */
function startSearchFor(pop, focus) {
  setSearchCall(pop);
  const input = /** @type {HTMLInputElement} */ (byId('contact-search-input'));
  input.value = '';
  byId('contact-results').replaceChildren();
  byId('search-status').textContent = '';
  if (focus) input.focus();
}

/** @param {PopView | null} pop */
function setSearchCall(pop) {
  state.searchCall = pop;
  const box = byId('search-call');
  box.replaceChildren();
  box.hidden = !pop;
  if (!pop) return;
  box.append(
    h(
      'p',
      {},
      `Finding the caller of the call on extension ${pop.extension}`,
      pop.callerMasked ? ` from ${pop.callerMasked}` : '',
      ` (${clockTime(pop.at)}).`,
    ),
    button('Not for this call', { class: 'quiet small' }, () => setSearchCall(null)),
  );
}

function onSearchInput() {
  window.clearTimeout(state.searchTimer);
  const q = /** @type {HTMLInputElement} */ (byId('contact-search-input')).value.trim();
  if (q.length < 2) return;
  state.searchTimer = window.setTimeout(() => void runSearch(q), 350);
}

/** @param {SubmitEvent} event */
function onSearchSubmit(event) {
  event.preventDefault();
  window.clearTimeout(state.searchTimer);
  const q = /** @type {HTMLInputElement} */ (byId('contact-search-input')).value.trim();
  if (!q) {
    byId('search-status').textContent = 'Type a name, a phone number or an email address.';
    return;
  }
  void runSearch(q);
}

/** @param {string} q */
async function runSearch(q) {
  state.searchAbort?.abort();
  const abort = new AbortController();
  state.searchAbort = abort;
  const status = byId('search-status');
  const list = byId('contact-results');
  status.textContent = 'Searching…';
  let contacts;
  try {
    ({ contacts } = await desk.contacts(q, abort.signal));
  } catch (err) {
    if (abort.signal.aborted) return;
    status.textContent = err instanceof ApiError && err.status === 401 ? '' : wordsFor(err);
    return;
  }
  if (abort.signal.aborted || !me) return;
  list.replaceChildren();
  list.hidden = false;
  if (!contacts.length) {
    status.textContent = `No contact matches “${q}”.`;
    return;
  }
  status.textContent =
    contacts.length >= 20
      ? `The first ${contacts.length} contacts matching “${q}”: type more to narrow it down.`
      : `${plural(contacts.length, 'contact matches', 'contacts match')} “${q}”.`;
  for (const contact of contacts) {
    const b = button(
      '',
      { class: 'result-button', 'data-testid': 'contact-result', 'data-contact-id': contact.id },
      () => openContact(contact.id, { fromPop: state.searchCall, focus: true }),
    );
    b.append(
      h('span', { class: 'candidate-name' }, contact.name),
      h('span', { class: 'muted' }, contactLine(contact)),
    );
    list.append(h('li', {}, b));
  }
  // A new search is for someone else: the contact shown so far closes, unless a verification is on the go.
  if (state.contact && !toolBusy()) closeContact();
}

// ---------------------------------------------------------------------------------------------
// The contact view

function closeContact() {
  state.contactSeq += 1;
  state.contact = null;
  state.contactCall = null;
  state.tool?.dispose();
  state.tool = null;
  byId('contact-slot').replaceChildren();
}

function toolBusy() {
  return state.tool !== null && state.tool.busy();
}

/**
 * @param {number} id
 * @param {{fromPop?: PopView | null, focus?: boolean}} options
 */
async function openContact(id, { fromPop = null, focus = true } = {}) {
  const seq = ++state.contactSeq;
  const slot = byId('contact-slot');
  /** @type {ContactDetail} */
  let detail;
  if (!state.contact || state.contact.contact.id !== id) {
    slot.replaceChildren(h('p', { class: 'hint' }, 'Opening the contact…'));
  }
  try {
    detail = await desk.contact(id);
  } catch (err) {
    if (seq !== state.contactSeq || (err instanceof ApiError && err.status === 401)) return;
    state.tool?.dispose();
    state.tool = null;
    state.contact = null;
    slot.replaceChildren(
      h(
        'p',
        { class: 'result result--error', role: 'alert' },
        `The contact could not be opened. ${wordsFor(err)}`,
      ),
    );
    return;
  }
  if (seq !== state.contactSeq || !me) return;
  state.tool?.dispose();
  state.contact = detail;
  state.contactCall = fromPop;
  if (fromPop && fromPop.searchSuggested) setSearchCall(null);
  byId('contact-results').hidden = true;
  byId('search-status').textContent = '';
  slot.replaceChildren(renderContact(detail, fromPop));
  if (focus) byId('contact-name').focus();
  else announce(`${detail.contact.name} is open.`);
}

/** History and lock again, after a send, a check or an outcome; the tool keeps its state. */
async function refreshContact() {
  if (!state.contact) return;
  const id = state.contact.contact.id;
  const seq = state.contactSeq;
  let detail;
  try {
    detail = await desk.contact(id);
  } catch {
    return;
  }
  if (seq !== state.contactSeq || !state.contact) return;
  state.contact = detail;
  byId('contact-lock').replaceWith(renderLock(detail.contact.lock));
  byId('history').replaceWith(renderHistory(detail.verifications));
  state.tool?.setLock(detail.contact.lock);
}

/** @param {ContactDetail} detail @param {PopView | null} fromPop */
function renderContact(detail, fromPop) {
  const c = detail.contact;
  const view = h('article', {
    class: 'contact',
    'data-testid': 'contact-view',
    'data-contact-id': c.id,
    'aria-labelledby': 'contact-name',
  });

  const head = h(
    'div',
    { class: 'contact-head' },
    h('h2', { id: 'contact-name', 'data-testid': 'contact-name', tabindex: '-1' }, c.name),
  );
  if (byId('contact-results').children.length > 0) {
    head.append(
      button('Back to results', { class: 'quiet small' }, () => {
        byId('contact-results').hidden = false;
        closeContact();
        const first = byId('contact-results').querySelector('button');
        if (first) first.focus();
      }),
    );
  }
  head.append(
    button('Close', { class: 'quiet small', 'aria-label': `Close ${c.name}` }, () => {
      closeContact();
      byId('contact-results').hidden = false;
      byId('contact-search-input').focus();
    }),
  );
  view.append(head);

  if (fromPop) view.append(renderCallBanner(fromPop));

  const details = h(
    'section',
    { class: 'card details', 'aria-labelledby': 'details-title' },
    h('h3', { id: 'details-title' }, 'On file'),
  );
  const dl = h('dl', { class: 'facts' });
  dl.append(
    h('div', {}, h('dt', {}, 'Mobile'), h('dd', {}, c.mobileMasked ?? 'None on file')),
    h('div', {}, h('dt', {}, 'Email'), h('dd', {}, c.emailMasked ?? 'None on file')),
  );
  if (c.phonesMasked && c.phonesMasked.length) {
    dl.append(h('div', {}, h('dt', {}, 'Also calls from'), h('dd', {}, c.phonesMasked.join(', '))));
  }
  details.append(dl, renderLock(c.lock));

  const tool = createTool(detail, fromPop);
  state.tool = tool;

  view.append(h('div', { class: 'contact-grid' }, details, tool.el), renderHistory(detail.verifications));
  return view;
}

/** What the call that opened this contact found. @param {PopView} pop */
function renderCallBanner(pop) {
  const age = h('span', {
    class: 'pop-age',
    'data-since': pop.decidedAt ?? pop.at,
    'data-prefix': pop.decidedAt ? '' : 'rang ',
  });
  updateAge(age);
  const banner = h(
    'section',
    {
      class: `call-banner call-banner--${popTone(pop)}`,
      'data-testid': 'contact-call',
      'aria-label': 'This call',
    },
    h('p', { class: 'call-banner-headline' }, pop.headline, ' · ', age),
  );
  if (pop.strengthText) {
    banner.append(h('p', { class: `pop-strength strength--${pop.strength ?? 'unknown'}` }, pop.strengthText));
  }
  banner.append(
    h(
      'p',
      { class: 'muted' },
      `Call on extension ${pop.extension}`,
      pop.callerMasked ? ` from ${pop.callerMasked}` : '',
      pop.route ? `, route ${pop.route}` : '',
      `, rang at ${clockTime(pop.at)}.`,
    ),
  );
  return banner;
}

/** @param {ContactLock} lock */
function renderLock(lock) {
  let text;
  let tone;
  if (lock.locked) {
    text =
      lock.message ??
      `Locked after ${lock.failures} wrong codes${lock.until ? ` until ${shortTime(lock.until)}` : ''}: no code can be sent.`;
    tone = 'locked';
  } else if (lock.failures > 0) {
    text =
      lock.message ?? `${lock.failures} of ${lock.limit} wrong codes allowed in 24 hours used. Not locked.`;
    tone = 'warn';
  } else {
    text = lock.message ?? 'Not locked.';
    tone = 'ok';
  }
  return h(
    'p',
    {
      class: `lock lock--${tone}`,
      id: 'contact-lock',
      'data-testid': 'contact-lock',
      'data-locked': String(lock.locked),
    },
    text,
  );
}

/** @param {VerificationView[]} verifications */
function renderHistory(verifications) {
  const section = h(
    'section',
    { class: 'card history', id: 'history', 'data-testid': 'history', 'aria-labelledby': 'history-title' },
    h('h3', { id: 'history-title' }, 'Verification history'),
  );
  if (!verifications.length) {
    section.append(h('p', { class: 'hint' }, 'No verifications yet.'));
    return section;
  }
  const head = h('tr', {});
  for (const title of ['When', 'How', 'Started from', 'Result', 'Sent to', 'Agent outcome', 'Ticket']) {
    head.append(h('th', { scope: 'col' }, title));
  }
  const body = h('tbody', {});
  for (const v of verifications) {
    const sentTo = h('td', {}, v.destinationMasked);
    if (v.overrideReason !== null) {
      sentTo.append(
        h('br', {}),
        h(
          'span',
          { class: 'badge badge--warn', title: 'Sent to an address that is not on file' },
          'Not on file',
        ),
        ' ',
        h('span', { class: 'muted' }, `Reason: ${v.overrideReason}`),
      );
    }
    const outcome =
      v.agentOutcome === null
        ? h('td', { class: 'muted' }, '—')
        : h(
            'td',
            {},
            h(
              'span',
              { class: `badge badge--${v.agentOutcome === 'completed' ? 'ok' : 'warn'}` },
              v.agentOutcome === 'completed' ? 'Completed' : 'Incomplete',
            ),
            v.agentOutcomeBy ? ` by ${v.agentOutcomeBy}` : '',
          );
    const origin = h('td', {}, ORIGIN_WORDS[v.origin] ?? v.origin);
    if (v.actor) origin.append(h('br', {}), h('span', { class: 'muted' }, v.actor));
    body.append(
      h(
        'tr',
        { 'data-testid': 'history-row', 'data-verification-id': v.id, 'data-status': v.status },
        h('td', { title: v.createdAt }, shortTime(v.createdAt)),
        h('td', {}, CHANNEL_WORDS[v.channel] ?? v.channel),
        origin,
        h('td', {}, h('span', { class: `status status--${statusTone(v.status)}` }, v.statusText)),
        sentTo,
        outcome,
        h('td', {}, v.ticketRef ?? '—'),
      ),
    );
  }
  section.append(
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h('caption', { class: 'visually-hidden' }, 'Verifications of this contact, newest first'),
        h('thead', {}, head),
        body,
      ),
    ),
  );
  return section;
}

/** @param {string} status */
function statusTone(status) {
  if (status === 'approved') return 'ok';
  if (status === 'pending') return 'pending';
  if (status === 'canceled') return 'muted';
  return 'bad';
}

// ---------------------------------------------------------------------------------------------
// The PIN verification tool (seed 001): send, read back, Completed or Incomplete.

/** @param {ContactDetail} detail @param {PopView | null} fromPop */
function createTool(detail, fromPop) {
  if (!me) throw new Error('not signed in');
  const settings = me.settings;
  const contact = detail.contact;
  const codeLength = settings.codeLength;
  /** @type {VerificationView | null} */
  let verification = null;
  let outcomeMarked = false;
  let lastTouched = 0;
  let lock = contact.lock;
  const touch = () => {
    lastTouched = Date.now();
  };

  const ids = {
    title: uid('tool-title'),
    ticket: uid('ticket-ref'),
    ticketHint: uid('ticket-hint'),
    overridePanel: uid('override-panel'),
    overrideDestination: uid('override-destination'),
    overrideReason: uid('override-reason'),
    code: uid('code-input'),
    codeHint: uid('code-hint'),
  };

  // --- Send
  const sms = /** @type {HTMLInputElement} */ (
    h('input', { type: 'radio', name: uid('channel'), value: 'sms', 'data-testid': 'send-sms' })
  );
  const email = /** @type {HTMLInputElement} */ (
    h('input', { type: 'radio', name: sms.name, value: 'email', 'data-testid': 'send-email' })
  );
  const smsChoice = h(
    'label',
    { class: 'choice' },
    sms,
    h('span', {}, 'Text message'),
    h('span', { class: 'muted' }, contact.mobileMasked ?? 'no mobile on file'),
  );
  const emailChoice = h(
    'label',
    { class: 'choice' },
    email,
    h('span', {}, 'Email'),
    h('span', { class: 'muted' }, contact.emailMasked ?? 'no email on file'),
  );
  const channels = h(
    'fieldset',
    { class: 'channels' },
    h('legend', {}, 'Send a code by'),
    smsChoice,
    emailChoice,
    h(
      'p',
      { class: 'hint' },
      'A text message is stronger proof than email: anyone who reads a mailbox can read the code.',
    ),
  );

  const ticket = /** @type {HTMLInputElement} */ (
    h('input', {
      id: ids.ticket,
      'data-testid': 'ticket-ref',
      autocomplete: 'off',
      spellcheck: 'false',
      required: settings.requireTicket,
      'aria-required': settings.requireTicket ? 'true' : null,
      'aria-describedby': ids.ticketHint,
    })
  );
  const ticketWords = TICKET_SYSTEM_WORDS[settings.ticketSystem];
  const ticketHint = ticketWords
    ? `A note about the verification goes to the ticket in ${ticketWords}${settings.ticketNoteIncludesCode ? ', with the code' : ''}.`
    : 'Kept with the verification in the history.';
  const ticketField = h(
    'div',
    { class: 'field' },
    h(
      'label',
      { for: ids.ticket },
      'Ticket reference',
      h(
        'span',
        { class: settings.requireTicket ? 'required' : 'muted' },
        settings.requireTicket ? ' (required)' : ' (optional)',
      ),
    ),
    ticket,
    h('p', { class: 'hint', id: ids.ticketHint }, ticketHint),
  );

  const overrideToggle = /** @type {HTMLButtonElement} */ (
    h(
      'button',
      {
        type: 'button',
        class: 'disclosure',
        'data-testid': 'override-toggle',
        'aria-expanded': 'false',
        'aria-controls': ids.overridePanel,
      },
      'Send to a different number or address',
    )
  );
  const overrideDestination = /** @type {HTMLInputElement} */ (
    h('input', {
      id: ids.overrideDestination,
      'data-testid': 'override-destination',
      autocomplete: 'off',
      spellcheck: 'false',
    })
  );
  const overrideReason = /** @type {HTMLInputElement} */ (
    h('input', {
      id: ids.overrideReason,
      'data-testid': 'override-reason',
      autocomplete: 'off',
      'aria-required': 'true',
      maxlength: '300',
    })
  );
  const overridePanel = h(
    'div',
    { class: 'override', id: ids.overridePanel, hidden: true },
    h(
      'p',
      { class: 'warning' },
      'Discouraged. A code sent to a number or address the caller gives you only proves they can read it, not that they are this contact. The override and your reason are recorded.',
    ),
    h('label', { for: ids.overrideDestination }, 'Mobile number or email address to send to'),
    overrideDestination,
    h('label', { for: ids.overrideReason }, 'Reason', h('span', { class: 'required' }, ' (required)')),
    overrideReason,
  );

  const sendButton = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'send-code' }, 'Send code')
  );
  const sendForm = h(
    'form',
    { class: 'send', novalidate: true },
    channels,
    overrideToggle,
    overridePanel,
    h('div', { class: 'actions' }, sendButton),
  );
  const sendResult = h('p', { class: 'result', 'data-testid': 'send-result', hidden: true });
  // Once a code is out the send form folds away; these bring it back or send the same code again.
  const resendButton = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', 'data-testid': 'resend' }, 'Send again')
  );
  const newCodeButton = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', class: 'quiet', 'data-testid': 'send-new' }, 'Another method or address…')
  );
  const afterSend = h('div', { class: 'actions after-send', hidden: true }, resendButton, newCodeButton);

  // --- Check
  const codeInput = /** @type {HTMLInputElement} */ (
    h('input', {
      id: ids.code,
      class: 'code',
      'data-testid': 'code-input',
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      pattern: `[0-9]{${codeLength}}`,
      maxlength: String(codeLength),
      size: String(codeLength + 2),
      spellcheck: 'false',
      'aria-describedby': ids.codeHint,
    })
  );
  const checkButton = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'check-code' }, 'Check')
  );
  const expiry = h('p', { class: 'hint expiry', id: ids.codeHint });
  const checkResult = h('p', {
    class: 'result',
    'data-testid': 'check-result',
    hidden: true,
  });
  const checkForm = h(
    'form',
    { class: 'check', novalidate: true, hidden: true },
    h('label', { for: ids.code }, `Code the caller reads back (${codeLength} digits)`),
    h('div', { class: 'row' }, codeInput, checkButton),
    expiry,
    checkResult,
  );

  // --- Outcome
  const completedButton = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', class: 'ok', 'data-testid': 'mark-completed', disabled: true }, 'Completed')
  );
  const incompleteButton = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', 'data-testid': 'mark-incomplete' }, 'Incomplete')
  );
  const outcomeResult = h('p', {
    class: 'result',
    'data-testid': 'outcome-result',
    hidden: true,
  });
  const outcomeHint = h('p', { class: 'hint' }, 'Completed needs the right code first.');
  const outcomeBox = h(
    'div',
    { class: 'outcome', hidden: true, role: 'group', 'aria-label': 'Outcome of the verification' },
    h('p', { class: 'outcome-title' }, 'Record the outcome'),
    h('div', { class: 'actions' }, completedButton, incompleteButton),
    outcomeHint,
    outcomeResult,
  );

  const el = h(
    'section',
    { class: 'card tool', 'data-testid': 'pin-tool', 'aria-labelledby': ids.title },
    h('h3', { id: ids.title }, 'PIN verification'),
    ticketField,
    sendForm,
    sendResult,
    afterSend,
    checkForm,
    outcomeBox,
  );

  // --- Behaviour

  function refreshChannels() {
    const overrideOpen = overrideToggle.getAttribute('aria-expanded') === 'true';
    sms.disabled = !contact.mobileMasked && !overrideOpen;
    email.disabled = !contact.emailMasked && !overrideOpen;
    smsChoice.classList.toggle('choice--disabled', sms.disabled);
    emailChoice.classList.toggle('choice--disabled', email.disabled);
    if (sms.checked && sms.disabled) sms.checked = false;
    if (email.checked && email.disabled) email.checked = false;
    if (!sms.checked && !email.checked) {
      if (!sms.disabled) sms.checked = true;
      else if (!email.disabled) email.checked = true;
    }
  }

  function lockedNow() {
    return lock.locked && (lock.until === null || parseTime(lock.until) > now());
  }

  function refreshSend() {
    const locked = lockedNow();
    const noChannel = sms.disabled && email.disabled;
    sendButton.disabled = locked || noChannel;
    resendButton.hidden = !verification || verification.status !== 'pending';
    newCodeButton.hidden = !sendForm.hidden;
    newCodeButton.textContent =
      verification && verification.status === 'pending' ? 'Another method or address…' : 'Send a new code…';
    afterSend.hidden = !verification || (resendButton.hidden && newCodeButton.hidden);
    if (locked && !sendResult.dataset.result) {
      showResult(sendResult, 'locked', lock.message ?? FALLBACK_MESSAGES.locked, 'error');
    } else if (noChannel && !verification) {
      showResult(
        sendResult,
        'no_destination',
        'No mobile number or email on file. Only “Send to a different number or address” can send a code.',
        'warn',
      );
    } else if (!locked && sendResult.dataset.result === 'locked') {
      clearResult(sendResult);
    } else if (!noChannel && sendResult.dataset.result === 'no_destination') {
      clearResult(sendResult);
    }
  }

  /** @param {VerificationView} v */
  function setVerification(v) {
    verification = v;
    outcomeMarked = v.agentOutcome !== null;
    checkForm.hidden = false;
    outcomeBox.hidden = false;
    const pending = v.status === 'pending';
    codeInput.disabled = !pending;
    checkButton.disabled = !pending;
    const approved = v.status === 'approved';
    completedButton.disabled = outcomeMarked || !approved;
    incompleteButton.disabled = outcomeMarked;
    outcomeHint.hidden = approved || outcomeMarked;
    refreshSend();
    tickExpiry();
  }

  function tickExpiry() {
    if (!verification) return;
    expiry.hidden = verification.status !== 'pending';
    if (expiry.hidden) return;
    const left = parseTime(verification.expiresAt) - now();
    const tries = plural(verification.checksLeft, 'try', 'tries');
    expiry.textContent =
      left > 0
        ? `Sent to ${verification.destinationMasked}. Expires in ${countdown(left)}, ${tries} left.`
        : 'The code has expired: send a new one.';
  }

  function validTicket() {
    const value = ticket.value.trim();
    if (settings.requireTicket && !value && !(verification && verification.ticketRef)) {
      ticket.setAttribute('aria-invalid', 'true');
      ticket.focus();
      return false;
    }
    ticket.removeAttribute('aria-invalid');
    return true;
  }

  /** @param {SubmitEvent} event */
  async function send(event) {
    event.preventDefault();
    touch();
    const channel = sms.checked && !sms.disabled ? 'sms' : email.checked && !email.disabled ? 'email' : null;
    if (!channel) {
      showResult(sendResult, 'invalid', 'Choose text message or email.', 'error');
      return;
    }
    if (!settings.requireTicket || ticket.value.trim()) ticket.removeAttribute('aria-invalid');
    if (settings.requireTicket && !ticket.value.trim()) {
      showResult(
        sendResult,
        'ticket_required',
        'Enter the ticket reference first: your team requires one for each verification.',
        'error',
      );
      ticket.setAttribute('aria-invalid', 'true');
      ticket.focus();
      return;
    }
    /** @type {SendRequest} */
    const body = { contactId: contact.id, channel };
    if (ticket.value.trim()) body.ticketRef = ticket.value.trim();
    if (overrideToggle.getAttribute('aria-expanded') === 'true') {
      const destination = overrideDestination.value.trim();
      const reason = overrideReason.value.trim();
      setInvalid(overrideDestination, !destination);
      setInvalid(overrideReason, !reason);
      if (!destination) {
        showResult(
          sendResult,
          'invalid',
          'Enter the number or address to send to, or close “Send to a different number or address” to use the one on file.',
          'error',
        );
        overrideDestination.focus();
        return;
      }
      if (!reason) {
        showResult(sendResult, 'invalid', 'Give the reason for sending somewhere not on file.', 'error');
        overrideReason.focus();
        return;
      }
      const looksEmail = destination.includes('@');
      if (looksEmail !== (channel === 'email')) {
        showResult(
          sendResult,
          'invalid',
          looksEmail
            ? 'That looks like an email address: choose Email, or enter a mobile number.'
            : 'That looks like a phone number: choose Text message, or enter an email address.',
          'error',
        );
        overrideDestination.focus();
        return;
      }
      body.overrideDestination = destination;
      body.overrideReason = reason;
    }
    const callId = fromPop && fromPop.callId;
    if (callId) body.callId = callId;

    sendButton.disabled = true;
    resendButton.disabled = true;
    sendButton.textContent = 'Sending…';
    clearResult(sendResult);
    try {
      const answer = await desk.send(body);
      clearResult(checkResult);
      clearResult(outcomeResult);
      codeInput.value = '';
      sendForm.hidden = true;
      setVerification(answer.verification);
      showResult(sendResult, 'sent', answer.message, 'ok');
      codeInput.focus();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      showResult(
        sendResult,
        err instanceof ApiError ? err.code : 'error',
        wordsFor(err),
        err instanceof ApiError && err.code === 'max_sends' ? 'warn' : 'error',
      );
      if (err instanceof ApiError && err.code === 'ticket_required') {
        ticket.setAttribute('aria-invalid', 'true');
        ticket.focus();
      }
    } finally {
      sendButton.disabled = false;
      resendButton.disabled = false;
      refreshSend();
      void refreshContact();
    }
  }

  async function resend() {
    if (!verification) return;
    touch();
    resendButton.disabled = true;
    resendButton.textContent = 'Sending…';
    clearResult(sendResult);
    try {
      const answer = await desk.resend(verification.id);
      setVerification(answer.verification);
      showResult(sendResult, 'resent', answer.message, 'ok');
      codeInput.focus();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      showResult(sendResult, err instanceof ApiError ? err.code : 'error', wordsFor(err), 'error');
      // A refused resend may carry the verification as it stands now.
      const current = err instanceof ApiError ? field(err.body, 'verification') : undefined;
      if (current && typeof current === 'object') setVerification(/** @type {VerificationView} */ (current));
    } finally {
      resendButton.disabled = false;
      resendButton.textContent = 'Send again';
      refreshSend();
      void refreshContact();
    }
  }

  function onCodeInput() {
    touch();
    const digits = codeInput.value.replace(/\D+/g, '').slice(0, codeLength);
    if (digits !== codeInput.value) codeInput.value = digits;
  }

  /** @param {SubmitEvent} event */
  async function check(event) {
    event.preventDefault();
    if (!verification) return;
    touch();
    const code = codeInput.value.replace(/\D+/g, '');
    if (code.length !== codeLength) {
      showResult(checkResult, 'incomplete', `Enter all ${codeLength} digits of the code.`, 'error');
      codeInput.focus();
      return;
    }
    checkButton.disabled = true;
    checkButton.textContent = 'Checking…';
    try {
      const answer = await desk.check(verification.id, code);
      setVerification(answer.verification);
      switch (answer.result) {
        case 'right':
          showResult(checkResult, 'right', answer.message, 'ok');
          completedButton.focus();
          break;
        case 'wrong':
          // The tries left, unless the server's words already say them.
          showResult(
            checkResult,
            'wrong',
            /\btr(y|ies)\b/i.test(answer.message)
              ? answer.message
              : `${answer.message} ${plural(answer.checksLeft, 'try', 'tries')} left.`,
            'error',
          );
          codeInput.value = '';
          codeInput.focus();
          break;
        case 'expired':
        case 'max_attempts_reached':
        case 'locked':
        case 'already_decided':
          // This verification is over: Incomplete, or a new code.
          showResult(checkResult, answer.result, answer.message, 'error');
          incompleteButton.focus();
          break;
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      showResult(checkResult, err instanceof ApiError ? err.code : 'error', wordsFor(err), 'error');
    } finally {
      checkButton.textContent = 'Check';
      if (verification) checkButton.disabled = verification.status !== 'pending';
      void refreshContact();
    }
  }

  /** @param {'completed' | 'incomplete'} outcome */
  async function markOutcome(outcome) {
    if (!verification) return;
    touch();
    if (!validTicket()) {
      showResult(
        outcomeResult,
        'ticket_required',
        'Enter the ticket reference first: the outcome goes to the ticket.',
        'error',
      );
      return;
    }
    completedButton.disabled = true;
    incompleteButton.disabled = true;
    /** @type {OutcomeRequest} */
    const body = { outcome };
    if (ticket.value.trim()) body.ticketRef = ticket.value.trim();
    try {
      const answer = await desk.outcome(verification.id, body);
      setVerification(answer.verification);
      outcomeMarked = true;
      completedButton.disabled = true;
      incompleteButton.disabled = true;
      showResult(outcomeResult, outcome, answer.message, outcome === 'completed' ? 'ok' : 'info');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      showResult(outcomeResult, err instanceof ApiError ? err.code : 'error', wordsFor(err), 'error');
      if (verification) setVerification(verification);
    } finally {
      void refreshContact();
    }
  }

  newCodeButton.addEventListener('click', () => {
    touch();
    sendForm.hidden = false;
    refreshSend();
    (sms.checked ? sms : email).focus();
  });
  overrideToggle.addEventListener('click', () => {
    touch();
    const open = overrideToggle.getAttribute('aria-expanded') !== 'true';
    overrideToggle.setAttribute('aria-expanded', String(open));
    overridePanel.hidden = !open;
    if (!open) {
      overrideDestination.removeAttribute('aria-invalid');
      overrideReason.removeAttribute('aria-invalid');
    }
    refreshChannels();
    refreshSend();
    if (open) overrideDestination.focus();
  });
  sendForm.addEventListener('submit', (event) => void send(/** @type {SubmitEvent} */ (event)));
  resendButton.addEventListener('click', () => void resend());
  codeInput.addEventListener('input', onCodeInput);
  checkForm.addEventListener('submit', (event) => void check(/** @type {SubmitEvent} */ (event)));
  completedButton.addEventListener('click', () => void markOutcome('completed'));
  incompleteButton.addEventListener('click', () => void markOutcome('incomplete'));
  ticket.addEventListener('input', () => {
    touch();
    if (ticket.value.trim()) ticket.removeAttribute('aria-invalid');
  });

  refreshChannels();
  refreshSend();
  const timer = window.setInterval(() => {
    tickExpiry();
    if (lock.locked && !lockedNow()) refreshSend();
  }, 1000);

  return {
    el,
    /** A verification on the go: code sent or checked, no outcome yet, touched lately. */
    busy() {
      return verification !== null && !outcomeMarked && Date.now() - lastTouched < BUSY_MS;
    },
    /** @param {ContactLock} next */
    setLock(next) {
      lock = next;
      refreshSend();
    },
    dispose() {
      window.clearInterval(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The clock and start-up

function tick() {
  for (const el of document.querySelectorAll('[data-since]')) updateAge(/** @type {HTMLElement} */ (el));
  tickLogin();
  if (byId('live-status').dataset.state === 'offline') tickLive();
}

async function boot() {
  byId('login-form').addEventListener(
    'submit',
    (event) => void submitLogin(/** @type {SubmitEvent} */ (event)),
  );
  byId('signout').addEventListener('click', () => void signOut());
  byId('contact-search').addEventListener('submit', (event) =>
    onSearchSubmit(/** @type {SubmitEvent} */ (event)),
  );
  byId('contact-search-input').addEventListener('input', onSearchInput);
  window.addEventListener('online', () => {
    if (me && !state.events) void reconnect();
  });
  window.setInterval(tick, 1000);

  try {
    me = await desk.me();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      showLogin();
      return;
    }
    const boot = byId('boot');
    boot.replaceChildren(
      `The desk could not start. ${wordsFor(err)} `,
      button('Try again', {}, () => window.location.reload()),
    );
    return;
  }
  await startDesk();
}

void boot();
