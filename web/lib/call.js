// A 1:1 call: the XEP-0353 proposal that rings (lib/jmi.js), then one Jingle session
// (lib/session.js) with the peer, sending the call's local media (lib/local-media.js). Made by
// `Jingle` (lib/jingle.js): `jingle.call(jid)` for ours, the 'incoming' event for the peer's.
//
// States: 'proposing' (outgoing, not yet ringing), 'ringing' (outgoing: the callee rings;
// incoming: we ring), 'proceeding' (answered, before the session is negotiated), 'connecting'
// (session negotiated, ICE/DTLS in progress), 'active' (media flows), 'ended'.
// End reasons are Jingle reason conditions: 'success' (hang up), 'decline', 'busy', 'cancel'
// (caller gave up), 'timeout' (nobody answered), 'connectivity-error', 'failed-application',
// 'general-error', 'gone' (peer offline or unknown), plus 'answered-elsewhere' and
// 'rejected-elsewhere' (another of our devices handled the call).

import { Strophe } from 'strophe.js';
import { NS, sameJid } from './xml.js';
import { ERRORS } from './session.js';
import { LocalMedia } from './local-media.js';

const LIVE = new Set(['proposing', 'ringing', 'proceeding', 'connecting', 'active']);
/** Session events a call passes on as its own. */
const FORWARDED = ['track', 'remotemute', 'media', 'files'];

/**
 * One 1:1 call. Events: 'state' ({state}), 'localstream' ({stream}), 'track' ({track,
 * streams}), 'remotemute' ({kind, name, muted}), 'media' ({localVideo, remoteVideo}),
 * 'files' ({files}), 'ended' ({reason, text, by: 'local'|'remote'|'self'}).
 */
export class Call extends EventTarget {
  #jingle;
  #report;
  #proposal;
  #session = null;
  #ringTimer = null;
  #removePolicy = null;
  #unwatch = null;
  #hangingUp = false;

  /**
   * Made by `Jingle`, whose public parts it uses (conn, jmi, sessions, features(),
   * ringTimeoutMs, getUserMedia, contacts).
   * @param {object} jingle
   * @param {object} opts
   * @param {string} opts.sid the session id (= the JMI id)
   * @param {string} opts.peer the peer's JID (full once known)
   * @param {'outgoing'|'incoming'} opts.direction
   * @param {{audio: boolean, video: boolean}} opts.media what the call carries
   * @param {object} [opts.proposal] the JMI Proposal that rings (or rang) for it
   * @param {object} [opts.session] incoming without JMI: the peer's Session, not yet accepted
   * @param {boolean} [opts.unknownCaller] incoming: the caller has no presence subscription
   *   with us (it rings because the app lets unknown callers ring)
   * @param {(type: string, detail: object) => void} [opts.report] told of 'state' and 'ended'
   *   after the call's own listeners
   */
  constructor(jingle, { sid, peer, direction, media, proposal = null, session = null,
    unknownCaller = false, report = () => {} }) {
    super();
    this.#jingle = jingle;
    this.#report = report;
    this.#proposal = proposal;
    /** Session id (= the JMI id). */
    this.sid = sid;
    /** The peer's bare JID. */
    this.peer = Strophe.getBareJidFromJid(peer);
    /** The peer's full JID once known (the resource that proposed or proceeded). */
    this.peerFull = peer.includes('/') ? peer : null;
    /** 'outgoing' | 'incoming' */
    this.direction = direction;
    /** {audio, video} proposed. */
    this.media = media;
    this.state = direction === 'outgoing' ? 'proposing' : 'ringing';
    /** The `{condition, text, by}` that ended the call, once ended. */
    this.endReason = null;
    /** Incoming: the caller is not among our contacts (no presence subscription). */
    this.unknownCaller = !!unknownCaller;
    /** The name we gave the peer in our roster, or null. */
    this.peerName = jingle.roster?.name(this.peer) ?? null;
    /** The peer's tracks. */
    this.remoteStream = session?.remoteStream ?? new MediaStream();
    /** The camera and microphone of this call (lib/local-media.js). */
    this.localMedia = new LocalMedia({ audio: media.audio, video: media.video,
      getUserMedia: (c) => jingle.getUserMedia(c) });
    this.localMedia.addEventListener('stream', ({ detail }) => {
      this.dispatchEvent(new CustomEvent('localstream', { detail }));
    });
    if (proposal) this.#followProposal(proposal);
    if (session) this.#attach(session);
    this.#watchPresence();
    if (direction === 'incoming') {
      // Nobody answered: stop ringing (the caller hears 'timeout').
      this.#ringTimer = setTimeout(() => this.hangup('timeout'), jingle.ringTimeoutMs);
    }
  }

  /** The Jingle session (lib/session.js) once there is one, else null. */
  get session() {
    return this.#session;
  }

  /** @type {RTCPeerConnection|null} */
  get pc() {
    return this.#session?.pc ?? null;
  }

  /** File transfers (lib/file-transfer.js) once the data channel is open, else null. */
  get files() {
    return this.#session?.files ?? null;
  }

  /** Negotiated contents: name (= mid) -> {creator, senders, media}, as in Jingle. */
  get contents() {
    return this.#session?.contents ?? new Map();
  }

  /** What the peer said it muted (XEP-0167 session-info): {audio, video}. */
  get remoteMuted() {
    return this.#session?.remoteMuted ?? { audio: false, video: false };
  }

  /** The local tracks (null before the camera/microphone were got). */
  get localStream() {
    return this.localMedia.stream;
  }

  get muted() {
    return this.localMedia.muted;
  }

  /** True while we send no video (also for a call without video until the camera is on). */
  get cameraOff() {
    return this.localMedia.cameraOff;
  }

  /** Our role in the session: 'initiator' | 'responder'. */
  get localRole() {
    return this.direction === 'outgoing' ? 'initiator' : 'responder';
  }

  /** The peer's role in the session. */
  get remoteRole() {
    return this.direction === 'outgoing' ? 'responder' : 'initiator';
  }

  get initiator() {
    return this.direction === 'outgoing' ? this.#jingle.conn.jid : this.peerFull;
  }

  get responder() {
    return this.direction === 'outgoing' ? this.peerFull : this.#jingle.conn.jid;
  }

  get live() {
    return LIVE.has(this.state);
  }

  /** True if the peer sends video now (see Session.remoteVideo). */
  get remoteVideo() {
    return this.#session?.remoteVideo ?? false;
  }

  /** True if we send video now (see Session.localVideo). */
  get localVideo() {
    return this.#session?.localVideo ?? false;
  }

  /** True while a change of ours (camera, ICE restart) awaits the peer's answer. */
  get negotiating() {
    return this.#session?.negotiating ?? false;
  }

  /** Answers an incoming call: gets the camera/microphone, then `proceed` or session-accept. */
  async accept() {
    if (this.direction !== 'incoming' || this.state !== 'ringing') return;
    clearTimeout(this.#ringTimer);
    this.#setState('proceeding');
    try {
      await this.localMedia.start();
    } catch (e) {
      this.#end({ condition: 'failed-application', text: `no media: ${e.message}` }, 'local');
      return;
    }
    if (this.state === 'ended') return;
    if (this.#session) {
      this.#session.accept({ media: this.localMedia });
      return;
    }
    // After `proceed` the caller sends session-initiate with our sid: that one is ours.
    this.#removePolicy = this.#jingle.sessions.addAcceptPolicy((offer) => {
      if (offer.sid !== this.sid) return null;
      if (!sameJid(offer.from, this.peerFull)) return { error: ERRORS.unknownSession };
      return { remoteStream: this.remoteStream, take: (session) => {
        this.#removePolicy?.();
        this.#attach(session);
        session.accept({ media: this.localMedia });
      } };
    });
    this.#proposal.proceed();
  }

  /** Rejects an incoming call (reason 'decline' by default). */
  reject(condition = 'decline') {
    if (this.direction !== 'incoming' || this.state !== 'ringing') return;
    if (this.#session) this.#session.terminate(condition);
    else this.#proposal?.reject(condition);
    this.#end({ condition, text: null }, 'local');
  }

  /**
   * Ends the call from our side, whatever its state: retracts an unanswered proposal, rejects
   * a ringing incoming call, terminates a session (then JMI `finish`).
   */
  hangup(condition = 'success') {
    if (this.state === 'ended') return;
    if (this.direction === 'outgoing' && (this.state === 'proposing' || this.state === 'ringing')) {
      const reason = condition === 'success' ? 'cancel' : condition;
      this.#proposal?.retract(reason);
      this.#end({ condition: reason, text: null }, 'local');
      return;
    }
    if (this.direction === 'incoming' && this.state === 'ringing') {
      this.reject(condition === 'success' ? 'decline' : condition);
      return;
    }
    this.#hangingUp = true; // the session's end is ours: the call ends below, with `finish`
    this.#session?.terminate(condition);
    this.#proposal?.finish(condition);
    this.#end({ condition, text: null }, 'local');
  }

  /**
   * Mutes or unmutes the microphone (the track keeps flowing, silent) and tells the peer with
   * an XEP-0167 `session-info` `<mute/>`/`<unmute/>`.
   */
  setMuted(muted) {
    this.localMedia.setMuted(muted);
    this.#session?.sendMute('audio', this.muted);
  }

  /**
   * Turns the camera off or on. Before the session is negotiated the track only goes black.
   * In a session, off releases the camera and tells the peer with `content-modify`; on
   * restarts it, adding a video content (`content-add`) if the call has none. Resolves once
   * the change is negotiated (or refused, which leaves the camera off).
   */
  setCameraOff(off) {
    this.localMedia.setCameraOff(off);
    const session = this.#session;
    if (!session?.negotiated) return Promise.resolve();
    session.sendMute('video', this.cameraOff);
    return session.syncCamera();
  }

  /**
   * Restarts ICE (new credentials, new candidates, same session), as after a network change;
   * the call also does it by itself when ICE fails or stays disconnected. Resolves once the
   * new credentials are exchanged (or the restart gave way to the peer's or was refused).
   */
  restartIce() {
    return this.#session?.restartIce() ?? Promise.resolve();
  }

  #setState(state) {
    if (this.state === state || this.state === 'ended') return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state } }));
    this.#report('state', { call: this, state });
  }

  /** Follows the JMI proposal: ringing, proceed, and its end (reject, retract, finish...). */
  #followProposal(p) {
    p.addEventListener('ringing', () => {
      if (this.state === 'proposing') this.#setState('ringing');
    });
    p.addEventListener('proceed', ({ detail }) => {
      if (!['proposing', 'ringing'].includes(this.state)) return;
      clearTimeout(this.#ringTimer);
      this.peerFull = detail.from;
      this.#setState('proceeding');
      this.#startSession().catch((e) => {
        console.error('jingle: call failed', e);
        this.#proposal.finish('failed-application');
      });
    });
    p.addEventListener('ended', ({ detail }) => this.#end(detail, detail.by));
    if (this.direction === 'outgoing') {
      this.#ringTimer = setTimeout(() => p.retract('timeout'), this.#jingle.ringTimeoutMs);
      // Start the camera while it rings: the offer is then ready sooner after `proceed`.
      this.localMedia.start().catch((e) => {
        p.retract('failed-application');
        console.warn('jingle: no media', e);
      });
    }
  }

  /** Caller, after `proceed`: the session with the answering device. */
  async #startSession() {
    // The peer's features decide BUNDLE and the data channel (clients that do not know
    // XEP-0343 end a session that offers it); unknown features: the safe choice, neither.
    const [features] = await Promise.all([this.#jingle.features(this.peerFull),
      this.localMedia.start()]);
    if (this.state === 'ended') return;
    const session = this.#jingle.sessions.open(this.peerFull, { sid: this.sid,
      remoteStream: this.remoteStream });
    this.#attach(session);
    await session.initiate({ media: this.localMedia, bundle: !!features?.has(NS.BUNDLE_FEATURE),
      dataChannel: !!(features?.has(NS.DTLS_SCTP) || features?.has(NS.DATACHANNEL)) });
  }

  /** Takes the call's session: its state becomes ours, its events are passed on. */
  #attach(session) {
    this.#session = session;
    for (const type of FORWARDED) {
      session.addEventListener(type, (e) => this.dispatchEvent(new CustomEvent(type,
        { detail: e.detail })));
    }
    session.addEventListener('state', ({ detail }) => {
      if (detail.state === 'connecting' || detail.state === 'active') this.#setState(detail.state);
    });
    session.addEventListener('ended', ({ detail }) => {
      if (!this.#hangingUp) this.#end({ condition: detail.reason, text: detail.text }, detail.by);
    });
  }

  /**
   * With `contacts` (lib/roster.js): a call to a contact who is offline ends at once with
   * 'gone' (the server would store the proposal and nobody would ring), and a call ends when
   * the peer's device goes offline, rather than when ICE times out.
   */
  #watchPresence() {
    const { contacts } = this.#jingle;
    if (!contacts) return;
    if (this.direction === 'outgoing' && !this.#proposal && !contacts.isOnline(this.peer)) {
      // Ended once the caller has had the chance to add listeners.
      setTimeout(() => this.#end({ condition: 'gone', text: `${this.peer} is offline` }, 'local'), 0);
      return;
    }
    this.#unwatch = contacts.on?.('change', ({ jid }) => {
      if (jid !== this.peer) return;
      const gone = this.peerFull ? !contacts.fullJids(jid).includes(this.peerFull)
        : !contacts.isOnline(jid);
      if (gone) this.#end({ condition: 'gone', text: `${this.peerFull ?? jid} went offline` }, 'remote');
    });
  }

  #end({ condition, text = null }, by) {
    if (this.state === 'ended') return;
    clearTimeout(this.#ringTimer);
    this.#removePolicy?.();
    this.#unwatch?.();
    this.endReason = { condition, text: text ?? null, by };
    this.state = 'ended';
    this.#proposal?.end({ condition, text }, by);
    this.#session?.end({ condition, text }, by);
    this.localMedia.stop();
    const detail = { reason: condition, text: text ?? null, by };
    this.dispatchEvent(new CustomEvent('state', { detail: { state: 'ended' } }));
    this.dispatchEvent(new CustomEvent('ended', { detail }));
    this.#report('state', { call: this, state: 'ended' });
    this.#report('ended', { call: this, ...detail });
  }
}
