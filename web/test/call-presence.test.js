// What others see of a call, and a call that cannot connect: demo pages in one Chromium against
// a real ejabberd. While a call is answered the page's presence says "in a call" (OwnPresence
// in lib/roster.js), not while it only rings; a call whose ICE fails ends on both sides with
// "failed to connect".
// Run inside a loopback-only network namespace (see lib/browser.js).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient } from './lib/xmpp-client.js';
import { startRefusingTurn } from './lib/refusing-turn.js';
import {
  openDemoPages, stopDemoPages, acceptedCall, callButton, connectedCall, status, userState,
} from './lib/demo-page.js';

let bed;
let browser;
let pages;
let turn;

before(async () => {
  ({ bed, browser, pages } = await openDemoPages({
    users: ['alice:alice-pw', 'bob:bob-pw', 'carol:carol-pw'],
  }));
  turn = await startRefusingTurn();
});

afterEach(() => pages.closeAll());

after(async () => {
  await stopDemoPages({ bed, browser });
  await turn?.stop();
});

const jid = (name) => pages.user(name).jid;

/** What `page` knows of a contact's presence: the contact's summary and its resources'. */
const presenceOf = (page, contactJid) => page.evaluate((j) => {
  const c = window.demo.contacts.get(j);
  return { show: c.show, status: c.status, inCall: c.inCall,
    resources: c.resources.map((r) => ({ show: r.show, priority: r.priority, inCall: r.inCall })) };
}, contactJid);

/** The children of the presence `page` last got from a contact's only resource. */
const presenceChildren = (page, contactJid) => page.evaluate((j) => [
  ...window.demo.contacts.get(j).resources[0].presence.children,
].map((n) => `${n.localName} ${n.namespaceURI} ${n.textContent}`), contactJid);

/** Waits until `page` lists every user of `names` with the state text `text`. */
async function usersShown(page, names, text) {
  for (const name of names) await userState(page, jid(name), text).waitFor();
}

test('carol sees alice and bob "in a call" while they talk, and "available" after hang-up', async () => {
  const carol = await pages.loggedIn('carol');
  const alice = await pages.loggedIn('alice');
  const bob = await pages.loggedIn('bob');
  await usersShown(carol, ['alice', 'bob'], 'available');
  await connectedCall(alice, bob, 'bob', 'alice');
  await usersShown(carol, ['alice', 'bob'], 'in a call');
  // Standard XMPP for other clients (dnd + status), our marker for our pages, same priority.
  for (const name of ['alice', 'bob']) {
    assert.deepEqual(await presenceOf(carol, jid(name)), { show: 'dnd', status: 'In a call',
      inCall: true, resources: [{ show: 'dnd', priority: 0, inCall: true }] });
    assert.deepEqual((await presenceChildren(carol, jid(name))).sort(), [
      'in-call urn:xmpp:jingle-focus:presence:0 ',
      'show jabber:client dnd',
      'status jabber:client In a call',
    ]);
  }
  // The callers see carol as she is: available.
  await usersShown(alice, ['carol'], 'available');
  await usersShown(bob, ['carol'], 'available');

  await bob.getByRole('button', { name: 'Hang up' }).click();
  await status(alice, 'bob hung up.').waitFor();
  await usersShown(carol, ['alice', 'bob'], 'available');
  for (const name of ['alice', 'bob']) {
    assert.deepEqual(await presenceOf(carol, jid(name)), { show: 'available', status: null,
      inCall: false, resources: [{ show: 'available', priority: 0, inCall: false }] });
  }
  assert.deepEqual(pages.errors, []);
});

test('ringing is not "in a call" (a ring/retract loop sends no presence); answered is, even with an idle device', async () => {
  const carol = await pages.loggedIn('carol');
  const alice = await pages.loggedIn('alice');
  const bob = await pages.loggedIn('bob');
  const bobIdle = await connectClient({ websocket: bed.info.websocket, jid: jid('bob'),
    password: pages.user('bob').password, presence: true });
  try {
    await carol.waitForFunction((j) => window.demo.contacts.get(j)?.resources.length === 2, jid('bob'));
    // carol counts the "in a call" presences she gets from alice and bob.
    await carol.evaluate((names) => {
      window.inCallFrom = Object.fromEntries(names.map((n) => [n, 0]));
      const { conn } = window.demo;
      const input = conn.xmlInput;
      conn.xmlInput = (el) => {
        // Over WebSocket each call gets one stanza (el itself is the presence).
        const all = [el, ...el.querySelectorAll('presence')];
        for (const p of all.filter((n) => n.nodeName === 'presence')) {
          const who = names.find((n) => p.getAttribute('from')?.startsWith(`${n}@`));
          if (who && p.querySelector('in-call')) window.inCallFrom[who] += 1;
        }
        input?.call(conn, el);
      };
    }, ['alice', 'bob']);
    // Three rings, each retracted: nobody is told anything.
    for (let i = 0; i < 3; i += 1) {
      await callButton(alice, 'bob').click();
      await bob.getByRole('dialog', { name: 'Incoming call' }).waitFor();
      assert.equal(await bob.evaluate(() => window.demo.presence.inCall), false);
      await alice.getByRole('button', { name: 'Cancel' }).click();
      await status(bob, 'alice cancelled the call.').waitFor();
    }
    // Answered: "in a call" now (so carol would have had the earlier ones before this one).
    await connectedCall(alice, bob, 'bob', 'alice');
    await usersShown(carol, ['alice', 'bob'], 'in a call');
    assert.deepEqual(await carol.evaluate(() => window.inCallFrom), { alice: 1, bob: 1 });
    // bob's best resource is the idle one (same priority, more available), yet he is in a call.
    const seen = await presenceOf(carol, jid('bob'));
    assert.equal(seen.show, 'available');
    assert.equal(seen.inCall, true);
    assert.deepEqual(seen.resources, [{ show: 'available', priority: 0, inCall: false },
      { show: 'dnd', priority: 0, inCall: true }]);

    await alice.getByRole('button', { name: 'Hang up' }).click();
    await status(bob, 'alice hung up.').waitFor();
    await usersShown(carol, ['alice', 'bob'], 'available');
  } finally {
    await bobIdle.disconnect();
  }
  assert.deepEqual(pages.errors, []);
});

/** `promise`, or its error with the calls' states on `pages` and the TURN server's counts. */
async function explained(promise, pagesShown) {
  try {
    return await promise;
  } catch (e) {
    const calls = await Promise.all(pagesShown.map((p) => p.evaluate(() => ({
      state: window.demo.call?.state, pc: window.demo.call?.pc?.connectionState,
      ice: window.demo.call?.pc?.iceConnectionState, ends: window.ends,
      status: document.getElementById('status').textContent,
    })).catch((x) => x.message)));
    e.message += `\ncalls: ${JSON.stringify(calls)}\nTURN: ${JSON.stringify(turn.counts)}`;
    throw e;
  }
}

test('a call whose ICE fails ends on both sides with "failed to connect"', async (t) => {
  // Relay candidates only, from a TURN server that refuses every permission: every candidate
  // pair fails, so Chromium's ICE agent declares the connection failed.
  const knobs = `/?relay=1&extdisco=0&iceServers=${encodeURIComponent(JSON.stringify([turn.iceServer]))}`;
  const alice = await pages.loggedIn('alice', knobs, { testKnobs: true });
  const bob = await pages.loggedIn('bob', knobs, { testKnobs: true });
  for (const page of [alice, bob]) {
    await page.evaluate(() => {
      window.ends = [];
      window.demo.jingle.addEventListener('ended', ({ detail }) => window.ends.push(
        { reason: detail.reason, by: detail.by, text: detail.text }));
    });
  }
  const refusedBefore = turn.counts.refused;
  await acceptedCall(alice, bob, 'bob', 'alice');
  const accepted = Date.now();
  await explained(Promise.all([status(alice, 'Call with bob failed to connect.').waitFor(),
    status(bob, 'Call with alice failed to connect.').waitFor()]), [alice, bob]);
  t.diagnostic(`both sides showed the failure ${Date.now() - accepted} ms after "Accept"`);

  assert.ok(turn.counts.refused > refusedBefore, 'ICE went through the refusing TURN server');
  const ends = await Promise.all([alice, bob].map((p) => p.evaluate(() => window.ends)));
  assert.ok(ends.every((e) => e.length === 1 && e[0].reason === 'connectivity-error'),
    JSON.stringify(ends));
  // At least one side saw ICE fail itself (the other may have been told first).
  assert.ok(ends.some(([e]) => e.by === 'local' && e.text === 'ICE/DTLS failed'), JSON.stringify(ends));
  for (const page of [alice, bob]) {
    await page.getByRole('region', { name: 'Call' }).waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => window.demo.jingle.calls.size), 0);
  }
  assert.deepEqual(pages.errors, []);
});
