// Mid-call renegotiation on the demo page: camera off/on as Jingle content-modify, video added
// to an audio-only call as content-add/content-accept, and both sides changing at once
// (tie-break). Real ejabberd and Chromium, in a loopback-only network namespace.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openDemoPages, stopDemoPages, callButton, holdInput, releaseInput, recordJingleErrors }
  from './lib/demo-page.js';
import { mediaFlows, videoStops } from './lib/media.js';
import { connectClient, $iq, $msg } from './lib/xmpp-client.js';

let bed;
let browser;
let pages;

before(async () => {
  ({ bed, browser, pages } = await openDemoPages({
    users: ['alice:alice-pw', 'bob:bob-pw', 'carol:carol-pw'],
  }));
});

afterEach(async () => {
  await pages.closeAll();
  assert.deepEqual(pages.errors.splice(0), []);
});

after(async () => {
  await stopDemoPages({ bed, browser });
});

const user = (name) => pages.user(name);

/** A logged-in demo page that records the Jingle actions it receives in `window.jingleIn`. */
async function loggedIn(name) {
  const page = await pages.loggedIn(name);
  await page.evaluate(() => {
    window.jingleIn = [];
    const input = window.demo.conn.xmlInput;
    window.demo.conn.xmlInput = (el) => {
      for (const j of el.querySelectorAll('iq[type="set"] > jingle')) {
        window.jingleIn.push({ action: j.getAttribute('action'),
          contents: [...j.querySelectorAll(':scope > content')].map((c) => ({
            name: c.getAttribute('name'), creator: c.getAttribute('creator'),
            senders: c.getAttribute('senders') })) });
      }
      input?.call(window.demo.conn, el);
    };
  });
  return page;
}

/** alice calls bob (audio + video unless `media` says otherwise); bob accepts. */
async function call(alice, bob, media) {
  await callButton(alice, 'bob').waitFor();
  if (media) {
    await alice.evaluate(({ jid, m }) => window.demo.startCall(jid, m),
      { jid: user('bob').jid.split('/')[0], m: media });
  } else {
    await callButton(alice, 'bob').click();
  }
  await bob.getByRole('dialog', { name: 'Incoming call' }).getByRole('button', { name: 'Accept' })
    .click();
  for (const p of [alice, bob]) await p.waitForFunction(() => window.demo.call?.state === 'active');
}

/** The negotiated video content as the page sees it: {senders, creator}. */
const videoContent = (page) => page.evaluate(() => {
  const c = [...window.demo.call.contents.values()].find((x) => x.media === 'video');
  return c ? { creator: c.creator, senders: c.senders } : null;
});

/** Waits until the page's call has the video `senders` given. */
const sendersBecome = (page, senders) => page.waitForFunction((s) => [...window.demo.call
  .contents.values()].some((c) => c.media === 'video' && c.senders === s), senders);

/** Video frames decoded so far by the page's call. */
const framesDecoded = (page) => page.evaluate(async () => {
  let frames = 0;
  for (const s of (await window.demo.call.pc.getStats()).values()) {
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
  }
  return frames;
});

/** Waits until the page decodes video frames beyond `from`. */
const videoResumes = (page, from) => page.waitForFunction(async (f) => {
  let frames = 0;
  for (const s of (await window.demo.call.pc.getStats()).values()) {
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
  }
  return frames > f + 5;
}, from, { polling: 100 });

const liveVideoTracks = (page) => page.evaluate(() => (window.demo.call.localStream
  ?.getVideoTracks() ?? []).filter((t) => t.readyState === 'live').length);

const received = (page, action) => page.evaluate((a) => window.jingleIn
  .filter((j) => j.action === a), action);

test('camera off and on mid-call: content-modify, the camera is released, video stops and resumes', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await call(alice, bob);
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
  assert.deepEqual(await videoContent(alice), { creator: 'initiator', senders: 'both' });
  // Both announce BUNDLE and XEP-0343: max-bundle, and a data channel for files.
  for (const p of [alice, bob]) {
    assert.equal(await p.evaluate(() => window.demo.call.pc.getConfiguration().bundlePolicy),
      'max-bundle');
    await p.waitForFunction(() => window.demo.call.files?.open);
  }

  await bob.getByRole('button', { name: 'Camera off' }).click();
  await sendersBecome(alice, 'initiator');
  await alice.getByText("In a call with bob (bob's camera is off)").waitFor();
  assert.equal(await liveVideoTracks(bob), 0, "bob's camera is released");
  const [modify] = await received(alice, 'content-modify');
  assert.deepEqual(modify.contents, [{ name: modify.contents[0].name, creator: 'initiator',
    senders: 'initiator' }]);
  assert.deepEqual(await videoContent(bob), { creator: 'initiator', senders: 'initiator' });
  const stopped = await videoStops(alice);
  await mediaFlows(bob); // bob still gets alice's video and audio

  await bob.getByRole('button', { name: 'Camera on' }).click();
  await sendersBecome(alice, 'both');
  await alice.getByText('In a call with bob', { exact: true }).waitFor();
  await videoResumes(alice, stopped);
  assert.equal(await liveVideoTracks(bob), 1);
  assert.deepEqual((await received(alice, 'content-modify')).map((m) => m.contents[0].senders),
    ['initiator', 'both']);
  assert.equal((await received(alice, 'session-initiate')).length, 0, 'no new call');
  assert.equal(await alice.evaluate(() => window.demo.jingle.calls.size), 1);
  await alice.getByRole('button', { name: 'Hang up' }).click();
  await bob.getByText('alice hung up.').waitFor();
});

test('audio-only call: camera on adds video with content-add, the peer turns its camera on too', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await call(alice, bob, { audio: true, video: false });
  assert.equal(await videoContent(alice), null);
  await bob.getByRole('button', { name: 'Camera on' }).waitFor();

  await alice.getByRole('button', { name: 'Camera on' }).click();
  for (const p of [alice, bob]) await sendersBecome(p, 'both');
  const [add] = await received(bob, 'content-add');
  assert.equal(add.contents.length, 1);
  assert.equal(add.contents[0].creator, 'initiator');
  // The content-accept repeats the offered senders (as Conversations requires); bob's camera
  // stays off, which he says with session-info <mute/>.
  const [accept] = await received(alice, 'content-accept');
  assert.deepEqual(accept.contents, [add.contents[0]]);
  await videoResumes(bob, 0);
  await bob.waitForFunction(() => document.getElementById('remote-video').videoWidth > 0);
  assert.equal(await liveVideoTracks(bob), 0, 'bob did not turn his camera on');
  await alice.getByText("In a call with bob (bob's camera is off)").waitFor();
  assert.equal(await alice.evaluate(() => window.demo.call.remoteVideo), false);

  await bob.getByRole('button', { name: 'Camera on' }).click();
  await alice.getByText('In a call with bob', { exact: true }).waitFor();
  await videoResumes(alice, 0);
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
  assert.equal(await alice.evaluate(() => window.demo.call.remoteVideo), true);
  assert.equal(await bob.evaluate(() => window.demo.call.localVideo), true);
  await bob.getByRole('button', { name: 'Hang up' }).click();
  await alice.getByText('bob hung up.').waitFor();
});

test('both change the camera at once: the tie-break settles it and both changes apply', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await call(alice, bob);
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
  for (const p of [alice, bob]) await recordJingleErrors(p);
  const both = (fn, arg) => Promise.all([alice, bob].map((p) => p.evaluate(fn, arg)));
  const collide = async (off) => {
    for (const p of [alice, bob]) await holdInput(p);
    // Each sends its content-modify; neither sees the other's before sending.
    const done = both((o) => window.demo.call.setCameraOff(o), off);
    for (const p of [alice, bob]) {
      await p.waitForFunction(() => window.demo.call.negotiating);
    }
    await Promise.all([alice, bob].map(releaseInput));
    await done;
  };

  await collide(true);
  for (const p of [alice, bob]) await sendersBecome(p, 'none');
  await Promise.all([videoStops(alice), videoStops(bob)]);
  // alice initiated the session, so her change won; bob's was refused and redone.
  assert.deepEqual(await alice.evaluate(() => window.jingleErrorsOut), ['tie-break']);
  assert.deepEqual(await bob.evaluate(() => window.jingleErrorsOut), []);
  assert.equal((await received(alice, 'content-modify')).length, 2, "bob's first and his retry");

  const before = await Promise.all([framesDecoded(alice), framesDecoded(bob)]);
  await collide(false);
  for (const p of [alice, bob]) await sendersBecome(p, 'both');
  await Promise.all([videoResumes(alice, before[0]), videoResumes(bob, before[1])]);
  assert.deepEqual(await both(() => window.demo.call.localVideo), [true, true]);
  assert.deepEqual(await alice.evaluate(() => window.jingleErrorsOut), ['tie-break', 'tie-break']);
  assert.equal(await alice.evaluate(() => window.demo.jingle.calls.size), 1);
  await alice.getByRole('button', { name: 'Hang up' }).click();
  await bob.getByText('alice hung up.').waitFor();
});

test('both turn the camera on at once in an audio-only call: one video content, both send', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await call(alice, bob, { audio: true, video: false });
  for (const p of [alice, bob]) await recordJingleErrors(p);
  for (const p of [alice, bob]) await holdInput(p);
  const done = Promise.all([alice, bob].map((p) => p.evaluate(() => window.demo.call
    .setCameraOff(false))));
  for (const p of [alice, bob]) await p.waitForFunction(() => window.demo.call.negotiating);
  await Promise.all([alice, bob].map(releaseInput));
  await done;
  for (const p of [alice, bob]) await sendersBecome(p, 'both');
  await Promise.all([videoResumes(alice, 0), videoResumes(bob, 0)]);
  assert.deepEqual(await alice.evaluate(() => window.jingleErrorsOut), ['tie-break']);
  // bob's own offer was rolled back: one video transceiver on each side, one content.
  for (const p of [alice, bob]) {
    assert.equal(await p.evaluate(() => window.demo.call.pc.getTransceivers()
      .filter((t) => !t.stopped && t.receiver.track.kind === 'video').length), 1);
    assert.equal(await liveVideoTracks(p), 1);
  }
  await alice.getByRole('button', { name: 'Hang up' }).click();
  await bob.getByText('alice hung up.').waitFor();
});

test('malformed or unexpected content actions in a call get Jingle errors; the call goes on', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await call(alice, bob);
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
  // alice's page sends hand-made actions of the live session to bob; each gets its error.
  const errorOf = (action, contents) => alice.evaluate(async ({ action: a, contents: cs }) => {
    const { call: c } = window.demo;
    const { $iq } = await import('strophe.js');
    const iq = $iq({ type: 'set', to: c.peerFull })
      .c('jingle', { xmlns: 'urn:xmpp:jingle:1', action: a, sid: c.sid, initiator: c.initiator });
    for (const { payload, ...attrs } of cs) {
      iq.c('content', attrs);
      if (payload) {
        iq.c('description', { xmlns: 'urn:xmpp:jingle:apps:rtp:1', media: 'video' })
          .c('payload-type', { id: payload, name: 'VP8', clockrate: '90000' }).up().up();
      }
      iq.up();
    }
    return new Promise((resolve) => {
      window.demo.conn.sendIQ(iq.tree(), () => resolve(['result']), (el) => {
        const conds = [...(el?.querySelector('error')?.children ?? [])].map((n) => n.nodeName);
        resolve(conds);
      }, 5000);
    });
  }, { action, contents });
  const video = await alice.evaluate(() => [...window.demo.call.contents]
    .find(([, c]) => c.media === 'video')?.[0]);
  const rows = [
    ['content-modify', [{ creator: 'initiator', name: 'nope', senders: 'none' }], 'bad-request'],
    ['content-modify', [{ creator: 'initiator', name: video, senders: 'sideways' }], 'bad-request'],
    ['content-modify', [], 'bad-request'],
    ['content-accept', [{ creator: 'initiator', name: 'x', senders: 'both', payload: '96' }],
      'unexpected-request out-of-order'],
    ['content-reject', [{ creator: 'initiator', name: 'x' }], 'unexpected-request out-of-order'],
    ['content-add', [{ creator: 'initiator', name: video, senders: 'both', payload: '96' }],
      'bad-request'],
    ['content-add', [{ creator: 'initiator', name: 'x', senders: 'both', payload: 'abc' }],
      'bad-request'],
    ['content-remove', [{ creator: 'initiator', name: 'nope' }], 'bad-request'],
    ['transport-replace', [{ creator: 'initiator', name: video }],
      'feature-not-implemented unsupported-info'],
  ];
  for (const [action, contents, expected] of rows) {
    assert.equal((await errorOf(action, contents)).join(' '), expected, action);
  }
  assert.deepEqual(await videoContent(bob), { creator: 'initiator', senders: 'both' });
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
  // A content-remove (Conversations retracts video this way) stops the video both ways.
  assert.deepEqual(await errorOf('content-remove', [{ creator: 'initiator', name: video }]),
    ['result']);
  await sendersBecome(bob, 'none');
  await Promise.all([videoStops(alice), videoStops(bob)]);
  assert.equal(await liveVideoTracks(bob), 0);
  await bob.getByRole('button', { name: 'Camera on' }).waitFor();
  await alice.getByRole('button', { name: 'Hang up' }).click();
  await bob.getByText('alice hung up.').waitFor();
});

test('disco#info, receipts; a peer that announces nothing gets no data channel, BUNDLE optional', async () => {
  const alice = await loggedIn('alice');
  const aliceJid = await alice.evaluate(() => window.demo.conn.jid);
  // carol is a bare XMPP client: no disco#info of its own (Strophe answers service-unavailable).
  const carol = await connectClient({ websocket: bed.info.websocket, jid: user('carol').jid,
    password: user('carol').password, presence: true });
  try {
    const info = await carol.sendIQ($iq({ type: 'get', to: aliceJid })
      .c('query', { xmlns: 'http://jabber.org/protocol/disco#info' }));
    const features = [...info.getElementsByTagName('feature')].map((f) => f.getAttribute('var'));
    for (const f of ['urn:xmpp:jingle:1', 'urn:xmpp:jingle:apps:rtp:audio',
      'urn:xmpp:jingle:apps:rtp:video', 'urn:xmpp:jingle:transports:ice-udp:1',
      'urn:xmpp:jingle:apps:dtls:0', 'urn:ietf:rfc:5888', 'urn:xmpp:jingle:transports:dtls-sctp:1',
      'urn:xmpp:jingle-message:0']) assert.ok(features.includes(f), f);

    // A proposal with a receipt request (as Conversations sends) gets ringing and a receipt.
    const receipt = carol.waitFor((m) => m.getElementsByTagName('received').length > 0);
    carol.send($msg({ to: aliceJid.split('/')[0], type: 'chat', id: 'prop-1' })
      .c('propose', { xmlns: 'urn:xmpp:jingle-message:0', id: 'call-1' })
      .c('description', { xmlns: 'urn:xmpp:jingle:apps:rtp:1', media: 'audio' }).up().up()
      .c('request', { xmlns: 'urn:xmpp:receipts' }).up()
      .c('store', { xmlns: 'urn:xmpp:hints' }));
    assert.equal((await receipt).getElementsByTagName('received')[0].getAttribute('id'), 'prop-1');
    await alice.getByRole('dialog', { name: 'Incoming call' }).getByRole('button', { name: 'Reject' })
      .click();

    // alice calls carol; carol proceeds by hand; alice asks carol's features, gets an error,
    // so offers no data channel and does not insist on BUNDLE.
    const propose = carol.waitFor((m) => m.getElementsByTagName('propose').length > 0);
    await callButton(alice, 'carol').click();
    const id = (await propose).getElementsByTagName('propose')[0].getAttribute('id');
    const initiate = carol.waitFor((s) => s.nodeName === 'iq'
      && s.getElementsByTagName('jingle')[0]?.getAttribute('action') === 'session-initiate');
    carol.send($msg({ to: aliceJid, type: 'chat' })
      .c('proceed', { xmlns: 'urn:xmpp:jingle-message:0', id }));
    const jingle = (await initiate).getElementsByTagName('jingle')[0];
    const contents = [...jingle.childNodes].filter((n) => n.nodeName === 'content');
    assert.deepEqual(contents.map((c) => c.getElementsByTagName('description')[0]
      .getAttribute('media')), ['audio', 'video']);
    // BUNDLE is still offered, but not required of the answer (Dino answers without it).
    assert.equal(await alice.evaluate(() => window.demo.call.pc.getConfiguration().bundlePolicy),
      'balanced');
    await alice.getByRole('button', { name: 'Hang up' }).click();
  } finally {
    await carol.disconnect();
  }
});
