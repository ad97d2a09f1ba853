// ICE restarts in a Jingle session, as Conversations does them (JingleRtpConnection:
// checkForIceRestart, initiateIceRestart): the restarting side sends a transport-info with its
// new ICE credentials (ufrag/pwd) for every content and no candidates (the offer); the other
// side acknowledges, takes them as a remote offer, and its own new credentials go with its
// first candidates (the answer; StanzaJS answers with them alone, and an answer's DTLS setup).
// Both at once (or a restart against a pending content-modify/content-add): the initiator's
// wins, the responder gets `conflict` + `<tie-break/>` and redoes its restart afterwards.
//
// Two parts: RestartPolicy decides when (timers only, no WebRTC: testable alone), IceRestart
// does it for one session (lib/session.js), through the narrow `port` the session gives it.

import { Strophe, $build } from 'strophe.js';
import { NS, children, child, parseXml } from './xml.js';
import { splitSdp, iceCredentials } from './sdp-sections.js';

/** The errors it answers (as in lib/session.js ERRORS). */
const TIE_BREAK = { condition: 'conflict', type: 'cancel', jingle: 'tie-break' };
const RATE_LIMITED = { condition: 'resource-constraint', type: 'wait' };

/**
 * When to restart ICE, and when to give up. After the connection had connected: the initiator
 * restarts at once when ICE fails, or when it stays disconnected for `restartAfterMs()`; the
 * responder leaves it to the initiator (StanzaJS ends a session on a responder's restart) and
 * restarts only if still disconnected or failed after twice that (Conversations restarts from
 * either side). A restart that does not connect within `connectTimeoutMs()` gives up.
 *
 *   const policy = new RestartPolicy({ role: 'initiator', restartAfterMs: () => 3000,
 *     connectTimeoutMs: () => 30000, restart: () => ..., giveUp: () => ... });
 *   policy.connected(); policy.trouble(true); policy.started(); policy.done(true);
 */
export class RestartPolicy {
  #opts;
  #wasConnected = false;
  #disconnectTimer = null;
  #restartTimer = null;

  /**
   * @param {object} opts
   * @param {'initiator'|'responder'} opts.role our role in the session
   * @param {() => number} opts.restartAfterMs how long a disconnection may last (read each time)
   * @param {() => number} opts.connectTimeoutMs how long a restart may take to connect
   * @param {() => void} opts.restart restart now
   * @param {() => void} opts.giveUp the restart brought nothing back in time
   */
  constructor(opts) {
    this.#opts = opts;
  }

  /** True while a restart is under way (started, not yet done). */
  get restarting() {
    return this.#restartTimer !== null;
  }

  /** True once the connection had connected. */
  get wasConnected() {
    return this.#wasConnected;
  }

  /** The connection is up: restarts become possible; a pending disconnect wait is over. */
  connected() {
    this.#wasConnected = true;
    this.recovered();
  }

  /** ICE is connected (again) before the wait ran out. */
  recovered() {
    clearTimeout(this.#disconnectTimer);
    this.#disconnectTimer = null;
  }

  /** ICE failed (`failed`) or is disconnected. */
  trouble(failed) {
    if (!this.#wasConnected || this.restarting) return;
    const after = this.#opts.restartAfterMs();
    if (this.#opts.role === 'initiator' && failed) this.#lost();
    else {
      this.#disconnectTimer ??= setTimeout(() => this.#lost(),
        this.#opts.role === 'initiator' ? after : 2 * after);
    }
  }

  #lost() {
    this.recovered();
    if (!this.#wasConnected || this.restarting) return;
    this.started();
    this.#opts.restart();
  }

  /** A restart began (ours or the peer's): unless done() in time, give up. */
  started() {
    if (this.#restartTimer) return;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      this.#opts.giveUp();
    }, this.#opts.connectTimeoutMs());
  }

  /** The restart is negotiated; it is over if `connected` (else the connection will tell). */
  done(connected) {
    if (!connected) return;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
  }

  /** Stops every timer (the session ended). */
  stop() {
    this.recovered();
    clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
  }
}

/** True if a `<transport/>` of `jingle` has a DTLS fingerprint with an answer's setup. */
function answersSetup(jingle) {
  return children(jingle, 'content').some((c) => children(child(c, 'transport'), 'fingerprint')
    .some((f) => ['active', 'passive'].includes(f.getAttribute('setup'))));
}

/** Jingle XML `xml` with the `<content/>`s of `extra` (XML) whose names it lacks. */
function withContents(xml, extra) {
  const jingle = parseXml(xml);
  const names = children(jingle, 'content').map((c) => c.getAttribute('name'));
  for (const c of children(parseXml(extra), 'content')) {
    if (!names.includes(c.getAttribute('name'))) {
      jingle.appendChild(jingle.ownerDocument.importNode(c, true));
    }
  }
  return Strophe.serialize(jingle);
}

/** Our ICE pwd that goes with `ufrag` in `pc`'s current or pending description, or null. */
export function localPwd(pc, ufrag) {
  for (const d of [pc?.localDescription, pc?.currentLocalDescription]) {
    const parts = splitSdp(d?.sdp ?? '');
    for (const { mid } of parts.sections) {
      const creds = iceCredentials(parts, mid);
      if (creds?.ufrag === ufrag) return creds.pwd;
    }
  }
  return null;
}

/**
 * Our ICE credentials in `sdp` (our description) as a transport-info without candidates: the
 * restart offer, one `<content/>` per negotiated content.
 */
export function credentialsXml(sdp, contents, { sid, initiator }) {
  const parts = splitSdp(sdp);
  const jingle = $build('jingle', { xmlns: NS.JINGLE, action: 'transport-info', sid,
    initiator: initiator ?? undefined });
  for (const { mid } of parts.sections) {
    const creds = mid !== null && contents.has(mid) ? iceCredentials(parts, mid) : null;
    if (!creds) continue;
    jingle.c('content', { creator: contents.get(mid).creator, name: mid })
      .c('transport', { xmlns: NS.ICE_UDP, ufrag: creds.ufrag, pwd: creds.pwd }).up().up();
  }
  return Strophe.serialize(jingle.tree());
}

/**
 * ICE restarts of one session. The session (its public pc, state, role, sid, initiator,
 * contents) gives a `port` for what only it may do:
 *   remoteCredentials(mid) -> {ufrag, pwd}|null, transportMids(name) -> mids on that transport,
 *   applyCredentials(fresh), remoteSdp(type), addRemoteCandidates(list),
 *   offer(xml) -> Promise<error|null> (stays "offering" until settle()), settle(), offering(),
 *   holdCandidates(), releaseCandidates(keep(candidate)), enqueue(fn), afterPeerChange(),
 *   terminate(condition, text), allowRestart() (false: over the rate of the peer's restarts),
 *   settings ({connectTimeoutMs, iceRestartAfterMs}).
 */
export class IceRestart {
  #session;
  #port;
  #policy;
  #remoteCreds = new Map(); // mid -> the peer's ICE {ufrag, pwd} as last signalled
  #oldCreds = new Set(); // 'ufrag pwd' the peer replaced: late candidates, no restart
  #wait = null; // {resolve}: our restart awaits the peer's credentials
  #retry = false; // our restart lost a tie-break or had to wait
  #onCandidateSent = null;
  #credsWithCandidate = false; // our restart answer: the first candidate carries them all

  constructor(session, port) {
    this.#session = session;
    this.#port = port;
    this.#policy = new RestartPolicy({
      role: session.role,
      restartAfterMs: () => port.settings.iceRestartAfterMs,
      connectTimeoutMs: () => port.settings.connectTimeoutMs,
      restart: () => session.restartIce(),
      giveUp: () => {
        this.#wait?.resolve(null);
        if (session.state === 'ended' || session.pc?.connectionState === 'connected') return;
        port.terminate('connectivity-error', 'no connection after ICE restart');
      },
    });
  }

  /** True while our restart awaits the peer, or is to be redone after the peer's change. */
  get pending() {
    return this.#wait !== null || this.#retry;
  }

  /** The connection state of the session's peer connection changed. */
  connectionState(state) {
    if (state === 'connected') {
      this.#policy.connected();
      this.#done();
    }
  }

  /** True once connected: a failure then restarts ICE instead of ending the session. */
  get wasConnected() {
    return this.#policy.wasConnected;
  }

  /** The ICE connection state changed (failed/disconnected: restart if it lasts). */
  iceState(state) {
    if (state === 'failed' || state === 'disconnected') this.#policy.trouble(state === 'failed');
    else if (state === 'connected' || state === 'completed') this.#policy.recovered();
  }

  /** The session ended. */
  stop() {
    this.#policy.stop();
    this.#wait?.resolve(null);
  }

  /**
   * A transport-info of the peer (its candidates as `list`). Plain candidates: returns
   * `{candidates: true}` for the session to add them. New credentials: the answer to our
   * restart, or the peer's restart (queued), or a tie-break error to answer.
   */
  transportInfo(jingle, list) {
    const fresh = this.#newCredentials(jingle);
    if (!fresh.length) return { candidates: true };
    // While ours awaits an answer, credentials with candidates (Conversations, us) or with an
    // answer's DTLS setup (StanzaJS) are the answer; else (no candidates, as Conversations
    // offers) they are the peer's offer.
    if (this.#wait && (list.some((c) => c.candidate) || answersSetup(jingle))) {
      this.#note(fresh);
      this.#wait.resolve({ fresh, list });
      return {};
    }
    // Both renegotiate at once: ours (the initiator's) wins, as for content-modify.
    if (this.#port.offering() && this.#session.role === 'initiator') return { error: TIE_BREAK };
    // A restart costs a new ICE session: a peer gets a few a minute, then waits.
    if (!this.#port.allowRestart()) return { error: RATE_LIMITED };
    this.#note(fresh);
    this.#wait?.resolve(null); // we are the responder: the peer's restart wins
    this.#port.enqueue(() => this.#onPeerRestart(fresh, list));
    return {};
  }

  /** Redoes our restart if it lost a tie-break (after the peer's change is applied). */
  async redo() {
    if (!this.#retry) return;
    this.#retry = false;
    await this.restart();
  }

  /**
   * A candidate of ours goes out as `xml` (a transport-info): the first one of our restart
   * answer carries the new credentials of every content. Returns the XML to send.
   */
  outgoing(xml, candidate) {
    if (this.#credsWithCandidate && candidate.candidate) {
      this.#credsWithCandidate = false;
      return withContents(xml, this.#credentialsXml());
    }
    return xml;
  }

  /** A candidate of ours went out (or end-of-candidates). */
  sent(candidate) {
    this.#onCandidateSent?.(candidate);
  }

  /** Our restart: a new offer whose credentials go out alone; the peer's come back. */
  async restart() {
    const session = this.#session;
    const port = this.#port;
    const { pc } = session;
    if (!pc || session.state === 'ended' || this.#wait) return;
    if (pc.signalingState !== 'stable') {
      this.#retry = true; // our content-add awaits its content-accept
      return;
    }
    this.#policy.started();
    port.holdCandidates(); // the peer gets our credentials before our candidates
    await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
    const answered = new Promise((resolve) => { this.#wait = { resolve }; });
    const err = await port.offer(this.#credentialsXml());
    if (session.state === 'ended') return;
    if (err) {
      this.#wait = null;
      await pc.setLocalDescription({ type: 'rollback' });
      // The held candidates of the rolled-back offer are of no use.
      const local = splitSdp(pc.localDescription?.sdp ?? '');
      const ufrags = new Set(local.sections.map((s) => iceCredentials(local, s.mid)?.ufrag));
      port.releaseCandidates((c) => !c.usernameFragment || ufrags.has(c.usernameFragment));
      if (err.jingle === 'tie-break') this.#retry = true; // redone after the peer's change
      else console.warn(`jingle: ICE restart refused: ${err.condition}`);
      this.#done();
      return;
    }
    port.releaseCandidates(() => true);
    // A peer that acknowledges but never answers (Dino): give up, keep the old ICE session.
    const giveUp = setTimeout(() => this.#wait?.resolve(null), 10000);
    const answer = await answered;
    clearTimeout(giveUp);
    this.#wait = null;
    port.settle();
    if (session.state === 'ended') return;
    if (!answer) {
      // The peer's own restart came instead (we are the responder), or no answer came.
      if (pc.signalingState === 'have-local-offer') {
        await pc.setLocalDescription({ type: 'rollback' });
      }
      this.#done();
      return;
    }
    port.applyCredentials(answer.fresh);
    await pc.setRemoteDescription({ type: 'answer', sdp: port.remoteSdp('answer') });
    await port.addRemoteCandidates(answer.list);
    this.#done();
  }

  /**
   * The peer's restart: its new credentials as a remote offer; our answer's credentials go
   * with our first candidates, which leave before anything else of ours.
   */
  async #onPeerRestart(fresh, list) {
    const { pc } = this.#session;
    const port = this.#port;
    this.#retry = false;
    this.#policy.started();
    port.applyCredentials(fresh);
    await pc.setRemoteDescription({ type: 'offer', sdp: port.remoteSdp('offer') });
    const answer = await pc.createAnswer();
    const parts = splitSdp(answer.sdp);
    const sent = this.#candidateSent(iceCredentials(parts, parts.sections[0]?.mid ?? null)?.ufrag);
    this.#credsWithCandidate = true; // every content's, for peers that read them per content
    await pc.setLocalDescription(answer);
    await port.addRemoteCandidates(list);
    await sent;
    this.#done();
    await port.afterPeerChange();
  }

  /** The restart is negotiated: over if connected (else the connection state will tell). */
  #done() {
    if (this.#wait) return;
    this.#policy.done(this.#session.pc?.connectionState === 'connected');
  }

  /** Resolves once a candidate of ICE generation `ufrag` (or end-of-candidates) went out. */
  #candidateSent(ufrag) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#onCandidateSent = null;
        resolve();
      };
      const timer = setTimeout(() => {
        this.#credsWithCandidate = false;
        done();
      }, 3000); // none gathered: the restart still goes on
      this.#onCandidateSent = (c) => {
        if (!c.candidate || c.usernameFragment === ufrag) done();
      };
    });
  }

  #credentialsXml() {
    const s = this.#session;
    return credentialsXml(s.pc.localDescription.sdp, s.contents, { sid: s.sid,
      initiator: s.initiator });
  }

  /** The peer's ICE credentials for `mid` as last signalled (restarts included), or null. */
  #peerCredentials(mid) {
    return this.#remoteCreds.get(mid) ?? this.#port.remoteCredentials(mid);
  }

  /**
   * The `<transport/>`s of a transport-info whose ufrag/pwd differ from the peer's current
   * ones: [{name, ufrag, pwd}]; empty for plain candidates (or before the session).
   */
  #newCredentials(jingle) {
    const out = [];
    for (const c of children(jingle, 'content')) {
      const name = c.getAttribute('name');
      const t = child(c, 'transport');
      const ufrag = t?.getAttribute('ufrag');
      const pwd = t?.getAttribute('pwd');
      const now = this.#peerCredentials(name);
      if (ufrag && pwd && now && (now.ufrag !== ufrag || now.pwd !== pwd)
        && !this.#oldCreds.has(`${ufrag} ${pwd}`)) {
        out.push({ name, ufrag, pwd });
      }
    }
    return out;
  }

  /** Notes new credentials at once, so the transport-infos after them are plain candidates. */
  #note(fresh) {
    for (const { name, ufrag, pwd } of fresh) {
      for (const mid of this.#port.transportMids(name)) {
        const old = this.#peerCredentials(mid);
        if (old) this.#oldCreds.add(`${old.ufrag} ${old.pwd}`);
        this.#remoteCreds.set(mid, { ufrag, pwd });
      }
    }
  }
}
