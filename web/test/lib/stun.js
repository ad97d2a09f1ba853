// STUN/TURN messages (RFC 8489, RFC 8656) for the tests' own TURN server and client: parse,
// build with MESSAGE-INTEGRITY, and the address and error attributes. IPv4 only.
import { createHash, createHmac } from 'node:crypto';

export const COOKIE = 0x2112a442;
export const METHOD = {
  ALLOCATE: 0x003, REFRESH: 0x004, CREATE_PERMISSION: 0x008, CHANNEL_BIND: 0x009,
};
export const ATTR = {
  USERNAME: 0x0006, MESSAGE_INTEGRITY: 0x0008, ERROR_CODE: 0x0009, LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012, REALM: 0x0014, NONCE: 0x0015, XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019, XOR_MAPPED_ADDRESS: 0x0020,
};
export const CLASS = { REQUEST: 0x0000, SUCCESS: 0x0100, ERROR: 0x0110 };

/** `{method, cls, id, attrs: Map(type -> Buffer)}` of a STUN message, or null. */
export function parse(buf) {
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

export function attr(type, value) {
  const out = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}

/** An XOR-*-ADDRESS value for an IPv4 `address:port`. */
export function xorAddress(address, port) {
  const v = Buffer.alloc(8);
  v.writeUInt16BE(0x0001, 0);
  v.writeUInt16BE(port ^ (COOKIE >>> 16), 2);
  const ip = address.split('.').reduce((n, b) => (n << 8) + Number(b), 0) >>> 0;
  v.writeUInt32BE((ip ^ COOKIE) >>> 0, 4);
  return v;
}

/** `{address, port}` of an IPv4 XOR-*-ADDRESS value. */
export function readXorAddress(v) {
  const ip = (v.readUInt32BE(4) ^ COOKIE) >>> 0;
  return {
    address: [24, 16, 8, 0].map((shift) => (ip >>> shift) & 0xff).join('.'),
    port: v.readUInt16BE(2) ^ (COOKIE >>> 16),
  };
}

export function errorCode(code, reason) {
  const v = Buffer.alloc(4);
  v[2] = Math.floor(code / 100);
  v[3] = code % 100;
  return Buffer.concat([v, Buffer.from(reason)]);
}

/** `{code, reason}` of an ERROR-CODE value. */
export function readErrorCode(v) {
  return { code: (v[2] & 0x7) * 100 + v[3], reason: v.subarray(4).toString() };
}

/** The long-term credential key (RFC 8489 §9.2.2). */
export function longTermKey(username, realm, password) {
  return createHash('md5').update(`${username}:${realm}:${password}`).digest();
}

/** A STUN message; with `key`, MESSAGE-INTEGRITY (RFC 8489 §14.5) last. */
export function build(method, cls, id, attrs, key) {
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
