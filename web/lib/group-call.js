// A group call (XEP-0521) in a MUC room: one outgoing Jingle session carrying our camera and
// microphone to the room's conference focus (`ROOM@focus.HOST`), and one incoming session per
// other participant, which the focus opens and this call accepts at once, receive-only.
//
//   const call = await jingle.joinRoom('team@conference.example.org', { audio: true, video: true });
//   call.addEventListener('participant', ({ detail: p }) => tile(p.name, p.stream));
//   call.addEventListener('left', ({ detail: p }) => removeTile(p));
//   call.addEventListener('speaker', ({ detail: p }) => highlight(p));
//   call.setMuted(true); call.setCameraOff(true);
//   call.setTileHeight(p, 180);           // the bridge sends a layer that fits
//   call.leave();
//
// What goes over the wire: the MUC join (the focus admits only occupants), a session-initiate
// to the focus with `senders='initiator'` contents (video in three simulcast layers, rid
// q/h/f, when `simulcast`), then for each other participant a session-initiate from the focus
// carrying `<conference-info xmlns='urn:xmpp:coin:1' isfocus='true'><users><user
// entity='xmpp:BARE-JID'><display-text>NICK</display-text></user></users></conference-info>`,
// answered with session-accept. Mute and camera off are XEP-0167 session-info on our session
// (the focus relays them); the tile size we show a participant at goes to the focus as
// session-info `<video-constraints xmlns='urn:xmpp:jingle-focus:conference:0' max-height/>`
// on that participant's session; the focus names the dominant speaker with session-info
// `<dominant-speaker xmlns='urn:xmpp:jingle-focus:conference:0'/>` on that speaker's session.
// Leaving is session-terminate of our session; the focus ends the others.
//
// States: 'joining' (entering the room, offering), 'connecting', 'active' (our media reaches
// the focus), 'ended'.

import { Strophe, $build } from 'strophe.js';
import { NS, children, child } from './xml.js';
import { LocalMedia } from './local-media.js';
import { MucRoom } from './muc.js';

const NS_COIN = 'urn:xmpp:coin:1';
export const NS_CONFERENCE = 'urn:xmpp:jingle-focus:conference:0';

/** Simulcast layers, as a quarter, half and all of the camera's size (rid q, h, f). */
export const SIMULCAST = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', maxBitrate: 1_500_000 },
];

/**
 * A remote participant: `jid` (bare, from the focus's conference-info), `name` (the MUC nick
 * the focus gives, else the JID's local part), `stream` (its audio and video), `muted`
 * ({audio, video}), `speaking` (the dominant speaker), `session` (the Jingle session).
 */
export class Participant {
  constructor(session, { jid, name }) {
    this.session = session;
    this.jid = jid;
    this.name = name;
    this.stream = session.remoteStream;
    this.muted = { audio: false, video: false };
    this.speaking = false;
    /** The last tile height asked for, to ask again only when it changes. */
    this.tileHeight = null;
  }
}

/** The `{jid, name}` a focus's conference-info names, or null if it names nobody. */
function userOf(jingle) {
  const info = child(jingle, 'conference-info', NS_COIN);
  if (info?.getAttribute('isfocus') !== 'true') return null;
  const user = children(child(info, 'users'), 'user')[0];
  const entity = user?.getAttribute('entity') ?? '';
  if (!entity.startsWith('xmpp:')) return null;
  const jid = entity.slice('xmpp:'.length);
  const name = child(user, 'display-text')?.textContent || Strophe.getNodeFromJid(jid) || jid;
  return { jid, name };
}

/**
 * One group call. Events: 'state' ({state}), 'localstream' ({stream}), 'participant'
 * (Participant: joined, with its stream), 'left' (Participant), 'speaker' (Participant or
 * null), 'mute' ({participant, kind, muted}), 'ended' ({reason, text, by}).
 */
export class GroupCall extends EventTarget {
  #jingle;
  #own = null;
  #removePolicy = null;
  #enteredRoom = false;
  #simulcast;

  /**
   * Made by `jingle.joinRoom()`.
   * @param {object} jingle the Jingle entry point (its sessions and getUserMedia)
   * @param {object} opts
   * @param {string} opts.room the MUC room's bare JID
   * @param {string} opts.focus the room's focus JID, `ROOM@focus.HOST`
   */
  constructor(jingle, { room, focus, nick, password = null, audio = true, video = true,
    simulcast = true }) {
    super();
    this.#jingle = jingle;
    this.#simulcast = simulcast && video;
    this.room = new MucRoom(jingle.conn, room);
    this.focus = focus;
    this.nick = nick;
    this.password = password;
    this.state = 'joining';
    /** sid of the focus's session -> Participant. */
    this.participants = new Map();
    /** The dominant speaker (a Participant), or null. */
    this.speaker = null;
    this.media = new LocalMedia({ audio, video, getUserMedia: jingle.getUserMedia,
      camera: this.#simulcast ? { width: 1280, height: 720 } : true });
    this.media.addEventListener('stream', ({ detail }) => {
      this.dispatchEvent(new CustomEvent('localstream', { detail }));
    });
    this.endReason = null;
  }

  get live() {
    return this.state !== 'ended';
  }

  /** Our own session with the focus (sending our media), once joined. */
  get session() {
    return this.#own;
  }

  get muted() {
    return this.media.muted;
  }

  get cameraOff() {
    return this.media.cameraOff;
  }

  /** Enters the room if we are not in it, then joins its call; resolves once the focus accepted. */
  async join() {
    try {
      await this.#jingle.ready;
      if (!this.room.joined) {
        await this.room.enter(this.nick, { password: this.password });
        this.#enteredRoom = true;
      }
      this.room.addEventListener('exit', ({ detail }) => this.#end(
        { condition: 'gone', text: `out of the room (${detail.condition ?? 'left'})` }, 'remote'));
      // The focus's sessions are ours to accept, receive-only; they are not "busy" calls.
      this.#removePolicy = this.#jingle.sessions.addAcceptPolicy((offer) => (
        Strophe.getBareJidFromJid(offer.from) === this.focus && this.live
          ? { take: (session) => this.#onFocusSession(session, offer) } : null));
      await this.media.start();
      if (!this.live) return;
      const own = this.#jingle.sessions.open(this.focus);
      this.#own = own;
      own.addEventListener('state', ({ detail }) => this.#setState(detail.state === 'pending'
        ? 'joining' : detail.state));
      own.addEventListener('ended', ({ detail }) => this.#end(
        { condition: detail.reason, text: detail.text }, detail.by));
      own.addEventListener('info', ({ detail }) => this.#onFocusInfo(null, detail.element));
      await own.initiate({ media: this.media, senders: 'initiator', bundle: true,
        encodings: this.#simulcast ? { video: SIMULCAST } : null });
      if (own.refusal) {
        const e = new Error(`the focus refused to let us join: ${own.refusal}`);
        e.condition = own.refusal;
        throw e;
      }
    } catch (e) {
      this.#end({ condition: 'failed-application', text: e.message }, 'local');
      e.condition ??= 'failed-application';
      throw e;
    }
  }

  /** A session the focus opened: someone else's media. */
  #onFocusSession(session, offer) {
    const user = userOf(offer.jingle);
    if (!user) {
      session.terminate('failed-application', 'no conference-info user');
      return;
    }
    const p = new Participant(session, user);
    this.participants.set(session.sid, p);
    session.addEventListener('track', () => {
      if (p.announced) return;
      p.announced = true;
      this.dispatchEvent(new CustomEvent('participant', { detail: p }));
    });
    session.addEventListener('remotemute', ({ detail }) => {
      if (!detail.kind) return;
      p.muted[detail.kind] = detail.muted;
      this.dispatchEvent(new CustomEvent('mute', { detail: { participant: p, kind: detail.kind,
        muted: detail.muted } }));
    });
    session.addEventListener('info', ({ detail }) => this.#onFocusInfo(p, detail.element));
    session.addEventListener('ended', () => {
      this.participants.delete(session.sid);
      if (this.speaker === p) this.#setSpeaker(null);
      if (p.announced) this.dispatchEvent(new CustomEvent('left', { detail: p }));
    }, { once: true });
    session.accept({ media: null });
  }

  /** The focus's own session-info payloads: who speaks. */
  #onFocusInfo(p, element) {
    const ns = element.namespaceURI ?? element.getAttribute('xmlns');
    if (ns === NS_CONFERENCE && element.nodeName === 'dominant-speaker' && p) this.#setSpeaker(p);
  }

  #setSpeaker(p) {
    if (this.speaker === p) return;
    if (this.speaker) this.speaker.speaking = false;
    this.speaker = p;
    if (p) p.speaking = true;
    this.dispatchEvent(new CustomEvent('speaker', { detail: p }));
  }

  /** Mutes or unmutes the microphone; the focus tells the others. */
  setMuted(muted) {
    this.media.setMuted(muted);
    this.#own?.sendMute('audio', !!muted);
  }

  /**
   * Turns the camera off (released: its light goes out) or on again; the focus tells the
   * others. The session stays as it is: no renegotiation with the focus.
   */
  async setCameraOff(off) {
    this.media.setCameraOff(off);
    const sender = this.#own?.pc?.getTransceivers()
      .find((t) => t.receiver.track.kind === 'video')?.sender;
    if (off) {
      const track = sender?.track;
      await sender?.replaceTrack(null);
      if (track) this.media.release(track);
    } else if (sender) {
      await sender.replaceTrack(await this.media.camera());
    }
    this.#own?.sendMute('video', !!off);
  }

  /**
   * Tells the focus the height a participant's video is shown at (0: not shown), so that the
   * bridge sends the simulcast layer that fits; asks only when it changes.
   */
  setTileHeight(participant, height) {
    const h = Math.max(0, Math.round(height));
    if (participant.tileHeight === h || !participant.session.live) return;
    participant.tileHeight = h;
    const jingle = $build('jingle', { xmlns: NS.JINGLE, action: 'session-info',
      sid: participant.session.sid, initiator: this.focus })
      .c('video-constraints', { xmlns: NS_CONFERENCE, 'max-height': h });
    this.#jingle.sessions.send(this.focus, Strophe.serialize(jingle.tree()));
  }

  /** Leaves the call (and the room, if the call entered it). */
  leave() {
    if (!this.live) return;
    this.#own?.terminate('success');
    this.#end({ condition: 'success', text: null }, 'local');
  }

  #setState(state) {
    if (this.state === state || this.state === 'ended' || state === 'ended') return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state } }));
  }

  #end({ condition, text = null }, by) {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.endReason = { condition, text, by };
    this.#removePolicy?.();
    for (const p of [...this.participants.values()]) p.session.end({ condition: 'success' }, 'local');
    if (this.#own?.live) this.#own.terminate(condition === 'success' ? 'success' : 'gone');
    this.media.stop();
    if (this.#enteredRoom) this.room.leave();
    this.dispatchEvent(new CustomEvent('state', { detail: { state: 'ended' } }));
    this.dispatchEvent(new CustomEvent('ended', { detail: { reason: condition, text, by } }));
  }
}
