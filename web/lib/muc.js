// Being in a MUC room (XEP-0045): entering with a nick (and a password, for a protected
// room), the occupants by nick, and leaving. A group call needs it because the conference
// focus lets only the room's occupants join its call.
//
//   const room = new MucRoom(conn, 'team@conference.example.org');
//   await room.enter('alice');             // rejects with {condition} if the room refuses
//   room.occupants;                        // Map nick -> {nick, jid (if the room shows it)}
//   room.leave();

import { Strophe, $pres } from 'strophe.js';
import { children, child, addHandler } from './xml.js';

const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

/** The status codes of a MUC presence. */
function statuses(presence) {
  const x = child(presence, 'x', NS_MUC_USER);
  return new Set(children(x, 'status').map((s) => s.getAttribute('code')));
}

/**
 * One MUC room as an occupant sees it. Events: 'occupant' ({nick, jid}: someone is there),
 * 'left' ({nick}), 'exit' ({condition}: we are out, kicked or the room is gone).
 */
export class MucRoom extends EventTarget {
  #conn;
  #handler = null;
  #entering = null;

  /** @param {string} jid the room's bare JID, `room@conference.example.org` */
  constructor(conn, jid) {
    super();
    this.#conn = conn;
    this.jid = Strophe.getBareJidFromJid(jid);
    /** Our nick, once in. */
    this.nick = null;
    /** True from our own presence (status 110) until we leave or are removed. */
    this.joined = false;
    /** nick -> {nick, jid}; `jid` only where the room shows real JIDs to us. */
    this.occupants = new Map();
  }

  /**
   * Enters the room as `nick`; resolves once in (the room sent our own presence), rejects with
   * an Error carrying `condition` ('registration-required', 'not-authorized', 'conflict', ...).
   */
  enter(nick, { password = null, timeoutMs = 15000 } = {}) {
    if (this.joined) return Promise.resolve();
    this.#entering ??= new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail('remote-server-timeout'), timeoutMs);
      const fail = (condition) => {
        clearTimeout(timer);
        this.#entering = null;
        this.#stopHandler();
        const e = new Error(`cannot enter ${this.jid}: ${condition}`);
        e.condition = condition;
        reject(e);
      };
      this.#handler = addHandler(this.#conn, (s) => s.nodeName === 'presence'
        && Strophe.getBareJidFromJid(s.getAttribute('from') ?? '') === this.jid, (p) => {
        if (!this.joined && p.getAttribute('type') === 'error') {
          const err = child(p, 'error');
          fail(children(err).find((n) => n.nodeName !== 'text')?.nodeName ?? 'undefined-condition');
          return;
        }
        const own = this.#onPresence(p);
        if (own && !this.joined && p.getAttribute('type') !== 'unavailable') {
          clearTimeout(timer);
          this.joined = true;
          this.nick = Strophe.getResourceFromJid(p.getAttribute('from'));
          resolve();
        }
      });
      const pres = $pres({ to: `${this.jid}/${nick}` }).c('x', { xmlns: NS_MUC })
        .c('history', { maxstanzas: 0 }).up();
      if (password) pres.c('password').t(password).up();
      this.#conn.send(pres.tree());
    });
    return this.#entering;
  }

  /** Leaves the room. */
  leave() {
    if (!this.joined) return;
    this.#conn.send($pres({ to: `${this.jid}/${this.nick}`, type: 'unavailable' }).tree());
    this.#out(null);
  }

  /** Handles a presence of the room; returns true if it is about us. */
  #onPresence(p) {
    const nick = Strophe.getResourceFromJid(p.getAttribute('from') ?? '');
    const codes = statuses(p);
    const own = codes.has('110');
    if (!nick) return false;
    if (p.getAttribute('type') === 'unavailable') {
      if (own && !codes.has('303')) {
        this.#out(codes.has('301') ? 'forbidden' : codes.has('307') ? 'kicked' : 'gone');
        return true;
      }
      if (this.occupants.delete(nick)) {
        this.dispatchEvent(new CustomEvent('left', { detail: { nick } }));
      }
      return own;
    }
    if (own) return true;
    const item = child(child(p, 'x', NS_MUC_USER), 'item');
    const occupant = { nick, jid: item?.getAttribute('jid') ?? null };
    this.occupants.set(nick, occupant);
    this.dispatchEvent(new CustomEvent('occupant', { detail: occupant }));
    return false;
  }

  #out(condition) {
    const was = this.joined;
    this.joined = false;
    this.#entering = null;
    this.occupants.clear();
    this.#stopHandler();
    if (was) this.dispatchEvent(new CustomEvent('exit', { detail: { condition } }));
  }

  #stopHandler() {
    if (this.#handler) this.#conn.deleteHandler(this.#handler);
    this.#handler = null;
  }
}


