// 1:1 calls on the demo page (lib/jingle.js: XEP-0353 + XEP-0166 with sdp-map) between pages
// of one Chromium against a real ejabberd: media both ways, hang up, reject, busy, no answer.
// Run inside a loopback-only network namespace (see lib/browser.js).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { openDemoPages, stopDemoPages, callButton, connectedCall, status }
  from './lib/demo-page.js';
import { connectClient, $iq, errorCondition } from './lib/xmpp-client.js';
import { mediaFlows } from './lib/media.js';

let bed;
let browser;
let pages;

before(async () => {
  ({ bed, browser, pages } = await openDemoPages({
    users: ['alice:alice-pw', 'bob:bob-pw', 'carol:carol-pw'],
  }));
});

afterEach(() => pages.closeAll());

after(async () => {
  await stopDemoPages({ bed, browser });
});

const user = (name) => pages.user(name);
const loggedIn = (name, query) => pages.loggedIn(name, query, { testKnobs: !!query });

test('alice calls bob, bob accepts: media both ways; bob hangs up and both sides end', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await connectedCall(alice, bob, 'bob', 'alice');
  const [a, b] = await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
  assert.ok(a.last.frames > a.first.frames && a.last.samples > a.first.samples);
  assert.ok(b.last.frames > b.first.frames && b.last.samples > b.first.samples);
  await status(alice, 'In a call with bob.').waitFor();
  // The remote <video> really plays (has a size from decoded frames).
  await bob.waitForFunction(() => document.getElementById('remote-video').videoWidth > 0);
  // alice's user list shows bob "in a call".
  await alice.getByRole('listitem').filter({ hasText: 'bob@' }).getByText('in a call').waitFor();

  await bob.getByRole('button', { name: 'Hang up' }).click();
  await status(bob, 'Call ended.').waitFor();
  await status(alice, 'bob hung up.').waitFor();
  for (const page of [alice, bob]) {
    await page.getByRole('button', { name: 'Hang up' }).waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => window.demo.call), null);
    assert.equal(await page.evaluate(() => window.demo.jingle.calls.size), 0);
  }
  // Both can call again.
  await callButton(alice, 'bob').waitFor();
  assert.equal(await callButton(alice, 'bob').isEnabled(), true);
  await alice.context().close();
  await bob.context().close();
  assert.deepEqual(pages.errors, []);
});

test('bob rejects: alice sees "rejected"', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await callButton(alice, 'bob').click();
  const dialog = bob.getByRole('dialog', { name: 'Incoming call' });
  await dialog.getByRole('button', { name: 'Reject' }).click();
  await status(alice, 'bob rejected the call.').waitFor();
  await status(bob, 'Call rejected.').waitFor();
  await alice.getByRole('button', { name: 'Cancel' }).waitFor({ state: 'hidden' });
  await dialog.waitFor({ state: 'hidden' });
  await alice.context().close();
  await bob.context().close();
  assert.deepEqual(pages.errors, []);
});

test('bob is in a call with carol: alice gets busy', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  const carol = await loggedIn('carol');
  await connectedCall(bob, carol, 'carol', 'bob');
  await callButton(alice, 'bob').click();
  await status(alice, 'bob is busy.').waitFor();
  // bob was not disturbed: no incoming dialog, and his call with carol goes on.
  assert.equal(await bob.getByRole('dialog', { name: 'Incoming call' }).isVisible(), false);
  assert.equal(await bob.evaluate(() => window.demo.call?.state), 'active');
  await mediaFlows(bob);
  await carol.getByRole('button', { name: 'Hang up' }).click();
  await status(bob, 'carol hung up.').waitFor();
  for (const p of [alice, bob, carol]) await p.context().close();
  assert.deepEqual(pages.errors, []);
});

test('nobody answers: the call is retracted after the (configured) timeout', async () => {
  const alice = await loggedIn('alice', '/?ringTimeout=1500');
  const bob = await loggedIn('bob');
  await callButton(alice, 'bob').click();
  const dialog = bob.getByRole('dialog', { name: 'Incoming call' });
  await dialog.waitFor();
  await alice.getByText('Calling bob… (ringing)').waitFor();
  await status(alice, 'No answer from bob.').waitFor();
  await status(bob, 'Missed call from alice.').waitFor();
  await dialog.waitFor({ state: 'hidden' });
  await alice.context().close();
  await bob.context().close();
  assert.deepEqual(pages.errors, []);
});

test('mute and camera off are signalled; alice hangs up: both sides end', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await connectedCall(alice, bob, 'bob', 'alice');
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
  // Mute disables the microphone track, camera off releases the camera; alice is told
  // (XEP-0167 session-info, and content-modify for the camera: see call-media.test.js).
  await bob.getByRole('button', { name: 'Mute' }).click();
  await bob.getByRole('button', { name: 'Camera off' }).click();
  await alice.getByText("In a call with bob (bob is muted, bob's camera is off)").waitFor();
  assert.deepEqual(await bob.evaluate(() => window.demo.call.localStream.getTracks()
    .map((t) => `${t.kind}:${t.enabled}`).sort()), ['audio:false']);
  await bob.getByRole('button', { name: 'Unmute' }).click();
  await bob.getByRole('button', { name: 'Camera on' }).click();
  await alice.getByText('In a call with bob', { exact: true }).waitFor();
  await alice.getByRole('button', { name: 'Hang up' }).click();
  await status(alice, 'Call ended.').waitFor();
  await status(bob, 'alice hung up.').waitFor();
  for (const page of [alice, bob]) {
    await page.getByRole('button', { name: 'Hang up' }).waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => window.demo.jingle.calls.size), 0);
  }
  assert.deepEqual(pages.errors, []);
});

test('bob on two pages: both ring, one accepts, the other stops ringing', async () => {
  const alice = await loggedIn('alice');
  const bob1 = await loggedIn('bob');
  const bob2 = await loggedIn('bob');
  await alice.waitForFunction(
    (jid) => window.demo.contacts?.get(jid)?.resources.length === 2, user('bob').jid);
  await callButton(alice, 'bob').click();
  const dialog1 = bob1.getByRole('dialog', { name: 'Incoming call' });
  const dialog2 = bob2.getByRole('dialog', { name: 'Incoming call' });
  await dialog1.waitFor();
  await dialog2.waitFor();
  await dialog2.getByRole('button', { name: 'Accept' }).click();
  await status(bob1, 'Call answered on another device.').waitFor();
  await dialog1.waitFor({ state: 'hidden' });
  await Promise.all([mediaFlows(alice), mediaFlows(bob2)]);
  assert.equal(await bob1.evaluate(() => window.demo.jingle.calls.size), 0);
  await alice.getByRole('button', { name: 'Hang up' }).click();
  await status(bob2, 'alice hung up.').waitFor();
  assert.deepEqual(pages.errors, []);
});

test('relay-only call through ejabberd TURN with XEP-0215 credentials', async () => {
  const alice = await loggedIn('alice', '/?relay=1');
  const bob = await loggedIn('bob', '/?relay=1');
  const servers = await alice.evaluate(() => window.demo.jingle.iceServers());
  assert.ok(servers.some((s) => /^turn:/.test(s.urls) && s.username && s.credential),
    JSON.stringify(servers));
  assert.ok(servers.every((s) => !/^stun:.*\?transport=/.test(s.urls)), JSON.stringify(servers));
  await connectedCall(alice, bob, 'bob', 'alice');
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
  for (const page of [alice, bob]) {
    const pair = await page.evaluate(async () => {
      const stats = await window.demo.call.pc.getStats();
      const transport = [...stats.values()].find((s) => s.type === 'transport');
      const p = stats.get(transport.selectedCandidatePairId);
      return { local: stats.get(p.localCandidateId).candidateType,
        remote: stats.get(p.remoteCandidateId).candidateType };
    });
    assert.deepEqual(pair, { local: 'relay', remote: 'relay' });
  }
  await bob.getByRole('button', { name: 'Hang up' }).click();
  await status(alice, 'bob hung up.').waitFor();
  assert.deepEqual(pages.errors, []);
});

test('calls to an offline or unknown user end with "offline"', async () => {
  const alice = await loggedIn('alice');
  // carol exists but is offline: known from presence, no ringing.
  const reasons = await alice.evaluate(async (jids) => Promise.all(jids.map(async (jid) => {
    const call = await window.demo.jingle.call(jid);
    return new Promise((resolve) => {
      call.addEventListener('ended', (e) => resolve(e.detail.reason));
    });
  })), [user('carol').jid, `nobody@${bed.info.domain}`]);
  assert.deepEqual(reasons, ['gone', 'gone']);
  assert.equal(await alice.evaluate(() => window.demo.jingle.calls.size), 0);
  assert.deepEqual(pages.errors, []);
});

test('malformed or unknown Jingle IQs get Jingle errors, and calls still work', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  const bobJid = await bob.evaluate(() => window.demo.conn.jid);
  const carol = await connectClient({ websocket: bed.info.websocket, jid: user('carol').jid,
    password: user('carol').password, presence: true });
  const jingleIq = (attrs, content) => {
    const iq = $iq({ type: 'set', to: bobJid })
      .c('jingle', { xmlns: 'urn:xmpp:jingle:1', initiator: carol.jid, ...attrs });
    if (content) iq.c('content', { creator: 'initiator', name: '0' })
      .c('description', { xmlns: 'urn:xmpp:jingle:apps:rtp:1', media: 'audio' })
      .c('payload-type', { id: content, name: 'opus', clockrate: '48000' });
    return iq;
  };
  const errorOf = async (iq) => {
    const el = await carol.sendIQ(iq).then(() => null, (e) => e);
    assert.ok(el, 'an error reply');
    const error = [...el.childNodes].find((n) => n.nodeName === 'error');
    const jingleError = [...error.childNodes].find((n) => n.namespaceURI === 'urn:xmpp:jingle:errors:1');
    return [errorCondition(el).condition, jingleError?.nodeName ?? null];
  };
  try {
    assert.deepEqual(await errorOf(jingleIq({ action: 'transport-info', sid: 'nope' })),
      ['item-not-found', 'unknown-session']);
    assert.deepEqual(await errorOf(jingleIq({ action: 'session-terminate', sid: 'nope' })),
      ['item-not-found', 'unknown-session']);
    assert.deepEqual(await errorOf(jingleIq({ action: 'session-accept' })), ['bad-request', null]);
    assert.deepEqual(await errorOf(jingleIq({ action: 'session-initiate', sid: 'bad' }, 'abc')),
      ['bad-request', null]);
    assert.deepEqual(await errorOf(jingleIq({ action: 'session-initiate', sid: 'empty' })),
      ['bad-request', null]);
  } finally {
    await carol.disconnect();
  }
  assert.equal(await bob.getByRole('dialog', { name: 'Incoming call' }).isVisible(), false);
  await connectedCall(alice, bob, 'bob', 'alice');
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
  await bob.getByRole('button', { name: 'Hang up' }).click();
  await status(alice, 'bob hung up.').waitFor();
  assert.deepEqual(pages.errors, []);
});

test('bob closes his page mid-call: the call of alice ends within seconds', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await connectedCall(alice, bob, 'bob', 'alice');
  await mediaFlows(alice);
  await bob.close({ runBeforeUnload: true });
  await status(alice, 'bob left the call.').waitFor({ timeout: 5000 });
  assert.equal(await alice.evaluate(() => window.demo.jingle.calls.size), 0);
  assert.deepEqual(pages.errors, []);
});

/** Sends a file through the "Send file" button (the file chooser). */
async function sendFile(page, file) {
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Send file' }).click();
  await (await chooser).setFiles(file);
}

const transferRow = (page, text) => page.getByRole('list', { name: 'File transfers' })
  .getByRole('listitem').filter({ hasText: text });

/**
 * Counts the progress events of every transfer on `page` in `window.progressEvents`, and keeps
 * the transfers in `window.transfersSeen` (a finished one leaves `files.transfers`).
 */
const countProgress = (page) => page.evaluate(() => {
  window.progressEvents = {};
  window.transfersSeen = [];
  window.demo.call.files.addEventListener('transfer', ({ detail: t }) => {
    const key = `${t.direction} ${t.name}`;
    window.progressEvents[key] = 0;
    window.transfersSeen.push(t);
    t.addEventListener('progress', () => { window.progressEvents[key] += 1; });
  });
});

/** Accepts the file `name` offered to `page` ("Accept NAME" in its row). */
const acceptFile = (page, name) => page.getByRole('button', { name: `Accept ${name}`, exact: true })
  .click();

/** SHA-256 (hex) of the file `name` received on `page`, computed in the page. */
const receivedSha = (page, name) => page.evaluate(async (n) => {
  const t = window.transfersSeen.find((x) => x.direction === 'incoming' && x.name === n);
  const d = await crypto.subtle.digest('SHA-256', await t.blob.arrayBuffer());
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}, name);

test('files during a call: 20 MB both ways with matching SHA-256, image preview, cancel, damage', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await connectedCall(alice, bob, 'bob', 'alice');
  for (const p of [alice, bob]) {
    await p.getByRole('button', { name: 'Send file' }).and(p.locator(':enabled')).waitFor();
  }
  const fromAlice = randomBytes(20 * 1024 * 1024);
  const fromBob = randomBytes(20 * 1024 * 1024);
  const sha = (b) => createHash('sha256').update(b).digest('hex');
  await Promise.all([countProgress(alice), countProgress(bob)]);
  await sendFile(alice, { name: 'from-alice.bin', mimeType: 'application/octet-stream', buffer: fromAlice });
  await sendFile(bob, { name: 'from-bob.bin', mimeType: 'application/octet-stream', buffer: fromBob });
  await acceptFile(bob, 'from-alice.bin');
  await acceptFile(alice, 'from-bob.bin');
  const long = { timeout: 60000 };
  await transferRow(bob, 'Receiving from-alice.bin').getByText('received, SHA-256 verified').waitFor(long);
  await transferRow(alice, 'Receiving from-bob.bin').getByText('received, SHA-256 verified').waitFor(long);
  await transferRow(alice, 'Sending from-alice.bin').getByText('sent').waitFor();
  await transferRow(bob, 'Sending from-bob.bin').getByText('sent').waitFor();
  assert.equal(await receivedSha(bob, 'from-alice.bin'), sha(fromAlice));
  assert.equal(await receivedSha(alice, 'from-bob.bin'), sha(fromBob));
  // Progress on both sides, in steps of about 1 % rather than per chunk.
  const progress = { ...await alice.evaluate(() => window.progressEvents),
    ...await bob.evaluate(() => window.progressEvents) };
  for (const key of ['outgoing from-alice.bin', 'incoming from-alice.bin', 'outgoing from-bob.bin',
    'incoming from-bob.bin']) {
    assert.ok(progress[key] >= 50 && progress[key] <= 101, `${key}: ${progress[key]} progress events`);
  }

  // An image shows a preview.
  const png = await alice.screenshot({ clip: { x: 0, y: 0, width: 40, height: 30 } });
  await sendFile(alice, { name: 'pic.png', mimeType: 'image/png', buffer: png });
  await acceptFile(bob, 'pic.png');
  const preview = bob.getByRole('img', { name: 'Preview of pic.png' });
  await preview.waitFor();
  await bob.waitForFunction(() => document.querySelector('img.preview')?.naturalWidth === 40);

  // bob cancels a large file as soon as its first bytes arrive; both sides stay usable.
  await bob.evaluate(() => {
    window.demo.call.files.addEventListener('transfer', (e) => {
      e.detail.addEventListener('progress', () => e.detail.cancel(), { once: true });
      e.detail.accept();
    }, { once: true });
  });
  await alice.evaluate(() => {
    const block = new Uint8Array(64 * 1024);
    crypto.getRandomValues(block);
    window.demo.call.files.send(new File(Array(1600).fill(block), 'big.bin'));
  });
  await transferRow(alice, 'Sending big.bin').getByText('cancelled by the other side').waitFor();
  await transferRow(bob, 'Receiving big.bin').getByText('cancelled', { exact: true }).waitFor();
  // A chunk damaged on the way (one bit flipped in a copy alice sends) fails the check.
  await alice.evaluate(() => {
    const ch = window.demo.call.files.channel;
    ch.send = (data) => {
      if (typeof data === 'string') return RTCDataChannel.prototype.send.call(ch, data);
      delete ch.send;
      const copy = new Uint8Array(data.byteLength);
      copy.set(new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength));
      copy[copy.length >> 1] ^= 1;
      return ch.send(copy);
    };
  });
  await sendFile(alice, { name: 'damaged.bin', mimeType: 'application/octet-stream',
    buffer: randomBytes(300 * 1024) });
  await acceptFile(bob, 'damaged.bin');
  await transferRow(bob, 'Receiving damaged.bin').getByText('damaged: SHA-256 mismatch').waitFor();
  await transferRow(alice, 'Sending damaged.bin').getByText('sent').waitFor();
  const after = randomBytes(100 * 1024);
  await sendFile(alice, { name: 'after.bin', mimeType: 'application/octet-stream', buffer: after });
  await acceptFile(bob, 'after.bin');
  await transferRow(bob, 'Receiving after.bin').getByText('received, SHA-256 verified').waitFor();
  assert.equal(await receivedSha(bob, 'after.bin'), sha(after));
  await mediaFlows(bob);
  await alice.getByRole('button', { name: 'Hang up' }).click();
  await status(bob, 'alice hung up.').waitFor();
  assert.deepEqual(pages.errors, []);
});

test('older JMI: an <accept/> from another device of bob to his bare JID stops the ringing', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await callButton(alice, 'bob').click();
  await bob.getByRole('dialog', { name: 'Incoming call' }).waitFor();
  const sid = await bob.evaluate(() => window.demo.call.sid);
  const bobOld = await connectClient({ websocket: bed.info.websocket, jid: user('bob').jid,
    password: user('bob').password, presence: true });
  try {
    bobOld.sendRaw(`<message xmlns='jabber:client' to='${user('bob').jid}' type='chat'>`
      + `<accept xmlns='urn:xmpp:jingle-message:0' id='${sid}'/></message>`);
    await status(bob, 'Call answered on another device.').waitFor();
    await bob.getByRole('dialog', { name: 'Incoming call' }).waitFor({ state: 'hidden' });
  } finally {
    await bobOld.disconnect();
  }
  await alice.getByRole('button', { name: 'Cancel' }).click();
  await status(alice, 'Call cancelled.').waitFor();
  assert.deepEqual(pages.errors, []);
});
