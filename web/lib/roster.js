// Who is online, from XMPP presence, for any Strophe.js connection (browser or node).
//
// Our ejabberd puts every user in one shared-roster group, so after initial presence the
// server pushes the presence of every other online user: no roster requests are needed.
// This module keeps no DOM state; the demo page and the Jingle plugin (web/lib/) share it.
//
//   const contacts = new OnlineContacts(conn);          // before sending initial presence
//   contacts.on('change', ({ jid, kind, contact }) => render());
//   conn.send($pres());
//   contacts.list();                                    // [{ jid, name, show, resources }]
//   contacts.fullJids('bob@localhost');                 // ['bob@localhost/res1', ...]

import { Strophe } from 'strophe.js';

const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

/** Rank of a `<show/>` value: lower is more available (RFC 6121 §4.7.2.1). */
const SHOW_RANK = { chat: 0, available: 1, away: 2, xa: 3, dnd: 4 };

function childText(el, name) {
  for (const n of el.childNodes) {
    if (n.nodeType === 1 && n.nodeName === name) return n.textContent;
  }
  return null;
}

function hasChildNs(el, ns) {
  for (const n of el.childNodes) {
    if (n.nodeType === 1 && (n.namespaceURI === ns || n.getAttribute('xmlns') === ns)) return true;
  }
  return false;
}

/**
 * Tracks which bare JIDs are online (have at least one available resource) and with which
 * resources. Events, via `on(type, fn)`:
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
