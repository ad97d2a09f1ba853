// Files over one RTCDataChannel of a call (negotiated in the Jingle session as an XEP-0343
// SCTP content). One reliable, ordered channel carries both directions; each side sends one
// file at a time (others wait in a queue), so binary chunks always belong to the peer's
// current file.
//
// On the channel: a JSON text `{type:'file', id, name, size, mime}` announces a file, then its
// bytes as binary messages of at most CHUNK bytes, then `{type:'end', id, sha256}` with the
// SHA-256 (hex) of those bytes; either side may send `{type:'cancel', id}`. The receiver
// checks size and SHA-256 (a `sha256` in the `file` header, from older peers, is used if `end`
// has none).
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

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

function randomId() {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return hex(b);
}

/**
 * One file going out or coming in. Events: 'progress' ({bytes, size}), 'done' ({blob?,
 * verified?, sha256?} or {error}), 'cancelled' ({by: 'local'|'remote'}). State: 'waiting' |
 * 'sending' | 'receiving' | 'done' | 'failed' | 'cancelled'.
 */
export class Transfer extends EventTarget {
  constructor(files, { id, name, size, mime, direction, sha256 = null }) {
    super();
    this._files = files;
    Object.assign(this, { id, name, size, mime, direction, sha256 });
    this.bytes = 0;
    this.state = direction === 'outgoing' ? 'waiting' : 'receiving';
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
    return ['done', 'failed', 'cancelled'].includes(this.state);
  }

  /** Stops the transfer on both sides. */
  cancel() {
    if (this.finished) return;
    this._files._sendJson({ type: 'cancel', id: this.id });
    this._cancelled('local');
  }

  _cancelled(by) {
    if (this.finished) return;
    this.state = 'cancelled';
    this._drop();
    this.dispatchEvent(new CustomEvent('cancelled', { detail: { by } }));
    this._files._wake();
  }

  /** Lets go of the file, the hash state and the kept chunks once the transfer is over. */
  _drop() {
    this._file = null;
    this._hash = null;
    this._parts = [];
    this._pending = [];
  }

  /** Progress events at most every 1% (and at the end), not per chunk. */
  _progress() {
    if (this.bytes < this.size && this.bytes - this._reported < this._step) return;
    this._reported = this.bytes;
    this.dispatchEvent(new CustomEvent('progress', { detail: { bytes: this.bytes, size: this.size } }));
  }

  /** Incoming chunk: hash it, keep it, fold kept chunks into a Blob every FOLD bytes. */
  _receive(buf) {
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

  /** Incoming: all bytes are in; build the Blob and check size and hash against `sha256`. */
  _finish(sha256) {
    this._fold();
    const blob = new Blob(this._parts, { type: this.mime });
    const sha = this._hash.hex();
    this._drop();
    this.sha256 = sha256 || this.sha256;
    this.blob = blob;
    this.verified = sha === this.sha256 && blob.size === this.size;
    this.state = this.verified ? 'done' : 'failed';
    this.dispatchEvent(new CustomEvent('done', { detail: { blob, verified: this.verified, sha256: sha } }));
  }
}

/** The file transfers of one call over `channel`. Events: 'transfer' (detail: Transfer). */
export class FileTransfers extends EventTarget {
  constructor(channel) {
    super();
    this.channel = channel;
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = LOW_WATER;
    /** id -> Transfer, both directions. */
    this.transfers = new Map();
    this._incoming = null; // the peer's current file
    this._queue = []; // our files waiting to be sent
    this._sending = false;
    this._waiters = [];
    channel.addEventListener('message', (e) => this._onMessage(e.data));
    channel.addEventListener('bufferedamountlow', () => this._wake());
    channel.addEventListener('close', () => {
      for (const t of this.transfers.values()) t._cancelled('remote');
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
    t.state = 'failed';
    t._drop();
    t.dispatchEvent(new CustomEvent('done', { detail: { error: String(e.message ?? e) } }));
  }

  /**
   * Sends the file as `file.stream()` yields it: the stream reads ahead, but only as far as its
   * small buffer, and costs Chromium several times less than `slice().arrayBuffer()` calls.
   * Each piece is hashed after it was queued, while the channel drains.
   */
  async _sendOne(t) {
    if (!this.open) throw new Error('the data channel is closed');
    t.state = 'sending';
    this._sendJson({ type: 'file', id: t.id, name: t.name, size: t.size, mime: t.mime });
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
    t.state = 'done';
    t._drop();
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
      const t = this._incoming;
      if (t && !t.finished) t._receive(data); // else: the rest of a cancelled file
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg.type === 'file' && typeof msg.id === 'string' && Number.isFinite(msg.size)) {
      this._announced(msg);
    } else if (msg.type === 'end') {
      const t = this.transfers.get(msg.id);
      if (t && t === this._incoming && !t.finished) {
        this._incoming = null;
        t._finish(typeof msg.sha256 === 'string' ? msg.sha256 : null);
      }
    } else if (msg.type === 'cancel') {
      this.transfers.get(msg.id)?._cancelled('remote');
    }
  }

  _announced(msg) {
    const t = new Transfer(this, { id: msg.id, name: String(msg.name ?? 'file'), size: msg.size,
      mime: String(msg.mime ?? 'application/octet-stream'), direction: 'incoming',
      sha256: typeof msg.sha256 === 'string' ? msg.sha256 : null });
    this.transfers.set(t.id, t);
    this._incoming = t;
    this.dispatchEvent(new CustomEvent('transfer', { detail: t }));
  }
}
