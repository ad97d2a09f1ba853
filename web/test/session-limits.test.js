// What a call peer can make a session hold or redo (lib/session.js LIMITS), and the ICE
// credentials it may put into our SDP: over a limit the Jingle action gets its error
// (not-acceptable for contents and session-info children, resource-constraint for queued
// candidates and for content-adds and ICE restarts per minute; bad-request for ICE
// credentials that are not ICE tokens) and the call goes on. The peer is alice's demo page
// sending hand-made Jingle in the live session, or a node client; limits are lowered in bob's
// page where the defaults would take long to reach. Real ejabberd and Chromium, in a
// loopback-only network namespace.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import { connectClient, $iq, errorCondition } from './lib/xmpp-client.js';
import { openDemoPages, stopDemoPages, connectedCall } from './lib/demo-page.js';
import { mediaFlows } from './lib/media.js';

let bed;
let browser;
let pages;
const clients = [];

before(async () => {
  ({ bed, browser, pages } = await openDemoPages({
    users: ['alice:alice-pw', 'bob:bob-pw', 'carol:carol-pw'],
  }));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect().catch(() => {})));
  await pages.closeAll();
  assert.deepEqual(pages.errors.splice(0), []);
});

after(async () => {
  await stopDemoPages({ bed, browser });
});

const RTP = 'urn:xmpp:jingle:apps:rtp:1';
const ICE = 'urn:xmpp:jingle:transports:ice-udp:1';
const FINGERPRINT = Array(32).fill('AB').join(':');
const UFRAG = 'Abcd';
const PWD = 'abcdefghijklmnopqrstuv';

/** An audio `<content/>` (opus) named `name`, with an ICE-UDP transport of `ufrag`/`pwd`. */
const audioContent = (name, { creator = 'initiator', ufrag = UFRAG, pwd = PWD } = {}) =>
  `<content creator='${creator}' name='${name}' senders='both'><description xmlns='${RTP}' `
  + `media='audio'><payload-type id='111' name='opus' clockrate='48000' channels='2'/>`
  + `</description><transport xmlns='${ICE}' ufrag='${ufrag}' pwd='${pwd}'><fingerprint `
  + `xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>${FINGERPRINT}`
  + '</fingerprint></transport></content>';

/** `n` host candidates on content `name`, in a transport of `ufrag`/`pwd`. */
const candidates = (name, n, { ufrag = UFRAG, pwd = PWD, from = 0 } = {}) =>
  `<content creator='initiator' name='${name}'><transport xmlns='${ICE}' ufrag='${ufrag}' `
  + `pwd='${pwd}'>${Array.from({ length: n }, (_, i) => `<candidate component='1' foundation='1' `
  + `generation='0' id='c${from + i}' ip='192.0.2.${from + i + 1}' port='5000' priority='1' `
  + "protocol='udp' type='host'/>").join('')}</transport></content>`;

/**
 * alice's page sends `<jingle action=... sid=(its call's)>INNER</jingle>` to bob in the live
 * session; resolves to 'result' or the error's conditions ('bad-request', 'conflict tie-break').
 */
const fromAlice = (alice, action, inner) => alice.evaluate(async ({ a, xml }) => {
  const { call } = window.demo;
  const { $iq: iq } = await import('strophe.js');
  const jingle = new DOMParser().parseFromString(`<jingle xmlns='urn:xmpp:jingle:1' action='${a}' `
    + `sid='${call.sid}' initiator='${call.initiator}'>${xml}</jingle>`, 'text/xml').documentElement;
  return new Promise((resolve) => {
    window.demo.conn.sendIQ(iq({ type: 'set', to: call.peerFull }).cnode(jingle).tree(),
      () => resolve('result'),
      (el) => resolve([...(el?.querySelector('error')?.children ?? [])].map((n) => n.nodeName)
        .join(' ') || 'timeout'), 5000);
  });
}, { a: action, xml: inner });

/** Sets bob's per-session limits (his page's registry settings). */
const limits = (bob, values) => bob.evaluate((v) => Object.assign(window.demo.jingle.sessions
  .settings.limits, v), values);

/** alice calls bob (audio + video unless `media` says otherwise); both active. */
async function call(media) {
  const alice = await pages.loggedIn('alice');
  const bob = await pages.loggedIn('bob');
  if (media) {
    await alice.getByRole('button', { name: 'Call bob' }).waitFor();
    await alice.evaluate(({ jid, m }) => window.demo.startCall(jid, m),
      { jid: pages.user('bob').jid.split('/')[0], m: media });
    await bob.getByRole('dialog', { name: 'Incoming call' }).getByRole('button', { name: 'Accept' })
      .click();
    for (const p of [alice, bob]) await p.waitForFunction(() => window.demo.call?.state === 'active');
  } else {
    await connectedCall(alice, bob, 'bob', 'alice');
  }
  return { alice, bob };
}

test('a session-info with more children than allowed is not acceptable; the call goes on', async () => {
  const { alice, bob } = await call();
  const mid = await alice.evaluate(() => [...window.demo.call.contents]
    .find(([, c]) => c.media === 'audio')[0]);
  const mutes = Array.from({ length: 50 }, () => `<mute xmlns='${RTP}:info:1' creator='initiator' `
    + `name='${mid}'/>`).join('');
  assert.equal(await fromAlice(alice, 'session-info', mutes), 'not-acceptable');
  assert.equal(await bob.evaluate(() => window.demo.call.remoteMuted.audio), false);
  assert.equal(await fromAlice(alice, 'session-info', `<mute xmlns='${RTP}:info:1' `
    + `creator='initiator' name='${mid}'/>`), 'result');
  await bob.getByText('In a call with alice (alice is muted)').waitFor();
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
});

test('content-add: a few a minute, and no more contents than allowed; the call goes on', async () => {
  const { alice, bob } = await call({ audio: true, video: false });
  await limits(bob, { contentAddsPerMinute: 1 });
  // alice turns her camera on: a real content-add, the one allowed this minute.
  await alice.getByRole('button', { name: 'Camera on' }).click();
  await bob.waitForFunction(() => window.demo.call.remoteVideo);
  assert.equal(await fromAlice(alice, 'content-add', audioContent('extra-1')), 'resource-constraint');
  // With content-adds to spare but the session at its most contents.
  const size = await bob.evaluate(() => window.demo.call.contents.size);
  await limits(bob, { contentAddsPerMinute: 10, contents: size });
  assert.equal(await fromAlice(alice, 'content-add', audioContent('extra-2')), 'not-acceptable');
  assert.equal(await bob.evaluate(() => window.demo.call.contents.size), size);
  assert.equal(await bob.evaluate(() => window.demo.call.state), 'active');
  await mediaFlows(bob); // alice's audio and video (bob's camera stays off: none to alice)
});

test('ICE restarts: a few a minute; a restart beyond is refused and the call keeps its ICE', async () => {
  const { alice, bob } = await call();
  await limits(bob, { iceRestartsPerMinute: 1 });
  const ufrag = (page) => page.evaluate(() => /^a=ice-ufrag:(\S+)/m
    .exec(window.demo.call.pc.localDescription.sdp)[1]);
  const before = await ufrag(bob);
  await alice.evaluate(() => window.demo.call.restartIce());
  await bob.waitForFunction((u) => !window.demo.call.pc.localDescription.sdp
    .includes(`a=ice-ufrag:${u}\r`) && window.demo.call.pc.signalingState === 'stable', before);
  const once = await ufrag(bob);
  // The second restart within the minute: bob answers resource-constraint, alice rolls back.
  await alice.evaluate(() => {
    window.refusals = [];
    const warn = console.warn;
    console.warn = (...a) => {
      if (/ICE restart refused/.test(String(a[0]))) window.refusals.push(String(a[0]));
      warn.apply(console, a);
    };
  });
  await alice.evaluate(() => window.demo.call.restartIce());
  assert.deepEqual(await alice.evaluate(() => window.refusals),
    ['jingle: ICE restart refused: resource-constraint']);
  assert.equal(await ufrag(bob), once);
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
});

test('ICE credentials that are not ICE tokens are refused before they reach the SDP', async () => {
  const { alice, bob } = await call();
  const [mid, remote] = await bob.evaluate(() => [[...window.demo.call.contents.keys()][0],
    /^a=ice-ufrag:(\S+)/m.exec(window.demo.call.pc.remoteDescription.sdp)[1]]);
  for (const [ufrag, pwd] of [['Abcd', 'aaaaaaaaaaaaaaaaaaaa;;'], ['Ab d', PWD], ['A=cd', PWD],
    ['Abcd', 'short']]) {
    assert.equal(await fromAlice(alice, 'transport-info', `<content creator='initiator' `
      + `name='${mid}'><transport xmlns='${ICE}' ufrag='${ufrag}' pwd='${pwd}'/></content>`),
    'bad-request', `${ufrag} ${pwd}`);
  }
  assert.equal(await bob.evaluate(() => /^a=ice-ufrag:(\S+)/m
    .exec(window.demo.call.pc.remoteDescription.sdp)[1]), remote);
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
});

test('a session-initiate with too many contents; candidates queued before the answer are bounded', async () => {
  const bob = await pages.loggedIn('bob');
  const bobJid = await bob.evaluate(() => window.demo.conn.jid);
  const carol = await connectClient({ websocket: bed.info.websocket, jid: pages.user('carol').jid,
    password: pages.user('carol').password, presence: true });
  clients.push(carol);
  const jingle = (action, sid, inner) => $iq({ type: 'set', to: bobJid }).cnode(new DOMParser()
    .parseFromString(`<jingle xmlns='urn:xmpp:jingle:1' action='${action}' sid='${sid}' `
      + `initiator='${carol.jid}'>${inner}</jingle>`, 'text/xml').documentElement);
  const outcome = (iq) => carol.sendIQ(iq).then(() => 'result', (el) => errorCondition(el).condition);
  const many = Array.from({ length: 20 }, (_, i) => audioContent(`a${i}`)).join('');
  assert.equal(await outcome(jingle('session-initiate', 'many', many)), 'not-acceptable');

  // A plain session-initiate (no JMI) rings; bob does not answer yet, so carol's candidates
  // wait for his description: up to the limit.
  await limits(bob, { earlyCandidates: 5 });
  assert.equal(await outcome(jingle('session-initiate', 'early', audioContent('0'))), 'result');
  await bob.getByRole('dialog', { name: 'Incoming call' }).getByText('carol is calling you').waitFor();
  assert.equal(await outcome(jingle('transport-info', 'early', candidates('0', 3))), 'result');
  assert.equal(await outcome(jingle('transport-info', 'early', candidates('0', 3, { from: 3 }))),
    'resource-constraint');
  assert.equal(await outcome(jingle('transport-info', 'early', candidates('0', 2, { from: 6 }))),
    'result');
  assert.equal(await bob.evaluate(() => window.demo.call.state), 'ringing');
  await bob.getByRole('dialog', { name: 'Incoming call' }).getByRole('button', { name: 'Reject' })
    .click();
});
