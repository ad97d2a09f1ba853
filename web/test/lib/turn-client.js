// A TURN client (RFC 8656, UDP, IPv4) for probing a server's relay policy: one allocation
// with long-term credentials, then CreatePermission requests whose answers are returned as
// they come (success or the error code), never thrown.
//
//   const turn = await turnAllocate({ host, port, username, password });
//   await turn.createPermission('10.0.0.1');   // { ok: false, code: 403, reason: 'Forbidden' }
//   await turn.close();
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import {
  METHOD, ATTR, CLASS, parse, attr, xorAddress, readXorAddress, readErrorCode, build, longTermKey,
} from './stun.js';

const UDP = Buffer.from([17, 0, 0, 0]); // REQUESTED-TRANSPORT: UDP

/**
 * Allocates a relayed address. Resolves to `{ok, code, reason, relayed, createPermission(address),
 * close()}`: `ok` false with the error code if the server refused the allocation (then only
 * close() is of use). Rejects if the server does not answer within `timeoutMs`.
 */
export async function turnAllocate({ host, port, username, password, timeoutMs = 5000 }) {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  const waiting = new Map();
  socket.on('message', (buf) => {
    const m = parse(buf);
    const w = m && waiting.get(m.id.toString('hex'));
    if (w) w(m);
  });
  const close = () => new Promise((resolve) => socket.close(resolve));

  /** Sends a request until its answer comes (UDP: resent every 250 ms), or rejects. */
  const request = (method, attrs, key) => {
    const id = randomBytes(12);
    const msg = build(method, CLASS.REQUEST, id, attrs, key);
    return new Promise((resolve, reject) => {
      const resend = setInterval(() => socket.send(msg, port, host), 250);
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`TURN ${host}:${port}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = () => {
        clearInterval(resend);
        clearTimeout(timer);
        waiting.delete(id.toString('hex'));
      };
      waiting.set(id.toString('hex'), (m) => {
        finish();
        resolve(m);
      });
      socket.send(msg, port, host);
    });
  };
  const outcome = (m) => {
    if (m.cls === CLASS.SUCCESS) return { ok: true };
    const error = m.attrs.get(ATTR.ERROR_CODE);
    return { ok: false, ...(error ? readErrorCode(error) : { code: null, reason: 'no ERROR-CODE' }) };
  };

  try {
    // The first Allocate learns the realm and nonce from the 401 (RFC 8656 §7.2).
    const challenge = await request(METHOD.ALLOCATE, [attr(ATTR.REQUESTED_TRANSPORT, UDP)]);
    const first = outcome(challenge);
    if (first.code !== 401) return { ...first, close };
    const realm = challenge.attrs.get(ATTR.REALM);
    const nonce = challenge.attrs.get(ATTR.NONCE);
    const key = longTermKey(username, realm.toString(), password);
    const auth = [attr(ATTR.USERNAME, Buffer.from(username)), attr(ATTR.REALM, realm),
      attr(ATTR.NONCE, nonce)];
    const allocated = await request(METHOD.ALLOCATE,
      [attr(ATTR.REQUESTED_TRANSPORT, UDP), ...auth], key);
    const result = outcome(allocated);
    if (!result.ok) return { ...result, close };
    return {
      ...result,
      relayed: readXorAddress(allocated.attrs.get(ATTR.XOR_RELAYED_ADDRESS)),
      /** Asks the server to let `address` send to our relayed address: `{ok, code, reason}`. */
      async createPermission(address) {
        const m = await request(METHOD.CREATE_PERMISSION,
          [attr(ATTR.XOR_PEER_ADDRESS, xorAddress(address, 9)), ...auth], key);
        return outcome(m);
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
