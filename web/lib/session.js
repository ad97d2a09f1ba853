// One Jingle session (XEP-0166) = one RTCPeerConnection. The offer and answer are translated by
// sdp-map (wasm); ICE candidates trickle as transport-info both ways; mid-call changes
// renegotiate in the same session: content-add (answered with content-accept) brings a new
// content, content-modify changes who sends (XEP-0166 §6.6), session-info carries mute
// (XEP-0167 §7), transport-info with new ICE credentials restarts ICE (lib/ice-restart.js).
// When both sides change at once, the initiator's request wins: the responder's gets
// `conflict` + `<tie-break/>`, rolls back and redoes its change afterwards. Tie-breaks are
// between the two ends of this session only; other sessions, even with the same peer JID,
// are none of its business.
//
// A session is created by the registry (lib/sessions.js): `sessions.open(peer)` for ours,
// an accept policy for the peer's session-initiate. It knows nothing of ringing (lib/jmi.js)
// or of presence: a session to a JID that has none (a conference focus) is a session like
// any other.
//
//   const session = sessions.open('room@focus.example.org');
//   session.addEventListener('track', ({ detail }) => show(detail.streams[0]));
//   await session.initiate({ media, senders: 'initiator', bundle: true });
//   // the peer's: policy take(session) => session.accept({ media: null })  (receive-only)
//   session.terminate('success');
//
// States: 'pending' (the offer is out or in, not answered yet), 'connecting' (negotiated,
// ICE/DTLS in progress), 'active' (connected), 'ended'. End reasons are Jingle reason
// conditions ('success', 'decline', 'busy', 'connectivity-error', 'failed-application', ...).

import { Strophe, $build } from 'strophe.js';
import { NS, children, child, parseXml, readReason } from './xml.js';
import { FileTransfers } from './file-transfer.js';
import { RateLimit } from './limits.js';
import { IceRestart, localPwd } from './ice-restart.js';
import { splitSdp, joinSdp, mergeSections, fitToOffer, directionFor, withSender, sends,
  setupOf, iceCredentials, transportMids, withIceCredentials } from './sdp-sections.js';

/** The Jingle errors a session answers with (stanza condition, type, Jingle condition). */
export const ERRORS = {
  badRequest: { condition: 'bad-request', type: 'modify' },
  outOfOrder: { condition: 'unexpected-request', type: 'wait', jingle: 'out-of-order' },
  unknownSession: { condition: 'item-not-found', type: 'cancel', jingle: 'unknown-session' },
  tieBreak: { condition: 'conflict', type: 'cancel', jingle: 'tie-break' },
  unsupportedInfo: { condition: 'feature-not-implemented', type: 'cancel', jingle: 'unsupported-info' },
  /** Too much at once (a rate or a queue over its limit): try again later. */
  rateLimited: { condition: 'resource-constraint', type: 'wait' },
  /** Bigger than we take (contents, children): not like this. */
  notAcceptable: { condition: 'not-acceptable', type: 'modify' },
};

const SENDERS = ['both', 'initiator', 'responder', 'none'];

/**
 * What one peer may make a session hold or redo; over a limit the action gets its Jingle error
 * (ERRORS.notAcceptable or ERRORS.rateLimited) and the session goes on as it was. Read live
 * from the registry's `settings.limits`.
 */
export const LIMITS = {
  /** Contents in a session (its session-initiate, and after content-adds). */
  contents: 16,
  /** Children of one session-info (mute, unmute, ringing, ...). */
  sessionInfoChildren: 8,
  /** The peer's candidates kept before its description is applied (ringing, say). */
  earlyCandidates: 100,
  /** The peer's content-adds per minute. */
  contentAddsPerMinute: 10,
  /** The peer's ICE restarts per minute. */
  iceRestartsPerMinute: 10,
};

/** ICE ufrag and pwd as RFC 8839 §5.4 has them: ice-chars, 4 (ufrag) or 22 (pwd) to 256. */
const ICE_UFRAG = /^[A-Za-z0-9+/]{4,256}$/;
const ICE_PWD = /^[A-Za-z0-9+/]{22,256}$/;

/**
 * True if every `<transport/>` of `jingle` has ICE credentials that are ICE tokens (or none):
 * they go into SDP lines, so nothing else may pass.
 */
export function iceTokens(jingle) {
  return children(jingle, 'content').every((c) => {
    const t = child(c, 'transport');
    const ufrag = t?.getAttribute('ufrag');
    const pwd = t?.getAttribute('pwd');
    return (!ufrag || ICE_UFRAG.test(ufrag)) && (!pwd || ICE_PWD.test(pwd));
  });
}

/**
 * A Jingle XML whose `<transport/>`s without ICE credentials get those of `bundle` (an ICE-UDP
 * `<transport/>` element of the session): Conversations sends such stubs for a content it
 * adds to a BUNDLE group. Candidates are not copied (the bundle transport has them).
 */
function fillTransports(xml, bundle) {
  const jingle = parseXml(xml);
  if (!bundle) return xml;
  let changed = false;
  for (const c of children(jingle, 'content')) {
    const t = child(c, 'transport');
    if (!t || t.getAttribute('ufrag')) continue;
    for (const a of ['ufrag', 'pwd']) {
      if (bundle.getAttribute(a)) t.setAttribute(a, bundle.getAttribute(a));
    }
    if (!child(t, 'fingerprint')) {
      for (const f of children(bundle, 'fingerprint')) t.appendChild(f.cloneNode(true));
    }
    changed = true;
  }
  return changed ? Strophe.serialize(jingle) : xml;
}

/** A Jingle XML with only the `<content/>`s named in `names` (e.g. the new ones of an offer). */
function keepContents(xml, names) {
  const jingle = parseXml(xml);
  for (const c of children(jingle, 'content')) {
    if (!names.includes(c.getAttribute('name'))) jingle.removeChild(c);
  }
  return Strophe.serialize(jingle);
}

/** A Jingle XML with `payload` (XML texts or elements) appended to its `<jingle/>`. */
function withPayload(xml, payload) {
  if (!payload?.length) return xml;
  const jingle = parseXml(xml);
  for (const p of payload) {
    const el = typeof p === 'string' ? parseXml(p) : p;
    jingle.appendChild(jingle.ownerDocument.importNode(el, true));
  }
  return Strophe.serialize(jingle);
}

/** A transport-info XML whose `<transport/>`s with `ufrag` also carry its `pwd` (XEP-0176). */
function withPwd(xml, ufrag, pwd) {
  const jingle = parseXml(xml);
  for (const c of children(jingle, 'content')) {
    const t = child(c, 'transport');
    if (t?.getAttribute('ufrag') === ufrag && !t.getAttribute('pwd')) t.setAttribute('pwd', pwd);
  }
  return Strophe.serialize(jingle);
}

/** Content names (= mids) of the m-lines of one kind in `sdp`. */
function midsOf(kind, sdp) {
  const out = [];
  for (const section of (sdp ?? '').split(/\r?\n(?=m=)/).slice(1)) {
    const mid = /^a=mid:(\S+)/m.exec(section)?.[1];
    if (mid && section.startsWith(`m=${kind} `)) out.push(mid);
  }
  return out;
}

/**
 * One Jingle session with one peer (a full JID, or a component's bare JID such as a
 * conference focus). Events: 'state' ({state}), 'track' ({track, streams}), 'remotemute'
 * ({kind, name, muted}), 'info' ({element}: another session-info payload), 'media'
 * ({localVideo, remoteVideo}, after every renegotiation), 'files' ({files}), 'ended'
 * ({reason, text, by: 'local'|'remote'}).
 */
export class Session extends EventTarget {
  #host;
  #media = null;
  #chain = Promise.resolve(); // serialises the handling of the peer's Jingle actions
  #remoteCandidates = []; // arrived before the remote description
  #localCandidates = []; // gathered before our session-initiate/accept went out
  #canSendCandidates = false;
  #remoteParts = null; // the peer's description as SDP sections (lib/sdp-sections.js)
  #remoteSetup = null; // the peer's DTLS role, fixed by the first answer
  #bundleTransport = null;
  #accepted = false; // session-accept seen (ours or theirs)
  #offering = false; // our content-add/-modify/restart is out and not yet answered
  #pendingAdd = null; // {mid, transceiver, track} of our unanswered content-add
  #retryCamera = false; // our change lost a tie-break: redo it after the peer's
  #connectTimer = null;
  #encodings = null; // simulcast layers per kind, for our offer
  #ice; // ICE restarts (lib/ice-restart.js)
  #rates = new RateLimit({ count: 10, perMs: 60000 }); // the peer's content-adds, restarts
  #early = 0; // the peer's candidates queued before its description

  /**
   * Made by the registry (lib/sessions.js), which is `host`: it sends our IQs
   * (`send(to, xml)`), holds the translator (`sdp`), our JID (`jid`), the settings
   * (`settings`: connectTimeoutMs, iceRestartAfterMs, rtcConfig, dataChannel) and the ICE
   * servers (`iceServers()`).
   * @param {object} host
   * @param {object} opts
   * @param {string} opts.sid the session id
   * @param {string} opts.peer the peer's JID (as it sends from)
   * @param {'initiator'|'responder'} opts.role our role
   * @param {string} [opts.offer] responder: the peer's session-initiate (`<jingle/>` XML)
   * @param {MediaStream} [opts.remoteStream] where the peer's tracks go
   */
  constructor(host, { sid, peer, role, offer = null, remoteStream = new MediaStream() }) {
    super();
    this.#host = host;
    this.sid = sid;
    this.peer = peer;
    /** 'initiator' | 'responder' */
    this.role = role;
    this.state = 'pending';
    /** The `{condition, text, by}` that ended the session, once ended. */
    this.endReason = null;
    /** The stanza error condition the peer refused our session-initiate with, if it did. */
    this.refusal = null;
    /** @type {RTCPeerConnection|null} */
    this.pc = null;
    this.remoteStream = remoteStream;
    /** File transfers (lib/file-transfer.js) once the data channel is open, else null. */
    this.files = null;
    /** Negotiated contents: name (= mid) -> {creator, senders, media}, as in Jingle. */
    this.contents = new Map();
    /** What the peer said it muted (XEP-0167 session-info): {audio, video}. */
    this.remoteMuted = { audio: false, video: false };
    /** The session-initiate (ours or the peer's) as `<jingle/>` XML, once known. */
    this.initiateXml = offer;
    /** The session-accept (ours or the peer's) as `<jingle/>` XML, once known. */
    this.acceptXml = null;
    this.#ice = new IceRestart(this, {
      settings: host.settings,
      remoteCredentials: (mid) => (this.#remoteParts ? iceCredentials(this.#remoteParts, mid)
        : null),
      transportMids: (name) => transportMids(this.#remoteParts, name),
      applyCredentials: (fresh) => this.#applyCredentials(fresh),
      remoteSdp: (type) => this.#remoteSdp(type),
      addRemoteCandidates: (list) => this.#addRemoteCandidates(list),
      offer: (xml) => this.#offerOut(xml, true),
      settle: () => { this.#offering = false; },
      offering: () => this.#offering,
      holdCandidates: () => { this.#canSendCandidates = false; },
      releaseCandidates: (keep) => {
        this.#localCandidates = this.#localCandidates.filter(keep);
        this.#flushLocalCandidates();
      },
      enqueue: (fn) => this.#enqueue(fn),
      afterPeerChange: () => this.#afterPeerChange(),
      terminate: (condition, text) => this.terminate(condition, text),
      allowRestart: () => this.#rates.allow('ice-restart', this.#limits.iceRestartsPerMinute),
    });
  }

  get #limits() {
    return this.#host.settings.limits ?? LIMITS;
  }

  /** The peer's role in the session. */
  get remoteRole() {
    return this.role === 'initiator' ? 'responder' : 'initiator';
  }

  get initiator() {
    return this.role === 'initiator' ? this.#host.jid : this.peer;
  }

  get responder() {
    return this.role === 'initiator' ? this.peer : this.#host.jid;
  }

  get live() {
    return this.state !== 'ended';
  }

  /** The local media this session sends (lib/local-media.js), null if it only receives. */
  get media() {
    return this.#media;
  }

  /** True once the first offer/answer is done (renegotiation possible). */
  get negotiated() {
    return this.#remoteParts !== null;
  }

  /** True while a change of ours (content-add/-modify, ICE restart) awaits the peer. */
  get negotiating() {
    return this.#offering || this.#retryCamera || this.#ice.pending;
  }

  /**
   * True if the peer sends video now: a video content's `senders` include it and it did not
   * say its video is muted (session-info).
   */
  get remoteVideo() {
    return !this.remoteMuted.video && this.#videoContents()
      .some(({ content }) => sends(content.senders, this.remoteRole));
  }

  /** True if we send video now: negotiated, and the sender has a live camera track. */
  get localVideo() {
    return this.#videoContents().some(({ mid, content }) => sends(content.senders, this.role)
      && this.pc.getTransceivers().some((t) => t.mid === mid
        && t.sender.track?.readyState === 'live'));
  }

  #videoContents() {
    return midsOf('video', this.pc?.remoteDescription?.sdp)
      .filter((mid) => this.contents.has(mid)).map((mid) => ({ mid, content: this.contents.get(mid) }));
  }

  #setState(state) {
    if (this.state === state || this.state === 'ended') return;
    this.state = state;
    if (state === 'connecting') {
      // Chromium never declares ICE failed when no candidate pair forms at all.
      this.#connectTimer = setTimeout(() => {
        if (this.state === 'connecting') this.terminate('connectivity-error', 'no connection');
      }, this.#host.settings.connectTimeoutMs);
    }
    this.dispatchEvent(new CustomEvent('state', { detail: { state } }));
  }

  // -------------------------------------------------------------------------------------------
  // What the owner does

  /**
   * Ours: creates the offer and sends session-initiate. `media`: the local tracks to send
   * (null: receive only); `senders`: 'both', or 'initiator' for contents we only send (a
   * conference join); `bundle`: the peer takes BUNDLE; `dataChannel`: offer a data channel
   * for files (XEP-0343); `payload`: extra children of `<jingle/>` (XML texts or elements);
   * `encodings`: RTCRtpEncodingParameters per kind, e.g. `{video: [{rid: 'q', ...}, ...]}`
   * to send simulcast layers.
   * Resolves once the peer acknowledged it; on failure the session ends.
   */
  initiate({ media = null, senders = 'both', bundle = true, dataChannel = false,
    payload = null, encodings = null } = {}) {
    if (this.role !== 'initiator' || this.pc) return Promise.resolve();
    this.#media = media;
    this.#encodings = encodings;
    return this.#enqueue(() => this.#initiate({ senders, bundle, dataChannel, payload }));
  }

  /**
   * The peer's: answers its session-initiate with session-accept. `media`: the local tracks
   * to send (null: receive only; they must have been started); `payload` as in initiate().
   */
  accept({ media = null, payload = null } = {}) {
    if (this.role !== 'responder' || this.#accepted || this.state === 'ended') {
      return Promise.resolve();
    }
    this.#accepted = true;
    this.#media = media;
    return this.#enqueue(() => this.#answer(payload));
  }

  /** Ends the session with session-terminate and a reason (a Jingle condition). */
  terminate(condition = 'success', text = null) {
    if (this.state === 'ended') return;
    const jingle = $build('jingle', { xmlns: NS.JINGLE, action: 'session-terminate',
      sid: this.sid, initiator: this.initiator ?? undefined }).c('reason').c(condition).up();
    if (text) jingle.c('text').t(text).up();
    this.#host.send(this.peer, Strophe.serialize(jingle.tree()));
    this.end({ condition, text }, 'local');
  }

  /** Ends the session without a word to the peer (it ended it, or went away). */
  end({ condition, text = null }, by) {
    if (this.state === 'ended') return;
    clearTimeout(this.#connectTimer);
    this.#ice.stop();
    this.endReason = { condition, text: text ?? null, by };
    this.state = 'ended';
    try {
      this.pc?.close();
    } catch { /* closing twice is harmless */ }
    const detail = { reason: condition, text: text ?? null, by };
    this.dispatchEvent(new CustomEvent('state', { detail: { state: 'ended' } }));
    this.dispatchEvent(new CustomEvent('ended', { detail }));
  }

  /**
   * Tells the peer we muted or unmuted our `kind` ('audio' | 'video') with XEP-0167
   * session-info (`names`: the contents, by default all of that kind).
   */
  sendMute(kind, muted, names = midsOf(kind, this.pc?.localDescription?.sdp)) {
    if (!['connecting', 'active'].includes(this.state)) return;
    for (const name of names) {
      const jingle = $build('jingle', { xmlns: NS.JINGLE, action: 'session-info', sid: this.sid,
        initiator: this.initiator ?? undefined })
        .c(muted ? 'mute' : 'unmute', { xmlns: NS.RTP_INFO, creator: 'initiator', name });
      this.#host.send(this.peer, Strophe.serialize(jingle.tree()));
    }
  }

  /**
   * Brings our video to what `media.cameraOff` asks: off releases the camera and changes our
   * `senders` with content-modify; on restarts it, adding a video content (content-add) if
   * the session has none. Resolves once negotiated (or refused, which leaves the camera off).
   */
  syncCamera() {
    if (!this.#remoteParts || !this.#media) return Promise.resolve();
    return this.#enqueue(() => this.#syncCamera());
  }

  /**
   * Restarts ICE (new credentials, new candidates, same session), as after a network change;
   * the session also does it by itself when ICE fails or stays disconnected. Resolves once the
   * new credentials are exchanged (or the restart gave way to the peer's or was refused).
   */
  restartIce() {
    if (!this.#remoteParts || !['connecting', 'active'].includes(this.state)) {
      return Promise.resolve();
    }
    return this.#enqueue(() => this.#ice.restart());
  }

  // -------------------------------------------------------------------------------------------
  // The peer's Jingle actions

  /**
   * A Jingle IQ of the peer for this session (the registry checked sid and sender). Checks it
   * at once and queues the work; returns the error to answer, or null for a result.
   * @param {string} action
   * @param {Element} jingle the `<jingle/>` element
   */
  receive(action, jingle) {
    const sdp = this.#host.sdp;
    const xml = Strophe.serialize(jingle);
    const parses = (type) => {
      try {
        sdp.jingleToSdp(xml, { type });
        return true;
      } catch (e) {
        console.warn('jingle: malformed Jingle', e.message);
        return false;
      }
    };
    // ICE credentials go into SDP lines: only ICE tokens pass.
    if (!iceTokens(jingle)) return ERRORS.badRequest;
    switch (action) {
      case 'session-initiate':
        return ERRORS.outOfOrder; // a session is made by its session-initiate: a second one
      case 'session-accept':
        if (this.role !== 'initiator' || !this.pc || this.#accepted) return ERRORS.outOfOrder;
        if (!parses('answer')) return ERRORS.badRequest;
        this.#accepted = true;
        this.#enqueue(() => this.#onAccept(xml));
        return null;
      case 'transport-info':
        return this.#onTransportInfo(jingle, xml);
      case 'session-terminate': {
        const reason = readReason(jingle);
        this.end({ condition: reason?.condition ?? 'success', text: reason?.text }, 'remote');
        return null;
      }
      case 'session-info':
        // XEP-0167 §7 informational messages (ringing, mute, hold, ...); mute/unmute are
        // passed on as 'remotemute' events, after a content-accept before it.
        if (children(jingle).length > this.#limits.sessionInfoChildren) return ERRORS.notAcceptable;
        this.#enqueue(() => this.#onSessionInfo(jingle));
        return null;
      case 'content-add':
      case 'content-modify':
      case 'content-remove':
        return this.#onChangeRequest(action, jingle, xml, parses);
      case 'content-accept':
      case 'content-reject':
        if (!this.#pendingAdd) return ERRORS.outOfOrder;
        if (action === 'content-accept' && !parses('answer')) return ERRORS.badRequest;
        this.#offering = false;
        this.#enqueue(() => (action === 'content-accept' ? this.#onContentAccept(xml)
          : this.#abandonAdd({ condition: 'content-reject', jingle: null }, 'content-add')));
        return null;
      default:
        // transport-replace, description-info, ... are not supported.
        return ERRORS.unsupportedInfo;
    }
  }

  #onTransportInfo(jingle, xml) {
    let list;
    try {
      list = this.#host.sdp.transportInfoToCandidates(xml);
    } catch {
      return ERRORS.badRequest;
    }
    // New ICE credentials in it are an ICE restart (lib/ice-restart.js).
    const early = !this.pc?.remoteDescription;
    if (early && this.#early + list.length > this.#limits.earlyCandidates) {
      return ERRORS.rateLimited; // before the description: kept, so bounded
    }
    const { error, candidates } = this.#ice.transportInfo(jingle, list);
    if (error) return error;
    if (candidates) {
      if (early) this.#early += list.length;
      this.#enqueue(() => this.#addRemoteCandidates(list));
    }
    return null;
  }

  /** The peer's content-add, -modify or -remove: checked here, applied in order. */
  #onChangeRequest(action, jingle, xml, parses) {
    if (!this.#remoteParts) return ERRORS.outOfOrder;
    const contents = children(jingle, 'content').map((c) => ({ name: c.getAttribute('name'),
      senders: c.getAttribute('senders') ?? 'both' }));
    const known = (c) => this.contents.has(c.name);
    const valid = contents.length > 0 && contents.every((c) => c.name && SENDERS.includes(c.senders))
      && (action === 'content-add' ? !contents.some(known) : contents.every(known));
    if (!valid) return ERRORS.badRequest;
    if (action === 'content-add') {
      // Counted before anything is translated.
      if (this.contents.size + contents.length > this.#limits.contents) return ERRORS.notAcceptable;
      if (!this.#rates.allow('content-add', this.#limits.contentAddsPerMinute)) {
        return ERRORS.rateLimited;
      }
      if (!parses('offer')) return ERRORS.badRequest;
    }
    // Both changed at once: ours (the initiator's) wins; the peer redoes its change.
    if (this.#offering && this.role === 'initiator') return ERRORS.tieBreak;
    if (action === 'content-add') this.#enqueue(() => this.#onContentAdd(xml));
    // A removed content stays in the SDP (m-lines are never taken out) but carries nothing.
    else if (action === 'content-remove') {
      this.#enqueue(() => this.#onContentModify(contents.map((c) => ({ ...c, senders: 'none' })),
        true));
    } else this.#enqueue(() => this.#onContentModify(contents));
    return null;
  }

  // -------------------------------------------------------------------------------------------
  // Offer and answer

  /**
   * Creates the peer connection. `bundle`: the peer takes BUNDLE (`max-bundle`, fewest
   * candidates) or may not (`balanced`: a peer without BUNDLE, e.g. Dino, still connects).
   * `dataChannel`: the initiator opens the files channel before its offer (an XEP-0343
   * content in the same session); the responder gets it from the offer.
   */
  async #createPc({ bundle, dataChannel }) {
    const iceServers = await this.#host.iceServers();
    if (this.state === 'ended') throw new Error('session ended');
    const { rtcConfig, dataChannel: channels } = this.#host.settings;
    const pc = new RTCPeerConnection({ bundlePolicy: bundle ? 'max-bundle' : 'balanced',
      ...rtcConfig, iceServers: [...iceServers, ...(rtcConfig.iceServers ?? [])] });
    this.pc = pc;
    const stream = this.#media?.stream;
    for (const t of stream?.getTracks() ?? []) {
      const sendEncodings = this.#encodings?.[t.kind];
      if (sendEncodings) pc.addTransceiver(t, { streams: [stream], sendEncodings });
      else pc.addTrack(t, stream);
    }
    if (channels && dataChannel) {
      if (this.role === 'initiator') this.#setChannel(pc.createDataChannel('files', { ordered: true }));
      else pc.addEventListener('datachannel', (e) => this.#setChannel(e.channel));
    }
    pc.addEventListener('icecandidate', (e) => this.#onLocalCandidate(e.candidate));
    pc.addEventListener('track', (e) => {
      if (!this.remoteStream.getTracks().includes(e.track)) this.remoteStream.addTrack(e.track);
      this.dispatchEvent(new CustomEvent('track', {
        detail: { track: e.track, streams: e.streams.length ? e.streams : [this.remoteStream] },
      }));
    });
    pc.addEventListener('connectionstatechange', () => {
      if (this.state === 'ended') return;
      if (pc.connectionState === 'connected') this.#setState('active');
      this.#ice.connectionState(pc.connectionState);
      if (pc.connectionState === 'failed') {
        if (this.#ice.wasConnected) {
          this.#ice.iceState('failed'); // e.g. a network change: restart ICE
          return;
        }
        this.#host.send(this.peer, this.#terminateXml('connectivity-error'));
        this.end({ condition: 'connectivity-error', text: 'ICE/DTLS failed' }, 'local');
      }
    });
    pc.addEventListener('iceconnectionstatechange', () => {
      if (this.state !== 'ended') this.#ice.iceState(pc.iceConnectionState);
    });
    return pc;
  }

  #terminateXml(condition) {
    return Strophe.serialize($build('jingle', { xmlns: NS.JINGLE, action: 'session-terminate',
      sid: this.sid, initiator: this.initiator ?? undefined }).c('reason').c(condition).tree());
  }

  #setChannel(channel) {
    const ready = () => {
      if (this.files || this.state === 'ended') return;
      this.files = new FileTransfers(channel, { maxSize: this.#host.settings.maxFileSize });
      this.dispatchEvent(new CustomEvent('files', { detail: { files: this.files } }));
    };
    if (channel.readyState === 'open') ready();
    else channel.addEventListener('open', ready, { once: true });
  }

  /** Ours: the offer and session-initiate. */
  async #initiate({ senders, bundle, dataChannel, payload }) {
    const pc = await this.#createPc({ bundle, dataChannel });
    if (senders === 'initiator') {
      for (const t of pc.getTransceivers()) t.direction = 'sendonly';
    }
    await pc.setLocalDescription(await pc.createOffer());
    if (this.state === 'ended') return;
    const xml = withPayload(this.#host.sdp.sdpToJingle(pc.localDescription.sdp, {
      action: 'session-initiate', sid: this.sid, initiator: this.initiator,
      responder: this.responder, from: 'initiator',
    }), payload);
    this.initiateXml = xml;
    await new Promise((resolve) => {
      this.#host.send(this.peer, xml).then((err) => {
        if (err) {
          // No session exists on the peer's side: end ours without a word.
          this.refusal = err.condition;
          this.end({ condition: 'failed-application',
            text: `session-initiate refused: ${err.condition}` }, 'remote');
        }
        resolve();
      });
      // Candidates may go out once session-initiate is on the wire (stanzas stay in order).
      this.#flushLocalCandidates();
    });
  }

  /** The peer's: answers its session-initiate with session-accept. */
  async #answer(payload) {
    const offerXml = this.initiateXml;
    const sdp = this.#host.sdp.jingleToSdp(offerXml, { type: 'offer' });
    const pc = this.pc ?? await this.#createPc({ bundle: /^a=group:BUNDLE /m.test(sdp),
      dataChannel: true });
    await pc.setRemoteDescription({ type: 'offer', sdp });
    if (!this.#media) {
      // Receive only: nothing of ours goes out, whatever the offer allows.
      for (const t of pc.getTransceivers()) t.direction = 'recvonly';
    }
    await this.#flushRemoteCandidates();
    await pc.setLocalDescription(await pc.createAnswer());
    if (this.state === 'ended') return;
    const xml = withPayload(this.#host.sdp.sdpToJingle(pc.localDescription.sdp, {
      action: 'session-accept', sid: this.sid, initiator: this.initiator,
      responder: this.responder, from: 'responder',
    }), payload);
    this.acceptXml = xml;
    this.#setState('connecting');
    this.#negotiated(sdp, offerXml, xml);
    this.#host.send(this.peer, xml).then((err) => {
      if (err && this.state !== 'ended') {
        this.end({ condition: 'failed-application',
          text: `session-accept refused: ${err.condition}` }, 'local');
      }
    });
    this.#flushLocalCandidates();
  }

  /** Ours: applies the peer's session-accept. */
  async #onAccept(answerXml) {
    this.acceptXml = answerXml;
    const sdp = this.#host.sdp.jingleToSdp(answerXml, { type: 'answer' });
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    this.#negotiated(sdp, this.initiateXml, answerXml);
    await this.#flushRemoteCandidates();
    if (this.state !== 'active') this.#setState('connecting');
  }

  /** The negotiated session, once the first offer/answer is done. */
  #negotiated(remoteSdp, offerXml, answerXml) {
    this.#remoteParts = splitSdp(remoteSdp);
    const remoteXml = this.role === 'initiator' ? answerXml : offerXml;
    this.#bundleTransport = /^a=group:BUNDLE /m.test(remoteSdp) ? children(parseXml(remoteXml),
      'content').map((c) => child(c, 'transport')).find((t) => t?.getAttribute('ufrag')) ?? null
      : null;
    this.#noteContents(offerXml);
    this.#noteContents(answerXml); // the answer's senders are the negotiated ones
    if (this.role === 'initiator') {
      this.#remoteSetup = setupOf(remoteSdp);
    } else {
      this.#remoteSetup = setupOf(this.pc.localDescription.sdp) === 'passive' ? 'active' : 'passive';
    }
    this.#mediaChanged();
    if (this.#media?.cameraOff) this.#enqueue(() => this.#syncCamera());
  }

  /** Notes `<content/>`s (name, creator, senders, media) of a Jingle XML into `contents`. */
  #noteContents(xml) {
    for (const c of children(parseXml(xml), 'content')) {
      const name = c.getAttribute('name');
      if (!name) continue;
      const description = child(c, 'description');
      this.contents.set(name, { creator: c.getAttribute('creator') ?? 'initiator',
        senders: c.getAttribute('senders') ?? 'both',
        media: description?.getAttribute('media')
          ?? (description ? 'application' : this.contents.get(name)?.media ?? null) });
    }
  }

  /** The peer's full description for setRemoteDescription, from its sections and `contents`. */
  #remoteSdp(type) {
    // As an answer to our offer: only what that offer has (Firefox checks header extensions).
    const parts = type === 'answer' ? { ...this.#remoteParts, sections: fitToOffer(
      this.#remoteParts.sections, this.pc.localDescription.sdp) } : this.#remoteParts;
    return joinSdp(parts, {
      direction: (mid) => {
        const c = this.contents.get(mid);
        return c ? directionFor(c.senders, this.remoteRole) : null;
      },
      setup: type === 'offer' ? 'actpass' : this.#remoteSetup,
    });
  }

  #mediaChanged() {
    this.dispatchEvent(new CustomEvent('media', { detail: { localVideo: this.localVideo,
      remoteVideo: this.remoteVideo } }));
  }

  // -------------------------------------------------------------------------------------------
  // Renegotiation: camera on/off (content-modify, content-add) and the peer's changes

  /** Brings the video sender and the negotiated `senders` to what `media.cameraOff` asks. */
  async #syncCamera() {
    const media = this.#media;
    if (!media) return;
    if (this.#pendingAdd) {
      this.#retryCamera = true; // once the content-accept is in
      return;
    }
    const want = !media.cameraOff;
    const t = this.#videoTransceiver();
    if (!t) {
      if (want) await this.#addVideo();
      return;
    }
    if (!want && t.sender.track) {
      const old = t.sender.track;
      await t.sender.replaceTrack(null);
      media.release(old);
    } else if (want && !t.sender.track) {
      await t.sender.replaceTrack(await media.camera());
    }
    const content = this.contents.get(t.mid);
    if (!content || sends(content.senders, this.role) === want) {
      this.#mediaChanged();
      return;
    }
    const before = t.direction;
    t.direction = want ? 'sendrecv' : 'recvonly';
    await this.#modify(t.mid, withSender(content.senders, this.role, want), () => {
      t.direction = before;
    });
  }

  /** The video transceiver in use (negotiated, not stopped), or null. */
  #videoTransceiver() {
    return this.pc?.getTransceivers().find((t) => t.mid !== null && !t.stopped
      && t.receiver.track.kind === 'video' && this.contents.has(t.mid)) ?? null;
  }

  /** Sends our offer's change of `senders` as content-modify; undo() if the peer refuses. */
  async #modify(mid, senders, undo) {
    const { pc } = this;
    await pc.setLocalDescription(await pc.createOffer());
    const { creator } = this.contents.get(mid);
    const jingle = $build('jingle', { xmlns: NS.JINGLE, action: 'content-modify', sid: this.sid,
      initiator: this.initiator ?? undefined }).c('content', { creator, name: mid, senders });
    const err = await this.#offerOut(Strophe.serialize(jingle.tree()));
    if (err) {
      await pc.setLocalDescription({ type: 'rollback' });
      undo();
      this.#refused(err, 'content-modify');
      return;
    }
    this.contents.get(mid).senders = senders;
    await pc.setRemoteDescription({ type: 'answer', sdp: this.#remoteSdp('answer') });
    this.#mediaChanged();
  }

  /** Offers a video content with our camera (content-add); content-accept completes it. */
  async #addVideo() {
    const { pc } = this;
    const media = this.#media;
    const track = await media.camera();
    const transceiver = pc.addTransceiver(track, { direction: 'sendrecv',
      streams: [media.stream] });
    await pc.setLocalDescription(await pc.createOffer());
    const { mid } = transceiver;
    const xml = keepContents(this.#host.sdp.sdpToJingle(pc.localDescription.sdp, {
      action: 'content-add', sid: this.sid, initiator: this.initiator, responder: this.responder,
      from: this.role, creator: this.role }), [mid]);
    this.#pendingAdd = { mid, transceiver, track };
    const err = await this.#offerOut(xml, true);
    if (err) await this.#abandonAdd(err, 'content-add');
  }

  /** Rolls back our unanswered content-add. */
  async #abandonAdd(err, action) {
    const { transceiver, track } = this.#pendingAdd;
    this.#pendingAdd = null;
    this.#offering = false;
    await this.pc.setLocalDescription({ type: 'rollback' });
    transceiver.stop();
    this.#media.release(track);
    this.#refused(err, action);
  }

  /**
   * Sends an offer-like action; resolves to null once the peer took it, or to its error.
   * `untilAnswer`: we stay offering until the answering action (content-accept) arrives.
   */
  #offerOut(xml, untilAnswer = false) {
    this.#offering = true;
    return this.#host.send(this.peer, xml).then((err) => {
      // Cleared at once (not after our async follow-up), so the peer's next request
      // is not mistaken for a collision.
      if (err || !untilAnswer) this.#offering = false;
      return err;
    });
  }

  /** A refused change: lost a tie-break (redo later) or the peer cannot (camera stays off). */
  #refused(err, action) {
    if (err.jingle === 'tie-break') {
      this.#retryCamera = true;
      return;
    }
    console.warn(`jingle: ${action} refused: ${err.condition}`);
    const media = this.#media;
    if (media && !this.localVideo && !media.cameraOff) {
      media.setCameraOff(true);
      const t = this.#videoTransceiver();
      if (t?.sender.track) {
        media.release(t.sender.track);
        t.sender.replaceTrack(null).catch(() => {});
      }
    }
    this.#mediaChanged();
  }

  /** After the peer's change is applied: redo ours if it lost a tie-break. */
  async #afterPeerChange() {
    this.#mediaChanged();
    if (this.#retryCamera) {
      this.#retryCamera = false;
      await this.#syncCamera();
    }
    await this.#ice.redo();
  }

  /** The peer's content-add: its new contents go into the session; content-accept answers. */
  async #onContentAdd(offerXml) {
    const { pc } = this;
    const media = this.#media;
    const xml = fillTransports(offerXml, this.#bundleTransport);
    const sdp = this.#host.sdp.jingleToSdp(xml, { type: 'offer', from: this.remoteRole });
    const added = splitSdp(sdp).sections.filter((s) => s.mid !== null);
    this.#remoteParts.sections = mergeSections(this.#remoteParts.sections, added);
    this.#noteContents(xml);
    await pc.setRemoteDescription({ type: 'offer', sdp: this.#remoteSdp('offer') });
    const mids = added.map((s) => s.mid);
    const muted = [];
    for (const t of pc.getTransceivers()) {
      if (!mids.includes(t.mid) || t.receiver.track.kind !== 'video') continue;
      if (!media) {
        t.direction = 'recvonly'; // a receive-only session sends nothing
        continue;
      }
      // We accept the `senders` offered (Conversations ends the call otherwise), and send
      // our camera only if it is on; if it is off the peer hears so with session-info.
      t.direction = 'sendrecv';
      if (!media.cameraOff && !this.localVideo && !t.sender.track) {
        await t.sender.replaceTrack(await media.camera());
      } else {
        muted.push(t.mid);
      }
    }
    await pc.setLocalDescription(await pc.createAnswer());
    const answer = keepContents(this.#host.sdp.sdpToJingle(pc.localDescription.sdp, {
      action: 'content-accept', sid: this.sid, initiator: this.initiator,
      responder: this.responder, from: this.role, creator: this.remoteRole }), mids);
    this.#noteContents(answer);
    this.#host.send(this.peer, answer).then((err) => {
      if (err) console.warn('jingle: content-accept refused', err.condition);
    });
    if (muted.length) this.sendMute('video', true, muted);
    await this.#afterPeerChange();
  }

  /** The peer's content-accept of our content-add. */
  async #onContentAccept(answerXml) {
    if (!this.#pendingAdd) return;
    const xml = fillTransports(answerXml, this.#bundleTransport);
    const sdp = this.#host.sdp.jingleToSdp(xml, { type: 'answer', from: this.remoteRole });
    const added = splitSdp(sdp).sections.filter((s) => s.mid !== null);
    this.#remoteParts.sections = mergeSections(this.#remoteParts.sections, added);
    this.#noteContents(xml);
    this.#pendingAdd = null;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: this.#remoteSdp('answer') });
    await this.#afterPeerChange();
  }

  /**
   * The peer's content-modify: it changes its own sending; we keep deciding ours. `removed`
   * (content-remove): nobody sends on those contents any more.
   */
  async #onContentModify(changes, removed = false) {
    for (const { name, senders } of changes) {
      const c = this.contents.get(name);
      c.senders = removed ? 'none'
        : withSender(c.senders, this.remoteRole, sends(senders, this.remoteRole));
      if (removed) {
        const t = this.pc.getTransceivers().find((x) => x.mid === name);
        if (t?.sender.track) {
          if (t.sender.track.kind === 'video') this.#media?.setCameraOff(true);
          this.#media?.release(t.sender.track);
          await t.sender.replaceTrack(null);
        }
        if (t) t.direction = 'inactive';
      }
    }
    await this.pc.setRemoteDescription({ type: 'offer', sdp: this.#remoteSdp('offer') });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await this.#afterPeerChange();
  }

  /** An XEP-0167 session-info from the peer: emits 'remotemute' {kind, muted} for mute/unmute. */
  #onSessionInfo(jingle) {
    for (const n of children(jingle)) {
      if (n.nodeName !== 'mute' && n.nodeName !== 'unmute') {
        // Not XEP-0167's: for the session's owner (a group call reads the focus's).
        this.dispatchEvent(new CustomEvent('info', { detail: { element: n } }));
        continue;
      }
      const name = n.getAttribute('name');
      const kind = ['audio', 'video'].find((k) => midsOf(k, this.pc?.remoteDescription?.sdp)
        .includes(name)) ?? (name === 'audio' || name === 'video' ? name : null);
      const muted = n.nodeName === 'mute';
      if (kind) this.remoteMuted[kind] = muted;
      this.dispatchEvent(new CustomEvent('remotemute', { detail: { kind, name, muted } }));
    }
  }

  // -------------------------------------------------------------------------------------------
  // ICE candidates

  #onLocalCandidate(candidate) {
    if (this.state === 'ended') return;
    // null: gathering complete; '' candidate: end of candidates of one generation.
    const c = candidate ?? { candidate: '', sdpMid: null, usernameFragment: null };
    if (!candidate && !this.pc?.localDescription) return;
    if (!this.#canSendCandidates) {
      this.#localCandidates.push(c);
      return;
    }
    this.#sendCandidate(c);
  }

  #sendCandidate(c) {
    const mids = c.sdpMid != null ? [c.sdpMid] : this.#mids();
    for (const mid of mids) {
      let xml;
      try {
        xml = this.#host.sdp.candidateToTransportInfo(c.candidate ?? '', {
          sid: this.sid, initiator: this.initiator, responder: this.responder, mid,
          ufrag: c.usernameFragment ?? undefined,
        });
      } catch (e) {
        console.warn('jingle: candidate not sent', c.candidate, e);
        continue;
      }
      // With the pwd too: Conversations takes new ufrag/pwd with candidates as the answer to
      // its ICE restart.
      const pwd = c.usernameFragment ? localPwd(this.pc, c.usernameFragment) : null;
      if (pwd) xml = withPwd(xml, c.usernameFragment, pwd);
      xml = this.#ice.outgoing(xml, c);
      this.#host.send(this.peer, xml).then((err) => {
        if (err) console.warn('jingle: transport-info refused', err);
      });
    }
    this.#ice.sent(c);
  }

  #mids() {
    return (this.pc?.localDescription?.sdp.match(/^a=mid:(.+)$/gm) ?? [])
      .map((l) => l.slice(6).trim());
  }

  #flushLocalCandidates() {
    this.#canSendCandidates = true;
    for (const c of this.#localCandidates.splice(0)) this.#sendCandidate(c);
  }

  async #addRemoteCandidates(list) {
    if (!this.pc?.remoteDescription) {
      this.#remoteCandidates.push(...list);
      return;
    }
    for (const c of list) {
      if (!c.candidate) continue; // end-of-candidates: nothing to tell the browser
      try {
        await this.pc.addIceCandidate({ candidate: c.candidate.replace(/^a=/, ''),
          sdpMid: c.mid, usernameFragment: c.ufrag ?? undefined });
      } catch (e) {
        console.warn('jingle: remote candidate refused', c.candidate, e.message);
      }
    }
  }

  async #flushRemoteCandidates() {
    this.#early = 0;
    await this.#addRemoteCandidates(this.#remoteCandidates.splice(0));
  }

  // -------------------------------------------------------------------------------------------
  // ICE restarts (lib/ice-restart.js)

  /** Puts the peer's new credentials into its description (and into content-add stubs). */
  #applyCredentials(fresh) {
    for (const { name, ufrag, pwd } of fresh) {
      this.#remoteParts = withIceCredentials(this.#remoteParts, name, { ufrag, pwd });
      this.#bundleTransport?.setAttribute('ufrag', ufrag);
      this.#bundleTransport?.setAttribute('pwd', pwd);
    }
  }

  // -------------------------------------------------------------------------------------------

  /** Runs `fn` after the work queued before it; a failure ends the session. */
  #enqueue(fn) {
    this.#chain = this.#chain.then(() => (this.state === 'ended' ? null : fn())).catch((e) => {
      console.error('jingle: session failed', e);
      if (this.state !== 'ended') this.terminate('failed-application', String(e.message ?? e));
    });
    return this.#chain;
  }
}
