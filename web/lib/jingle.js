// Jingle calls for any Strophe.js connection: the entry point. `Jingle` holds the Jingle
// sessions of one connection (lib/sessions.js) and the 1:1 calls made of them (lib/call.js);
// group calls (XEP-0521) will be sets of sessions of the same registry.
//
//   import { Jingle } from './lib/jingle.js';
//   const jingle = new Jingle(conn, { ringTimeoutMs: 30000 });   // once connected
//   jingle.addEventListener('incoming', ({ detail: call }) => call.accept());
//   const call = await jingle.call('bob@example.org', { audio: true, video: true });
//   call.addEventListener('state', () => console.log(call.state));
//   call.addEventListener('track', ({ detail }) => video.srcObject = detail.streams[0]);
//   call.addEventListener('ended', ({ detail }) => console.log(detail.reason, detail.by));
//   call.hangup();
//
// The parts, one concern each:
//   xml.js          namespaces and DOM helpers
//   services.js     STUN/TURN (XEP-0215), disco#info of peers and ours (XEP-0030)
//   jmi.js          the XEP-0353 proposal: propose/ringing/proceed/reject/retract/finish
//   local-media.js  a call's camera and microphone, shared by its sessions
//   session.js      one Jingle session = one RTCPeerConnection (offer/answer, trickle ICE,
//                   renegotiation, session-info, ICE restarts, terminate)
//   sessions.js     the registry: IQ routing by sid, Jingle errors, accept policies
//   call.js         a 1:1 call: a proposal, then one session
//   muc.js          being in a MUC room (XEP-0045)
//   group-call.js   a group call (XEP-0521): our session to the room's focus, and one
//                   incoming session per other participant, accepted at once
//
// A 1:1 call rings every device of the callee with XEP-0353, then negotiates one session; a
// `session-initiate` without a proposal (older clients) rings as well. Who may ring: contacts
// with a presence subscription (our roster); others are ignored (a proposal) or declined (a
// session), unless `unknownCallers` lets them ring marked as unknown. A caller rings at most
// `ringsPerMinute` times a minute; a proposal stored while we were offline and older than a
// ring is dropped; an unanswered ring ends after ringTimeoutMs. While a call is live, new
// proposals and sessions get `busy`, unless an accept policy added with
// `jingle.sessions.addAcceptPolicy()` claims the session first (a group call's focus).

import { Strophe } from 'strophe.js';
import { randomId, sameJid } from './xml.js';
import { Services } from './services.js';
import { Jmi } from './jmi.js';
import { Sessions, ERRORS } from './sessions.js';
import { Call } from './call.js';
import { GroupCall } from './group-call.js';
import { Roster } from './roster.js';
import { RateLimit } from './limits.js';
import { MAX_SIZE } from './file-transfer.js';

export { NS } from './xml.js';
export { GroupCall, Participant } from './group-call.js';
export { MucRoom } from './muc.js';
export { FEATURES, iceServersFromServices } from './services.js';
export { Call } from './call.js';
export { Session } from './session.js';
export { Sessions, ERRORS } from './sessions.js';
export { LocalMedia } from './local-media.js';
export { Jmi, Proposal } from './jmi.js';

/**
 * The Jingle sessions and calls of one Strophe.js connection. Events: 'incoming' (detail:
 * Call), 'state' ({call, state}), 'ended' ({call, reason, text, by}), 'groupcall' (detail:
 * GroupCall, as soon as joinRoom() made it).
 */
export class Jingle extends EventTarget {
  #removePolicy;
  #ownRoster;
  #rings;

  /**
   * @param {object} conn a connected Strophe.Connection
   * @param {object} [opts]
   * @param {number} [opts.ringTimeoutMs=30000] retract an unanswered proposal after this long
   * @param {number} [opts.connectTimeoutMs=30000] end a call with 'connectivity-error' that is
   *   still not connected this long after its session was negotiated (or after an ICE restart)
   * @param {number} [opts.iceRestartAfterMs=3000] restart ICE when a connected call's ICE stays
   *   'disconnected' this long (the responder waits twice as long; 'failed' restarts at once)
   * @param {RTCConfiguration} [opts.rtcConfig] extra RTCPeerConnection settings (e.g.
   *   `{iceTransportPolicy: 'relay'}`); its iceServers are added to the server's (XEP-0215)
   * @param {boolean} [opts.extdisco=true] ask the server for STUN/TURN (XEP-0215)
   * @param {(c: MediaStreamConstraints) => Promise<MediaStream>} [opts.getUserMedia]
   * @param {boolean} [opts.carbons=true] enable message carbons (XEP-0280)
   * @param {boolean} [opts.dataChannel=true] negotiate a data channel for files (call.files)
   *   with peers that announce XEP-0343
   * @param {boolean} [opts.disco=true] answer disco#info queries with FEATURES (turn off if
   *   the app answers disco itself; then add FEATURES to its answer)
   * @param {{isOnline: (jid: string) => boolean}} [opts.contacts] presence (lib/roster.js
   *   OnlineContacts): calls to a contact it says is offline end at once with 'gone'
   *   instead of ringing nobody until the timeout (the server would store the proposal)
   * @param {string} [opts.focusDomain] the conference focus component's domain: the call of
   *   room `ROOM@conference.HOST` is at `ROOM@<focusDomain>` (default `focus.` + our server's
   *   domain)
   * @param {{ready: Promise, subscribed: (jid: string) => boolean,
   *   name: (jid: string) => string|null}} [opts.roster] who may ring (lib/roster.js Roster;
   *   by default one is loaded)
   * @param {boolean} [opts.unknownCallers=false] let callers without a presence subscription
   *   ring too (their call has `unknownCaller`); else they are ignored or declined
   * @param {number} [opts.ringsPerMinute=5] calls a JID may ring us with per minute; more are
   *   ignored
   * @param {object} [opts.limits] per-session limits (lib/session.js LIMITS)
   * @param {number} [opts.maxFileSize=2 GiB] the largest file received in a call
   *   (lib/file-transfer.js); larger offers are declined at once
   */
  constructor(conn, { ringTimeoutMs = 30000, rtcConfig = {}, extdisco = true,
    getUserMedia = (c) => navigator.mediaDevices.getUserMedia(c), carbons = true,
    contacts = null, dataChannel = true, disco = true, connectTimeoutMs = 30000,
    iceRestartAfterMs = 3000, focusDomain = null, roster = undefined, unknownCallers = false,
    ringsPerMinute = 5, limits = {}, maxFileSize = MAX_SIZE } = {}) {
    super();
    this.conn = conn;
    this.focusDomain = focusDomain ?? `focus.${Strophe.getDomainFromJid(conn.jid)}`;
    /** room JID -> GroupCall, live ones only. */
    this.groupCalls = new Map();
    this.contacts = contacts;
    this.ringTimeoutMs = ringTimeoutMs;
    /** Callers without a presence subscription ring too (marked `unknownCaller`). */
    this.unknownCallers = unknownCallers;
    /** Our roster (lib/roster.js): who may ring. */
    this.roster = roster ?? new Roster(conn);
    this.#ownRoster = !roster;
    this.#rings = new RateLimit({ count: ringsPerMinute, perMs: 60000 });
    this.getUserMedia = getUserMedia;
    /** sid -> Call, live calls only. */
    this.calls = new Map();
    /** STUN/TURN (XEP-0215) and disco#info (XEP-0030): lib/services.js. */
    this.services = new Services(conn, { extdisco, disco });
    /** The Jingle sessions of this connection: lib/sessions.js. */
    this.sessions = new Sessions(conn, { iceServers: () => this.services.iceServers(),
      settings: { connectTimeoutMs, iceRestartAfterMs, rtcConfig, dataChannel, limits,
        maxFileSize } });
    /** XEP-0353 proposals: lib/jmi.js. */
    this.jmi = new Jmi(conn, { carbons, maxAgeMs: ringTimeoutMs,
      admit: (jid) => this.#rings.allow(jid.toLowerCase()) });
    this.jmi.addEventListener('proposal', ({ detail }) => this.#onProposal(detail));
    this.#removePolicy = this.sessions.addAcceptPolicy((offer) => this.#oneToOne(offer));
    /** Resolves once the translator (sdp-map wasm) is loaded. */
    this.ready = this.sessions.ready;
  }

  /** Removes the handlers and ends every call and session. */
  stop() {
    for (const call of [...this.calls.values()]) call.hangup('gone');
    for (const call of [...this.groupCalls.values()]) call.leave();
    this.#removePolicy();
    this.sessions.stop();
    this.jmi.stop();
    this.services.stop();
    if (this.#ownRoster) this.roster.stop();
  }

  /** True while any call, 1:1 or group, is live (we then answer proposals with `busy`). */
  get busy() {
    return [...this.calls.values()].some((c) => c.live)
      || [...this.groupCalls.values()].some((c) => c.live);
  }

  /** The conference focus of a MUC room: `ROOM@<focusDomain>`. */
  focusFor(room) {
    return `${Strophe.getNodeFromJid(room)}@${this.focusDomain}`;
  }

  /**
   * Joins the group call (XEP-0521) of the MUC room `room` (entering the room first if we are
   * not in it, as `nick`, default our JID's local part). Resolves to the GroupCall once the
   * focus acknowledged our session; rejects if the room or the focus refuses (the Error's
   * `condition`: 'forbidden', 'registration-required', 'resource-constraint', ...).
   * `simulcast` (default true): our video goes in three layers, each participant receiving
   * the one that fits its tile.
   */
  async joinRoom(room, { audio = true, video = true, nick = null, password = null,
    simulcast = true, focus = null } = {}) {
    await this.ready;
    const jid = Strophe.getBareJidFromJid(room);
    if (this.groupCalls.get(jid)?.live) throw new Error(`already in the call of ${jid}`);
    const call = new GroupCall(this, { room: jid, focus: focus ?? this.focusFor(jid),
      nick: nick ?? Strophe.getNodeFromJid(this.conn.jid), password, audio, video, simulcast });
    this.groupCalls.set(jid, call);
    call.addEventListener('ended', () => {
      if (this.groupCalls.get(jid) === call) this.groupCalls.delete(jid);
    }, { once: true });
    this.dispatchEvent(new CustomEvent('groupcall', { detail: call }));
    await call.join();
    return call;
  }

  /**
   * True while a call is answered ('proceeding' to 'active') or a group call is live; not
   * while a call only rings.
   */
  get inCall() {
    return [...this.calls.values()].some((c) => ['proceeding', 'connecting', 'active']
      .includes(c.state)) || [...this.groupCalls.values()].some((c) => c.live);
  }

  get connectTimeoutMs() {
    return this.sessions.settings.connectTimeoutMs;
  }

  set connectTimeoutMs(ms) {
    this.sessions.settings.connectTimeoutMs = ms;
  }

  get iceRestartAfterMs() {
    return this.sessions.settings.iceRestartAfterMs;
  }

  set iceRestartAfterMs(ms) {
    this.sessions.settings.iceRestartAfterMs = ms;
  }

  get rtcConfig() {
    return this.sessions.settings.rtcConfig;
  }

  set rtcConfig(config) {
    this.sessions.settings.rtcConfig = config;
  }

  get dataChannel() {
    return this.sessions.settings.dataChannel;
  }

  set dataChannel(on) {
    this.sessions.settings.dataChannel = on;
  }

  /** Ask the server for STUN/TURN (XEP-0215). */
  get extdisco() {
    return this.services.extdisco;
  }

  set extdisco(on) {
    this.services.extdisco = on;
  }

  /** STUN/TURN servers from our server (XEP-0215), [] if it has none or does not answer. */
  iceServers() {
    return this.services.iceServers();
  }

  /** The disco#info features (XEP-0030) of a JID as a Set; null if it does not answer in 3 s. */
  features(jid) {
    return this.services.features(jid);
  }

  /**
   * Calls a bare JID: sends a JMI `propose` to all its devices. Resolves to the Call (state
   * 'proposing'); it ends with 'timeout' after ringTimeoutMs without an answer.
   */
  async call(jid, { audio = true, video = true } = {}) {
    await this.ready;
    const peer = Strophe.getBareJidFromJid(jid);
    const media = { audio, video };
    // A contact known to be offline is not proposed to: the call ends at once with 'gone'.
    const proposal = this.contacts && !this.contacts.isOnline(peer) ? null
      : this.jmi.propose(peer, media);
    const call = this.#add(new Call(this, { sid: proposal?.id ?? randomId(), peer,
      direction: 'outgoing', media, proposal, report: (t, d) => this.#report(t, d) }));
    this.dispatchEvent(new CustomEvent('state', { detail: { call, state: call.state } }));
    return call;
  }

  #add(call) {
    this.calls.set(call.sid, call);
    return call;
  }

  /** A call's 'state' and 'ended', as the Jingle's own events. */
  #report(type, detail) {
    if (type === 'ended' && this.calls.get(detail.call.sid) === detail.call) {
      this.calls.delete(detail.call.sid);
    }
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /**
   * Whether `jid` may ring us: a contact with a presence subscription, or anyone with
   * `unknownCallers`. Resolves to {ring, unknown}.
   */
  async #mayRing(jid) {
    await this.roster.ready;
    const known = this.roster.subscribed(jid);
    return { ring: known || this.unknownCallers, unknown: !known };
  }

  /**
   * A JMI proposal: it rings if its caller may ring us and we are not busy. A stranger's is
   * ignored without a word (as Conversations does): nothing tells them we are there.
   */
  async #onProposal(p) {
    const { ring, unknown } = await this.#mayRing(p.peer);
    if (p.state !== 'received') return; // retracted meanwhile
    if (!ring) {
      p.ignore();
      return;
    }
    if (this.busy) {
      p.reject('busy');
      return;
    }
    const call = this.#add(new Call(this, { sid: p.id, peer: p.peerFull, direction: 'incoming',
      media: p.media, proposal: p, unknownCaller: unknown,
      report: (t, d) => this.#report(t, d) }));
    p.ring();
    this.dispatchEvent(new CustomEvent('incoming', { detail: call }));
  }

  /**
   * The accept policy of 1:1 calls, consulted after any other: a session-initiate without a
   * proposal (older clients) rings like one, or gets `busy` while a call is live. The sid of
   * a call of ours is no new session.
   */
  #oneToOne(offer) {
    const call = this.calls.get(offer.sid);
    if (call) {
      const same = call.peer === Strophe.getBareJidFromJid(offer.from)
        && (!call.peerFull || sameJid(call.peerFull, offer.from));
      return { error: same ? ERRORS.outOfOrder : ERRORS.unknownSession };
    }
    const bare = Strophe.getBareJidFromJid(offer.from);
    if (!this.#rings.allow(bare.toLowerCase())) return { error: ERRORS.rateLimited };
    return { take: async (session) => {
      const { ring, unknown } = await this.#mayRing(bare);
      if (session.state === 'ended') return;
      if (!ring || this.busy) {
        // A stranger's session is declined like a busy one: it tells them nothing more.
        session.terminate(ring ? 'busy' : 'decline');
        return;
      }
      const incoming = this.#add(new Call(this, { sid: offer.sid, peer: offer.from,
        direction: 'incoming', media: offer.media, session, unknownCaller: unknown,
        proposal: this.jmi.forSession(offer.sid, offer.from, 'incoming'),
        report: (t, d) => this.#report(t, d) }));
      this.dispatchEvent(new CustomEvent('incoming', { detail: incoming }));
    } };
  }
}
