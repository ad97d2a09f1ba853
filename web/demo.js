// The demo page: log in over WebSocket with Strophe.js and list who is online.
// All DOM code lives here; XMPP logic lives in lib/ (shared with the Jingle plugin).

import { Strophe, $pres } from 'strophe.js';
import { OnlineContacts } from './lib/roster.js';

Strophe.setLogLevel(Strophe.LogLevel.WARN);

const el = (id) => document.getElementById(id);
const ui = {
  form: el('login'),
  jid: el('jid'),
  password: el('password'),
  loginButton: el('login-button'),
  session: el('session'),
  whoami: el('whoami'),
  logout: el('logout'),
  status: el('status'),
  users: el('users'),
  list: el('user-list'),
  empty: el('no-users'),
};

/** The page's state; `window.demo` exposes it for debugging and tests. */
const state = {
  config: null,
  conn: null,
  contacts: null,
  /** 'out' | 'connecting' | 'in' | 'leaving' */
  phase: 'out',
  /** Set once a failure has been shown, so the following DISCONNECTED does not hide it. */
  failed: false,
};
window.demo = state;

// ---------------------------------------------------------------------------------------------
// Configuration

async function loadConfig() {
  const fallback = {
    websocket: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
    domain: null, // taken from the JID
  };
  try {
    const res = await fetch('/config.json', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return { ...fallback, ...(await res.json()) };
  } catch (e) {
    console.warn('No /config.json, using defaults:', e);
    return fallback;
  }
}

// ---------------------------------------------------------------------------------------------
// Status line and views

function setStatus(text, kind = 'info') {
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
}

function showLoggedOut() {
  ui.form.hidden = false;
  ui.session.hidden = true;
  ui.users.hidden = true;
  ui.loginButton.disabled = !state.config;
  ui.list.replaceChildren();
}

function showLoggedIn(fullJid) {
  ui.form.hidden = true;
  ui.session.hidden = false;
  ui.users.hidden = false;
  ui.whoami.textContent = Strophe.getBareJidFromJid(fullJid);
  ui.whoami.title = fullJid;
  renderUsers();
}

// ---------------------------------------------------------------------------------------------
// Online users. One <li> per bare JID, rendered by renderUser(); calls (#5) add their state and
// a "Call NAME" button there: userState() for the text, userActions() for the buttons.

/** The state text shown next to a user's name. */
export function userState(contact) {
  switch (contact.show) {
    case 'away':
    case 'xa':
      return 'away';
    case 'dnd':
      return 'do not disturb';
    default:
      return 'available';
  }
}

/** Buttons for a user (none yet; calling adds "Call NAME"). */
export function userActions(_contact) {
  return [];
}

/** One list item for an online contact. */
export function renderUser(contact) {
  const li = document.createElement('li');
  li.className = 'user';
  li.dataset.jid = contact.jid;

  const who = document.createElement('div');
  who.className = 'who';
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = contact.name;
  const jid = document.createElement('span');
  jid.className = 'jid';
  jid.textContent = contact.jid;
  who.append(name, jid);

  const stateText = userState(contact);
  const st = document.createElement('span');
  st.className = 'state';
  st.dataset.state = stateText.replace(/\s+/g, '-');
  st.textContent = stateText;

  const actions = document.createElement('div');
  actions.className = 'actions';
  actions.append(...userActions(contact));

  li.append(who, st, actions);
  return li;
}

function renderUsers() {
  const contacts = state.contacts?.list() ?? [];
  ui.list.replaceChildren(...contacts.map(renderUser));
  ui.empty.hidden = contacts.length > 0;
}

// ---------------------------------------------------------------------------------------------
// Login, logout, connection status

function fullJidFromInput(raw) {
  const jid = raw.trim();
  if (jid.includes('@') || !state.config.domain) return jid;
  return `${jid}@${state.config.domain}`;
}

function login(jid, password) {
  if (state.phase !== 'out') return;
  state.phase = 'connecting';
  state.failed = false;
  ui.loginButton.disabled = true;
  setStatus(`Connecting as ${jid}…`);
  const conn = new Strophe.Connection(state.config.websocket);
  state.conn = conn;
  conn.connect(jid, password, (status, condition, elem) => onStatus(conn, status, condition, elem));
}

function onStatus(conn, status, condition, elem) {
  if (conn !== state.conn) return; // an old connection
  const S = Strophe.Status;
  const why = condition ? `: ${condition}` : '';
  switch (status) {
    case S.CONNECTING:
      setStatus('Connecting…');
      break;
    case S.AUTHENTICATING:
      setStatus('Logging in…');
      break;
    case S.CONNECTED:
      state.phase = 'in';
      state.contacts = new OnlineContacts(conn, { onChange: renderUsers });
      conn.send($pres());
      showLoggedIn(conn.jid);
      setStatus(`Connected to ${Strophe.getDomainFromJid(conn.jid)}.`, 'ok');
      break;
    case S.AUTHFAIL:
      giveUp(conn, `Login failed: ${saslFailure(elem)}`);
      break;
    case S.CONNFAIL:
    case S.ERROR:
    case S.CONNTIMEOUT:
      giveUp(conn, state.phase === 'in'
        ? `Connection lost${why || ': the server closed the connection'}`
        : `Could not connect to ${state.config.websocket}${why}`);
      break;
    case S.DISCONNECTING:
      if (state.phase !== 'leaving' && !state.failed) setStatus('Disconnecting…');
      break;
    case S.DISCONNECTED: {
      const wasIn = state.phase === 'in';
      const leaving = state.phase === 'leaving';
      ended();
      if (leaving) setStatus('Logged out.');
      else if (!state.failed) fail(wasIn ? 'Connection lost.' : 'Could not connect.');
      break;
    }
    default:
      break;
  }
}

function fail(message) {
  state.failed = true;
  setStatus(message, 'error');
}

/** Shows a failure and ends the connection now, without waiting for Strophe to finish. */
function giveUp(conn, message) {
  fail(message);
  ended();
  if (conn.connected) conn.disconnect('failed');
}

/** A readable reason from a SASL <failure/> (RFC 6120 §6.5). */
function saslFailure(elem) {
  const condition = elem?.firstElementChild?.nodeName;
  if (!condition || condition === 'not-authorized') return 'wrong JID or password';
  const text = elem.querySelector('text')?.textContent;
  return text ? `${condition} (${text})` : condition;
}

/** Back to the login form after any end of the connection. */
function ended() {
  state.contacts?.stop();
  state.contacts = null;
  state.conn = null;
  state.phase = 'out';
  showLoggedOut();
}

function logout() {
  if (state.phase !== 'in' && state.phase !== 'connecting') return;
  const conn = state.conn;
  state.phase = 'leaving';
  setStatus('Logging out…');
  conn.disconnect('logout');
}

// ---------------------------------------------------------------------------------------------

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!state.config) return;
  login(fullJidFromInput(ui.jid.value), ui.password.value);
});
ui.logout.addEventListener('click', logout);
// Best effort: tell the server we leave, so others see us go at once.
window.addEventListener('pagehide', () => {
  if (state.conn && state.phase === 'in') {
    state.phase = 'leaving';
    state.conn.disconnect('page closed');
  }
});

showLoggedOut();
loadConfig().then((config) => {
  state.config = config;
  ui.loginButton.disabled = false;
  setStatus('Not logged in.');
  ui.jid.placeholder = `alice@${config.domain ?? location.hostname}`;
});
