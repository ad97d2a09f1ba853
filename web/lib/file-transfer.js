// Files over one RTCDataChannel of a call (negotiated in the Jingle session as an XEP-0343
// SCTP content). One reliable, ordered channel carries both directions; each side sends one
// file at a time (others wait in a queue), so binary chunks always belong to the peer's
// current file.
//
// On the channel: a JSON text `{type:'file', id, name, size, mime, sha256}` announces a file,
// then its bytes as binary messages of at most CHUNK bytes, then `{type:'end', id}`; either
// side may send `{type:'cancel', id}`. The receiver checks the SHA-256 of what it got.
// Back-pressure: the sender pauses while `bufferedAmount` is above HIGH_WATER and resumes on
// `bufferedamountlow` (threshold LOW_WATER), so a large file never piles up in the channel.
// (The sender hashes the file first, which needs the whole file in memory once.)

export const CHUNK = 64 * 1024;
export const HIGH_WATER = 4 * 1024 * 1024;
export const LOW_WATER = 1024 * 1024;

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

function randomId() {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return hex(b);
}

/**
 * One file going out or coming in. Events: 'progress' ({bytes, size}), 'done' ({blob?,
 * verified?}), 'cancelled' ({by: 'local'|'remote'}). State: 'waiting' | 'sending' |
 * 'receiving' | 'done' | 'failed' | 'cancelled'.
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
    /** Incoming: true if the SHA-256 matched. */
    this.verified = null;
    this._chunks = [];
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
    this._chunks = [];
    this.dispatchEvent(new CustomEvent('cancelled', { detail: { by } }));
    this._files._wake();
  }

  /** Progress events at most every 1% (and at the end), not per chunk. */
  _progress() {
    const step = Math.max(CHUNK, Math.floor(this.size / 100));
    if (this.bytes < this.size && this.bytes - (this._reported ?? 0) < step) return;
    this._reported = this.bytes;
    this.dispatchEvent(new CustomEvent('progress', { detail: { bytes: this.bytes, size: this.size } }));
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
        await this._sendOne(t).catch((e) => {
          console.warn('file transfer failed', e);
          if (!t.finished) {
            t.state = 'failed';
            t.dispatchEvent(new CustomEvent('done', { detail: { error: String(e.message ?? e) } }));
          }
        });
      }
    } finally {
      this._sending = false;
    }
  }

  async _sendOne(t) {
    const buf = await t._file.arrayBuffer();
    t.sha256 = hex(await crypto.subtle.digest('SHA-256', buf));
    if (t.finished) return;
    if (!this.open) throw new Error('the data channel is closed');
    t.state = 'sending';
    this._sendJson({ type: 'file', id: t.id, name: t.name, size: t.size, mime: t.mime,
      sha256: t.sha256 });
    for (let offset = 0; offset < buf.byteLength; offset += CHUNK) {
      while (!t.finished && this.open && this.channel.bufferedAmount > HIGH_WATER) await this._room();
      if (t.finished) return;
      if (!this.open) throw new Error('the data channel closed');
      this.channel.send(buf.slice(offset, offset + CHUNK));
      t.bytes = Math.min(offset + CHUNK, buf.byteLength);
      t._progress();
    }
    this._sendJson({ type: 'end', id: t.id });
    t.state = 'done';
    t._file = null;
    t.dispatchEvent(new CustomEvent('done', { detail: {} }));
  }

  _onMessage(data) {
    if (typeof data !== 'string') {
      const t = this._incoming;
      if (!t || t.finished) return; // the rest of a cancelled file
      t._chunks.push(data);
      t.bytes += data.byteLength;
      t._progress();
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg.type === 'file' && typeof msg.id === 'string' && Number.isFinite(msg.size)) {
      const t = new Transfer(this, { id: msg.id, name: String(msg.name ?? 'file'), size: msg.size,
        mime: String(msg.mime ?? 'application/octet-stream'), direction: 'incoming',
        sha256: String(msg.sha256 ?? '') });
      this.transfers.set(t.id, t);
      this._incoming = t;
      this.dispatchEvent(new CustomEvent('transfer', { detail: t }));
    } else if (msg.type === 'end') {
      const t = this.transfers.get(msg.id);
      if (t && t === this._incoming && !t.finished) this._finishIncoming(t);
    } else if (msg.type === 'cancel') {
      this.transfers.get(msg.id)?._cancelled('remote');
    }
  }

  async _finishIncoming(t) {
    this._incoming = null;
    const blob = new Blob(t._chunks, { type: t.mime });
    t._chunks = [];
    const sha = hex(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    if (t.finished) return;
    t.blob = blob;
    t.verified = sha === t.sha256 && blob.size === t.size;
    t.state = t.verified ? 'done' : 'failed';
    t.dispatchEvent(new CustomEvent('done', { detail: { blob, verified: t.verified, sha256: sha } }));
  }
}
