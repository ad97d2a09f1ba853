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
import { randomBytes } from 'node:crypto';
import {
  METHOD, ATTR, CLASS, parse, attr, xorAddress, errorCode, build, longTermKey,
} from './stun.js';

const { REQUEST, SUCCESS, ERROR } = CLASS;

/**
 * Starts the server on 127.0.0.1. Resolves to `{iceServer, counts, stop()}`: `iceServer` is an
 * RTCIceServer for it, `counts` how many allocations and refusals it made.
 */
export async function startRefusingTurn({ username = 'test', credential = 'test-pw' } = {}) {
  const realm = 'refusing-turn';
  const nonce = randomBytes(8).toString('hex');
  const key = longTermKey(username, realm, credential);
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
