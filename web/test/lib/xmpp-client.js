// A Strophe.js XMPP client for node tests: logs in over ejabberd's WebSocket the way our web
// users do, and offers promise-based helpers for IQs, raw stanzas and waiting for stanzas.
//
// In node, `import ... from 'strophe.js'` resolves to Strophe's node build, which installs
// `ws` as globalThis.WebSocket and an @xmldom/xmldom DOM itself (peer dependencies in
// package.json), so incoming stanzas are xmldom Elements.
//
//   const c = await connectClient({ websocket: info.websocket, jid: 'alice@localhost', password });
//   const reply = await c.sendIQ($iq({ type: 'get', to: 'localhost' }).c('ping', { xmlns: NS.PING }));
//   const msg = c.waitFor((s) => s.nodeName === 'message');   // register first ...
//   c.sendRaw("<message xmlns='jabber:client' to='alice@localhost'><body>hi</body></message>");
//   await msg;                                                  // ... then trigger
//   await c.disconnect();

import { Strophe, $iq, $pres, $msg, $build } from 'strophe.js';

export { Strophe, $iq, $pres, $msg, $build };

export const NS = {
  CLIENT: 'jabber:client',
  STANZAS: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  PING: 'urn:xmpp:ping',
  DISCO_INFO: 'http://jabber.org/protocol/disco#info',
  DISCO_ITEMS: 'http://jabber.org/protocol/disco#items',
  VERSION: 'jabber:iq:version',
};

// Strophe logs at DEBUG by default; keep test output to warnings (XMPP_CLIENT_LOG=1 for all).
if (!process.env.XMPP_CLIENT_LOG) Strophe.setLogLevel(Strophe.LogLevel.WARN);

const statusName = Object.fromEntries(Object.entries(Strophe.Status).map(([k, v]) => [v, k]));

/** Serializes a stanza (Element or Builder) to a string, for messages and logs. */
export function xml(stanza) {
  if (!stanza) return String(stanza);
  return Strophe.serialize(typeof stanza.tree === 'function' ? stanza.tree() : stanza);
}

/**
 * The error of an `type='error'` stanza: `{ type, condition, text }` (condition is the
 * RFC 6120 defined-condition element name, e.g. 'service-unavailable'), or null if the
 * stanza carries no <error/>.
 */
export function errorCondition(stanza) {
  if (!stanza?.childNodes) return null;
  const error = [...stanza.childNodes].find((n) => n.nodeType === 1 && n.nodeName === 'error');
  if (!error) return null;
  let condition = null;
  let text = null;
  for (const n of error.childNodes) {
    if (n.nodeType !== 1 || n.namespaceURI !== NS.STANZAS) continue;
    if (n.nodeName === 'text') text = n.textContent;
    else condition ??= n.nodeName;
  }
  return { type: error.getAttribute('type'), condition, text };
}

/**
 * Connects and authenticates one client over WebSocket.
 * @param {object} opts
 * @param {string} opts.websocket  ws://127.0.0.1:PORT/ws
 * @param {string} opts.jid        bare JID (the server picks a resource) or full JID
 * @param {string} opts.password
 * @param {boolean} [opts.presence=false] send initial presence once connected
 * @param {number} [opts.timeoutMs=15000] deadline for connecting and authenticating
 * @param {boolean} [opts.log=false] print every stanza in and out (or env XMPP_CLIENT_LOG=1)
 * @returns {Promise<Client>} rejects with an Error naming the failed status (AUTHFAIL, ...)
 */
export function connectClient({ websocket, jid, password, presence = false, timeoutMs = 15000,
  log = !!process.env.XMPP_CLIENT_LOG } = {}) {
  const conn = new Strophe.Connection(websocket);
  if (log) {
    conn.xmlInput = (el) => console.log(`[${jid} <-]`, xml(el));
    conn.xmlOutput = (el) => console.log(`[${jid} ->]`, xml(el));
  }
  const client = new Client(conn);
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      conn.reset?.();
      reject(new Error(`${jid}: not connected within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.connect(jid, password, (status, cond, elem) => {
      client._status(status);
      // SASL failures come with a null condition and the <failure/> element.
      const condition = cond ?? (status === Strophe.Status.AUTHFAIL && elem
        ? [...elem.childNodes].find((n) => n.nodeType === 1)?.nodeName : null);
      if (settled) return;
      if (status === Strophe.Status.CONNECTED) {
        settled = true;
        clearTimeout(timer);
        if (presence) conn.send($pres());
        resolve(client);
      } else if ([Strophe.Status.AUTHFAIL, Strophe.Status.CONNFAIL, Strophe.Status.ERROR,
        Strophe.Status.CONNTIMEOUT, Strophe.Status.BINDREQUIRED, Strophe.Status.DISCONNECTED]
        .includes(status)) {
        settled = true;
        clearTimeout(timer);
        const err = new Error(`${jid}: ${statusName[status]}${condition ? ` (${condition})` : ''}`);
        err.status = statusName[status];
        err.condition = condition;
        reject(err);
        if (status !== Strophe.Status.DISCONNECTED) conn.disconnect();
      }
    });
  });
}

/** One connected client; see connectClient. */
export class Client {
  constructor(conn) {
    /** The Strophe.Connection. */
    this.conn = conn;
    /** Incoming stanzas since login, oldest first, the last `keep` of them. */
    this.received = [];
    this.keep = 1000;
    /** True once the connection has ended (DISCONNECTED seen). */
    this.closed = false;
    this._closedWaiters = [];
    // Record stanzas from a handler that never matches, so Strophe's fallback still answers
    // IQ get/set nobody handles with service-unavailable.
    const recorder = conn.addHandler(() => true, null, null, null);
    recorder.isMatch = (stanza) => {
      if (!conn.authenticated) return false;
      this.received.push(stanza);
      if (this.received.length > this.keep) this.received.splice(0, this.received.length - this.keep);
      return false;
    };
    // Strophe 5's own fallback answers unhandled IQ get/set without a `to`, so the error goes
    // to our own account instead of the sender. Answer the sender (RFC 6120 §8.2.3).
    conn.iqFallbackHandler.handler = (iq) => {
      const from = iq.getAttribute('from');
      const reply = $iq({ type: 'error', id: iq.getAttribute('id') ?? '' });
      if (from) reply.attrs({ to: from });
      conn.send(reply.c('error', { type: 'cancel' })
        .c('service-unavailable', { xmlns: NS.STANZAS }));
      return false;
    };
  }

  /** Our full JID as bound by the server. */
  get jid() {
    return this.conn.jid;
  }

  _status(status) {
    if (status === Strophe.Status.DISCONNECTED) {
      this.closed = true;
      for (const w of this._closedWaiters.splice(0)) w();
    }
  }

  /** Sends a stanza (Builder or Element) as is. */
  send(stanza) {
    this.conn.send(stanza);
  }

  /**
   * Sends an IQ get/set (an id is added if missing) and resolves to the `result` IQ.
   * Rejects with the `type='error'` IQ Element itself (see errorCondition), or with an Error
   * if no reply came within timeoutMs.
   */
  sendIQ(stanza, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      this.conn.sendIQ(stanza, resolve, (el) => {
        if (el) reject(el);
        else reject(new Error(`no reply within ${timeoutMs} ms to ${xml(stanza)}`));
      }, timeoutMs);
    });
  }

  /**
   * Writes a string to the WebSocket exactly as given (one stanza per WebSocket message,
   * RFC 7395), bypassing Strophe's stanza checks: for malformed or unusual stanzas (IQ without
   * id, unknown types, ...). Write `xmlns='jabber:client'` on the root as Strophe does.
   * Anything queued with send() before is written first.
   */
  sendRaw(xmlString) {
    this.conn.flush();
    const socket = this.conn._proto?.socket;
    if (!socket || socket.readyState !== 1) throw new Error('sendRaw: WebSocket is not open');
    this.conn.xmlOutput?.(xmlString);
    socket.send(xmlString);
  }

  /**
   * Resolves to the next incoming stanza for which predicate(stanza) is true (predicate gets
   * the Element). The handler is registered synchronously, so call waitFor before triggering
   * the stanza. With `{past: true}` a stanza already received since login also counts.
   * Rejects after timeoutMs, or if the predicate throws.
   */
  waitFor(predicate, timeoutMs = 10000, { past = false } = {}) {
    if (past) {
      const hit = this.received.find((s) => predicate(s));
      if (hit) return Promise.resolve(hit);
    }
    return new Promise((resolve, reject) => {
      let done = false;
      let ref = null;
      const timer = setTimeout(() => {
        done = true;
        if (ref) this.conn.deleteHandler(ref);
        reject(new Error(`waitFor: no matching stanza within ${timeoutMs} ms (${predicate})`));
      }, timeoutMs);
      const settle = (fn, value) => {
        done = true;
        clearTimeout(timer);
        if (ref) this.conn.deleteHandler(ref);
        fn(value);
      };
      ref = this.conn.addHandler((stanza) => {
        settle(resolve, stanza);
        return false;
      }, null, null, null);
      // Match only what the predicate accepts, so other stanzas go on to other handlers and
      // to Strophe's IQ fallback as if this waiter did not exist.
      ref.isMatch = (stanza) => {
        if (done) return false;
        try {
          return !!predicate(stanza);
        } catch (e) {
          settle(reject, e);
          return false;
        }
      };
    });
  }

  /** Logs out (unavailable presence, stream close); resolves once disconnected. */
  disconnect(timeoutMs = 5000) {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // The server did not close in time: drop the socket ourselves.
        this.conn._proto?.socket?.close?.();
        this.conn.reset?.();
        this.closed = true;
        resolve();
      }, timeoutMs);
      this._closedWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.conn.disconnect('test done');
    });
  }
}
