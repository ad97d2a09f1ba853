// The Jingle sessions of one connection: every Jingle IQ set is routed here by sid and sender,
// answered (a result or the Jingle error), and handed to its session (lib/session.js). A
// session-initiate for a new sid goes through the accept policies, newest first: the first
// that claims it takes the session (rings it, accepts it at once, or terminates it) or answers
// an error. Sessions are keyed by sid alone: one peer JID may hold several (a conference focus
// opens one per remote participant), and no session's state decides for another.
//
//   const sessions = new Sessions(conn, { iceServers: () => services.iceServers() });
//   const remove = sessions.addAcceptPolicy((offer) => (offer.from === focus
//     ? { take: (session) => session.accept({ media: null }) } : null));
//   const mine = sessions.open('room@focus.example.org');
//   await mine.initiate({ media, senders: 'initiator' });
//
// Errors answered: `bad-request` for a missing `sid`/`action`, or Jingle the translator
// rejects; `item-not-found` + `<unknown-session/>` for an unknown sid or a sid of another
// peer; the rest as the session says (lib/session.js ERRORS). Strophe 5's own fallback reply
// has no `to`, so every Jingle IQ set is answered from here.

import { Strophe, $iq } from 'strophe.js';
import { initSdpMap } from '../sdp-map.js';
import { NS, children, child, randomId, addHandler, parseXml, sameJid } from './xml.js';
import { Session, ERRORS, LIMITS, iceTokens } from './session.js';
import { MAX_SIZE } from './file-transfer.js';

export { ERRORS, LIMITS } from './session.js';

/**
 * The registry. Event 'session' (detail: Session): a session was added (ours or the peer's,
 * before its owner got it).
 */
export class Sessions extends EventTarget {
  #conn;
  #iceServers;
  #handler;
  #policies = [];
  #early = null;
  /** sid -> Session, live ones only. */
  #sessions = new Map();

  /**
   * @param {object} conn a connected Strophe.Connection
   * @param {object} [opts]
   * @param {() => Promise<RTCIceServer[]>} [opts.iceServers] STUN/TURN for new sessions
   * @param {object} [opts.settings] connectTimeoutMs (30000), iceRestartAfterMs (3000),
   *   rtcConfig ({}), dataChannel (true), maxFileSize (2 GiB: files received in a call),
   *   limits (per session, see lib/session.js LIMITS): read by each session when it needs them
   */
  constructor(conn, { iceServers = async () => [], settings = {} } = {}) {
    super();
    this.#conn = conn;
    this.#iceServers = iceServers;
    /** Read live by the sessions (a change applies to the next use). */
    this.settings = { connectTimeoutMs: 30000, iceRestartAfterMs: 3000, rtcConfig: {},
      dataChannel: true, maxFileSize: MAX_SIZE, ...settings,
      limits: { ...LIMITS, ...settings.limits } };
    /** The translator (sdp-map wasm exports), once loaded. */
    this.sdp = null;
    /** Resolves once the translator is loaded. */
    this.ready = initSdpMap().then((sdp) => { this.sdp = sdp; });
    this.#handler = addHandler(conn, (s) => s.nodeName === 'iq' && s.getAttribute('type') === 'set'
      && !!child(s, 'jingle', NS.JINGLE), (s) => this.#onIq(s));
  }

  /** Our own full JID. */
  get jid() {
    return this.#conn.jid;
  }

  /** The live session of `sid`, or null. */
  get(sid) {
    return this.#sessions.get(sid) ?? null;
  }

  /** The live sessions. */
  list() {
    return [...this.#sessions.values()];
  }

  get size() {
    return this.#sessions.size;
  }

  /** STUN/TURN for a new session. */
  iceServers() {
    return this.#iceServers();
  }

  /**
   * A new session of ours with `peer` (any JID: presence and roster play no part); call its
   * `initiate()` next.
   */
  open(peer, { sid = randomId(), remoteStream } = {}) {
    return this.#add(new Session(this, { sid, peer, role: 'initiator', remoteStream }));
  }

  /**
   * Adds an accept policy for the peer's session-initiate of a new sid. `policy(offer)` gets
   * `{sid, from, jingle (the <jingle/> element), xml, sdp, media: {audio, video}}` and returns
   * null (not mine: the next policy decides), `{error}` (answered with that error, see
   * ERRORS), or `{take(session), remoteStream?}`: acknowledged, and `take` gets the new
   * session to ring, accept or terminate. Newest first; with none, the session is declined.
   * Returns a function that removes the policy.
   */
  addAcceptPolicy(policy) {
    this.#policies.unshift(policy);
    return () => {
      const i = this.#policies.indexOf(policy);
      if (i >= 0) this.#policies.splice(i, 1);
    };
  }

  /**
   * Sends a `<jingle/>` (XML text) in an IQ set to `to`; resolves to null on a result, or to
   * `{condition, jingle, stanza}` on an error (condition 'timeout' if none came in 10 s).
   */
  send(to, xml) {
    return new Promise((resolve) => {
      const iq = $iq({ type: 'set', to }).cnode(parseXml(xml));
      this.#conn.sendIQ(iq.tree(), () => resolve(null), (el) => {
        const err = el ? child(el, 'error') : null;
        const conditions = err ? children(err).filter((n) => n.nodeName !== 'text') : [];
        const condition = conditions.find((n) => n.namespaceURI !== NS.JINGLE_ERRORS)?.nodeName
          ?? (err ? 'error' : 'timeout');
        const jingle = conditions.find((n) => n.namespaceURI === NS.JINGLE_ERRORS)?.nodeName
          ?? null;
        resolve({ condition, jingle, stanza: el });
      }, 10000);
    });
  }

  /** Terminates every live session (reason `condition`) and stops handling Jingle. */
  stop(condition = 'gone') {
    for (const s of this.list()) s.terminate(condition);
    this.#conn.deleteHandler(this.#handler);
  }

  #add(session) {
    this.#sessions.set(session.sid, session);
    session.addEventListener('ended', () => {
      if (this.#sessions.get(session.sid) === session) this.#sessions.delete(session.sid);
    }, { once: true });
    this.dispatchEvent(new CustomEvent('session', { detail: session }));
    return session;
  }

  #reply(iq, error) {
    const reply = $iq({ type: error ? 'error' : 'result', id: iq.getAttribute('id') ?? '',
      to: iq.getAttribute('from') ?? undefined });
    if (error) {
      reply.c('error', { type: error.type ?? 'cancel' }).c(error.condition, { xmlns: NS.STANZAS }).up();
      if (error.jingle) reply.c(error.jingle, { xmlns: NS.JINGLE_ERRORS }).up();
    }
    this.#conn.send(reply.tree());
  }

  #onIq(iq) {
    if (!this.sdp) {
      // The translator (wasm) is still loading: handle this IQ, in order, once it is there.
      this.#early = (this.#early ?? this.ready).then(() => this.#onIq(iq));
      return;
    }
    const from = iq.getAttribute('from');
    const jingle = child(iq, 'jingle', NS.JINGLE);
    const action = jingle.getAttribute('action');
    const sid = jingle.getAttribute('sid');
    if (!from || !action || !sid) {
      this.#reply(iq, ERRORS.badRequest);
      return;
    }
    const session = this.#sessions.get(sid);
    if (action === 'session-initiate' && !session) {
      this.#onInitiate(iq, jingle, from, sid);
      return;
    }
    if (!session || !sameJid(session.peer, from)) {
      this.#reply(iq, ERRORS.unknownSession);
      return;
    }
    this.#reply(iq, session.receive(action, jingle));
  }

  /** The peer's session-initiate of a new sid: checked, then the accept policies decide. */
  #onInitiate(iq, jingle, from, sid) {
    // Counted before anything is translated: a stanza with thousands of contents costs
    // nothing more than this.
    if (children(jingle, 'content').length > this.settings.limits.contents) {
      this.#reply(iq, ERRORS.notAcceptable);
      return;
    }
    if (!iceTokens(jingle)) {
      this.#reply(iq, ERRORS.badRequest);
      return;
    }
    const xml = Strophe.serialize(jingle);
    let sdp;
    try {
      if (!child(jingle, 'content')) throw new Error('no content');
      sdp = this.sdp.jingleToSdp(xml, { type: 'offer' });
    } catch (e) {
      console.warn('jingle: malformed session-initiate', e.message);
      this.#reply(iq, ERRORS.badRequest);
      return;
    }
    const offer = { sid, from, jingle, xml, sdp,
      media: { audio: /^m=audio /m.test(sdp), video: /^m=video /m.test(sdp) } };
    let decision = null;
    for (const policy of [...this.#policies]) {
      try {
        decision = policy(offer);
      } catch (e) {
        console.error('jingle: accept policy failed', e);
      }
      if (decision) break;
    }
    if (decision?.error) {
      this.#reply(iq, decision.error);
      return;
    }
    this.#reply(iq);
    const session = this.#add(new Session(this, { sid, peer: from, role: 'responder', offer: xml,
      remoteStream: decision?.remoteStream }));
    if (decision?.take) decision.take(session);
    else session.terminate('decline');
  }
}
