// The building blocks of group calls (XEP-0521), below the 1:1 Call: sessions of the registry
// (lib/sessions.js) opened without JMI to a JID that has no presence, receive-only sessions,
// an accept policy that takes a focus's sessions without `busy`, several sessions from one JID,
// and local media shared by several sessions. A page running the plugin alone and sending no
// presence stands in for the conference focus. Real ejabberd and Chromium, in a loopback-only
// network namespace.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openDemoPages, stopDemoPages, callButton, recordJingleErrors } from './lib/demo-page.js';
import { mediaFlows } from './lib/media.js';

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

const bare = (name) => pages.user(name).jid.split('/')[0];

/**
 * Defines `window.play(session)` in the page: plays the session's remote stream in a new
 * <video> (Chromium counts audio samples only for audio that is played out).
 */
const player = (page) => page.evaluate(() => {
  window.play = (session) => {
    const v = document.createElement('video');
    v.autoplay = true;
    v.srcObject = session.remoteStream;
    document.body.append(v);
    v.play().catch(() => {});
  };
});

/** XEP-0298 conference info as a focus sends it (XEP-0521), naming the stream's sender. */
const conferenceInfo = (entity) => `<conference-info xmlns='urn:xmpp:coin:1' isfocus='true'>`
  + `<users><user entity='xmpp:${entity}'/></users></conference-info>`;

/**
 * In the page: opens a session to `to` without JMI, sending one LocalMedia (shared by every
 * session of the page: `window.media`) one way (`senders='initiator'`), with `payload`.
 * The session goes to `window.out[]`; resolves to its index.
 */
const openSession = (page, to, payload = null) => page.evaluate(async ({ to: peer, payload: p }) => {
  const { jingle, lib } = window.demo?.jingle ? { jingle: window.demo.jingle,
    lib: await import('/lib/jingle.js') } : window;
  window.media ??= new lib.LocalMedia({ audio: true, video: true });
  await window.media.start();
  const session = jingle.sessions.open(peer);
  window.out ??= [];
  window.out.push(session);
  session.initiate({ media: window.media, senders: 'initiator', bundle: true,
    payload: p ? [p] : null });
  return window.out.length - 1;
}, { to, payload });

/** Waits until the page's session `window[list][i]` is in `state`. */
const sessionState = (page, [list, i], state) => page.waitForFunction(
  ([l, n, st]) => window[l]?.[n]?.state === st, [list, i, state]);

test('a session to a JID without presence: not ended as "gone"; the receive-only answer sends nothing', async () => {
  // bob runs the plugin and sends no presence: alice's contacts say he is offline.
  const bob = await pages.plugin('bob');
  const bobJid = await bob.evaluate(() => window.conn.jid);
  await player(bob);
  await bob.evaluate(() => {
    window.taken = [];
    window.jingle.sessions.addAcceptPolicy(() => ({ take: (s) => {
      window.taken.push(s);
      window.play(s);
      s.accept({ media: null });
    } }));
  });
  const alice = await pages.loggedIn('alice');
  assert.equal(await alice.evaluate((j) => window.demo.contacts.isOnline(j), bare('bob')), false);

  await openSession(alice, bobJid);
  await sessionState(alice, ['out', 0], 'active');
  await sessionState(bob, ['taken', 0], 'active');
  await mediaFlows(bob, () => window.taken[0].pc);
  // One way: alice's contents are senders='initiator'; bob's side adds no track and sends
  // nothing (its transceivers only receive).
  const initiate = await alice.evaluate(() => window.out[0].initiateXml);
  const senders = [...initiate.matchAll(/<content [^>]*senders=['"](\w+)['"]/g)].map((m) => m[1]);
  assert.deepEqual(senders, ['initiator', 'initiator']);
  assert.deepEqual(await bob.evaluate(() => window.taken[0].pc.getTransceivers()
    .map((t) => `${t.currentDirection} ${t.sender.track === null}`)),
  ['recvonly true', 'recvonly true']);
  assert.deepEqual(await bob.evaluate(() => [...window.taken[0].contents.values()]
    .map((c) => `${c.media} ${c.senders}`).sort()), ['audio initiator', 'video initiator']);

  // Presence changes around it (carol comes online) do not touch the session, and it is no
  // 1:1 call: alice is not busy.
  await pages.loggedIn('carol');
  await alice.getByRole('listitem').filter({ hasText: bare('carol') }).waitFor();
  assert.equal(await alice.evaluate(() => window.out[0].state), 'active');
  assert.deepEqual(await alice.evaluate(() => [window.demo.jingle.calls.size,
    window.demo.jingle.busy, window.demo.jingle.sessions.size]), [0, false, 1]);

  await alice.evaluate(() => window.out[0].terminate('success'));
  await sessionState(bob, ['taken', 0], 'ended');
  assert.deepEqual(await bob.evaluate(() => window.taken[0].endReason),
    { condition: 'success', text: null, by: 'remote' });
  assert.equal(await bob.evaluate(() => window.jingle.sessions.size), 0);
});

test("a focus's sessions: taken by the accept policy while busy, several from one JID, no tie-break", async () => {
  const bob = await pages.loggedIn('bob');
  const carol = await pages.loggedIn('carol');
  await recordJingleErrors(bob);
  // bob is busy: his call to carol rings.
  await callButton(bob, 'carol').click();
  await carol.getByRole('dialog', { name: 'Incoming call' }).waitFor();
  assert.equal(await bob.evaluate(() => window.demo.jingle.busy), true);
  // alice stands in for a conference focus: a JID without presence that opens sessions.
  const focus = await pages.plugin('alice');
  const focusJid = await focus.evaluate(() => window.conn.jid);
  const bobJid = await bob.evaluate(() => window.demo.conn.jid);
  await player(bob);
  await bob.evaluate((from) => {
    window.fromFocus = [];
    window.incoming = 0;
    window.demo.jingle.addEventListener('incoming', () => { window.incoming += 1; });
    window.demo.jingle.sessions.addAcceptPolicy((offer) => {
      const info = offer.jingle.getElementsByTagNameNS('urn:xmpp:coin:1', 'conference-info')[0];
      if (offer.from !== from || info?.getAttribute('isfocus') !== 'true') return null;
      return { take: (s) => {
        window.fromFocus.push(s);
        window.play(s);
        s.accept({ media: null });
      } };
    });
  }, focusJid);

  // Two sessions from the same JID, each carrying another participant's media (here both
  // from one LocalMedia of the focus page): both are taken and receive.
  await openSession(focus, bobJid, conferenceInfo(bare('carol')));
  await openSession(focus, bobJid, conferenceInfo('dave@example.org'));
  for (const i of [0, 1]) {
    await sessionState(focus, ['out', i], 'active');
    await sessionState(bob, ['fromFocus', i], 'active');
  }
  await Promise.all([mediaFlows(bob, () => window.fromFocus[0].pc),
    mediaFlows(bob, () => window.fromFocus[1].pc)]);
  // The policy sees who each stream is from.
  assert.deepEqual(await bob.evaluate(() => window.fromFocus.map((s) => /entity=['"]xmpp:([^'"]+)/
    .exec(s.initiateXml)[1])), [bare('carol'), 'dave@example.org']);
  // Not calls, no ringing, no busy: bob's own call still rings at carol.
  assert.deepEqual(await bob.evaluate(() => [window.incoming, window.demo.call.state,
    window.demo.jingle.calls.size]), [0, 'ringing', 1]);
  assert.equal(await bob.getByRole('dialog', { name: 'Incoming call' }).isVisible(), false);

  assert.deepEqual(await bob.evaluate(() => window.jingleErrorsOut), [], 'no tie-break or other');

  // A session from the same JID that the policy does not claim is a call attempt: busy.
  await openSession(focus, bobJid);
  await sessionState(focus, ['out', 2], 'ended');
  assert.deepEqual(await focus.evaluate(() => window.out[2].endReason),
    { condition: 'busy', text: null, by: 'remote' });

  // Muting the focus's one LocalMedia mutes both sessions' audio.
  await focus.evaluate(() => window.media.setMuted(true));
  assert.deepEqual(await focus.evaluate(() => window.out.slice(0, 2).map((s) => s.pc.getSenders()
    .filter((x) => x.track?.kind === 'audio').every((x) => !x.track.enabled))), [true, true]);

  await focus.evaluate(() => window.out.forEach((s) => s.terminate('success')));
  for (const i of [0, 1]) await sessionState(bob, ['fromFocus', i], 'ended');
  assert.equal(await bob.evaluate(() => window.demo.call.state), 'ringing');
  await bob.getByRole('button', { name: 'Cancel' }).click();
});
