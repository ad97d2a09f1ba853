// Files over one RTCDataChannel of a call (negotiated in the Jingle session as an XEP-0343
// SCTP content). One reliable, ordered channel carries both directions; each side sends one
// file at a time (others wait in a queue), so binary chunks always belong to the peer's
// current file.
//
// On the channel: a JSON text `{type:'file', id, name, size, mime}` offers a file; the receiver
// answers `{type:'accept', id}` or `{type:'decline', id, reason}` ('declined', 'too-large',
// 'busy', 'bad-request'); after an accept come its bytes as binary messages of at most CHUNK
// bytes, then `{type:'end', id, sha256}` with the SHA-256 (hex) of those bytes; either side may
// send `{type:'cancel', id}`. The receiver checks size and SHA-256 (a `sha256` in the `file`
// header, from older peers, is used if `end` has none).
//
// What a peer can make the receiver hold is bounded: nothing is stored before the user
// accepts; a file larger than `maxSize` (2 GiB by default) is declined at once; bytes beyond
// the announced size fail the file; a second offer while one is offered or coming in is
// declined ('busy'); bytes nobody accepted are dropped; a finished transfer leaves
// `transfers`. A received file is a Blob of type application/octet-stream, whatever MIME type
// the sender claimed (`mime` says what it claimed), so that opening it never runs it in our
// origin.
// Memory stays bounded whatever the file size: the sender reads the file through
// `file.stream()` and hashes it as it goes (lib/sha256.js); it pauses while `bufferedAmount`
// is above HIGH_WATER and resumes on `bufferedamountlow` (threshold LOW_WATER), so the stream
// is only read as fast as the channel drains. The receiver hashes each chunk as it arrives and
// folds every FOLD bytes of chunks into a Blob (kept by the browser's blob store, which may
// page it to disk, not by the JS heap); the file's Blob is made of those.

import { Sha256 } from './sha256.js';

export const CHUNK = 64 * 1024;
export const HIGH_WATER = 4 * 1024 * 1024;
export const LOW_WATER = 1024 * 1024;
export const FOLD = 16 * 1024 * 1024;
/** The default largest file we accept to receive. */
export const MAX_SIZE = 2 * 1024 * 1024 * 1024;
/** Longest id, name and MIME type taken from a peer's offer (longer: declined, cut, dropped). */
const MAX_ID = 64;
const MAX_NAME = 255;
const MAX_MIME = 127;

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

function randomId() {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return hex(b);
}

/**
 * One file going out or coming in. Events: 'progress' ({bytes, size}), 'done' ({blob?,
 * verified?, sha256?} or {error}), 'cancelled' ({by: 'local'|'remote'}), 'declined'
 * ({reason}; ours, by the peer). State: 'waiting' (ours: queued or offered) | 'offered' (the
 * peer's: accept() or decline()) | 'sending' | 'receiving' | 'done' | 'failed' | 'cancelled' |
 * 'declined'.
 */
export class Transfer extends EventTarget {
  constructor(files, { id, name, size, mime, direction, sha256 = null }) {
    super();
    this._files = files;
    Object.assign(this, { id, name, size, mime, direction, sha256 });
    this.bytes = 0;
    this.state = direction === 'outgoing' ? 'waiting' : 'offered';
    /** Incoming: the received Blob once done. */
    this.blob = null;
    /** Incoming: true if size and SHA-256 matched. */
    this.verified = null;
    this._hash = new Sha256();
    this._reported = 0;
    this._step = Math.max(CHUNK, Math.floor(size / 100));
    this._parts = []; // incoming: Blobs of FOLD bytes each
    this._pending = []; // incoming: chunks not yet folded
    this._pendingBytes = 0;
  }

  get finished() {
    return ['done', 'failed', 'cancelled', 'declined'].includes(this.state);
  }

  /** The peer's offer: take the file (its bytes come after this, not before). */
  accept() {
    if (this.direction !== 'incoming' || this.state !== 'offered') return;
    this.state = 'receiving';
    this._files._sendJson({ type: 'accept', id: this.id });
  }

  /** The peer's offer: refuse the file; nothing of it is stored. */
  decline() {
    if (this.direction !== 'incoming' || this.state !== 'offered') return;
    this._files._sendJson({ type: 'decline', id: this.id, reason: 'declined' });
    this._end('declined');
    this.dispatchEvent(new CustomEvent('declined', { detail: { reason: 'declined', by: 'local' } }));
  }

  /** Stops the transfer on both sides. */
  cancel() {
    if (this.finished) return;
    this._files._sendJson({ type: 'cancel', id: this.id });
    this._cancelled('local');
  }

  _cancelled(by) {
    if (this.finished) return;
    this._end('cancelled');
    this.dispatchEvent(new CustomEvent('cancelled', { detail: { by } }));
  }

  /** Ours, offered: the peer declined it. */
  _declined(reason) {
    if (this.finished) return;
    this._end('declined');
    this.dispatchEvent(new CustomEvent('declined', { detail: { reason, by: 'remote' } }));
  }

  /** Over (in `state`): the transfer lets go of everything but its result, and leaves the list. */
  _end(state) {
    this.state = state;
    this._drop();
    this._files._forget(this);
    this._files._wake();
  }

  /** Lets go of the file, the hash state and the kept chunks once the transfer is over. */
  _drop() {
    this._file = null;
    this._hash = null;
    this._parts = [];
    this._pending = [];
    this._pendingBytes = 0;
  }

  /** Progress events at most every 1% (and at the end), not per chunk. */
  _progress() {
    if (this.bytes < this.size && this.bytes - this._reported < this._step) return;
    this._reported = this.bytes;
    this.dispatchEvent(new CustomEvent('progress', { detail: { bytes: this.bytes, size: this.size } }));
  }

  /** Incoming chunk: hash it, keep it, fold kept chunks into a Blob every FOLD bytes. */
  _receive(buf) {
    if (this.bytes + buf.byteLength > this.size) {
      // More than announced: the file is not what was offered; keep nothing of it.
      this._files._sendJson({ type: 'cancel', id: this.id });
      this._fail('more bytes than announced');
      return;
    }
    this._hash.update(buf);
    this._pending.push(buf);
    this._pendingBytes += buf.byteLength;
    this.bytes += buf.byteLength;
    if (this._pendingBytes >= FOLD) this._fold();
    this._progress();
  }

  _fold() {
    if (!this._pending.length) return;
    this._parts.push(new Blob(this._pending));
    this._pending = [];
    this._pendingBytes = 0;
  }

  /** Ends the transfer as failed, with `error` in the 'done' event. */
  _fail(error) {
    if (this.finished) return;
    this._end('failed');
    this.dispatchEvent(new CustomEvent('done', { detail: { error } }));
  }

  /**
   * Incoming: all bytes are in; build the Blob (application/octet-stream, whatever `mime`
   * says) and check size and hash against `sha256`.
   */
  _finish(sha256) {
    this._fold();
    const blob = new Blob(this._parts, { type: 'application/octet-stream' });
    const sha = this._hash.hex();
    this.sha256 = sha256 || this.sha256;
    this.blob = blob;
    this.verified = sha === this.sha256 && blob.size === this.size;
    this._end(this.verified ? 'done' : 'failed');
    this.dispatchEvent(new CustomEvent('done', { detail: { blob, verified: this.verified, sha256: sha } }));
  }

  /** Lets go of the received Blob (the app no longer shows or keeps it). */
  release() {
    this.blob = null;
  }
}

/**
 * The file transfers of one call over `channel`. Events: 'transfer' (detail: Transfer; the
 * peer's arrive 'offered'), 'refused' ({name, size, reason}: an offer declined at once, as too
 * large, malformed, or while another file comes in).
 */
export class FileTransfers extends EventTarget {
  /**
   * @param {RTCDataChannel} channel
   * @param {{maxSize?: number}} [opts] maxSize: the largest file we accept (bytes)
   */
  constructor(channel, { maxSize = MAX_SIZE } = {}) {
    super();
    this.channel = channel;
    /** The largest file we accept to receive, in bytes; larger offers are declined at once. */
    this.maxSize = maxSize;
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = LOW_WATER;
    /** id -> Transfer, both directions, until each is over. */
    this.transfers = new Map();
    this._incoming = null; // the peer's current file
    this._queue = []; // our files waiting to be sent
    this._sending = false;
    this._waiters = [];
    channel.addEventListener('message', (e) => this._onMessage(e.data));
    channel.addEventListener('bufferedamountlow', () => this._wake());
    channel.addEventListener('close', () => {
      for (const t of [...this.transfers.values()]) t._cancelled('remote');
      this._wake();
    });
  }

  get open() {
    return this.channel.readyState === 'open';
  }

  /** Queues a File (or Blob with a name) for sending; returns its Transfer. */
  send(file, name = file.name ?? 'file') {
    const t = new Transfer(this, { id: randomId(), name, size: file.size,
      mime: file.type || 'application/octet-stream', direction: 'outgoing' });
    t._file = file;
    this.transfers.set(t.id, t);
    this._queue.push(t);
    this.dispatchEvent(new CustomEvent('transfer', { detail: t }));
    this._pump();
    return t;
  }

  _sendJson(obj) {
    if (this.open) this.channel.send(JSON.stringify(obj));
  }

  _wake() {
    for (const w of this._waiters.splice(0)) w();
  }

  _forget(t) {
    if (this.transfers.get(t.id) === t) this.transfers.delete(t.id);
    if (this._incoming === t) this._incoming = null;
  }

  /** Resolves when the channel has room again (or something changed). */
  _room() {
    return new Promise((resolve) => this._waiters.push(resolve));
  }

  async _pump() {
    if (this._sending) return;
    this._sending = true;
    try {
      while (this._queue.length) {
        const t = this._queue.shift();
        if (t.finished) continue;
        await this._sendOne(t).catch((e) => this._failed(t, e));
      }
    } finally {
      this._sending = false;
    }
  }

  /** Ends `t` as failed, telling the peer (as a cancel) so it does not wait for the rest. */
  _failed(t, e) {
    console.warn('file transfer failed', e);
    if (t.finished) return;
    this._sendJson({ type: 'cancel', id: t.id });
    t._fail(String(e.message ?? e));
  }

  /**
   * Sends the file as `file.stream()` yields it: the stream reads ahead, but only as far as its
   * small buffer, and costs Chromium several times less than `slice().arrayBuffer()` calls.
   * Each piece is hashed after it was queued, while the channel drains.
   */
  async _sendOne(t) {
    if (!this.open) throw new Error('the data channel is closed');
    this._sendJson({ type: 'file', id: t.id, name: t.name, size: t.size, mime: t.mime });
    // Nothing goes before the peer accepts (or declines, or one side cancels).
    while (!t.finished && !t._accepted && this.open) await this._room();
    if (t.finished) return;
    if (!this.open) throw new Error('the data channel closed');
    t.state = 'sending';
    const reader = t._file.stream().getReader();
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        if (!(await this._sendPiece(t, r.value))) return;
        t._hash.update(r.value);
      }
    } finally {
      reader.cancel().catch(() => {}); // stops reading after a cancel or an error
    }
    if (t.bytes !== t.size) throw new Error('the file changed while being sent');
    t.sha256 = t._hash.hex();
    this._sendJson({ type: 'end', id: t.id, sha256: t.sha256 });
    t._end('done');
    t.dispatchEvent(new CustomEvent('done', { detail: {} }));
  }

  /** Queues `piece` in messages of CHUNK bytes or less, waiting while the channel is full. */
  async _sendPiece(t, piece) {
    for (let at = 0; at < piece.length; at += CHUNK) {
      while (!t.finished && this.open && this.channel.bufferedAmount > HIGH_WATER) await this._room();
      if (t.finished) return false;
      if (!this.open) throw new Error('the data channel closed');
      const chunk = piece.subarray(at, at + CHUNK);
      this.channel.send(chunk);
      t.bytes += chunk.length;
      t._progress();
    }
    return !t.finished;
  }

  _onMessage(data) {
    if (typeof data !== 'string') {
      // Only into a file we accepted; anything else (a cancelled file's rest, bytes sent
      // without an accept) is dropped.
      const t = this._incoming;
      if (t?.state === 'receiving') t._receive(data);
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    const t = typeof msg.id === 'string' ? this.transfers.get(msg.id) : undefined;
    if (msg.type === 'file') {
      this._offered(msg);
    } else if (msg.type === 'end') {
      if (t && t === this._incoming && t.state === 'receiving') {
        t._finish(typeof msg.sha256 === 'string' ? msg.sha256 : null);
      }
    } else if (msg.type === 'cancel') {
      t?._cancelled('remote');
    } else if (msg.type === 'accept') {
      if (t?.direction === 'outgoing' && !t.finished) {
        t._accepted = true;
        this._wake();
      }
    } else if (msg.type === 'decline') {
      if (t?.direction === 'outgoing') t._declined(String(msg.reason ?? 'declined').slice(0, 32));
    }
  }

  /** The peer offers a file: checked, then shown (state 'offered') or declined at once. */
  _offered(msg) {
    const id = typeof msg.id === 'string' && msg.id.length > 0 && msg.id.length <= MAX_ID
      ? msg.id : null;
    const { size } = msg;
    const name = String(msg.name ?? 'file').slice(0, MAX_NAME);
    let reason = null;
    if (!id || !Number.isSafeInteger(size) || size < 0 || this.transfers.has(id)) {
      reason = 'bad-request';
    } else if (size > this.maxSize) {
      reason = 'too-large';
    } else if (this._incoming) {
      reason = 'busy'; // one at a time: the peer's current file is offered or coming in
    }
    if (reason) {
      if (id) this._sendJson({ type: 'decline', id, reason });
      this.dispatchEvent(new CustomEvent('refused', { detail: { name,
        size: Number.isSafeInteger(size) ? size : null, reason } }));
      return;
    }
    const t = new Transfer(this, { id, name, size,
      mime: String(msg.mime ?? 'application/octet-stream').slice(0, MAX_MIME),
      direction: 'incoming', sha256: typeof msg.sha256 === 'string' ? msg.sha256 : null });
    this.transfers.set(t.id, t);
    this._incoming = t;
    this.dispatchEvent(new CustomEvent('transfer', { detail: t }));
  }
}
