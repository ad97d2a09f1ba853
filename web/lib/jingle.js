// Jingle calls for any Strophe.js connection: a SET of Jingle sessions (XEP-0166), each one a
// `Call`. A 1:1 call is one session; group calls (XEP-0521) will add more sessions per call.
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
// Signalling: XEP-0353 (urn:xmpp:jingle-message:0, version 0.8) rings every device of the callee:
// `propose` to the bare JID, `ringing`/`proceed`/`reject` back to the proposing resource,
// `retract` to the bare JID, `finish` after the session. The callee's other devices learn of
// an answer from message carbons (XEP-0280) of its `proceed`/`reject`. After `proceed` the
// caller sends `session-initiate` (the SDP translated by sdp-map), the callee answers with
// `session-accept`, ICE candidates trickle as `transport-info` both ways, `session-terminate`
// ends it. STUN/TURN come from the server with XEP-0215.
//
// Mid-call changes renegotiate in Jingle, never with a new call: turning the camera on in a call
// without video sends `content-add` (answered with `content-accept`); turning it off or on
// again changes who sends with `content-modify` (XEP-0166 §6.6). Each side decides only about
// its own sending. When both sides change at once, the initiator's request wins: the
// responder's gets `conflict` + `<tie-break/>`, rolls back and is retried afterwards.
//
// ICE restarts keep a call through a network change, as Conversations does them: the side
// restarting sends a `transport-info` with its new ICE credentials (ufrag/pwd) and no
// candidates (the offer); the other side acknowledges, takes them as a remote offer, and its
// own new credentials go with its first candidates (the answer; StanzaJS answers with them
// alone, and an answer's DTLS setup). The initiator restarts when ICE fails or stays
// disconnected (iceRestartAfterMs), the responder only if no restart came after twice that;
// also `call.restartIce()`. Glare as above (initiator wins). Not connected again within
// connectTimeoutMs: the call ends with connectivity-error.
//
// Call states: 'proposing' (outgoing, not yet ringing), 'ringing' (outgoing: the callee rings;
// incoming: we ring), 'proceeding' (answered, before the session), 'connecting' (session
// negotiated, ICE/DTLS in progress), 'active' (media flows), 'ended'.
// End reasons are Jingle reason conditions: 'success' (hang up), 'decline', 'busy', 'cancel'
// (caller gave up), 'timeout' (nobody answered), 'connectivity-error', 'failed-application',
// 'general-error', 'gone' (peer offline or unknown), plus 'answered-elsewhere' and
// 'rejected-elsewhere' (another of our devices handled the call).

import { Strophe, $build, $iq } from 'strophe.js';
import { initSdpMap } from '../sdp-map.js';
import { NS, children, child, readReason, randomId, addHandler } from './xml.js';
import { Services } from './services.js';
import { Jmi } from './jmi.js';
import { LocalMedia } from './local-media.js';
import { FileTransfers } from './file-transfer.js';
import { splitSdp, joinSdp, mergeSections, fitToOffer, directionFor, withSender, sends,
  setupOf, iceCredentials, transportMids, withIceCredentials } from './sdp-sections.js';

export { NS } from './xml.js';
export { FEATURES, iceServersFromServices } from './services.js';

const LIVE = new Set(['proposing', 'ringing', 'proceeding', 'connecting', 'active']);

/**
 * A Jingle XML whose `<transport/>`s without ICE credentials get those of `bundle` (an ICE-UDP
 * `<transport/>` element of the session): Conversations sends such stubs for a content it
 * adds to a BUNDLE group. Candidates are not copied (the bundle transport has them).
 */
function fillTransports(xml, bundle) {
  const jingle = Strophe.xmlHtmlNode(xml).documentElement;
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
  const jingle = Strophe.xmlHtmlNode(xml).documentElement;
  for (const c of children(jingle, 'content')) {
    if (!names.includes(c.getAttribute('name'))) jingle.removeChild(c);
  }
  return Strophe.serialize(jingle);
}

/** A transport-info XML whose `<transport/>`s with `ufrag` also carry its `pwd` (XEP-0176). */
function withPwd(xml, ufrag, pwd) {
  const jingle = Strophe.xmlHtmlNode(xml).documentElement;
  for (const c of children(jingle, 'content')) {
    const t = child(c, 'transport');
    if (t?.getAttribute('ufrag') === ufrag && !t.getAttribute('pwd')) t.setAttribute('pwd', pwd);
  }
  return Strophe.serialize(jingle);
}

/** True if a `<transport/>` of `jingle` has a DTLS fingerprint with an answer's setup. */
function answersSetup(jingle) {
  return children(jingle, 'content').some((c) => children(child(c, 'transport'), 'fingerprint')
    .some((f) => ['active', 'passive'].includes(f.getAttribute('setup'))));
}

/** Jingle XML `xml` with the `<content/>`s of `extra` (XML) whose names it lacks. */
function withContents(xml, extra) {
  const jingle = Strophe.xmlHtmlNode(xml).documentElement;
  const names = children(jingle, 'content').map((c) => c.getAttribute('name'));
  for (const c of children(Strophe.xmlHtmlNode(extra).documentElement, 'content')) {
    if (!names.includes(c.getAttribute('name'))) {
      jingle.appendChild(jingle.ownerDocument.importNode(c, true));
    }
  }
  return Strophe.serialize(jingle);
}

/** One Jingle session (a 1:1 call). Created by `Jingle`; listen to its events. */
export class Call extends EventTarget {
  constructor(jingle, { sid, peer, direction, media, proposal = null }) {
    super();
    this.jingle = jingle;
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
    /** @type {RTCPeerConnection|null} */
    this.pc = null;
    /** The camera and microphone of this call (lib/local-media.js). */
    this.localMedia = new LocalMedia({ audio: media.audio, video: media.video,
      getUserMedia: (c) => jingle.getUserMedia(c) });
    this.localMedia.addEventListener('stream', ({ detail }) => {
      this.dispatchEvent(new CustomEvent('localstream', { detail }));
    });
    this.remoteStream = new MediaStream();
    /** File transfers (lib/file-transfer.js) once the data channel is open, else null. */
    this.files = null;
    /** What the peer said it muted (XEP-0167 session-info): {audio, video}. */
    this.remoteMuted = { audio: false, video: false };
    this._timer = null;
    this._ringTimer = null;
    /** The JMI proposal (lib/jmi.js) that rings or rang for this call, if any. */
    this._proposal = proposal;
    if (proposal) this._followProposal(proposal);
    this._chain = Promise.resolve(); // serialises the handling of the peer's Jingle actions
    this._remoteCandidates = []; // arrived before the remote description
    this._localCandidates = []; // gathered before our session-initiate/accept went out
    this._canSendCandidates = false;
    this._offer = null; // a session-initiate that came without JMI (answered on accept)
    this._remoteParts = null; // the peer's description as SDP sections (lib/sdp-sections.js)
    /** Negotiated contents: name (= mid) -> {creator, senders}, as in Jingle. */
    this.contents = new Map();
    this._remoteSetup = null; // the peer's DTLS role, fixed by the first answer
    this._offering = false; // our content-add/-modify is out and not yet answered
    this._pendingAdd = null; // {mid, transceiver, track} of our unanswered content-add
    this._retryCamera = false; // our change lost a tie-break: redo it after the peer's
    this._wasConnected = false; // connected once: losing the connection restarts ICE
    this._remoteCreds = new Map(); // mid -> the peer's ICE {ufrag, pwd} as last signalled
    this._oldCreds = new Set(); // 'ufrag pwd' the peer replaced: late candidates, no restart
    this._restartWait = null; // {resolve}: our ICE restart awaits the peer's credentials
    this._restartTimer = null; // an ICE restart is under way: ends the call if not connected
    this._disconnectTimer = null; // ICE 'disconnected': restart if it lasts
    this._retryRestart = false; // our ICE restart lost a tie-break or had to wait
    this._onCandidateSent = null;
    this._credsWithCandidate = false; // our restart answer: the first candidate carries them all
  }

  /** Follows the JMI proposal: ringing, proceed, and its end (reject, retract, finish...). */
  _followProposal(p) {
    p.addEventListener('ringing', () => {
      if (this.state === 'proposing') this._setState('ringing');
    });
    p.addEventListener('proceed', ({ detail }) => {
      if (!['proposing', 'ringing'].includes(this.state)) return;
      clearTimeout(this._ringTimer);
      this.peerFull = detail.from;
      this._setState('proceeding');
      this._enqueue(() => this._initiate());
    });
    p.addEventListener('ended', ({ detail }) => this._end(detail, detail.by));
    if (this.direction === 'outgoing') {
      this._ringTimer = setTimeout(() => p.retract('timeout'), this.jingle.ringTimeoutMs);
      // Start the camera while it rings: the offer is then ready sooner after `proceed`.
      this.localMedia.start().catch((e) => {
        p.retract('failed-application');
        console.warn('jingle: no media', e);
      });
    }
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

  set cameraOff(off) {
    this.localMedia.cameraOff = !!off;
  }

  /** Our role in the session: 'initiator' | 'responder'. */
  get localRole() {
    return this.direction === 'outgoing' ? 'initiator' : 'responder';
  }

  /** The peer's role in the session. */
  get remoteRole() {
    return this.direction === 'outgoing' ? 'responder' : 'initiator';
  }

  /**
   * True if the peer sends video now: a video content's `senders` include it and it did not
   * say its video is muted (session-info).
   */
  get remoteVideo() {
    return !this.remoteMuted.video && this._videoContents()
      .some(({ content }) => sends(content.senders, this.remoteRole));
  }

  /** True if we send video now: negotiated, and the sender has a live camera track. */
  get localVideo() {
    return this._videoContents().some(({ mid, content }) => sends(content.senders, this.localRole)
      && this.pc.getTransceivers().some((t) => t.mid === mid
        && t.sender.track?.readyState === 'live'));
  }

  _videoContents() {
    return this._midsOf('video', this.pc?.remoteDescription?.sdp)
      .filter((mid) => this.contents.has(mid)).map((mid) => ({ mid, content: this.contents.get(mid) }));
  }

  get initiator() {
    return this.direction === 'outgoing' ? this.jingle.conn.jid : this.peerFull;
  }

  get responder() {
    return this.direction === 'outgoing' ? this.peerFull : this.jingle.conn.jid;
  }

  get live() {
    return LIVE.has(this.state);
  }

  _setState(state) {
    if (this.state === state || this.state === 'ended') return;
    this.state = state;
    if (state === 'connecting') {
      // Chromium never declares ICE failed when no candidate pair forms at all.
      this._timer = setTimeout(() => {
        if (this.state !== 'connecting') return;
        this._terminate('connectivity-error', 'no connection');
        this._end({ condition: 'connectivity-error', text: 'no connection' }, 'local');
      }, this.jingle.connectTimeoutMs);
    }
    this.dispatchEvent(new CustomEvent('state', { detail: { state } }));
    this.jingle.dispatchEvent(new CustomEvent('state', { detail: { call: this, state } }));
  }

  /** Answers an incoming call: gets the camera/microphone and sends `proceed`. */
  async accept() {
    if (this.direction !== 'incoming' || this.state !== 'ringing') return;
    this._setState('proceeding');
    try {
      await this.localMedia.start();
    } catch (e) {
      this._end({ condition: 'failed-application', text: `no media: ${e.message}` }, 'local');
      return;
    }
    if (this.state === 'ended') return;
    if (this._offer) {
      const offer = this._offer;
      this._offer = null;
      this._enqueue(() => this._answer(offer));
    } else {
      this._proposal.proceed();
    }
  }

  /** Rejects an incoming call (reason 'decline' by default). */
  reject(condition = 'decline') {
    if (this.direction !== 'incoming' || this.state !== 'ringing') return;
    if (this._offer) this._terminate(condition);
    else this._proposal.reject(condition);
    this._end({ condition, text: null }, 'local');
  }

  /**
   * Ends the call from our side, whatever its state: retracts an unanswered proposal, rejects
   * a ringing incoming call, terminates a session.
   */
  hangup(condition = 'success') {
    if (this.state === 'ended') return;
    if (this.direction === 'outgoing' && (this.state === 'proposing' || this.state === 'ringing')) {
      this._proposal?.retract(condition === 'success' ? 'cancel' : condition);
      this._end({ condition: condition === 'success' ? 'cancel' : condition, text: null }, 'local');
      return;
    }
    if (this.direction === 'incoming' && this.state === 'ringing') {
      this.reject(condition === 'success' ? 'decline' : condition);
      return;
    }
    if (this.peerFull && (this.pc || this.direction === 'outgoing' || this._sessionSeen)) {
      this._terminate(condition);
    }
    this._proposal?.finish(condition);
    this._end({ condition, text: null }, 'local');
  }

  /**
   * Mutes or unmutes the microphone (the track keeps flowing, silent) and tells the peer with
   * an XEP-0167 `session-info` `<mute/>`/`<unmute/>`.
   */
  setMuted(muted) {
    this.localMedia.setMuted(muted);
    this._sendMute('audio', this.muted);
  }

  /**
   * Turns the camera off or on. Before the session is negotiated the track only goes black.
   * In a session, off releases the camera and tells the peer with `content-modify`; on
   * restarts it, adding a video content (`content-add`) if the call has none. Resolves once
   * the change is negotiated (or refused, which leaves the camera off).
   */
  setCameraOff(off) {
    this.localMedia.setCameraOff(off);
    if (!this._remoteParts) return Promise.resolve();
    this._sendMute('video', this.cameraOff);
    return this._enqueue(() => this._syncCamera());
  }

  /**
   * Restarts ICE (new credentials, new candidates, same session), as after a network change;
   * the plugin also does it by itself when ICE fails or stays disconnected. Resolves once the
   * new credentials are exchanged (or the restart gave way to the peer's or was refused).
   */
  restartIce() {
    if (!this._remoteParts || !['connecting', 'active'].includes(this.state)) {
      return Promise.resolve();
    }
    return this._enqueue(() => this._iceRestart());
  }

  /** Brings the video sender and the negotiated `senders` to what `cameraOff` asks. */
  async _syncCamera() {
    if (this._pendingAdd) {
      this._retryCamera = true; // once the content-accept is in
      return;
    }
    const want = !this.cameraOff;
    const t = this._videoTransceiver();
    if (!t) {
      if (want) await this._addVideo();
      return;
    }
    if (!want && t.sender.track) {
      const old = t.sender.track;
      await t.sender.replaceTrack(null);
      this.localMedia.release(old);
    } else if (want && !t.sender.track) {
      await t.sender.replaceTrack(await this.localMedia.camera());
    }
    const content = this.contents.get(t.mid);
    if (!content || sends(content.senders, this.localRole) === want) {
      this._mediaChanged();
      return;
    }
    const before = t.direction;
    t.direction = want ? 'sendrecv' : 'recvonly';
    await this._modify(t.mid, withSender(content.senders, this.localRole, want), () => {
      t.direction = before;
    });
  }

  /** The video transceiver in use (negotiated, not stopped), or null. */
  _videoTransceiver() {
    return this.pc?.getTransceivers().find((t) => t.mid !== null && !t.stopped
      && t.receiver.track.kind === 'video' && this.contents.has(t.mid)) ?? null;
  }

  /** Sends our offer's change of `senders` as content-modify; undo() if the peer refuses. */
  async _modify(mid, senders, undo) {
    const { pc } = this;
    await pc.setLocalDescription(await pc.createOffer());
    const { creator } = this.contents.get(mid);
    const jingle = $build('jingle', { xmlns: NS.JINGLE, action: 'content-modify', sid: this.sid,
      initiator: this.initiator ?? undefined }).c('content', { creator, name: mid, senders });
    const err = await this._offerOut(Strophe.serialize(jingle.tree()));
    if (err) {
      await pc.setLocalDescription({ type: 'rollback' });
      undo();
      this._refused(err, 'content-modify');
      return;
    }
    this.contents.get(mid).senders = senders;
    await pc.setRemoteDescription({ type: 'answer', sdp: this._remoteSdp('answer') });
    this._mediaChanged();
  }

  /** Offers a video content with our camera (content-add); content-accept completes it. */
  async _addVideo() {
    const { pc } = this;
    const track = await this.localMedia.camera();
    const transceiver = pc.addTransceiver(track, { direction: 'sendrecv',
      streams: [this.localStream] });
    await pc.setLocalDescription(await pc.createOffer());
    const { mid } = transceiver;
    const xml = keepContents(this.jingle._sdp.sdpToJingle(pc.localDescription.sdp, {
      action: 'content-add', sid: this.sid, initiator: this.initiator, responder: this.responder,
      from: this.localRole, creator: this.localRole }), [mid]);
    this._pendingAdd = { mid, transceiver, track };
    const err = await this._offerOut(xml, true);
    if (err) await this._abandonAdd(err, 'content-add');
  }

  /** Rolls back our unanswered content-add. */
  async _abandonAdd(err, action) {
    const { transceiver, track } = this._pendingAdd;
    this._pendingAdd = null;
    this._offering = false;
    await this.pc.setLocalDescription({ type: 'rollback' });
    transceiver.stop();
    this.localMedia.release(track);
    this._refused(err, action);
  }

  /**
   * Sends an offer-like action; resolves to null once the peer took it, or to its error.
   * `untilAnswer`: we stay offering until the answering action (content-accept) arrives.
   */
  _offerOut(xml, untilAnswer = false) {
    this._offering = true;
    return new Promise((resolve) => {
      this.jingle._sendJingle(this.peerFull, xml, (err) => {
        // Cleared at once (not after our async follow-up), so the peer's next request
        // is not mistaken for a collision.
        if (err || !untilAnswer) this._offering = false;
        resolve(err);
      });
    });
  }

  /** A refused change: lost a tie-break (redo later) or the peer cannot (camera stays off). */
  _refused(err, action) {
    if (err.jingle === 'tie-break') {
      this._retryCamera = true;
      return;
    }
    console.warn(`jingle: ${action} refused: ${err.condition}`);
    if (!this.localVideo && !this.cameraOff) {
      this.cameraOff = true;
      const t = this._videoTransceiver();
      if (t?.sender.track) {
        this.localMedia.release(t.sender.track);
        t.sender.replaceTrack(null).catch(() => {});
      }
    }
    this._mediaChanged();
  }

  /** After the peer's change is applied: redo ours if it lost a tie-break. */
  async _afterPeerChange() {
    this._mediaChanged();
    if (this._retryCamera) {
      this._retryCamera = false;
      await this._syncCamera();
    }
    if (this._retryRestart) {
      this._retryRestart = false;
      await this._iceRestart();
    }
  }

  _mediaChanged() {
    this.dispatchEvent(new CustomEvent('media', { detail: { localVideo: this.localVideo,
      remoteVideo: this.remoteVideo } }));
  }

  /** The peer's full description for setRemoteDescription, from its sections and `contents`. */
  _remoteSdp(type) {
    // As an answer to our offer: only what that offer has (Firefox checks header extensions).
    const parts = type === 'answer' ? { ...this._remoteParts, sections: fitToOffer(
      this._remoteParts.sections, this.pc.localDescription.sdp) } : this._remoteParts;
    return joinSdp(parts, {
      direction: (mid) => {
        const c = this.contents.get(mid);
        return c ? directionFor(c.senders, this.remoteRole) : null;
      },
      setup: type === 'offer' ? 'actpass' : this._remoteSetup,
    });
  }

  /** Notes `<content/>`s (name, creator, senders) of a Jingle XML into `contents`. */
  _noteContents(xml) {
    const jingle = Strophe.xmlHtmlNode(xml).documentElement;
    for (const c of children(jingle, 'content')) {
      const name = c.getAttribute('name');
      if (!name) continue;
      this.contents.set(name, { creator: c.getAttribute('creator') ?? 'initiator',
        senders: c.getAttribute('senders') ?? 'both' });
    }
  }

  /** The negotiated session, once the first offer/answer is done. */
  _negotiated(remoteSdp, offerXml, answerXml) {
    this._remoteParts = splitSdp(remoteSdp);
    const remoteXml = this.direction === 'outgoing' ? answerXml : offerXml;
    this._bundleTransport = /^a=group:BUNDLE /m.test(remoteSdp) ? children(
      Strophe.xmlHtmlNode(remoteXml).documentElement, 'content')
      .map((c) => child(c, 'transport')).find((t) => t?.getAttribute('ufrag')) ?? null : null;
    this._noteContents(offerXml);
    this._noteContents(answerXml); // the answer's senders are the negotiated ones
    if (this.direction === 'outgoing') {
      this._remoteSetup = setupOf(remoteSdp);
    } else {
      this._remoteSetup = setupOf(this.pc.localDescription.sdp) === 'passive' ? 'active' : 'passive';
    }
    this._mediaChanged();
    if (this.cameraOff) this._enqueue(() => this._syncCamera());
  }

  /** The peer's content-add: its new contents go into the session; content-accept answers. */
  async _onContentAdd(offerXml) {
    const { pc } = this;
    const xml = fillTransports(offerXml, this._bundleTransport);
    const sdp = this.jingle._sdp.jingleToSdp(xml, { type: 'offer', from: this.remoteRole });
    const added = splitSdp(sdp).sections.filter((s) => s.mid !== null);
    this._remoteParts.sections = mergeSections(this._remoteParts.sections, added);
    this._noteContents(xml);
    await pc.setRemoteDescription({ type: 'offer', sdp: this._remoteSdp('offer') });
    const mids = added.map((s) => s.mid);
    const muted = [];
    for (const t of pc.getTransceivers()) {
      if (!mids.includes(t.mid) || t.receiver.track.kind !== 'video') continue;
      // We accept the `senders` offered (Conversations ends the call otherwise), and send
      // our camera only if it is on; if it is off the peer hears so with session-info.
      t.direction = 'sendrecv';
      if (!this.cameraOff && !this.localVideo && !t.sender.track) {
        await t.sender.replaceTrack(await this.localMedia.camera());
      } else {
        muted.push(t.mid);
      }
    }
    await pc.setLocalDescription(await pc.createAnswer());
    const answer = keepContents(this.jingle._sdp.sdpToJingle(pc.localDescription.sdp, {
      action: 'content-accept', sid: this.sid, initiator: this.initiator,
      responder: this.responder, from: this.localRole, creator: this.remoteRole }), mids);
    this._noteContents(answer);
    this.jingle._sendJingle(this.peerFull, answer, (err) => {
      if (err) console.warn('jingle: content-accept refused', err.condition);
    });
    if (muted.length) this._sendMute('video', true, muted);
    await this._afterPeerChange();
  }

  /** The peer's content-accept of our content-add. */
  async _onContentAccept(answerXml) {
    if (!this._pendingAdd) return;
    const xml = fillTransports(answerXml, this._bundleTransport);
    const sdp = this.jingle._sdp.jingleToSdp(xml, { type: 'answer', from: this.remoteRole });
    const added = splitSdp(sdp).sections.filter((s) => s.mid !== null);
    this._remoteParts.sections = mergeSections(this._remoteParts.sections, added);
    this._noteContents(xml);
    this._pendingAdd = null;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: this._remoteSdp('answer') });
    await this._afterPeerChange();
  }

  /**
   * The peer's content-modify: it changes its own sending; we keep deciding ours. `removed`
   * (content-remove): nobody sends on those contents any more.
   */
  async _onContentModify(changes, removed = false) {
    for (const { name, senders } of changes) {
      const c = this.contents.get(name);
      c.senders = removed ? 'none'
        : withSender(c.senders, this.remoteRole, sends(senders, this.remoteRole));
      if (removed) {
        const t = this.pc.getTransceivers().find((x) => x.mid === name);
        if (t?.sender.track) {
          if (t.sender.track.kind === 'video') this.cameraOff = true;
          this.localMedia.release(t.sender.track);
          await t.sender.replaceTrack(null);
        }
        if (t) t.direction = 'inactive';
      }
    }
    await this.pc.setRemoteDescription({ type: 'offer', sdp: this._remoteSdp('offer') });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await this._afterPeerChange();
  }

  // ---------------------------------------------------------------------------------------
  // ICE restarts, as Conversations does them (JingleRtpConnection: checkForIceRestart,
  // initiateIceRestart): the offer is a transport-info with new ufrag/pwd and no candidates,
  // the answer comes as the other side's first candidates with its new ufrag/pwd.

  /** The peer's ICE credentials for `mid` as last signalled (restarts included), or null. */
  _peerCredentials(mid) {
    return this._remoteCreds.get(mid) ?? (this._remoteParts
      ? iceCredentials(this._remoteParts, mid) : null);
  }

  /**
   * The `<transport/>`s of a transport-info whose ufrag/pwd differ from the peer's current
   * ones: [{name, ufrag, pwd}]; empty for plain candidates (or before the session).
   */
  _newCredentials(jingle) {
    const out = [];
    if (!this._remoteParts) return out;
    for (const c of children(jingle, 'content')) {
      const name = c.getAttribute('name');
      const t = child(c, 'transport');
      const ufrag = t?.getAttribute('ufrag');
      const pwd = t?.getAttribute('pwd');
      const now = this._peerCredentials(name);
      if (ufrag && pwd && now && (now.ufrag !== ufrag || now.pwd !== pwd)
        && !this._oldCreds.has(`${ufrag} ${pwd}`)) {
        out.push({ name, ufrag, pwd });
      }
    }
    return out;
  }

  /** Notes new credentials at once, so the transport-infos after them are plain candidates. */
  _noteCredentials(fresh) {
    for (const { name, ufrag, pwd } of fresh) {
      for (const mid of transportMids(this._remoteParts, name)) {
        const old = this._peerCredentials(mid);
        if (old) this._oldCreds.add(`${old.ufrag} ${old.pwd}`);
        this._remoteCreds.set(mid, { ufrag, pwd });
      }
    }
  }

  /** Puts the peer's new credentials into its description (and into content-add stubs). */
  _applyCredentials(fresh) {
    for (const { name, ufrag, pwd } of fresh) {
      this._remoteParts = withIceCredentials(this._remoteParts, name, { ufrag, pwd });
      this._bundleTransport?.setAttribute('ufrag', ufrag);
      this._bundleTransport?.setAttribute('pwd', pwd);
    }
  }

  /** Our ICE credentials as a transport-info without candidates: the restart offer. */
  _credentialsXml() {
    const parts = splitSdp(this.pc.localDescription.sdp);
    const jingle = $build('jingle', { xmlns: NS.JINGLE, action: 'transport-info', sid: this.sid,
      initiator: this.initiator ?? undefined });
    for (const { mid } of parts.sections) {
      const creds = mid !== null && this.contents.has(mid) ? iceCredentials(parts, mid) : null;
      if (!creds) continue;
      jingle.c('content', { creator: this.contents.get(mid).creator, name: mid })
        .c('transport', { xmlns: NS.ICE_UDP, ufrag: creds.ufrag, pwd: creds.pwd }).up().up();
    }
    return Strophe.serialize(jingle.tree());
  }

  /** Our ICE pwd that goes with `ufrag` (current or pending description), or null. */
  _localPwd(ufrag) {
    for (const d of [this.pc?.localDescription, this.pc?.currentLocalDescription]) {
      const parts = splitSdp(d?.sdp ?? '');
      for (const { mid } of parts.sections) {
        const creds = iceCredentials(parts, mid);
        if (creds?.ufrag === ufrag) return creds.pwd;
      }
    }
    return null;
  }

  /** Our ICE restart: a new offer whose credentials go out alone; the peer's come back. */
  async _iceRestart() {
    const { pc } = this;
    if (!pc || !this._remoteParts || this.state === 'ended' || this._restartWait) return;
    if (pc.signalingState !== 'stable') {
      this._retryRestart = true; // our content-add awaits its content-accept
      return;
    }
    this._restartStarted();
    this._canSendCandidates = false; // the peer gets our credentials before our candidates
    await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
    const answered = new Promise((resolve) => { this._restartWait = { resolve }; });
    const err = await this._offerOut(this._credentialsXml(), true);
    if (this.state === 'ended') return;
    if (err) {
      this._restartWait = null;
      await pc.setLocalDescription({ type: 'rollback' });
      // The held candidates of the rolled-back offer are of no use.
      const local = splitSdp(pc.localDescription?.sdp ?? '');
      const ufrags = new Set(local.sections.map((s) => iceCredentials(local, s.mid)?.ufrag));
      this._localCandidates = this._localCandidates.filter((c) => !c.usernameFragment
        || ufrags.has(c.usernameFragment));
      this._flushLocalCandidates();
      if (err.jingle === 'tie-break') this._retryRestart = true; // redone after the peer's change
      else console.warn(`jingle: ICE restart refused: ${err.condition}`);
      this._restartDone();
      return;
    }
    this._flushLocalCandidates();
    // A peer that acknowledges but never answers (Dino): give up, keep the old ICE session.
    const giveUp = setTimeout(() => this._restartWait?.resolve(null), 10000);
    const answer = await answered;
    clearTimeout(giveUp);
    this._restartWait = null;
    this._offering = false;
    if (this.state === 'ended') return;
    if (!answer) {
      // The peer's own restart came instead (we are the responder), or no answer came.
      if (pc.signalingState === 'have-local-offer') {
        await pc.setLocalDescription({ type: 'rollback' });
      }
      this._restartDone();
      return;
    }
    this._applyCredentials(answer.fresh);
    await pc.setRemoteDescription({ type: 'answer', sdp: this._remoteSdp('answer') });
    await this._addRemoteCandidates(answer.list);
    this._restartDone();
  }

  /**
   * The peer's ICE restart: its new credentials as a remote offer; our answer's credentials go
   * with our first candidates, which leave before anything else of ours.
   */
  async _onIceRestart(fresh, list) {
    const { pc } = this;
    this._retryRestart = false;
    this._restartStarted();
    this._applyCredentials(fresh);
    await pc.setRemoteDescription({ type: 'offer', sdp: this._remoteSdp('offer') });
    const answer = await pc.createAnswer();
    const parts = splitSdp(answer.sdp);
    const sent = this._candidateSent(iceCredentials(parts, parts.sections[0]?.mid ?? null)?.ufrag);
    this._credsWithCandidate = true; // every content's, for peers that read them per content
    await pc.setLocalDescription(answer);
    await this._addRemoteCandidates(list);
    await sent;
    this._restartDone();
    await this._afterPeerChange();
  }

  /** Resolves once a candidate of ICE generation `ufrag` (or end-of-candidates) went out. */
  _candidateSent(ufrag) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this._onCandidateSent = null;
        resolve();
      };
      const timer = setTimeout(() => {
        this._credsWithCandidate = false;
        done();
      }, 3000); // none gathered: the restart still goes on
      this._onCandidateSent = (c) => {
        if (!c.candidate || c.usernameFragment === ufrag) done();
      };
    });
  }

  /** A restart began: unless connected within connectTimeoutMs, the call ends. */
  _restartStarted() {
    if (this._restartTimer) return;
    this._restartTimer = setTimeout(() => {
      this._restartTimer = null;
      this._restartWait?.resolve(null);
      if (this.state === 'ended' || this.pc?.connectionState === 'connected') return;
      const text = 'no connection after ICE restart';
      this._terminate('connectivity-error', text);
      this._end({ condition: 'connectivity-error', text }, 'local');
    }, this.jingle.connectTimeoutMs);
  }

  /** The restart is negotiated: done if connected (else the connection state will tell). */
  _restartDone() {
    if (this.pc?.connectionState !== 'connected' || this._restartWait) return;
    clearTimeout(this._restartTimer);
    this._restartTimer = null;
  }

  /**
   * ICE failed or is disconnected in a call that had connected. The initiator restarts at
   * once if failed, after iceRestartAfterMs if still disconnected. The responder leaves it to
   * the initiator (as StanzaJS does: it ends a session on a responder's restart) and restarts
   * only if none came after twice that (Conversations restarts from either side).
   */
  _iceTrouble(failed) {
    if (!this._wasConnected || this._restartTimer) return;
    const after = this.jingle.iceRestartAfterMs;
    if (this.localRole === 'initiator' && failed) this._lostConnection();
    else {
      this._disconnectTimer ??= setTimeout(() => this._lostConnection(),
        this.localRole === 'initiator' ? after : 2 * after);
    }
  }

  /** ICE failed or stayed disconnected after the call had connected: restart it. */
  _lostConnection() {
    clearTimeout(this._disconnectTimer);
    this._disconnectTimer = null;
    if (this.state === 'ended' || !this._wasConnected || this._restartTimer) return;
    this._restartStarted();
    this.restartIce();
  }

  /** Content names (= mids) of our m-lines of one kind. */
  _midsOf(kind, sdp = this.pc?.localDescription?.sdp) {
    const out = [];
    for (const section of (sdp ?? '').split(/\r?\n(?=m=)/).slice(1)) {
      const mid = /^a=mid:(\S+)/m.exec(section)?.[1];
      if (mid && section.startsWith(`m=${kind} `)) out.push(mid);
    }
    return out;
  }

  _sendMute(kind, muted, names = this._midsOf(kind)) {
    if (!this.peerFull || !['connecting', 'active'].includes(this.state)) return;
    for (const name of names) {
      const iq = $iq({ type: 'set', to: this.peerFull })
        .c('jingle', { xmlns: NS.JINGLE, action: 'session-info', sid: this.sid,
          initiator: this.initiator ?? undefined })
        .c(muted ? 'mute' : 'unmute', { xmlns: NS.RTP_INFO, creator: 'initiator', name });
      this.jingle.conn.sendIQ(iq.tree(), null, null, 10000);
    }
  }

  /** An XEP-0167 session-info from the peer: emits 'remotemute' {kind, muted} for mute/unmute. */
  _onSessionInfo(jingle) {
    for (const n of children(jingle)) {
      if (n.nodeName !== 'mute' && n.nodeName !== 'unmute') continue;
      const name = n.getAttribute('name');
      const kind = ['audio', 'video'].find((k) => this._midsOf(k, this.pc?.remoteDescription?.sdp)
        .includes(name)) ?? (name === 'audio' || name === 'video' ? name : null);
      const muted = n.nodeName === 'mute';
      if (kind) this.remoteMuted[kind] = muted;
      this.dispatchEvent(new CustomEvent('remotemute', { detail: { kind, name, muted } }));
    }
  }

  _terminate(condition, text) {
    const jingle = $iq({ type: 'set', to: this.peerFull })
      .c('jingle', { xmlns: NS.JINGLE, action: 'session-terminate', sid: this.sid,
        initiator: this.initiator ?? undefined })
      .c('reason').c(condition).up();
    if (text) jingle.c('text').t(text).up();
    this.jingle.conn.sendIQ(jingle.tree(), null, null, 10000);
  }

  _enqueue(fn) {
    this._chain = this._chain.then(() => (this.state === 'ended' ? null : fn())).catch((e) => {
      console.error('jingle: session failed', e);
      if (this.state !== 'ended') {
        if (this.peerFull) this._terminate('failed-application', String(e.message ?? e));
        this._end({ condition: 'failed-application', text: String(e.message ?? e) }, 'local');
      }
    });
    return this._chain;
  }

  /**
   * Creates the peer connection. `bundle`: the peer takes BUNDLE (`max-bundle`, fewest
   * candidates) or may not (`balanced`: a peer without BUNDLE, e.g. Dino, still connects).
   * `dataChannel`: the initiator opens the files channel before its offer (an XEP-0343
   * content in the same session); the responder gets it from the offer.
   */
  async _createPc({ bundle, dataChannel }) {
    const iceServers = await this.jingle.iceServers();
    if (this.state === 'ended') throw new Error('call ended');
    const pc = new RTCPeerConnection({ bundlePolicy: bundle ? 'max-bundle' : 'balanced',
      ...this.jingle.rtcConfig,
      iceServers: [...iceServers, ...(this.jingle.rtcConfig.iceServers ?? [])] });
    this.pc = pc;
    for (const t of this.localStream?.getTracks() ?? []) pc.addTrack(t, this.localStream);
    if (this.jingle.dataChannel && dataChannel) {
      if (this.direction === 'outgoing') this._setChannel(pc.createDataChannel('files', { ordered: true }));
      else pc.addEventListener('datachannel', (e) => this._setChannel(e.channel));
    }
    pc.addEventListener('icecandidate', (e) => this._onLocalCandidate(e.candidate));
    pc.addEventListener('track', (e) => {
      if (!this.remoteStream.getTracks().includes(e.track)) this.remoteStream.addTrack(e.track);
      this.dispatchEvent(new CustomEvent('track', {
        detail: { track: e.track, streams: e.streams.length ? e.streams : [this.remoteStream] },
      }));
    });
    pc.addEventListener('connectionstatechange', () => {
      if (this.state === 'ended') return;
      if (pc.connectionState === 'connected') {
        this._wasConnected = true;
        this._setState('active');
        this._restartDone();
      }
      if (pc.connectionState === 'failed') {
        if (this._wasConnected) {
          this._iceTrouble(true); // e.g. a network change: restart ICE
          return;
        }
        this._terminate('connectivity-error');
        this._end({ condition: 'connectivity-error', text: 'ICE/DTLS failed' }, 'local');
      }
    });
    pc.addEventListener('iceconnectionstatechange', () => {
      const ice = pc.iceConnectionState;
      if (this.state === 'ended') return;
      if (ice === 'failed' || ice === 'disconnected') this._iceTrouble(ice === 'failed');
      else if (ice === 'connected' || ice === 'completed') {
        clearTimeout(this._disconnectTimer);
        this._disconnectTimer = null;
      }
    });
    return pc;
  }

  _setChannel(channel) {
    const ready = () => {
      if (this.files || this.state === 'ended') return;
      this.files = new FileTransfers(channel);
      this.dispatchEvent(new CustomEvent('files', { detail: { files: this.files } }));
    };
    if (channel.readyState === 'open') ready();
    else channel.addEventListener('open', ready, { once: true });
  }

  _onLocalCandidate(candidate) {
    if (this.state === 'ended') return;
    // null: gathering complete; '' candidate: end of candidates of one generation.
    const c = candidate ?? { candidate: '', sdpMid: null, usernameFragment: null };
    if (!candidate && !this.pc?.localDescription) return;
    if (!this._canSendCandidates) {
      this._localCandidates.push(c);
      return;
    }
    this._sendCandidate(c);
  }

  _sendCandidate(c) {
    const mids = c.sdpMid != null ? [c.sdpMid] : this._mids();
    for (const mid of mids) {
      let xml;
      try {
        xml = this.jingle._sdp.candidateToTransportInfo(c.candidate ?? '', {
          sid: this.sid, initiator: this.initiator, responder: this.responder, mid,
          ufrag: c.usernameFragment ?? undefined,
        });
      } catch (e) {
        console.warn('jingle: candidate not sent', c.candidate, e);
        continue;
      }
      // With the pwd too: Conversations takes new ufrag/pwd with candidates as the answer to
      // its ICE restart.
      const pwd = c.usernameFragment ? this._localPwd(c.usernameFragment) : null;
      if (pwd) xml = withPwd(xml, c.usernameFragment, pwd);
      if (this._credsWithCandidate && c.candidate) {
        this._credsWithCandidate = false;
        xml = withContents(xml, this._credentialsXml());
      }
      this.jingle._sendJingle(this.peerFull, xml, (err) => {
        if (err) console.warn('jingle: transport-info refused', err);
      });
    }
    this._onCandidateSent?.(c);
  }

  _mids() {
    return (this.pc?.localDescription?.sdp.match(/^a=mid:(.+)$/gm) ?? [])
      .map((l) => l.slice(6).trim());
  }

  _flushLocalCandidates() {
    this._canSendCandidates = true;
    for (const c of this._localCandidates.splice(0)) this._sendCandidate(c);
  }

  async _addRemoteCandidates(list) {
    if (!this.pc?.remoteDescription) {
      this._remoteCandidates.push(...list);
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

  async _flushRemoteCandidates() {
    await this._addRemoteCandidates(this._remoteCandidates.splice(0));
  }

  /** Caller, after `proceed`: creates the offer and sends session-initiate. */
  async _initiate() {
    // The peer's features decide BUNDLE and the data channel (clients that do not know
    // XEP-0343 end a session that offers it); unknown features: the safe choice, neither.
    const [features] = await Promise.all([this.jingle.features(this.peerFull),
      this.localMedia.start()]);
    const pc = await this._createPc({ bundle: !!features?.has(NS.BUNDLE_FEATURE),
      dataChannel: !!(features?.has(NS.DTLS_SCTP) || features?.has(NS.DATACHANNEL)) });
    await pc.setLocalDescription(await pc.createOffer());
    if (this.state === 'ended') return;
    const xml = this.jingle._sdp.sdpToJingle(pc.localDescription.sdp, {
      action: 'session-initiate', sid: this.sid, initiator: this.initiator,
      responder: this.responder, from: 'initiator',
    });
    this._initiateXml = xml;
    await new Promise((resolve, reject) => {
      this.jingle._sendJingle(this.peerFull, xml, (err) => (err
        ? reject(new Error(`session-initiate refused: ${err.condition}`)) : resolve()));
      // Candidates may go out once session-initiate is on the wire (stanzas stay in order).
      this._flushLocalCandidates();
    });
  }

  /** Callee: answers a session-initiate (the `<jingle/>` XML) with session-accept. */
  async _answer(offerXml) {
    await this.localMedia.start();
    const sdp = this.jingle._sdp.jingleToSdp(offerXml, { type: 'offer' });
    const pc = this.pc ?? await this._createPc({ bundle: /^a=group:BUNDLE /m.test(sdp),
      dataChannel: true });
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await this._flushRemoteCandidates();
    await pc.setLocalDescription(await pc.createAnswer());
    if (this.state === 'ended') return;
    const xml = this.jingle._sdp.sdpToJingle(pc.localDescription.sdp, {
      action: 'session-accept', sid: this.sid, initiator: this.initiator,
      responder: this.responder, from: 'responder',
    });
    this._setState('connecting');
    this._negotiated(sdp, offerXml, xml);
    this.jingle._sendJingle(this.peerFull, xml, (err) => {
      if (err && this.state !== 'ended') {
        this._end({ condition: 'failed-application', text: `session-accept refused: ${err.condition}` }, 'local');
      }
    });
    this._flushLocalCandidates();
  }

  /** Caller: applies the session-accept. */
  async _accepted(answerXml) {
    const sdp = this.jingle._sdp.jingleToSdp(answerXml, { type: 'answer' });
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    this._negotiated(sdp, this._initiateXml, answerXml);
    await this._flushRemoteCandidates();
    if (this.state !== 'active') this._setState('connecting');
  }

  _end({ condition, text }, by) {
    if (this.state === 'ended') return;
    clearTimeout(this._timer);
    clearTimeout(this._ringTimer);
    clearTimeout(this._restartTimer);
    clearTimeout(this._disconnectTimer);
    this._restartWait?.resolve(null);
    this.endReason = { condition, text: text ?? null, by };
    this.state = 'ended';
    this._proposal?.end({ condition, text }, by);
    this.localMedia.stop();
    try {
      this.pc?.close();
    } catch { /* closing twice is harmless */ }
    this.jingle._forget(this);
    const detail = { reason: condition, text: text ?? null, by };
    this.dispatchEvent(new CustomEvent('state', { detail: { state: 'ended' } }));
    this.dispatchEvent(new CustomEvent('ended', { detail }));
    this.jingle.dispatchEvent(new CustomEvent('state', { detail: { call: this, state: 'ended' } }));
    this.jingle.dispatchEvent(new CustomEvent('ended', { detail: { call: this, ...detail } }));
  }
}

/**
 * The set of Jingle sessions of one Strophe.js connection. Events: 'incoming' (detail: Call),
 * 'state' ({call, state}), 'ended' ({call, reason, text, by}).
 */
export class Jingle extends EventTarget {
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
   */
  constructor(conn, { ringTimeoutMs = 30000, rtcConfig = {}, extdisco = true,
    getUserMedia = (c) => navigator.mediaDevices.getUserMedia(c), carbons = true,
    contacts = null, dataChannel = true, disco = true, connectTimeoutMs = 30000,
    iceRestartAfterMs = 3000 } = {}) {
    super();
    this.dataChannel = dataChannel;
    this.conn = conn;
    this.contacts = contacts;
    // The peer's device went offline (page closed, connection lost): end its calls now
    // rather than waiting for ICE to time out.
    this._unwatch = contacts?.on?.('change', ({ jid }) => {
      for (const call of [...this.calls.values()]) {
        if (call.peer !== jid) continue;
        const gone = call.peerFull ? !contacts.fullJids(jid).includes(call.peerFull)
          : !contacts.isOnline(jid);
        if (gone) call._end({ condition: 'gone', text: `${call.peerFull ?? jid} went offline` }, 'remote');
      }
    });
    this.ringTimeoutMs = ringTimeoutMs;
    this.connectTimeoutMs = connectTimeoutMs;
    this.iceRestartAfterMs = iceRestartAfterMs;
    this.rtcConfig = rtcConfig;
    this.getUserMedia = getUserMedia;
    /** STUN/TURN (XEP-0215) and disco#info (XEP-0030): lib/services.js. */
    this.services = new Services(conn, { extdisco, disco });
    /** sid -> Call, live calls only. */
    this.calls = new Map();
    this._sdp = null;
    this.ready = initSdpMap().then((sdp) => { this._sdp = sdp; });
    this._handlers = [
      addHandler(conn, (s) => this._isJingleIq(s), (s) => this._onJingleIq(s)),
    ];
    /** XEP-0353 proposals (lib/jmi.js). */
    this.jmi = new Jmi(conn, { carbons });
    this.jmi.addEventListener('proposal', ({ detail }) => this._onProposal(detail));
  }

  /** Removes the handlers and ends every call. */
  stop() {
    for (const call of [...this.calls.values()]) call.hangup('gone');
    this._unwatch?.();
    for (const h of this._handlers) this.conn.deleteHandler(h);
    this._handlers = [];
    this.jmi.stop();
    this.services.stop();
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

  /** True while any call is live (we then answer proposals with `busy`). */
  get busy() {
    return [...this.calls.values()].some((c) => c.live);
  }

  _forget(call) {
    this.calls.delete(call.sid);
  }

  /**
   * Calls a bare JID: sends a JMI `propose` to all its devices. Resolves to the Call (state
   * 'proposing'); it ends with 'timeout' after ringTimeoutMs without an answer.
   */
  async call(jid, { audio = true, video = true } = {}) {
    await this.ready;
    const peer = Strophe.getBareJidFromJid(jid);
    const media = { audio, video };
    if (this.contacts && !this.contacts.isOnline(peer)) {
      const call = new Call(this, { sid: randomId(), peer, direction: 'outgoing', media });
      this.calls.set(call.sid, call);
      this.dispatchEvent(new CustomEvent('state', { detail: { call, state: call.state } }));
      // Ended once the caller has had the chance to add listeners.
      setTimeout(() => call._end({ condition: 'gone', text: `${peer} is offline` }, 'local'), 0);
      return call;
    }
    const proposal = this.jmi.propose(peer, media);
    const call = new Call(this, { sid: proposal.id, peer, direction: 'outgoing', media, proposal });
    this.calls.set(call.sid, call);
    this.dispatchEvent(new CustomEvent('state', { detail: { call, state: call.state } }));
    return call;
  }

  /** Sends a `<jingle/>` (XML text) in an IQ set; `done(null)` on result, `done(error)`. */
  _sendJingle(to, xml, done) {
    const doc = Strophe.xmlHtmlNode(xml);
    const iq = $iq({ type: 'set', to }).cnode(doc.documentElement);
    this.conn.sendIQ(iq.tree(), () => done?.(null), (el) => {
      const err = el ? child(el, 'error') : null;
      const conditions = err ? children(err).filter((n) => n.nodeName !== 'text') : [];
      const condition = conditions.find((n) => n.namespaceURI !== NS.JINGLE_ERRORS)?.nodeName
        ?? (err ? 'error' : 'timeout');
      const jingle = conditions.find((n) => n.namespaceURI === NS.JINGLE_ERRORS)?.nodeName ?? null;
      done?.({ condition, jingle, stanza: el });
    }, 10000);
  }

  /** A JMI proposal: it rings, unless we are busy. */
  _onProposal(p) {
    if (this.busy) {
      p.reject('busy');
      return;
    }
    const call = new Call(this, { sid: p.id, peer: p.peerFull, direction: 'incoming',
      media: p.media, proposal: p });
    this.calls.set(call.sid, call);
    p.ring();
    this.dispatchEvent(new CustomEvent('incoming', { detail: call }));
  }

  // ---------------------------------------------------------------------------------------
  // XEP-0166 IQs: every Jingle IQ set gets a result or an error from here.

  _isJingleIq(s) {
    return s.nodeName === 'iq' && s.getAttribute('type') === 'set' && !!child(s, 'jingle', NS.JINGLE);
  }

  _reply(iq, error) {
    const reply = $iq({ type: error ? 'error' : 'result', id: iq.getAttribute('id') ?? '',
      to: iq.getAttribute('from') ?? undefined });
    if (error) {
      reply.c('error', { type: error.type ?? 'cancel' }).c(error.condition, { xmlns: NS.STANZAS }).up();
      if (error.jingle) reply.c(error.jingle, { xmlns: NS.JINGLE_ERRORS }).up();
    }
    this.conn.send(reply.tree());
  }

  _onJingleIq(iq) {
    const from = iq.getAttribute('from');
    const jingle = child(iq, 'jingle', NS.JINGLE);
    const action = jingle.getAttribute('action');
    const sid = jingle.getAttribute('sid');
    if (!this._sdp) {
      // The translator (wasm) is still loading: handle this IQ, in order, once it is there.
      this._early = (this._early ?? this.ready).then(() => this._onJingleIq(iq));
      return;
    }
    if (!from || !action || !sid) {
      this._reply(iq, { condition: 'bad-request', type: 'modify' });
      return;
    }
    const call = this.calls.get(sid);
    if (action === 'session-initiate' && !call) {
      this._onDirectInitiate(iq, jingle, from, sid);
      return;
    }
    if (!call || call.peer !== Strophe.getBareJidFromJid(from)
      || (call.peerFull && call.peerFull !== from)) {
      this._reply(iq, { condition: 'item-not-found', jingle: 'unknown-session' });
      return;
    }
    const xml = Strophe.serialize(jingle);
    switch (action) {
      case 'session-initiate':
        if (call.direction !== 'incoming' || call.state !== 'proceeding' || call._sessionSeen) {
          this._reply(iq, { condition: 'unexpected-request', type: 'wait', jingle: 'out-of-order' });
          return;
        }
        if (!this._parses(iq, () => this._sdp.jingleToSdp(xml, { type: 'offer' }))) return;
        call._sessionSeen = true;
        call.peerFull = from;
        this._reply(iq);
        call._enqueue(() => call._answer(xml));
        break;
      case 'session-accept':
        if (call.direction !== 'outgoing' || !call.pc || call._accepted_) {
          this._reply(iq, { condition: 'unexpected-request', type: 'wait', jingle: 'out-of-order' });
          return;
        }
        if (!this._parses(iq, () => this._sdp.jingleToSdp(xml, { type: 'answer' }))) return;
        call._accepted_ = true;
        this._reply(iq);
        call._enqueue(() => call._accepted(xml));
        break;
      case 'transport-info': {
        let list;
        try {
          list = this._sdp.transportInfoToCandidates(xml);
        } catch (e) {
          this._reply(iq, { condition: 'bad-request', type: 'modify' });
          return;
        }
        const fresh = call._newCredentials(jingle);
        if (!fresh.length) {
          this._reply(iq);
          call._enqueue(() => call._addRemoteCandidates(list));
          break;
        }
        // New ICE credentials: an ICE restart. While ours awaits an answer, credentials with
        // candidates (Conversations, us) or with an answer's DTLS setup (StanzaJS) are the
        // answer; else (no candidates, as Conversations offers) they are the peer's offer.
        if (call._restartWait && (list.some((c) => c.candidate) || answersSetup(jingle))) {
          this._reply(iq);
          call._noteCredentials(fresh);
          call._restartWait.resolve({ fresh, list });
          break;
        }
        if (call._offering && call.localRole === 'initiator') {
          // Both renegotiate at once: ours (the initiator's) wins, as for content-modify.
          this._reply(iq, { condition: 'conflict', type: 'cancel', jingle: 'tie-break' });
          break;
        }
        this._reply(iq);
        call._noteCredentials(fresh);
        call._restartWait?.resolve(null); // we are the responder: the peer's restart wins
        call._enqueue(() => call._onIceRestart(fresh, list));
        break;
      }
      case 'session-terminate': {
        this._reply(iq);
        const reason = readReason(jingle);
        call._end({ condition: reason?.condition ?? 'success', text: reason?.text }, 'remote');
        break;
      }
      case 'session-info':
        // XEP-0167 §7 informational messages (ringing, mute, hold, ...); mute/unmute are
        // passed on as 'remotemute' events.
        this._reply(iq);
        call._enqueue(() => call._onSessionInfo(jingle)); // after a content-accept before it
        break;
      case 'content-add':
      case 'content-modify':
      case 'content-remove':
        this._onChangeRequest(iq, call, action, jingle, xml);
        break;
      case 'content-accept':
      case 'content-reject':
        if (!call._pendingAdd) {
          this._reply(iq, { condition: 'unexpected-request', type: 'wait', jingle: 'out-of-order' });
          return;
        }
        if (action === 'content-accept'
          && !this._parses(iq, () => this._sdp.jingleToSdp(xml, { type: 'answer' }))) return;
        call._offering = false;
        this._reply(iq);
        call._enqueue(() => (action === 'content-accept' ? call._onContentAccept(xml)
          : call._abandonAdd({ condition: 'content-reject', jingle: null }, 'content-add')));
        break;
      default:
        // content-remove, transport-replace, ... are not supported.
        this._reply(iq, { condition: 'feature-not-implemented', jingle: 'unsupported-info' });
        break;
    }
  }

  /** The peer's content-add or content-modify: checked here, applied in order by the call. */
  _onChangeRequest(iq, call, action, jingle, xml) {
    if (!call._remoteParts) {
      this._reply(iq, { condition: 'unexpected-request', type: 'wait', jingle: 'out-of-order' });
      return;
    }
    const contents = children(jingle, 'content').map((c) => ({ name: c.getAttribute('name'),
      senders: c.getAttribute('senders') ?? 'both' }));
    const known = (c) => call.contents.has(c.name);
    const valid = contents.length > 0 && contents.every((c) => c.name
      && ['both', 'initiator', 'responder', 'none'].includes(c.senders))
      && (action === 'content-add' ? !contents.some(known) : contents.every(known));
    if (!valid || (action === 'content-add'
      && !this._parses(iq, () => this._sdp.jingleToSdp(xml, { type: 'offer' })))) {
      if (valid) return; // _parses answered
      this._reply(iq, { condition: 'bad-request', type: 'modify' });
      return;
    }
    if (call._offering && call.localRole === 'initiator') {
      // Both changed at once: ours (the initiator's) wins; the peer redoes its change.
      this._reply(iq, { condition: 'conflict', type: 'cancel', jingle: 'tie-break' });
      return;
    }
    this._reply(iq);
    if (action === 'content-add') call._enqueue(() => call._onContentAdd(xml));
    // A removed content stays in the SDP (m-lines are never taken out) but carries nothing.
    else if (action === 'content-remove') {
      call._enqueue(() => call._onContentModify(contents.map((c) => ({ ...c, senders: 'none' })),
        true));
    } else call._enqueue(() => call._onContentModify(contents));
  }

  /** Runs a translation to check a stanza; answers `bad-request` and returns false if it throws. */
  _parses(iq, fn) {
    try {
      fn();
      return true;
    } catch (e) {
      console.warn('jingle: malformed Jingle', e.message);
      this._reply(iq, { condition: 'bad-request', type: 'modify' });
      return false;
    }
  }

  /** A session-initiate without JMI (older clients): it rings like a proposal. */
  _onDirectInitiate(iq, jingle, from, sid) {
    const xml = Strophe.serialize(jingle);
    if (!child(jingle, 'content')) {
      this._reply(iq, { condition: 'bad-request', type: 'modify' });
      return;
    }
    let sdp;
    try {
      sdp = this._sdp.jingleToSdp(xml, { type: 'offer' });
    } catch (e) {
      this._reply(iq, { condition: 'bad-request', type: 'modify' });
      return;
    }
    this._reply(iq);
    if (this.busy) {
      const call = new Call(this, { sid, peer: from, direction: 'incoming', media: {} });
      call._terminate('busy');
      return;
    }
    const media = { audio: /^m=audio /m.test(sdp), video: /^m=video /m.test(sdp) };
    const call = new Call(this, { sid, peer: from, direction: 'incoming', media,
      proposal: this.jmi.forSession(sid, from, 'incoming') });
    call._offer = xml;
    call._sessionSeen = true;
    this.calls.set(sid, call);
    this.dispatchEvent(new CustomEvent('incoming', { detail: call }));
  }
}
