// Who is online, from XMPP presence, for any Strophe.js connection (browser or node).
//
// Our ejabberd puts every user in one shared-roster group, so after initial presence the
// server pushes the presence of every other online user: no roster requests are needed.
// This module keeps no DOM state; the demo page and the Jingle plugin (web/lib/) share it.
//
//   const contacts = new OnlineContacts(conn);          // before sending initial presence
//   contacts.on('change', ({ jid, kind, contact }) => render());
//   conn.send($pres());
//   contacts.list();                                    // [{ jid, name, show, inCall, resources }]
//   contacts.fullJids('bob@localhost');                 // ['bob@localhost/res1', ...]
//
// Our own presence, "in a call" while a Jingle call (lib/jingle.js) is answered: see
// OwnPresence. Our roster (subscriptions and names): see Roster.

import { Strophe, $iq, $pres } from 'strophe.js';

const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

/** The project's own presence extensions (like sdp-map's urn:xmpp:jingle-focus:sdp:0). */
export const NS_PRESENCE = 'urn:xmpp:jingle-focus:presence:0';
/** The `<status/>` of our presence during a call, for clients that ignore NS_PRESENCE. */
export const IN_CALL_STATUS = 'In a call';

/** Rank of a `<show/>` value: lower is more available (RFC 6121 §4.7.2.1). */
const SHOW_RANK = { chat: 0, available: 1, away: 2, xa: 3, dnd: 4 };

function childText(el, name) {
  for (const n of el.childNodes) {
    if (n.nodeType === 1 && n.nodeName === name) return n.textContent;
  }
  return null;
}

function hasChildNs(el, ns, name = null) {
  for (const n of el.childNodes) {
    if (n.nodeType !== 1 || (name && (n.localName ?? n.nodeName) !== name)) continue;
    if (n.namespaceURI === ns || n.getAttribute('xmlns') === ns) return true;
  }
  return false;
}

/**
 * Tracks which bare JIDs are online (have at least one available resource) and with which
 * resources. A contact is `{jid, name, show, status, inCall, resources}`: show and status of
 * its best resource (priority, then show), inCall if any resource says so (OwnPresence); each
 * resource is `{resource, fullJid, show, status, priority, inCall, presence}`.
 * Events, via `on(type, fn)`:
 *  - 'online'  {jid, contact}: a bare JID's first resource became available
 *  - 'update'  {jid, contact}: resources or show/status changed while online
 *  - 'offline' {jid, contact: null}: its last resource went unavailable (or clear())
 *  - 'change'  {jid, kind, contact}: any of the above, kind = 'online' | 'update' | 'offline'
 * Presence from our own bare JID (other devices) is tracked apart: see `self()`.
 */
export class OnlineContacts {
  /**
   * @param {object} conn a Strophe.Connection; add this before sending initial presence
   * @param {{onChange?: (e: {jid: string, kind: string, contact: object|null}) => void}} [opts]
   */
  constructor(conn, { onChange } = {}) {
    this.conn = conn;
    /** bare JID -> Map(resource -> {resource, fullJid, show, status, priority, presence}) */
    this._online = new Map();
    this._listeners = new Map();
    if (onChange) this.on('change', onChange);
    this._handler = conn.addHandler((p) => {
      try {
        this._onPresence(p);
      } catch (e) {
        console.error('OnlineContacts: bad presence', e);
      }
      return true;
    }, null, 'presence');
  }

  /** Subscribes to an event; returns a function that unsubscribes. */
  on(type, fn) {
    if (!this._listeners.has(type)) this._listeners.set(type, new Set());
    this._listeners.get(type).add(fn);
    return () => this._listeners.get(type)?.delete(fn);
  }

  _emit(type, detail) {
    for (const fn of [...(this._listeners.get(type) ?? [])]) {
      try {
        fn(detail);
      } catch (e) {
        console.error(`OnlineContacts: '${type}' listener failed`, e);
      }
    }
  }

  _ownBareJid() {
    return this.conn.jid ? Strophe.getBareJidFromJid(this.conn.jid) : null;
  }

  _onPresence(p) {
    const from = p.getAttribute('from');
    if (!from) return;
    const type = p.getAttribute('type');
    // Subscription management and probes are not availability.
    if (type && type !== 'unavailable' && type !== 'error') return;
    // MUC occupants are room participants, not contacts.
    if (hasChildNs(p, NS_MUC_USER)) return;
    if (from === this.conn.jid) return; // our own presence, reflected by the server
    const bare = Strophe.getBareJidFromJid(from);
    const resource = Strophe.getResourceFromJid(from);
    if (!Strophe.getNodeFromJid(bare)) return; // servers and components
    const before = this._online.get(bare);
    const wasOnline = !!before?.size;
    const resources = new Map(before ?? []);
    if (type === 'error' || (type === 'unavailable' && !resource)) {
      resources.clear();
    } else if (type === 'unavailable') {
      resources.delete(resource);
    } else {
      const show = childText(p, 'show') ?? 'available';
      resources.set(resource ?? '', {
        resource: resource ?? '',
        fullJid: from,
        show: show in SHOW_RANK ? show : 'available',
        status: childText(p, 'status'),
        priority: Number.parseInt(childText(p, 'priority') ?? '0', 10) || 0,
        inCall: hasChildNs(p, NS_PRESENCE, 'in-call'),
        presence: p,
      });
    }
    if (resources.size) this._online.set(bare, resources);
    else this._online.delete(bare);
    if (!wasOnline && !resources.size) return;
    const kind = !wasOnline ? 'online' : resources.size ? 'update' : 'offline';
    if (bare === this._ownBareJid()) {
      this._emit('self', { jid: bare, kind, contact: this._contact(bare) });
      return;
    }
    const detail = { jid: bare, kind, contact: this._contact(bare) };
    this._emit(kind, detail);
    this._emit('change', detail);
  }

  /** A snapshot of one online bare JID, or null if it is offline. */
  _contact(bare) {
    const map = this._online.get(bare);
    if (!map?.size) return null;
    const resources = [...map.values()].sort((a, b) => b.priority - a.priority
      || SHOW_RANK[a.show] - SHOW_RANK[b.show] || a.resource.localeCompare(b.resource));
    return {
      jid: bare,
      name: Strophe.unescapeNode(Strophe.getNodeFromJid(bare)),
      show: resources[0].show,
      status: resources[0].status,
      // Any device in a call: the user is (another device may still answer, but not them).
      inCall: resources.some((r) => r.inCall),
      resources,
    };
  }

  /** Online contacts other than ourselves, sorted by name then JID. */
  list() {
    const own = this._ownBareJid();
    return [...this._online.keys()].filter((j) => j !== own).map((j) => this._contact(j))
      .sort((a, b) => a.name.localeCompare(b.name) || a.jid.localeCompare(b.jid));
  }

  /** The contact for a bare (or full) JID, or null if offline. */
  get(jid) {
    return this._contact(Strophe.getBareJidFromJid(jid));
  }

  isOnline(jid) {
    return !!this._online.get(Strophe.getBareJidFromJid(jid))?.size;
  }

  /** Full JIDs of a bare JID's available resources, best first (priority, then show). */
  fullJids(jid) {
    return this.get(jid)?.resources.map((r) => r.fullJid) ?? [];
  }

  /** Our own other online resources (other devices of the user), not this connection. */
  self() {
    const own = this._ownBareJid();
    return own ? this._contact(own) : null;
  }

  /** Forgets everyone (e.g. on disconnect), emitting 'offline' for each contact. */
  clear() {
    const own = this._ownBareJid();
    const gone = [...this._online.keys()];
    this._online.clear();
    for (const jid of gone) {
      if (jid === own) continue;
      const detail = { jid, kind: 'offline', contact: null };
      this._emit('offline', detail);
      this._emit('change', detail);
    }
  }

  /** Stops listening to the connection and forgets everyone (without events). */
  stop() {
    this.conn.deleteHandler(this._handler);
    this._online.clear();
  }
}

const NS_ROSTER = 'jabber:iq:roster';

/**
 * Our roster (RFC 6121 §2): who we have a presence subscription with, and the names we gave
 * them. Loaded once, then kept up to date by roster pushes (only from our own account).
 * The Jingle plugin rings only for contacts with a subscription (`subscribed()`).
 *
 *   const roster = new Roster(conn);   // once connected
 *   await roster.ready;                // loaded (or failed: empty)
 *   roster.subscribed('bob@example.org'); roster.name('bob@example.org');
 */
export class Roster {
  /** bare JID -> {jid, name, subscription} */
  #items = new Map();
  #conn;
  #handler;

  /** @param {object} conn a connected Strophe.Connection */
  constructor(conn) {
    this.#conn = conn;
    this.#handler = conn.addHandler((iq) => {
      try {
        this.#onPush(iq);
      } catch (e) {
        console.error('Roster: bad push', e);
      }
      return true;
    }, NS_ROSTER, 'iq', 'set');
    /** Resolves once the roster is loaded (or could not be: it then stays empty). */
    this.ready = new Promise((resolve) => {
      conn.sendIQ($iq({ type: 'get' }).c('query', { xmlns: NS_ROSTER }).tree(), (iq) => {
        const query = [...iq.childNodes].find((n) => n.nodeName === 'query');
        for (const item of query?.childNodes ?? []) this.#note(item);
        resolve();
      }, () => {
        console.warn('Roster: not loaded');
        resolve();
      }, 10000);
    });
  }

  #note(item) {
    if (item.nodeType !== 1 || item.nodeName !== 'item') return;
    const jid = item.getAttribute('jid');
    if (!jid) return;
    const bare = Strophe.getBareJidFromJid(jid).toLowerCase();
    const subscription = item.getAttribute('subscription') ?? 'none';
    if (subscription === 'remove') this.#items.delete(bare);
    else this.#items.set(bare, { jid: bare, name: item.getAttribute('name') || null, subscription });
  }

  /** A roster push: from our own account only (RFC 6121 §2.1.6), else it is a forgery. */
  #onPush(iq) {
    const from = iq.getAttribute('from');
    const own = Strophe.getBareJidFromJid(this.#conn.jid);
    if (from && Strophe.getBareJidFromJid(from).toLowerCase() !== own.toLowerCase()) return;
    const query = [...iq.childNodes].find((n) => n.nodeName === 'query');
    for (const item of query?.childNodes ?? []) this.#note(item);
    this.#conn.send($iq({ type: 'result', id: iq.getAttribute('id') ?? '' }).tree());
  }

  /** The roster item of a JID: {jid, name, subscription}, or null. */
  get(jid) {
    return this.#items.get(Strophe.getBareJidFromJid(jid).toLowerCase()) ?? null;
  }

  /** True if we have a presence subscription with `jid`, either way ('to', 'from', 'both'). */
  subscribed(jid) {
    return ['to', 'from', 'both'].includes(this.get(jid)?.subscription);
  }

  /** The name we gave `jid` in the roster, or null. */
  name(jid) {
    return this.get(jid)?.name ?? null;
  }

  /** Stops following roster pushes. */
  stop() {
    this.#conn.deleteHandler(this.#handler);
  }
}

/**
 * Our own presence, sent on `conn`. While `inCall` it says so in standard XMPP that every
 * client shows, `<show>dnd</show><status>In a call</status>`, plus
 * `<in-call xmlns='urn:xmpp:jingle-focus:presence:0'/>` so our pages show "in a call" rather
 * than "do not disturb". Everything else (priority above all: it decides which devices get
 * messages to the bare JID, such as call proposals) stays as in the normal presence.
 *
 *   const presence = new OwnPresence(conn);   // normal: available, priority 0
 *   presence.followCalls(jingle);             // in a call while any call of `jingle` is live
 *   presence.send();                          // initial presence
 */
export class OwnPresence {
  /**
   * @param {object} conn a Strophe.Connection
   * @param {{show?: string|null, status?: string|null, priority?: number}} [normal] the
   *   presence outside calls
   */
  constructor(conn, { show = null, status = null, priority = 0 } = {}) {
    this.conn = conn;
    this.normal = { show, status, priority };
    this.inCall = false;
    this._jingle = null;
    this._unfollow = null;
  }

  /** The presence stanza (a Strophe builder) for the current state. */
  stanza() {
    const { show, status, priority } = this.inCall
      ? { ...this.normal, show: 'dnd', status: IN_CALL_STATUS } : this.normal;
    const p = $pres();
    if (show) p.c('show').t(show).up();
    if (status) p.c('status').t(status).up();
    if (priority) p.c('priority').t(String(priority)).up();
    if (this.inCall) p.c('in-call', { xmlns: NS_PRESENCE }).up();
    return p;
  }

  /** Sends the current presence (not while the connection is down or closing). */
  send() {
    if (this.conn.connected && !this.conn.disconnecting) this.conn.send(this.stanza());
  }

  /** Changes the presence used outside calls (e.g. `{show: 'away'}`) and sends it. */
  setNormal(normal) {
    this.normal = { ...this.normal, ...normal };
    this.send();
  }

  /** Says whether we are in a call; sends presence only when that changes. */
  setInCall(inCall) {
    if (this.inCall === !!inCall) return;
    this.inCall = !!inCall;
    this.send();
  }

  /**
   * Keeps `inCall` equal to `jingle.inCall` (a call answered: 'proceeding'..'active'), from
   * its 'incoming' and 'state' events. Not while a call only rings: a ring/retract loop must
   * not make the server broadcast our presence to every contact.
   */
  followCalls(jingle) {
    this.stop();
    const update = () => this.refresh();
    jingle.addEventListener('incoming', update);
    jingle.addEventListener('state', update);
    this._jingle = jingle;
    this._unfollow = () => {
      jingle.removeEventListener('incoming', update);
      jingle.removeEventListener('state', update);
    };
    this.refresh();
  }

  /** Re-reads whether a call of the followed Jingle is live. */
  refresh() {
    if (this._jingle) this.setInCall(this._jingle.inCall);
  }

  /** Stops following calls (sends nothing). */
  stop() {
    this._unfollow?.();
    this._unfollow = null;
    this._jingle = null;
  }
}
