// A minimal XEP-0521 participant written straight against the wire (Strophe.js + sdp-map),
// without the plugin: it enters the MUC room, sends its audio+video to ROOM@focus.HOST in a
// session-initiate (senders='initiator'), and accepts every session the focus opens toward
// it. Browser module; tests import it into a logged-in demo page:
//
//   const j = await page.evaluate(async (room) => {
//     const { WireJoiner } = await import('/test/lib/wire-joiner.js');
//     window.joiner = new WireJoiner(window.demo.conn, room, 'alice');
//     await window.joiner.join();
//   }, 'room1');
import { Strophe, $iq, $pres } from 'strophe.js';
import { initSdpMap } from '../../sdp-map.js';

const NS_JINGLE = 'urn:xmpp:jingle:1';
const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_COIN = 'urn:xmpp:coin:1';

const randomSid = () => crypto.randomUUID().replaceAll('-', '');

function sendIq(conn, iq) {
  return new Promise((resolve, reject) => {
    conn.sendIQ(iq, resolve, (err) => reject(new Error(err ? Strophe.serialize(err) : 'IQ timeout')), 15000);
  });
}

/** Resolves once ICE gathering is complete (no trickle in this minimal joiner). */
function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
  });
}

export class WireJoiner {
  /**
   * @param conn a connected Strophe connection
   * @param room the room's local part; the MUC is conference.DOMAIN, the focus focus.DOMAIN
   */
  constructor(conn, room, nick, { mucService, focusDomain } = {}) {
    const domain = Strophe.getDomainFromJid(conn.jid);
    this.conn = conn;
    this.nick = nick;
    this.muc = `${room}@${mucService ?? `conference.${domain}`}`;
    this.focus = `${room}@${focusDomain ?? `focus.${domain}`}`;
    this.sid = randomSid();
    /** Incoming sessions by sid: {pc, user (xmpp: URI of whose media), state}. */
    this.incoming = new Map();
    this.errors = [];
    /** When (Date.now()) the session with each user's media was terminated by the focus. */
    this.gone = {};
    this.handler = conn.addHandler((iq) => { this.onIq(iq); return true; }, NS_JINGLE, 'iq', 'set');
  }

  /** Enters the MUC room; resolves on our own presence (status 110). */
  enterRoom() {
    return new Promise((resolve, reject) => {
      const ref = this.conn.addHandler((p) => {
        const from = p.getAttribute('from');
        if (Strophe.getBareJidFromJid(from) !== this.muc) return true;
        if (p.getAttribute('type') === 'error') { reject(new Error(Strophe.serialize(p))); return false; }
        if (p.querySelector('status[code="110"]')) { resolve(); return false; }
        return true;
      }, null, 'presence');
      this.conn.send($pres({ to: `${this.muc}/${this.nick}` }).c('x', { xmlns: NS_MUC }));
      this.enterRef = ref;
    });
  }

  /**
   * Sends our media to the focus; resolves once the focus accepted the session. With
   * `simulcast`, video goes out in three layers (rid q, h, f: a quarter, half and full size).
   */
  async join({ simulcast = false } = {}) {
    this.sdp = await initSdpMap();
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: true, video: simulcast ? { width: 1280, height: 720 } : true,
    });
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    for (const track of this.stream.getTracks()) {
      const init = { direction: 'sendonly', streams: [this.stream] };
      if (simulcast && track.kind === 'video') {
        init.sendEncodings = [
          { rid: 'q', scaleResolutionDownBy: 4 },
          { rid: 'h', scaleResolutionDownBy: 2 },
          { rid: 'f' },
        ];
      }
      pc.addTransceiver(track, init);
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const xml = this.sdp.sdpToJingle(pc.localDescription.sdp, {
      action: 'session-initiate', sid: this.sid, initiator: this.conn.jid, responder: this.focus,
    });
    this.accepted = new Promise((resolve) => { this.onAccepted = resolve; });
    await sendIq(this.conn, $iq({ type: 'set', to: this.focus }).cnode(Strophe.xmlHtmlNode(xml).documentElement));
    await this.accepted;
  }

  onIq(iq) {
    const jingle = iq.getElementsByTagNameNS(NS_JINGLE, 'jingle')[0];
    if (!jingle || Strophe.getBareJidFromJid(iq.getAttribute('from')) !== this.focus) return;
    const ack = () => this.conn.send($iq({ type: 'result', to: iq.getAttribute('from'), id: iq.getAttribute('id') }));
    const action = jingle.getAttribute('action');
    const sid = jingle.getAttribute('sid');
    const xml = Strophe.serialize(jingle);
    ack();
    (async () => {
      if (action === 'session-accept' && sid === this.sid) {
        const answer = this.sdp.jingleToSdp(xml, { type: 'answer', from: 'responder' });
        await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
        this.onAccepted();
      } else if (action === 'session-initiate') {
        const user = jingle.getElementsByTagNameNS(NS_COIN, 'user')[0]?.getAttribute('entity');
        const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
        const session = { pc, user, state: 'pending' };
        // Chromium decodes remote audio only for a sink: play each stream in an element.
        pc.addEventListener('track', ({ streams }) => {
          if (session.element) return;
          session.element = document.createElement('video');
          Object.assign(session.element, { autoplay: true, muted: false, srcObject: streams[0] });
          document.body.append(session.element);
        });
        this.incoming.set(sid, session);
        const offer = this.sdp.jingleToSdp(xml, { type: 'offer', from: 'initiator' });
        await pc.setRemoteDescription({ type: 'offer', sdp: offer });
        await pc.setLocalDescription(await pc.createAnswer());
        await gathered(pc);
        const answer = this.sdp.sdpToJingle(pc.localDescription.sdp, {
          action: 'session-accept', sid, initiator: this.focus, responder: this.conn.jid, from: 'responder',
        });
        await sendIq(this.conn, $iq({ type: 'set', to: this.focus }).cnode(Strophe.xmlHtmlNode(answer).documentElement));
        session.state = 'active';
      } else if (action === 'session-terminate') {
        const session = this.incoming.get(sid);
        if (session) this.gone[session.user] = Date.now();
        session?.pc.close();
        session?.element?.remove();
        this.incoming.delete(sid);
        if (sid === this.sid) this.pc?.close();
      }
    })().catch((e) => this.errors.push(`${action}: ${e.message}`));
  }

  /**
   * Decoded video frames, the last decoded frame height and received audio samples, per
   * incoming session's user.
   */
  async received() {
    const out = {};
    for (const { pc, user } of this.incoming.values()) {
      let frames = 0;
      let samples = 0;
      let height = 0;
      for (const s of (await pc.getStats()).values()) {
        if (s.type !== 'inbound-rtp') continue;
        if (s.kind === 'video') {
          frames += s.framesDecoded ?? 0;
          height = s.frameHeight ?? height;
        }
        if (s.kind === 'audio') samples += s.totalSamplesReceived ?? 0;
      }
      out[user] = { frames, samples, height };
    }
    return out;
  }

  /** Asks the focus for video no taller than `maxHeight` on the session with `user`'s media. */
  async constrain(user, maxHeight) {
    const [sid] = [...this.incoming].find(([, s]) => s.user === user) ?? [];
    if (!sid) throw new Error(`no session with ${user}`);
    const iq = $iq({ type: 'set', to: this.focus })
      .c('jingle', { xmlns: NS_JINGLE, action: 'session-info', sid, initiator: this.focus })
      .c('video-constraints', { xmlns: 'urn:xmpp:jingle-focus:conference:0', 'max-height': maxHeight });
    await sendIq(this.conn, iq);
  }

  /** Stops every peer connection without a word to anyone, as a page that hangs would. */
  vanish() {
    this.pc.close();
    for (const s of this.incoming.values()) s.pc.close();
  }

  /** Leaves the call (session-terminate) and the room. */
  async leave() {
    const xml = this.sdp.sdpToJingle('', {
      action: 'session-terminate', sid: this.sid, initiator: this.conn.jid, responder: this.focus, reason: 'success',
    });
    await sendIq(this.conn, $iq({ type: 'set', to: this.focus }).cnode(Strophe.xmlHtmlNode(xml).documentElement));
    for (const s of this.incoming.values()) {
      s.pc.close();
      s.element?.remove();
    }
    this.incoming.clear();
    this.pc.close();
    this.conn.send($pres({ to: `${this.muc}/${this.nick}`, type: 'unavailable' }));
  }
}
