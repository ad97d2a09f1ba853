// Group calls (XEP-0521) against the real focus, bridge and ejabberd, with a participant
// written straight against the wire (test/lib/wire-joiner.js: Strophe.js + sdp-map, no
// plugin), in Chromium: three join one room and each receives the other two.
// Run inside a loopback-only network namespace (see lib/browser.js).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openDemoPages, stopDemoPages } from './lib/demo-page.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient, $iq, $pres, errorCondition, Strophe } from './lib/xmpp-client.js';
import { loadSdpMap, vectorsDir } from './lib/vectors.js';

let bed;
let browser;
let pages;

before(async () => {
  ({ bed, browser, pages } = await openDemoPages({
    users: ['alice:alice-pw', 'bob:bob-pw', 'carol:carol-pw', 'dave:dave-pw'], focus: true,
  }));
});

afterEach(() => pages.closeAll());

after(async () => {
  await stopDemoPages({ bed, browser });
});

/** A demo page logged in as `name`, with a wire joiner for `room` at `window.joiner`. */
async function joiner(name, room) {
  const page = await pages.loggedIn(name);
  await page.evaluate(async ({ room, name }) => {
    const { WireJoiner } = await import('/test/lib/wire-joiner.js');
    // The page's own plugin would answer the focus's sessions too: this page is the joiner only.
    window.demo.jingle.stop();
    window.joiner = new WireJoiner(window.demo.conn, room, name);
    await window.joiner.enterRoom();
  }, { room, name });
  return page;
}

/** Waits until the page receives video and audio from each of `users` (bare JIDs). */
async function receivesFrom(page, users, deadline = 20000) {
  return page.evaluate(async ({ users, deadline }) => {
    const end = Date.now() + deadline;
    let got = {};
    while (Date.now() < end) {
      got = await window.joiner.received();
      if (users.every((u) => got[`xmpp:${u}`]?.frames > 5 && got[`xmpp:${u}`]?.samples > 0)) return got;
      // getStats has no "frame decoded" event: poll it.
      await new Promise((r) => { setTimeout(r, 100); });
    }
    throw new Error(`not receiving from all of ${users}: ${JSON.stringify(got)} ${window.joiner.errors}`);
  }, { users, deadline });
}

const bare = (name) => pages.user(name).jid;

/** The component's counts (urn:xmpp:jingle-focus:stats:0), as a local user reads them. */
async function focusStats() {
  const { jid, password } = pages.user('alice');
  const client = await connectClient({ websocket: bed.info.websocket, jid, password });
  try {
    const reply = await client.sendIQ($iq({ type: 'get', to: bed.info.focus })
      .c('query', { xmlns: 'urn:xmpp:jingle-focus:stats:0' }));
    return Object.fromEntries([...reply.getElementsByTagName('stat')]
      .map((s) => [s.getAttribute('name'), Number(s.getAttribute('value'))]));
  } finally {
    await client.disconnect();
  }
}

/** Waits until the counts that a call holds are all back to zero; resolves to them. */
async function backToBaseline(deadline = 15000) {
  const held = ['rooms', 'participants', 'sessions', 'endpoints', 'bridge/endpoints', 'bridge/rooms',
    'bridge/publishers', 'bridge/routes'];
  const end = Date.now() + deadline;
  let stats;
  while (Date.now() < end) {
    stats = await focusStats();
    if (held.every((k) => stats[k] === 0)) return stats;
    // The component has no "room freed" event for a client: ask again.
    await new Promise((r) => { setTimeout(r, 200); });
  }
  throw new Error(`not back to the baseline: ${JSON.stringify(stats)}`);
}

test('three wire-level participants join one room; each receives the other two', async () => {
  const names = ['alice', 'bob', 'carol'];
  const joiners = [];
  for (const name of names) joiners.push(await joiner(name, 'room1'));
  for (const page of joiners) await page.evaluate(() => window.joiner.join());
  for (const [i, page] of joiners.entries()) {
    const others = names.filter((_, j) => j !== i).map(bare);
    const got = await receivesFrom(page, others);
    assert.equal(Object.keys(got).length, 2, `${names[i]} gets exactly two sessions: ${JSON.stringify(got)}`);
  }
  const during = await focusStats();
  assert.equal(during.participants, 3);
  assert.equal(during['bridge/endpoints'], 9, 'three own sessions and six links');
  for (const page of joiners) await page.evaluate(() => window.joiner.leave());
  const after = await backToBaseline();
  assert.ok(after['bridge/packets-forwarded'] > 0);
  assert.deepEqual(pages.errors, []);
});

/** Waits until the page decodes `user`'s video at a height within [min, max]; resolves to it. */
function decodedHeight(page, user, { min = 1, max = Infinity }) {
  return page.evaluate(async ({ user, min, max }) => {
    const end = Date.now() + 20000;
    let h = 0;
    while (Date.now() < end) {
      h = (await window.joiner.received())[user]?.height ?? 0;
      if (h >= min && h <= max) return h;
      // getStats has no "frame decoded" event: poll it.
      await new Promise((r) => { setTimeout(r, 100); });
    }
    throw new Error(`decoded height stays ${h}, not within [${min}, ${max}]`);
  }, { user, min, max: max === Infinity ? Number.MAX_SAFE_INTEGER : max });
}

test('simulcast: a small tile gets the low layer, a large one the high layer', async () => {
  const [alice, bob, carol] = [await joiner('alice', 'room2'), await joiner('bob', 'room2'),
    await joiner('carol', 'room2')];
  await alice.evaluate(() => window.joiner.join({ simulcast: true }));
  await bob.evaluate(() => window.joiner.join());
  await carol.evaluate(() => window.joiner.join());
  const a = `xmpp:${bare('alice')}`;
  await receivesFrom(bob, [bare('alice')]);
  await receivesFrom(carol, [bare('alice')]);
  await bob.evaluate((a) => window.joiner.constrain(a, 180), a);
  await carol.evaluate((a) => window.joiner.constrain(a, 720), a);
  // The low layer (a quarter of 720 rows, less if Chromium scales down under load) for the
  // small tile; for the large one the tallest layer alice sends: 720 rows, or 360 when
  // Chromium stops the top layer because the machine is busy (it does on 2 shared cores).
  const small = await decodedHeight(bob, a, { max: 180 });
  const large = await decodedHeight(carol, a, { min: 2 * small });
  console.log(`# alice's video: ${small} rows in a small tile, ${large} rows in a large one`);
  // The small tile grows: it switches up too.
  await bob.evaluate((a) => window.joiner.constrain(a, 720), a);
  await decodedHeight(bob, a, { min: 2 * small });
  assert.deepEqual(pages.errors, []);
});

/** Resolves to the ms between `since` (Date.now() in node) and `user`'s media leaving the page. */
function goneAfter(page, user, since, deadline = 15000) {
  return page.evaluate(async ({ user, since, deadline }) => {
    const end = Date.now() + deadline;
    while (Date.now() < end) {
      const at = window.joiner.gone[user];
      if (at) return at - since;
      // The session-terminate arrives as a stanza the joiner records: poll the record.
      await new Promise((r) => { setTimeout(r, 20); });
    }
    throw new Error(`${user}'s media is still there after ${deadline} ms`);
  }, { user, since, deadline });
}

test('a late joiner sees and is seen by all; who leaves is gone within 2 s, who vanishes within 10 s', async () => {
  const names = ['alice', 'bob', 'carol'];
  const pagesOf = {};
  for (const name of names) {
    pagesOf[name] = await joiner(name, 'room3');
    await pagesOf[name].evaluate(() => window.joiner.join());
  }
  // dave joins late.
  pagesOf.dave = await joiner('dave', 'room3');
  await pagesOf.dave.evaluate(() => window.joiner.join());
  const everyone = [...names, 'dave'];
  for (const name of everyone) {
    await receivesFrom(pagesOf[name], everyone.filter((n) => n !== name).map(bare));
  }
  // carol hangs up: her media leaves the others' calls within 2 s.
  const left = Date.now();
  await pagesOf.carol.evaluate(() => window.joiner.leave());
  for (const name of ['alice', 'bob', 'dave']) {
    const ms = await goneAfter(pagesOf[name], `xmpp:${bare('carol')}`, left);
    console.log(`# carol left: gone from ${name} after ${ms} ms`);
    assert.ok(ms < 2000, `${name}: ${ms} ms`);
  }
  // dave's page hangs (media stops, XMPP stays): gone within 10 s.
  const vanished = Date.now();
  await pagesOf.dave.evaluate(() => window.joiner.vanish());
  for (const name of ['alice', 'bob']) {
    const ms = await goneAfter(pagesOf[name], `xmpp:${bare('dave')}`, vanished);
    console.log(`# dave vanished: gone from ${name} after ${ms} ms`);
    assert.ok(ms < 10000, `${name}: ${ms} ms`);
  }
  // bob's page is closed (tab killed): gone within 10 s.
  const killed = Date.now();
  await pagesOf.bob.context().close();
  const ms = await goneAfter(pagesOf.alice, `xmpp:${bare('bob')}`, killed);
  console.log(`# bob's tab closed: gone from alice after ${ms} ms`);
  assert.ok(ms < 10000, `${ms} ms`);
  assert.deepEqual(pages.errors, []);
});

/** The frames each page has decoded from each other participant so far. */
const framesSeen = (page) => page.evaluate(async () => Object.fromEntries(
  Object.entries(await window.joiner.received()).map(([u, r]) => [u, r.frames])));

test('hostile and malformed Jingle is refused and the call goes on', async () => {
  const alice = await joiner('alice', 'room4');
  const bob = await joiner('bob', 'room4');
  await alice.evaluate(() => window.joiner.join());
  await bob.evaluate(() => window.joiner.join());
  await receivesFrom(alice, [bare('bob')]);
  await receivesFrom(bob, [bare('alice')]);
  const room = `room4@${bed.info.focus}`;
  const sdp = await loadSdpMap();
  const offer = readFileSync(join(vectorsDir, 'chromium-156-audio-video-offer.sdp'), 'utf8');
  const { jid, password } = pages.user('carol');
  const carol = await connectClient({ websocket: bed.info.websocket, jid, password });
  const me = carol.conn.jid;
  const initiate = (sid, sdpText = offer) => sdp.sdpToJingle(sdpText, {
    action: 'session-initiate', sid, initiator: me, responder: room,
  });
  /** Sends `jingleXml` to the room's focus; resolves to the error condition (or 'result'). */
  const send = async (jingleXml) => {
    const iq = $iq({ type: 'set', to: room }).cnode(Strophe.xmlHtmlNode(jingleXml).documentElement);
    try {
      await carol.sendIQ(iq);
      return 'result';
    } catch (e) {
      return errorCondition(e).condition;
    }
  };
  // Not an occupant of the MUC room.
  assert.equal(await send(initiate('c1')), 'forbidden');
  // Now in the MUC room: the rest is refused for what it is, not for who sends it.
  carol.send($pres({ to: `room4@conference.${bed.info.domain}/carol` })
    .c('x', { xmlns: 'http://jabber.org/protocol/muc' }));
  await carol.waitFor((p) => p.nodeName === 'presence'
    && [...p.getElementsByTagName('status')].some((st) => st.getAttribute('code') === '110'));
  // transport-info for alice's session: not carol's.
  const aliceSid = await alice.evaluate(() => window.joiner.sid);
  const ti = `<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='${aliceSid}'/>`;
  assert.equal(await send(ti), 'item-not-found');
  // An unknown action, and XML that is not a Jingle description.
  assert.equal(await send(`<jingle xmlns='urn:xmpp:jingle:1' action='session-dance' sid='x1'/>`), 'bad-request');
  assert.equal(await send(`<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='x2'>
    <content creator='initiator' name='0'><description xmlns='urn:xmpp:jingle:apps:rtp:1'/></content></jingle>`),
  'bad-request');
  // Hundreds of contents (more than sdp-map translates: copies of one content).
  const one = initiate('c3');
  const content = one.match(/<content [^]*?<\/content>/)[0];
  const contents = Array.from({ length: 200 }, (_, i) => content.replace(/ name='[^']*'/, ` name='m${i}'`));
  const big = one.replace(/<content [^]*<\/content>/, contents.join('')).replace(/<group [^]*?<\/group>/, '');
  assert.ok(['not-acceptable', 'bad-request'].includes(await send(big)));
  // Media still flows for alice and bob.
  const [a0, b0] = [await framesSeen(alice), await framesSeen(bob)];
  await receivesFrom(alice, [bare('bob')]);
  await alice.waitForFunction((f) => window.joiner.received().then((r) => Object.entries(r)
    .every(([u, x]) => x.frames > (f[u] ?? 0) + 10)), a0, { polling: 200, timeout: 15000 });
  await bob.waitForFunction((f) => window.joiner.received().then((r) => Object.entries(r)
    .every(([u, x]) => x.frames > (f[u] ?? 0) + 10)), b0, { polling: 200, timeout: 15000 });
  const stats = await focusStats();
  assert.ok(stats.participants >= 2);
  await carol.disconnect();
  assert.deepEqual(pages.errors, []);
});
