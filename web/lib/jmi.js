// XEP-0353 Jingle Message Initiation (urn:xmpp:jingle-message:0, version 0.8): ringing every
// device of the callee before any Jingle session exists.
//
//   const jmi = new Jmi(conn);                       // enables carbons, handles messages
//   const p = jmi.propose('bob@example.org', { audio: true, video: true });
//   p.addEventListener('proceed', ({ detail }) => startSession(detail.from));
//   p.addEventListener('ended', ({ detail }) => console.log(detail.condition, detail.by));
//   jmi.addEventListener('proposal', ({ detail: p }) => (ok ? p.ring() : p.reject('busy')));
//
// `propose` goes to the bare JID, `ringing`/`proceed`/`reject` back to the proposing resource,
// `retract` to the bare JID, `finish` after the session. The callee's other devices learn of
// an answer from message carbons (XEP-0280) of its `proceed`/`reject`; for clients older than
// JMI 0.4 we also send, and understand, `accept` (and `reject`) to our own bare JID.

import { Strophe, $iq, $msg } from 'strophe.js';
import { NS, children, child, readReason, randomId, addHandler, sameJid } from './xml.js';

const ACTIONS = ['propose', 'ringing', 'proceed', 'reject', 'retract', 'finish', 'accept'];

/** The JMI element of a message, or null. */
function jmiOf(msg) {
  for (const n of children(msg)) {
    if (ACTIONS.includes(n.nodeName) && (n.namespaceURI === NS.JMI
      || n.getAttribute('xmlns') === NS.JMI)) return n;
  }
  return null;
}

/**
 * One proposal, ours or the peer's. States: 'proposing' (ours, sent), 'received' (the peer's,
 * not yet answered), 'ringing' (ours: the callee rings; theirs: we ring), 'proceeded' (the
 * callee answered; the Jingle session follows), 'ended'.
 * Events: 'ringing' (ours), 'proceed' ({from}: ours, the answering resource), 'ended'
 * ({condition, text, by: 'local'|'remote'|'self'}; 'self': another of our devices).
 */
export class Proposal extends EventTarget {
  #send;
  #receipt;

  constructor(send, { id, peer, direction, media, receipt = null, state }) {
    super();
    this.#send = send;
    this.#receipt = receipt;
    /** The proposal id, which is also the Jingle session id. */
    this.id = id;
    /** The peer's bare JID. */
    this.peer = Strophe.getBareJidFromJid(peer);
    /** The peer's full JID once known (the resource that proposed or proceeded). */
    this.peerFull = peer.includes('/') ? peer : null;
    /** 'outgoing' | 'incoming' */
    this.direction = direction;
    /** {audio, video} proposed. */
    this.media = media;
    this.state = state;
    /** The `{condition, text, by}` that ended it, once ended. */
    this.endReason = null;
  }

  get live() {
    return this.state !== 'ended';
  }

  /** Ours: says we ring (`ringing`, and a receipt if the proposal asked for one). */
  ring() {
    if (this.state !== 'received') return;
    this.state = 'ringing';
    this.#send(this.peerFull, 'ringing', this.id);
    // XEP-0184: Conversations shows "ringing" once the proposal is received.
    if (this.#receipt) this.#send(this.peerFull, 'receipt', this.#receipt);
  }

  /** Answers the peer's proposal: `proceed`, and the older `accept` to our own devices. */
  proceed() {
    if (!['received', 'ringing'].includes(this.state)) return;
    this.state = 'proceeded';
    this.#send(this.peerFull, 'proceed', this.id);
    // Older JMI (before 0.4): tell our other devices with `accept` to our own bare JID;
    // current clients learn it from the carbon of `proceed`.
    this.#send(null, 'accept', this.id);
  }

  /** Declines the peer's proposal (reason 'decline' by default). */
  reject(condition = 'decline') {
    if (!['received', 'ringing'].includes(this.state)) return;
    this.#send(this.peerFull, 'reject', this.id, condition);
    this.end({ condition, text: null }, 'local');
  }

  /** Drops the peer's proposal without a word (a stranger's, or one we will not answer). */
  ignore() {
    if (this.state !== 'received') return;
    this.end({ condition: 'decline', text: 'ignored' }, 'local');
  }

  /** Withdraws our unanswered proposal (reason 'cancel' by default). */
  retract(condition = 'cancel') {
    if (this.direction !== 'outgoing' || !['proposing', 'ringing'].includes(this.state)) return;
    this.#send(this.peer, 'retract', this.id, condition);
    this.end({ condition, text: null }, 'local');
  }

  /** After the session (or instead of it): `finish` with a reason. */
  finish(condition = 'success') {
    if (this.state === 'ended') return;
    this.#send(this.peerFull ?? this.peer, 'finish', this.id, condition);
    this.end({ condition, text: null }, 'local');
  }

  /** Ends the proposal without sending anything (the session or the call ended it). */
  end({ condition, text = null }, by) {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.endReason = { condition, text, by };
    this.dispatchEvent(new CustomEvent('ended', { detail: { condition, text, by } }));
  }

  /** A JMI action of the peer for this proposal (from the router). */
  handle(action, from, reason) {
    switch (action) {
      case 'ringing':
        if (this.direction === 'outgoing' && this.state === 'proposing') {
          this.state = 'ringing';
          this.dispatchEvent(new CustomEvent('ringing'));
        }
        break;
      case 'proceed':
        if (this.direction !== 'outgoing' || !['proposing', 'ringing'].includes(this.state)) break;
        this.peerFull = from;
        this.state = 'proceeded';
        this.dispatchEvent(new CustomEvent('proceed', { detail: { from } }));
        break;
      case 'reject':
        if (this.direction === 'outgoing' && ['proposing', 'ringing'].includes(this.state)) {
          this.end({ condition: reason?.condition ?? 'decline', text: reason?.text }, 'remote');
        }
        break;
      case 'retract':
        if (this.direction === 'incoming') {
          this.end({ condition: reason?.condition ?? 'cancel', text: reason?.text }, 'remote');
        }
        break;
      case 'finish':
        if (!this.peerFull || this.peerFull === from) {
          this.end({ condition: reason?.condition ?? 'success', text: reason?.text }, 'remote');
        }
        break;
      default:
        break;
    }
  }
}

/** Undecided incoming proposals kept at most; more are dropped until some are decided. */
const MAX_UNDECIDED = 16;

/** The `stamp` of a message's XEP-0203 `<delay/>` (or legacy XEP-0091 one) in ms, or null. */
function delayStamp(msg) {
  const d = child(msg, 'delay', NS.DELAY) ?? child(msg, 'x', 'jabber:x:delay');
  const stamp = d?.getAttribute('stamp');
  if (!stamp) return null;
  // XEP-0091: CCYYMMDDThh:mm:ss (UTC); XEP-0203: an XEP-0082 date-time.
  const legacy = /^(\d{4})(\d{2})(\d{2})T(\d{2}:\d{2}:\d{2})$/.exec(stamp);
  const ms = Date.parse(legacy ? `${legacy[1]}-${legacy[2]}-${legacy[3]}T${legacy[4]}Z` : stamp);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * The JMI proposals of one connection. Event 'proposal' (detail: an incoming Proposal in
 * state 'received'): call `ring()`, `reject()` or `ignore()` on it, at once or after looking
 * the caller up. Proposals older than `maxAgeMs` (a `<delay/>` from offline storage) and those
 * `admit` refuses are dropped without a word before that.
 */
export class Jmi extends EventTarget {
  #conn;
  #handler;
  #maxAgeMs;
  #admit;
  /** id -> Proposal, live ones only. */
  #proposals = new Map();

  /**
   * @param {object} conn a connected Strophe.Connection
   * @param {object} [opts]
   * @param {boolean} [opts.carbons=true] enable message carbons (XEP-0280), so our other
   *   devices' answers stop our ringing
   * @param {number} [opts.maxAgeMs=Infinity] drop proposals delayed longer than this (a call
   *   that rang while we were offline is over)
   * @param {(bareJid: string) => boolean} [opts.admit] false: drop this caller's proposal (a
   *   rate limit)
   */
  constructor(conn, { carbons = true, maxAgeMs = Infinity, admit = () => true } = {}) {
    super();
    this.#conn = conn;
    this.#maxAgeMs = maxAgeMs;
    this.#admit = admit;
    this.#handler = addHandler(conn, (s) => s.nodeName === 'message', (s) => this.#onMessage(s));
    if (carbons) {
      conn.sendIQ($iq({ type: 'set' }).c('enable', { xmlns: NS.CARBONS }).tree(), null,
        () => console.warn('jingle: message carbons not enabled'), 10000);
    }
  }

  /** Stops handling messages; live proposals are left as they are. */
  stop() {
    this.#conn.deleteHandler(this.#handler);
  }

  /** A live proposal by id, or null. */
  get(id) {
    return this.#proposals.get(id) ?? null;
  }

  /** Proposes a call to all devices of a bare JID; the proposal's id is `id` (or random). */
  propose(jid, { audio = true, video = true } = {}, id = randomId()) {
    const peer = Strophe.getBareJidFromJid(jid);
    const p = this.#track(new Proposal(this.#sender(), { id, peer, direction: 'outgoing',
      media: { audio, video }, state: 'proposing' }));
    const msg = $msg({ to: peer, type: 'chat', id }).c('propose', { xmlns: NS.JMI, id });
    if (audio) msg.c('description', { xmlns: NS.RTP, media: 'audio' }).up();
    if (video) msg.c('description', { xmlns: NS.RTP, media: 'video' }).up();
    msg.up().c('store', { xmlns: NS.HINTS });
    this.#conn.send(msg.tree());
    return p;
  }

  /**
   * A proposal standing for a Jingle session that came without one (older clients), so that
   * `finish` goes out and is understood for it as for any other.
   */
  forSession(id, peerFull, direction) {
    return this.#track(new Proposal(this.#sender(), { id, peer: peerFull, direction,
      media: {}, state: 'proceeded' }));
  }

  #track(p) {
    this.#proposals.set(p.id, p);
    p.addEventListener('ended', () => {
      if (this.#proposals.get(p.id) === p) this.#proposals.delete(p.id);
    }, { once: true });
    return p;
  }

  /** Sends a JMI action (or a receipt) for proposals; `to` null: our own bare JID. */
  #sender() {
    return (to, action, id, condition) => {
      const own = Strophe.getBareJidFromJid(this.#conn.jid);
      if (action === 'receipt') {
        this.#conn.send($msg({ to, id: randomId() }).c('received', { xmlns: NS.RECEIPTS, id })
          .tree());
        return;
      }
      const msg = $msg({ to: to ?? own, type: 'chat' }).c(action, { xmlns: NS.JMI, id });
      if (condition) msg.c('reason', { xmlns: NS.JINGLE }).c(condition).up().up();
      msg.up().c('store', { xmlns: NS.HINTS });
      this.#conn.send(msg.tree());
    };
  }

  #onMessage(msg) {
    const own = Strophe.getBareJidFromJid(this.#conn.jid);
    const from = msg.getAttribute('from') ?? own;
    // A carbon of a message one of our other devices sent or received.
    const carbon = children(msg).find((n) => (n.nodeName === 'sent' || n.nodeName === 'received')
      && (n.namespaceURI === NS.CARBONS || n.getAttribute('xmlns') === NS.CARBONS));
    if (carbon) {
      if (Strophe.getBareJidFromJid(from) !== own) return; // carbons only come from our account
      const inner = child(child(carbon, 'forwarded'), 'message');
      if (inner && carbon.nodeName === 'sent') this.#onOwnDevice(jmiOf(inner));
      return;
    }
    if (msg.getAttribute('type') === 'error') {
      // Our proposal bounced (the callee is unknown or has no device): the error comes from
      // the callee's JID, as RFC 6120 §8.3 says; one from anyone else proves nothing.
      const p = this.#proposals.get(msg.getAttribute('id') ?? '');
      if (p && p.direction === 'outgoing' && p.state === 'proposing'
        && sameJid(Strophe.getBareJidFromJid(from), p.peer)) {
        p.end({ condition: 'gone', text: 'the callee is unknown or offline' }, 'remote');
      }
      return;
    }
    const jmi = jmiOf(msg);
    const id = jmi?.getAttribute('id');
    if (!id) return;
    const action = jmi.nodeName;
    if (action === 'accept' || (action === 'reject' && Strophe.getBareJidFromJid(from) === own)) {
      // Older JMI: one of our devices answered or rejected, told to our own bare JID.
      if (Strophe.getBareJidFromJid(from) === own && from !== this.#conn.jid) {
        this.#onOwnDevice(jmi);
      }
      return;
    }
    if (action === 'propose') {
      this.#onPropose(msg, jmi, from, id);
      return;
    }
    const p = this.#proposals.get(id);
    if (!p || p.peer !== Strophe.getBareJidFromJid(from)) return;
    p.handle(action, from, readReason(jmi));
  }

  #onPropose(msg, jmi, from, id) {
    if (!from.includes('/')) return;
    if (Strophe.getBareJidFromJid(from) === Strophe.getBareJidFromJid(this.#conn.jid)) return;
    if (this.#proposals.has(id)) return; // a duplicate
    const descs = children(jmi, 'description');
    const media = {
      audio: descs.some((d) => d.getAttribute('media') === 'audio'),
      video: descs.some((d) => d.getAttribute('media') === 'video'),
    };
    // Not an audio/video call (e.g. a file transfer proposal): not ours to answer.
    if (!media.audio && !media.video) return;
    // Stored while we were offline and older than a ring: the caller has given up.
    const stamp = delayStamp(msg);
    if (stamp !== null && Date.now() - stamp > this.#maxAgeMs) return;
    if (!this.#admit(Strophe.getBareJidFromJid(from))) return;
    const undecided = [...this.#proposals.values()].filter((x) => x.state === 'received');
    if (undecided.length >= MAX_UNDECIDED) return;
    const receipt = msg.getAttribute('id') && child(msg, 'request', NS.RECEIPTS)
      ? msg.getAttribute('id') : null;
    const p = this.#track(new Proposal(this.#sender(), { id, peer: from, direction: 'incoming',
      media, receipt, state: 'received' }));
    this.dispatchEvent(new CustomEvent('proposal', { detail: p }));
  }

  /** Our other device answered or rejected a proposal we ring for: stop ringing. */
  #onOwnDevice(jmi) {
    const p = this.#proposals.get(jmi?.getAttribute('id') ?? '');
    if (!p || p.direction !== 'incoming' || p.state !== 'ringing') return;
    const answered = jmi.nodeName === 'proceed' || jmi.nodeName === 'accept';
    if (answered || jmi.nodeName === 'reject') {
      p.end({ condition: answered ? 'answered-elsewhere' : 'rejected-elsewhere', text: null },
        'self');
    }
  }
}
