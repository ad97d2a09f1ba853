// lib/sha256.js (the incremental SHA-256 of in-call file transfer) against node:crypto, on
// random inputs fed in random pieces. Needs no browser.
//
//   node --test web/test/sha256.test.js

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { Sha256 } from '../lib/sha256.js';

const nodeSha = (b) => createHash('sha256').update(b).digest('hex');

/** Feeds `data` to a fresh Sha256 in pieces cut at `cuts` (sorted offsets). */
function pieces(data, cuts) {
  const h = new Sha256();
  let at = 0;
  for (const c of [...cuts, data.length]) {
    h.update(data.subarray(at, c));
    at = c;
  }
  return h.hex();
}

test('known vectors (FIPS 180-4 examples, empty input)', () => {
  assert.equal(new Sha256().hex(),
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(new Sha256().update(Buffer.from('abc')).hex(),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const two = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq';
  assert.equal(new Sha256().update(Buffer.from(two)).hex(),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
});

test('every length from 0 to 300 bytes, in one piece and byte by byte', () => {
  const data = randomBytes(300);
  for (let n = 0; n <= 300; n += 1) {
    const d = data.subarray(0, n);
    assert.equal(new Sha256().update(d).hex(), nodeSha(d), `length ${n}`);
    assert.equal(pieces(d, [...Array(n).keys()].slice(1)), nodeSha(d), `length ${n}, bytewise`);
  }
});

test('random inputs up to 1 MiB cut into random pieces', () => {
  for (let round = 0; round < 40; round += 1) {
    const data = randomBytes(randomInt(1 << 20));
    const cuts = Array.from({ length: randomInt(20) }, () => randomInt(data.length + 1))
      .sort((a, b) => a - b);
    assert.equal(pieces(data, cuts), nodeSha(data), `${data.length} bytes cut at ${cuts}`);
  }
});

test('takes ArrayBuffers, typed-array views at an offset and DataViews', () => {
  const data = randomBytes(1000);
  const copy = new Uint8Array(data).buffer;
  assert.equal(new Sha256().update(copy).hex(), nodeSha(data));
  const wide = new Uint8Array(1003);
  wide.set(data, 3);
  assert.equal(new Sha256().update(new Uint8Array(wide.buffer, 3, 1000)).hex(), nodeSha(data));
  assert.equal(new Sha256().update(new DataView(wide.buffer, 3, 1000)).hex(), nodeSha(data));
});

test('an input of more than 2^32 bits (513 MiB) has its length padded right', () => {
  const block = randomBytes(1 << 20);
  const ours = new Sha256();
  const ref = createHash('sha256');
  for (let i = 0; i < 513; i += 1) {
    ours.update(block);
    ref.update(block);
  }
  assert.equal(ours.hex(), ref.digest('hex'));
});
