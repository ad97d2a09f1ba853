// Files received during a call, tried as a hostile peer would (lib/file-transfer.js and the
// demo page): nothing is stored before the receiver accepts; a size limit; no bytes beyond the
// announced size, no negative or fractional size; one offer at a time; finished transfers are
// let go and their object URLs revoked; received data is application/octet-stream; only
// PNG/JPEG/GIF/WebP get a preview, never SVG. The hostile side writes straight to the call's
// data channel. Demo pages in Chromium against a real ejabberd, in a loopback-only namespace.
// The memory held after abandoned files is measured by bench/file-abandon.js.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openDemoPages, stopDemoPages, connectedCall } from './lib/demo-page.js';

let bed;
let browser;
let pages;

before(async () => {
  ({ bed, browser, pages } = await openDemoPages({ users: ['alice:alice-pw', 'bob:bob-pw'] }));
});

afterEach(async () => {
  await pages.closeAll();
  assert.deepEqual(pages.errors.splice(0), []);
});

after(async () => {
  await stopDemoPages({ bed, browser });
});

/** alice and bob in a call whose data channel is open; bob keeps what the files API tells. */
async function inCall() {
  const alice = await pages.loggedIn('alice');
  const bob = await pages.loggedIn('bob');
  await connectedCall(alice, bob, 'bob', 'alice');
  for (const p of [alice, bob]) await p.waitForFunction(() => window.demo.call?.files?.open);
  await bob.evaluate(() => {
    window.seen = [];
    window.refused = [];
    const { files } = window.demo.call;
    files.addEventListener('transfer', ({ detail: t }) => window.seen.push(t));
    files.addEventListener('refused', ({ detail }) => window.refused.push(detail));
  });
  return { alice, bob };
}

/** Sends a file through the "Send file" button (the file chooser). */
async function sendFile(page, file) {
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Send file' }).click();
  await (await chooser).setFiles(file);
}

const row = (page, text) => page.getByRole('list', { name: 'File transfers' })
  .getByRole('listitem').filter({ hasText: text });

/**
 * In alice's page: writes JSON messages and `bytes` binary bytes straight to the data channel,
 * as a peer that does not follow the protocol would; `messages` is a list of objects (sent as
 * JSON) and numbers (that many random bytes, in chunks of 64 KiB).
 */
const raw = (alice, messages) => alice.evaluate(async (ms) => {
  const ch = window.demo.call.files.channel;
  for (const m of ms) {
    if (typeof m !== 'number') {
      ch.send(JSON.stringify(m));
      continue;
    }
    for (let at = 0; at < m; at += 65536) {
      const chunk = new Uint8Array(Math.min(65536, m - at));
      crypto.getRandomValues(chunk);
      ch.send(chunk);
    }
  }
}, messages);

/** Waits until bob's page has received `n` messages on the data channel after this call. */
async function bobReceived(bob, fn) {
  await bob.evaluate(() => {
    window.channelIn = 0;
    window.demo.call.files.channel.addEventListener('message', () => { window.channelIn += 1; });
  });
  const n = await fn();
  await bob.waitForFunction((k) => window.channelIn >= k, n);
}

test('a file is stored only once accepted: bob sees name and size, declines one, accepts one', async () => {
  const { alice, bob } = await inCall();
  await sendFile(alice, { name: 'offer.bin', mimeType: 'application/octet-stream',
    buffer: randomBytes(300 * 1024) });
  const offered = row(bob, 'Receiving offer.bin (300.0 kB)');
  await offered.getByText('offered to you').waitFor();
  // Offered, not sent: no byte has come (alice waits for the answer).
  assert.deepEqual(await bob.evaluate(() => window.seen.map((t) => [t.state, t.bytes])),
    [['offered', 0]]);
  assert.equal(await alice.evaluate(() => [...window.demo.call.files.transfers.values()][0].state),
    'waiting');
  await offered.getByRole('button', { name: 'Decline offer.bin' }).click();
  await row(alice, 'Sending offer.bin').getByText('declined by the other side').waitFor();

  await sendFile(alice, { name: 'second.bin', mimeType: 'application/octet-stream',
    buffer: randomBytes(100 * 1024) });
  await row(bob, 'Receiving second.bin').getByRole('button', { name: 'Accept second.bin' }).click();
  await row(bob, 'Receiving second.bin').getByText('received, SHA-256 verified').waitFor();
  await row(alice, 'Sending second.bin').getByText('sent').waitFor();
});

test('a file over the size limit is declined at once; sizes and byte counts are checked', async () => {
  const { alice, bob } = await inCall();
  await bob.evaluate(() => { window.demo.call.files.maxSize = 1000; });
  await sendFile(alice, { name: 'big.bin', mimeType: 'application/octet-stream',
    buffer: randomBytes(2000) });
  await row(alice, 'Sending big.bin').getByText('too large for the other side').waitFor();
  await bob.getByRole('status').filter({ hasText: 'big.bin: 2.0 kB is too large' }).waitFor();
  await bob.evaluate(() => { window.demo.call.files.maxSize = 2 ** 31; });

  // Negative, fractional or missing sizes are refused without a row.
  await bobReceived(bob, () => raw(alice, [
    { type: 'file', id: 'neg', name: 'neg.bin', size: -1 },
    { type: 'file', id: 'frac', name: 'frac.bin', size: 1.5 },
    { type: 'file', id: 'none', name: 'none.bin' },
  ]).then(() => 3));
  assert.deepEqual(await bob.evaluate(() => window.refused.map((r) => `${r.name} ${r.reason}`)),
    ['big.bin too-large', 'neg.bin bad-request', 'frac.bin bad-request', 'none.bin bad-request']);
  assert.equal(await bob.evaluate(() => window.seen.length), 0);

  // 10 bytes announced, 100 KiB sent after bob accepts: the file fails, nothing is kept.
  await raw(alice, [{ type: 'file', id: 'liar', name: 'liar.bin', size: 10 }]);
  await row(bob, 'Receiving liar.bin').getByRole('button', { name: 'Accept liar.bin' }).click();
  await bobReceived(bob, () => raw(alice, [100 * 1024, { type: 'end', id: 'liar' }])
    .then(() => 3));
  assert.deepEqual(await bob.evaluate(() => window.seen.map((t) => [t.name, t.state, t.bytes,
    t.blob])), [['liar.bin', 'failed', 0, null]]);
  assert.equal(await bob.evaluate(() => window.demo.call.files.transfers.size), 0);
});

test('one file at a time: an offer while another is in flight is declined, its bytes dropped', async () => {
  const { alice, bob } = await inCall();
  await raw(alice, [{ type: 'file', id: 'one', name: 'one.bin', size: 200 * 1024 }]);
  await row(bob, 'Receiving one.bin').getByRole('button', { name: 'Accept one.bin' }).click();
  await bobReceived(bob, () => raw(alice, [100 * 1024,
    { type: 'file', id: 'two', name: 'two.bin', size: 1024 }]).then(() => 3));
  assert.deepEqual(await bob.evaluate(() => window.refused.map((r) => `${r.name} ${r.reason}`)),
    ['two.bin busy']);
  assert.deepEqual(await bob.evaluate(() => window.seen.map((t) => [t.name, t.state, t.bytes])),
    [['one.bin', 'receiving', 100 * 1024]]);
  // alice abandons one.bin and offers three.bin: still one at a time, one.bin stays bounded.
  await bobReceived(bob, () => raw(alice, [{ type: 'file', id: 'three', name: 'three.bin',
    size: 1024 }, 64 * 1024]).then(() => 2));
  assert.deepEqual(await bob.evaluate(() => window.seen.map((t) => [t.name, t.bytes])),
    [['one.bin', 100 * 1024 + 64 * 1024]]);
  assert.deepEqual(await bob.evaluate(() => window.refused.map((r) => r.name)),
    ['two.bin', 'three.bin']);
});

test('received files are octet-stream; only raster images get a preview; URLs go with their rows', async () => {
  const { alice, bob } = await inCall();
  await bob.evaluate(() => {
    window.demo.call.files.addEventListener('transfer', ({ detail: t }) => t.accept());
  });
  // An HTML page and an SVG image that would run script if opened in our origin.
  const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>parent.pwned=1</script></svg>';
  await sendFile(alice, { name: 'page.html', mimeType: 'text/html',
    buffer: Buffer.from('<script>parent.pwned = 1</script>') });
  await sendFile(alice, { name: 'pic.svg', mimeType: 'image/svg+xml', buffer: Buffer.from(svg) });
  // An SVG claiming to be a PNG, and a real PNG.
  await sendFile(alice, { name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from(svg) });
  const png = await alice.screenshot({ clip: { x: 0, y: 0, width: 20, height: 10 } });
  await sendFile(alice, { name: 'real.png', mimeType: 'image/png', buffer: png });
  for (const name of ['page.html', 'pic.svg', 'fake.png', 'real.png']) {
    await row(bob, `Receiving ${name}`).getByText('received, SHA-256 verified').waitFor();
  }
  await bob.getByRole('img', { name: 'Preview of real.png' }).waitFor();
  assert.deepEqual(await bob.evaluate(() => [...document.querySelectorAll('img.preview')]
    .map((i) => i.alt)), ['Preview of real.png']);
  assert.deepEqual(await bob.evaluate(() => window.seen.map((t) => `${t.name} ${t.mime} ${t.blob.type}`)),
    ['page.html text/html application/octet-stream', 'pic.svg image/svg+xml application/octet-stream',
      'fake.png image/png application/octet-stream', 'real.png image/png application/octet-stream']);
  // Finished transfers leave the list (the page keeps what it shows).
  assert.equal(await bob.evaluate(() => window.demo.call.files.transfers.size), 0);

  // The object URLs of the rows are revoked when the rows go (here: bob logs out): the
  // preview's image no longer loads from its URL.
  assert.equal(await bob.evaluate(() => document.querySelectorAll('#transfers a[download]').length), 4);
  const preview = await bob.evaluate(() => document.querySelector('img.preview').src);
  const loads = (url) => bob.evaluate((u) => new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve('loads');
    img.onerror = () => resolve('gone');
    img.src = u;
  }), url);
  assert.equal(await loads(preview), 'loads');
  await bob.getByRole('button', { name: 'Hang up' }).click();
  await bob.getByRole('button', { name: 'Log out' }).click();
  await bob.getByRole('button', { name: 'Log in' }).waitFor();
  assert.equal(await loads(preview), 'gone');
  // Chromium reports the failed load on the console: the one error expected here.
  assert.deepEqual(pages.errors.splice(0), ['bob console: Failed to load resource: net::ERR_FILE_NOT_FOUND']);
  assert.equal(await bob.evaluate(() => window.pwned), undefined);
});
