// A TURN server (RFC 8656, UDP) that hands out relay candidates but refuses to relay anything:
// every CreatePermission and ChannelBind gets 403 Forbidden, as a real TURN server answers for
// peers its policy forbids (coturn refuses loopback peers by default). Browsers restricted to
// it (`iceTransportPolicy: 'relay'`) then have candidate pairs that cannot work, so ICE really
// fails, and fast.
//
// Why a server of our own: in the loopback-only test namespace nothing else makes Chromium
// declare `connectionState` 'failed'. Without a candidate pair (no TURN, relay-only) it stays
// 'new' for ever, even after end-of-candidates; blocking UDP needs netfilter or tc classifiers,
// which this kernel lacks; ejabberd's TURN relays loopback peers.
//
//   const turn = await startRefusingTurn();
//   new RTCPeerConnection({ iceTransportPolicy: 'relay', iceServers: [turn.iceServer] });
//   await turn.stop();
import dgram from 'node:dgram';
import { createHash, createHmac, randomBytes } from 'node:crypto';

const COOKIE = 0x2112a442;
const METHOD = { ALLOCATE: 0x003, REFRESH: 0x004, CREATE_PERMISSION: 0x008, CHANNEL_BIND: 0x009 };
const ATTR = {
  USERNAME: 0x0006, MESSAGE_INTEGRITY: 0x0008, ERROR_CODE: 0x0009, LIFETIME: 0x000d,
  REALM: 0x0014, NONCE: 0x0015, XOR_RELAYED_ADDRESS: 0x0016, XOR_MAPPED_ADDRESS: 0x0020,
};
const REQUEST = 0x0000;
const SUCCESS = 0x0100;
const ERROR = 0x0110;

/** `{method, cls, id, attrs: Map(type -> Buffer)}` of a STUN message, or null. */
function parse(buf) {
  if (buf.length < 20 || buf.readUInt32BE(4) !== COOKIE || (buf[0] & 0xc0) !== 0) return null;
  const type = buf.readUInt16BE(0);
  const attrs = new Map();
  for (let at = 20; at + 4 <= buf.length;) {
    const len = buf.readUInt16BE(at + 2);
    attrs.set(buf.readUInt16BE(at), buf.subarray(at + 4, at + 4 + len));
    at += 4 + Math.ceil(len / 4) * 4;
  }
  return { method: type & 0x3eef, cls: type & 0x0110, id: buf.subarray(8, 20), attrs };
}

function attr(type, value) {
  const out = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}

/** An XOR-*-ADDRESS value for an IPv4 `address:port`. */
function xorAddress(address, port) {
  const v = Buffer.alloc(8);
  v.writeUInt16BE(0x0001, 0);
  v.writeUInt16BE(port ^ (COOKIE >>> 16), 2);
  const ip = address.split('.').reduce((n, b) => (n << 8) + Number(b), 0) >>> 0;
  v.writeUInt32BE((ip ^ COOKIE) >>> 0, 4);
  return v;
}

function errorCode(code, reason) {
  const v = Buffer.alloc(4);
  v[2] = Math.floor(code / 100);
  v[3] = code % 100;
  return Buffer.concat([v, Buffer.from(reason)]);
}

/** A STUN message; with `key`, MESSAGE-INTEGRITY (RFC 5389 §15.4) last. */
function build(method, cls, id, attrs, key) {
  const body = Buffer.concat(attrs);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(method | cls, 0);
  header.writeUInt16BE(body.length + (key ? 24 : 0), 2);
  header.writeUInt32BE(COOKIE, 4);
  id.copy(header, 8);
  const msg = Buffer.concat([header, body]);
  if (!key) return msg;
  const mac = createHmac('sha1', key).update(msg).digest();
  return Buffer.concat([msg, attr(ATTR.MESSAGE_INTEGRITY, mac)]);
}

/**
 * Starts the server on 127.0.0.1. Resolves to `{iceServer, counts, stop()}`: `iceServer` is an
 * RTCIceServer for it, `counts` how many allocations and refusals it made.
 */
export async function startRefusingTurn({ username = 'test', credential = 'test-pw' } = {}) {
  const realm = 'refusing-turn';
  const nonce = randomBytes(8).toString('hex');
  const key = createHash('md5').update(`${username}:${realm}:${credential}`).digest();
  const counts = { allocations: 0, refused: 0 };
  const socket = await bound();
  /** The relayed addresses handed out: bound sockets that never answer, one per allocation. */
  const relays = [];
  const reply = (buf, rinfo) => socket.send(buf, rinfo.port, rinfo.address);
  socket.on('message', async (buf, rinfo) => {
    const m = parse(buf);
    if (!m || m.cls !== REQUEST) return; // indications and channel data: dropped
    if (!m.attrs.has(ATTR.MESSAGE_INTEGRITY)) {
      reply(build(m.method, ERROR, m.id, [attr(ATTR.ERROR_CODE, errorCode(401, 'Unauthorized')),
        attr(ATTR.REALM, Buffer.from(realm)), attr(ATTR.NONCE, Buffer.from(nonce))]), rinfo);
      return;
    }
    if (m.method === METHOD.ALLOCATE) {
      counts.allocations += 1;
      const relay = await bound();
      relays.push(relay);
      reply(build(m.method, SUCCESS, m.id, [
        attr(ATTR.XOR_RELAYED_ADDRESS, xorAddress('127.0.0.1', relay.address().port)),
        attr(ATTR.XOR_MAPPED_ADDRESS, xorAddress(rinfo.address, rinfo.port)),
        attr(ATTR.LIFETIME, Buffer.from([0, 0, 0x02, 0x58])), // 600 s
      ], key), rinfo);
    } else if (m.method === METHOD.REFRESH) {
      reply(build(m.method, SUCCESS, m.id, [attr(ATTR.LIFETIME, m.attrs.get(ATTR.LIFETIME)
        ?? Buffer.from([0, 0, 0x02, 0x58]))], key), rinfo);
    } else {
      counts.refused += 1;
      reply(build(m.method, ERROR, m.id, [attr(ATTR.ERROR_CODE, errorCode(403, 'Forbidden'))]), rinfo);
    }
  });
  return {
    iceServer: { urls: `turn:127.0.0.1:${socket.address().port}?transport=udp`, username, credential },
    counts,
    stop: () => Promise.all([socket, ...relays].map((s) => new Promise((resolve) => s.close(resolve)))),
  };
}

/** A UDP socket bound to a free port of 127.0.0.1. */
function bound() {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}
