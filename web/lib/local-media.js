// The local camera and microphone of a call, shared by all its Jingle sessions: one
// getUserMedia for the call, mute (the microphone track keeps flowing, silent), and the camera
// released while it is off and restarted when it comes back.
//
//   const media = new LocalMedia({ audio: true, video: true, getUserMedia });
//   media.addEventListener('stream', ({ detail }) => { preview.srcObject = detail.stream; });
//   await media.start();            // once; later calls share the first request
//   media.setMuted(true);
//   const track = await media.camera();   // the live camera track, restarted if released
//   media.release(track);                 // stops it (camera off)
//   media.stop();                         // stops everything (the call ended)

/**
 * Local tracks of one call. `stream` holds them (null before start()); `muted` and
 * `cameraOff` are what the user asked for. Event 'stream' ({stream}): tracks were first got,
 * or the camera restarted.
 */
export class LocalMedia extends EventTarget {
  #getUserMedia;
  #started = null;
  #stopped = false;
  #camera;

  /**
   * @param {object} [opts]
   * @param {boolean} [opts.audio=true] the microphone
   * @param {boolean} [opts.video=true] the camera (false: the camera starts off)
   * @param {boolean|MediaTrackConstraints} [opts.camera=true] what to ask of the camera
   *   (a group call asks for 1280x720, to send it in simulcast layers)
   * @param {(c: MediaStreamConstraints) => Promise<MediaStream>} [opts.getUserMedia]
   */
  constructor({ audio = true, video = true, camera = true,
    getUserMedia = (c) => navigator.mediaDevices.getUserMedia(c) } = {}) {
    super();
    this.#getUserMedia = getUserMedia;
    this.#camera = camera;
    /** What start() asks for. */
    this.audio = !!audio;
    this.video = !!video;
    /** @type {MediaStream|null} */
    this.stream = null;
    this.muted = false;
    /** True while we send no video (also without video until the camera is turned on). */
    this.cameraOff = !video;
  }

  /** True once stop() was called: the call is over, nothing more is got. */
  get stopped() {
    return this.#stopped;
  }

  /** Gets the camera/microphone once (later calls share the first request). */
  start() {
    this.#started ??= (async () => {
      const stream = await this.#getUserMedia({ audio: this.audio,
        video: this.video ? this.#camera : false });
      this.stream = stream;
      for (const t of stream.getAudioTracks()) t.enabled = !this.muted;
      for (const t of stream.getVideoTracks()) t.enabled = !this.cameraOff;
      if (this.#stopped) this.stop();
      this.dispatchEvent(new CustomEvent('stream', { detail: { stream } }));
      return stream;
    })();
    return this.#started;
  }

  /** Mutes or unmutes the microphone: its track stays, silent. */
  setMuted(muted) {
    this.muted = !!muted;
    for (const t of this.stream?.getAudioTracks() ?? []) t.enabled = !this.muted;
  }

  /**
   * Notes camera off/on. The video track only goes black or comes back here; a session that
   * sends video releases and restarts the camera itself (release(), camera()).
   */
  setCameraOff(off) {
    this.cameraOff = !!off;
    for (const t of this.stream?.getVideoTracks() ?? []) t.enabled = !this.cameraOff;
  }

  /** The live camera track: the current one, or a new one (added to `stream`). */
  async camera() {
    const live = this.stream?.getVideoTracks().find((t) => t.readyState === 'live');
    if (live) {
      live.enabled = true;
      return live;
    }
    const got = await this.#getUserMedia({ video: this.#camera });
    const [track] = got.getVideoTracks();
    if (this.#stopped) {
      track.stop();
      throw new Error('call ended');
    }
    for (const old of this.stream?.getVideoTracks() ?? []) this.release(old);
    this.stream ??= new MediaStream();
    this.stream.addTrack(track);
    this.dispatchEvent(new CustomEvent('stream', { detail: { stream: this.stream } }));
    return track;
  }

  /** Stops a track (e.g. the camera, turned off) and takes it out of `stream`. */
  release(track) {
    track.stop();
    this.stream?.removeTrack(track);
  }

  /** Stops every track; the call is over. */
  stop() {
    this.#stopped = true;
    for (const t of this.stream?.getTracks() ?? []) t.stop();
  }
}
