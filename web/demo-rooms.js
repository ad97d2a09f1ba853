// The demo page's "Rooms" panel: join a MUC room's group call (lib/group-call.js) and show it
// as a grid of tiles, one per participant ("Video of NAME"), the dominant speaker larger and
// marked "speaking", muted participants marked "muted". DOM code only; demo.js calls
// `attachRooms` once logged in and `detachRooms` on logout.

const el = (id) => document.getElementById(id);

/** Tile heights are reported to the focus (simulcast layer choice) at most this often. */
const TILE_REPORT_MS = 250;

let current = null;

/**
 * Shows the Rooms panel for `jingle` (lib/jingle.js). `conference`: the MUC service for room
 * names without a domain; `setStatus(text, kind)`: the page's status line.
 */
export function attachRooms({ jingle, conference, setStatus }) {
  detachRooms();
  const ui = {
    panel: el('rooms'),
    form: el('room-form'),
    room: el('room'),
    password: el('room-password'),
    join: el('join-room'),
    call: el('group-call'),
    text: el('group-call-text'),
    tiles: el('tiles'),
    mute: el('group-mute'),
    camera: el('group-camera'),
    leave: el('leave-call'),
  };
  const view = new RoomsView(ui, jingle, conference, setStatus);
  current = view;
  ui.panel.hidden = false;
  return view;
}

/** Hides the panel and leaves a call in progress. */
export function detachRooms() {
  current?.detach();
  current = null;
}

class RoomsView {
  #abort = new AbortController();

  constructor(ui, jingle, conference, setStatus) {
    this.ui = ui;
    this.jingle = jingle;
    this.conference = conference;
    this.setStatus = setStatus;
    /** The GroupCall shown, or null. */
    this.call = null;
    /** Participant -> its tile. */
    this.tiles = new Map();
    this.resize = new ResizeObserver(() => this.#onResize());
    const signal = this.#abort.signal;
    ui.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.join(ui.room.value.trim(), ui.password.value);
    }, { signal });
    ui.mute.addEventListener('click', () => {
      if (!this.call) return;
      this.call.setMuted(!this.call.muted);
      this.#renderControls();
    }, { signal });
    ui.camera.addEventListener('click', async () => {
      if (!this.call) return;
      ui.camera.disabled = true;
      try {
        await this.call.setCameraOff(!this.call.cameraOff);
      } finally {
        ui.camera.disabled = false;
        this.#renderControls();
      }
    }, { signal });
    ui.leave.addEventListener('click', () => this.call?.leave(), { signal });
    jingle.addEventListener('groupcall', ({ detail }) => this.#show(detail), { signal });
  }

  /** The MUC room's JID for what the user typed: `team` or `team@conference.example`. */
  roomJid(typed) {
    return typed.includes('@') ? typed.toLowerCase() : `${typed.toLowerCase()}@${this.conference}`;
  }

  async join(typed, password = '') {
    if (!typed || this.call) return;
    const room = this.roomJid(typed);
    this.ui.join.disabled = true;
    this.setStatus(`Joining the call of ${room}…`);
    try {
      await this.jingle.joinRoom(room, { audio: true, video: true, password: password || null });
      this.setStatus(`In the call of ${room}.`, 'ok');
    } catch (e) {
      const why = {
        forbidden: 'you are not in that room (or may not enter it)',
        'registration-required': 'the room is for members only',
        'not-authorized': 'the room needs a password (a wrong one was given, or none)',
        'resource-constraint': 'the call is full, or too many tries: wait a moment',
        'item-not-found': 'there is no such room',
      }[e.condition] ?? e.message;
      this.setStatus(`Cannot join the call of ${room}: ${why}.`, 'error');
    } finally {
      this.ui.join.disabled = !!this.call?.live;
    }
  }

  /** A group call was made (by us, through joinRoom): shows it until it ends. */
  #show(call) {
    this.call = call;
    const { ui } = this;
    ui.call.hidden = false;
    ui.join.disabled = true;
    ui.text.textContent = `Call of ${call.room.jid}`;
    ui.tiles.replaceChildren(this.#ownTile(call));
    call.addEventListener('participant', ({ detail: p }) => this.#addTile(p));
    call.addEventListener('left', ({ detail: p }) => this.#removeTile(p));
    call.addEventListener('speaker', () => this.#renderTiles());
    call.addEventListener('mute', () => this.#renderTiles());
    call.addEventListener('localstream', ({ detail }) => {
      const video = ui.tiles.querySelector('.tile.own video');
      if (video) video.srcObject = detail.stream;
    });
    call.addEventListener('ended', ({ detail }) => {
      if (detail.by !== 'local' || detail.reason !== 'success') {
        this.setStatus(`The call of ${call.room.jid} ended${detail.text ? `: ${detail.text}` : '.'}`,
          detail.reason === 'success' ? 'info' : 'error');
      } else {
        this.setStatus(`You left the call of ${call.room.jid}.`);
      }
      this.#hide();
    });
    this.#renderControls();
  }

  #ownTile(call) {
    const li = document.createElement('li');
    li.className = 'tile own';
    const video = document.createElement('video');
    Object.assign(video, { autoplay: true, playsInline: true, muted: true });
    video.setAttribute('aria-label', 'Your video');
    if (call.media.stream) video.srcObject = call.media.stream;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = 'You';
    li.append(video, name);
    return li;
  }

  #addTile(p) {
    const li = document.createElement('li');
    li.className = 'tile';
    li.dataset.jid = p.jid;
    const video = document.createElement('video');
    Object.assign(video, { autoplay: true, playsInline: true, srcObject: p.stream });
    video.setAttribute('aria-label', `Video of ${p.name}`);
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = p.name;
    const badges = document.createElement('span');
    badges.className = 'badges';
    li.append(video, name, badges);
    this.tiles.set(p, li);
    this.ui.tiles.append(li);
    this.resize.observe(video);
    this.#renderTiles();
  }

  #removeTile(p) {
    const li = this.tiles.get(p);
    if (!li) return;
    this.resize.unobserve(li.querySelector('video'));
    li.remove();
    this.tiles.delete(p);
    this.#renderTiles();
  }

  #renderTiles() {
    for (const [p, li] of this.tiles) {
      li.classList.toggle('speaking', p.speaking);
      const badges = [];
      if (p.speaking) badges.push('speaking');
      if (p.muted.audio) badges.push('muted');
      if (p.muted.video) badges.push('camera off');
      const span = li.querySelector('.badges');
      span.replaceChildren(...badges.map((b) => {
        const s = document.createElement('span');
        s.className = `badge ${b.replace(' ', '-')}`;
        s.textContent = b;
        return s;
      }));
    }
  }

  #renderControls() {
    const { ui, call } = this;
    ui.mute.textContent = call?.muted ? 'Unmute' : 'Mute';
    ui.mute.setAttribute('aria-pressed', String(!!call?.muted));
    ui.camera.textContent = call?.cameraOff ? 'Camera on' : 'Camera off';
    ui.camera.setAttribute('aria-pressed', String(!!call?.cameraOff));
  }

  /** Tells the focus each tile's height in device pixels, so the bridge sends what fits. */
  #onResize() {
    clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => {
      for (const [p, li] of this.tiles) {
        const video = li.querySelector('video');
        this.call?.setTileHeight(p, video.clientHeight * (window.devicePixelRatio || 1));
      }
    }, TILE_REPORT_MS);
  }

  #hide() {
    this.resize.disconnect();
    this.tiles.clear();
    this.call = null;
    this.ui.tiles.replaceChildren();
    this.ui.call.hidden = true;
    this.ui.join.disabled = false;
  }

  detach() {
    this.call?.leave();
    this.#abort.abort();
    this.resize.disconnect();
    this.ui.panel.hidden = true;
    this.ui.call.hidden = true;
  }
}
