// The demo page: log in over WebSocket with Strophe.js, list who is online, and call them.
// All DOM code lives here; XMPP logic lives in lib/ (roster.js, jingle.js).

import { Strophe } from 'strophe.js';
import { OnlineContacts, OwnPresence } from './lib/roster.js';
import { Jingle } from './lib/jingle.js';
import { attachRooms, detachRooms } from './demo-rooms.js';

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
  unknownCallers: el('unknown-callers'),
  status: el('status'),
  users: el('users'),
  list: el('user-list'),
  empty: el('no-users'),
  call: el('call'),
  incoming: el('incoming'),
  incomingText: el('incoming-text'),
  accept: el('accept'),
  reject: el('reject'),
  outgoing: el('outgoing'),
  outgoingText: el('outgoing-text'),
  cancel: el('cancel'),
  inCall: el('in-call'),
  inCallText: el('in-call-text'),
  remoteVideo: el('remote-video'),
  localVideo: el('local-video'),
  mute: el('mute'),
  camera: el('camera'),
  hangup: el('hangup'),
  sendFile: el('send-file'),
  fileInput: el('file-input'),
  transfers: el('transfers'),
};

// Test and debugging knobs from the URL: ?ringTimeout=MS&relay=1&extdisco=0&iceServers=JSON
// (relay=1: relay candidates only; extdisco=0: no STUN/TURN from the server; iceServers: a
// JSON array of RTCIceServer added to them). Only when the page was told so before it loaded
// (`window.demoTestKnobs = true`, as tests do with an init script): a link must not be able to
// send someone's calls through a TURN server of the link's choosing.
const params = new URLSearchParams(window.demoTestKnobs === true ? location.search : '');

/** The RTCConfiguration asked for by the URL knobs. */
function rtcConfigFromUrl() {
  const config = params.get('relay') ? { iceTransportPolicy: 'relay' } : {};
  if (params.get('iceServers')) config.iceServers = JSON.parse(params.get('iceServers'));
  return config;
}

/** The page's state; `window.demo` exposes it for debugging and tests. */
const state = {
  config: null,
  conn: null,
  contacts: null,
  /** Our own presence (lib/roster.js): "in a call" while a call is live. */
  presence: null,
  /** The Jingle sessions (lib/jingle.js) while logged in. */
  jingle: null,
  /** The call shown on the page (one at a time; others are rejected as busy). */
  call: null,
  /** 'out' | 'connecting' | 'in' | 'leaving' */
  phase: 'out',
  /** Set once a failure has been shown, so the following DISCONNECTED does not hide it. */
  failed: false,
};
window.demo = state;
state.startCall = (jid, media) => startCall(jid, media);

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

/**
 * The state text shown next to a user's name. "in a call" comes from their presence
 * (OwnPresence in lib/roster.js), or at once from our own call with them.
 */
export function userState(contact) {
  if (contact.inCall || (state.call?.live && state.call.peer === contact.jid)) return 'in a call';
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

/** Buttons for a user: "Call NAME" (audio + video). */
export function userActions(contact) {
  const call = document.createElement('button');
  call.type = 'button';
  call.className = 'call-button';
  call.textContent = `Call ${contact.name}`;
  call.disabled = !!state.call;
  call.addEventListener('click', () => startCall(contact.jid));
  return [call];
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
      state.jingle = new Jingle(conn, {
        ringTimeoutMs: Number(params.get('ringTimeout')) || 30000,
        rtcConfig: rtcConfigFromUrl(),
        extdisco: params.get('extdisco') !== '0',
        contacts: state.contacts,
        focusDomain: state.config.focus ?? null,
        unknownCallers: ui.unknownCallers.checked,
      });
      state.jingle.addEventListener('incoming', (e) => showCall(e.detail));
      state.rooms = attachRooms({ jingle: state.jingle, setStatus,
        conference: state.config.conference ?? `conference.${Strophe.getDomainFromJid(conn.jid)}` });
      state.presence = new OwnPresence(conn);
      state.presence.followCalls(state.jingle);
      state.presence.send();
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
  clearTransfers();
  state.presence?.stop();
  state.presence = null;
  detachRooms();
  state.rooms = null;
  state.jingle?.stop();
  state.jingle = null;
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
// Calls: one Call (lib/jingle.js) shown at a time.

const nameOf = (jid) => Strophe.unescapeNode(Strophe.getNodeFromJid(jid) ?? jid);

/** Calls `jid` (audio + video by default; tests also start audio-only calls here). */
async function startCall(jid, media = { audio: true, video: true }) {
  if (!state.jingle || state.call) return;
  if (!state.contacts?.isOnline(jid)) {
    setStatus(`${nameOf(jid)} is offline.`, 'error');
    return;
  }
  setStatus(`Calling ${nameOf(jid)}…`);
  try {
    showCall(await state.jingle.call(jid, media));
  } catch (e) {
    setStatus(`Could not call ${nameOf(jid)}: ${e.message}`, 'error');
  }
}

/** Shows a call and follows it until it ends. */
function showCall(call) {
  if (state.call && state.call !== call) return; // the plugin rejects others as busy
  state.call = call;
  call.addEventListener('state', () => renderCall());
  call.addEventListener('localstream', (e) => { ui.localVideo.srcObject = e.detail.stream; });
  call.addEventListener('track', () => {
    if (ui.remoteVideo.srcObject !== call.remoteStream) ui.remoteVideo.srcObject = call.remoteStream;
  });
  call.addEventListener('ended', (e) => callEnded(call, e.detail));
  call.addEventListener('remotemute', () => renderCall());
  call.addEventListener('media', () => renderCall());
  call.addEventListener('files', (e) => {
    ui.sendFile.disabled = false;
    e.detail.files.addEventListener('transfer', (t) => showTransfer(t.detail));
    e.detail.files.addEventListener('refused', ({ detail }) => {
      setStatus(`A file from ${nameOf(call.peer)} was refused (${refusal(detail)}).`, 'error');
    });
  });
  ui.sendFile.disabled = true;
  clearTransfers();
  if (call.localStream) ui.localVideo.srcObject = call.localStream;
  if (call.direction === 'incoming') setStatus(`${nameOf(call.peer)} is calling.`);
  renderCall();
  renderUsers();
}

function renderCall() {
  const call = state.call;
  const live = !!call?.live;
  ui.call.hidden = !live;
  const name = call ? nameOf(call.peer) : '';
  const ringingIn = live && call.direction === 'incoming' && call.state === 'ringing';
  const ringingOut = live && call.direction === 'outgoing'
    && (call.state === 'proposing' || call.state === 'ringing');
  ui.incoming.hidden = !ringingIn;
  ui.outgoing.hidden = !ringingOut;
  ui.inCall.hidden = !live || ringingIn || ringingOut;
  // The full bare JID too: "alice" alone could be anyone's name (alice@evil.example, or a
  // room occupant); the roster name when we gave one.
  if (ringingIn) {
    ui.incomingText.textContent = call.unknownCaller
      ? `Unknown caller ${call.peer} is calling you`
      : `${call.peerName ?? name} is calling you (${call.peer})`;
  }
  if (ringingOut) {
    ui.outgoingText.textContent = call.state === 'ringing' ? `Calling ${name}… (ringing)` : `Calling ${name}…`;
  }
  if (live && !ringingIn && !ringingOut) {
    const remote = [call.remoteMuted.audio && `${name} is muted`,
      (call.remoteMuted.video || (call.contents.size && !call.remoteVideo))
        && `${name}'s camera is off`].filter(Boolean);
    ui.inCallText.textContent = (call.state === 'active' ? `In a call with ${name}` : `Connecting to ${name}…`)
      + (remote.length ? ` (${remote.join(', ')})` : '');
    if (call.state === 'active') setStatus(`In a call with ${name}.`, 'ok');
  }
  ui.mute.textContent = call?.muted ? 'Unmute' : 'Mute';
  ui.mute.setAttribute('aria-pressed', String(!!call?.muted));
  ui.camera.textContent = call?.cameraOff ? 'Camera on' : 'Camera off';
  ui.camera.setAttribute('aria-pressed', String(!!call?.cameraOff));
}

/** The message shown when a call ends. */
export function endMessage(call, { reason, by }) {
  const name = nameOf(call.peer);
  const outgoing = call.direction === 'outgoing';
  switch (reason) {
    case 'decline': return outgoing && by === 'remote' ? `${name} rejected the call.` : 'Call rejected.';
    case 'busy': return outgoing ? `${name} is busy.` : `${name} called, but you were busy.`;
    case 'timeout': return outgoing ? `No answer from ${name}.` : `Missed call from ${name}.`;
    case 'cancel': return outgoing ? 'Call cancelled.' : `${name} cancelled the call.`;
    case 'gone': return call.pc ? `${name} left the call.` : `${name} is offline.`;
    case 'answered-elsewhere': return 'Call answered on another device.';
    case 'rejected-elsewhere': return 'Call rejected on another device.';
    case 'connectivity-error': return `Call with ${name} failed to connect.`;
    case 'success': return by === 'remote' ? `${name} hung up.` : 'Call ended.';
    default: return `Call with ${name} ended (${reason}).`;
  }
}

function callEnded(call, detail) {
  if (state.call !== call) return;
  state.call = null;
  ui.remoteVideo.srcObject = null;
  ui.localVideo.srcObject = null;
  const ok = detail.reason === 'success' || detail.reason === 'answered-elsewhere';
  setStatus(endMessage(call, detail), ok ? 'info' : 'error');
  renderCall();
  renderUsers();
}

const sizeText = (n) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB`
  : n >= 1024 ? `${(n / 1024).toFixed(1)} kB` : `${n} B`);

/** Why a file was refused at once (lib/file-transfer.js 'refused'). */
function refusal({ name, size, reason }) {
  switch (reason) {
    case 'too-large': return `${name}: ${sizeText(size)} is too large`;
    case 'busy': return `${name}: another file is coming in`;
    default: return `${name}: not a valid offer`;
  }
}

/** Object URLs of received files, revoked when their rows go (next call, log out, leave). */
const objectUrls = new Set();

/** Removes the transfer rows and revokes their object URLs (the Blobs can then be freed). */
function clearTransfers() {
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls.clear();
  ui.transfers.replaceChildren();
}

/**
 * The raster image type of a received file from its first bytes (PNG, JPEG, GIF, WebP), or
 * null: only those get a preview, whatever name or MIME type the sender gave (never SVG).
 */
async function rasterType(blob) {
  const b = new Uint8Array(await blob.slice(0, 12).arrayBuffer());
  const ascii = (from, to) => String.fromCharCode(...b.slice(from, to));
  if (b[0] === 0x89 && ascii(1, 4) === 'PNG') return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (ascii(0, 4) === 'GIF8') return 'image/gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  return null;
}

/** One row per file transfer: name, state, progress bar, cancel button, image preview. */
function showTransfer(t) {
  const li = document.createElement('li');
  li.className = 'transfer';
  li.dataset.id = t.id;
  li.dataset.direction = t.direction;
  const label = document.createElement('span');
  label.className = 'file-name';
  label.textContent = `${t.direction === 'outgoing' ? 'Sending' : 'Receiving'} ${t.name} (${sizeText(t.size)})`;
  const stateText = document.createElement('span');
  stateText.className = 'file-state';
  const bar = document.createElement('progress');
  bar.max = t.size || 1;
  bar.value = 0;
  bar.setAttribute('aria-label', `Progress of ${t.name}`);
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'secondary';
  cancel.textContent = `Cancel ${t.name}`;
  cancel.addEventListener('click', () => t.cancel());
  const setState = (state, text) => {
    li.dataset.state = state;
    stateText.textContent = text;
  };
  li.append(label, stateText, bar, cancel);
  if (t.direction === 'incoming' && t.state === 'offered') {
    // Nothing is stored before the user says yes.
    setState('offered', 'offered to you');
    const accept = document.createElement('button');
    accept.type = 'button';
    accept.textContent = `Accept ${t.name}`;
    const decline = document.createElement('button');
    decline.type = 'button';
    decline.className = 'secondary';
    decline.textContent = `Decline ${t.name}`;
    const answered = () => {
      accept.remove();
      decline.remove();
    };
    accept.addEventListener('click', () => {
      answered();
      t.accept();
      setState('receiving', 'receiving');
    });
    decline.addEventListener('click', () => {
      answered();
      t.decline();
    });
    t.addEventListener('cancelled', answered);
    li.append(accept, decline);
  } else {
    setState(t.state, 'waiting');
  }
  t.addEventListener('declined', (e) => {
    cancel.remove();
    if (e.detail.by === 'local') setState('declined', 'declined');
    else {
      setState('declined', e.detail.reason === 'too-large' ? 'too large for the other side'
        : 'declined by the other side');
    }
  });
  t.addEventListener('progress', () => {
    bar.value = t.bytes;
    if (t.state === 'sending' || t.state === 'receiving') {
      setState(t.state, `${Math.floor((100 * t.bytes) / (t.size || 1))}%`);
    }
  });
  t.addEventListener('cancelled', (e) => {
    setState('cancelled', e.detail.by === 'local' ? 'cancelled' : 'cancelled by the other side');
    cancel.remove();
  });
  t.addEventListener('done', (e) => {
    cancel.remove();
    bar.value = t.size;
    if (t.direction === 'outgoing') {
      setState(t.state, e.detail.error ? `failed: ${e.detail.error}` : 'sent');
      return;
    }
    if (!t.verified) {
      setState('failed', 'damaged: SHA-256 mismatch');
      return;
    }
    setState('done', 'received, SHA-256 verified');
    // application/octet-stream (lib/file-transfer.js): saved, never opened in our origin.
    const url = URL.createObjectURL(t.blob);
    objectUrls.add(url);
    const link = document.createElement('a');
    link.href = url;
    link.download = t.name;
    link.textContent = `Save ${t.name}`;
    li.append(link);
    rasterType(t.blob).then((type) => {
      if (!type || !li.isConnected) return;
      const img = document.createElement('img');
      img.className = 'preview';
      img.alt = `Preview of ${t.name}`;
      const preview = URL.createObjectURL(new Blob([t.blob], { type }));
      objectUrls.add(preview);
      img.src = preview;
      li.append(img);
    });
  });
  ui.transfers.append(li);
}

ui.sendFile.addEventListener('click', () => ui.fileInput.click());
ui.fileInput.addEventListener('change', () => {
  for (const f of ui.fileInput.files) state.call?.files?.send(f);
  ui.fileInput.value = '';
});
ui.accept.addEventListener('click', () => state.call?.accept());
ui.reject.addEventListener('click', () => state.call?.reject('decline'));
ui.cancel.addEventListener('click', () => state.call?.hangup('cancel'));
ui.hangup.addEventListener('click', () => state.call?.hangup('success'));
ui.mute.addEventListener('click', () => {
  state.call?.setMuted(!state.call.muted);
  renderCall();
});
ui.camera.addEventListener('click', () => {
  state.call?.setCameraOff(!state.call.cameraOff).then(renderCall);
  renderCall();
});

// ---------------------------------------------------------------------------------------------

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!state.config) return;
  login(fullJidFromInput(ui.jid.value), ui.password.value);
});
ui.logout.addEventListener('click', logout);
ui.unknownCallers.addEventListener('change', () => {
  if (state.jingle) state.jingle.unknownCallers = ui.unknownCallers.checked;
});
// Best effort: tell the server we leave, so others see us go at once.
window.addEventListener('pagehide', () => {
  if (state.conn && state.phase === 'in') {
    state.jingle?.stop(); // session-terminate/retract for a live call
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
