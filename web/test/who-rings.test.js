// Who may make the page ring, tried as a stranger would: only contacts with a presence
// subscription ring (others are ignored, or ring marked "unknown caller" if the user lets
// them); the dialog names the caller's full bare JID; a proposal stored while we were offline
// and older than a ring does not ring; a ring times out; a caller rings a few times a minute;
// a message error ends our proposal only if it comes from the callee; "in a call" presence is
// covered in call-presence.test.js. Also: the demo's test knobs (TURN servers, relay) are off
// unless the page is told before it loads. Demo pages in Chromium against a real ejabberd, a
// node client as the other party; run inside a loopback-only network namespace.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, $iq, NS } from './lib/xmpp-client.js';
import { openDemoPages, stopDemoPages, callButton, status } from './lib/demo-page.js';

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

const bare = (name) => pages.user(name).jid.split('/')[0];
const JMI = 'urn:xmpp:jingle-message:0';
const dialog = (page) => page.getByRole('dialog', { name: 'Incoming call' });

/** A node client logged in as `name` (with presence), closed after the test. */
async function client(name) {
  const c = await connectClient({ websocket: bed.info.websocket, jid: pages.user(name).jid,
    password: pages.user(name).password, presence: true });
  clients.push(c);
  return c;
}

/** A JMI propose (audio) of id `id` to `to`, as raw XML; `extra`: more children. */
const propose = (to, id, extra = '') => `<message xmlns='jabber:client' to='${to}' type='chat' `
  + `id='m-${id}'><propose xmlns='${JMI}' id='${id}'><description `
  + `xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>${extra}</message>`;

/**
 * Counts, in the page, the JMI proposals it receives (`window.proposesIn`) and keeps the JMI
 * actions it sends (`window.jmiOut`, e.g. 'ringing', 'reject busy').
 */
const recordJmi = (page) => page.evaluate((ns) => {
  window.proposesIn = 0;
  window.jmiOut = [];
  const { conn } = window.demo;
  const input = conn.xmlInput;
  conn.xmlInput = (el) => {
    window.proposesIn += el.querySelectorAll('message > propose').length;
    input?.call(conn, el);
  };
  const output = conn.xmlOutput;
  conn.xmlOutput = (el) => {
    for (const m of el.querySelectorAll('message > *')) {
      if (m.namespaceURI !== ns && m.getAttribute('xmlns') !== ns) continue;
      const reason = m.querySelector('reason > *')?.nodeName;
      window.jmiOut.push(reason ? `${m.nodeName} ${reason}` : m.nodeName);
    }
    output?.call(conn, el);
  };
}, JMI);

/**
 * Waits until the page has received `n` proposals and has decided on them (the decisions
 * wait for the roster, which is loaded: a turn of the event loop is enough).
 */
async function proposalsHandled(page, n) {
  await page.waitForFunction((k) => window.proposesIn >= k, n);
  await page.evaluate(() => new Promise((r) => { setTimeout(r, 0); }));
}

test("a stranger (a room occupant named alice) does not ring; it rings as 'Unknown caller' only if let", async () => {
  const bob = await pages.loggedIn('bob');
  await recordJmi(bob);
  // bob and the stranger are in one MUC room; the stranger took the nick "alice".
  const room = `stranger-room@conference.${bed.info.domain}`;
  await bob.evaluate(async (r) => {
    const { $pres, $iq } = await import('strophe.js');
    const { conn } = window.demo;
    await new Promise((resolve) => {
      conn.addHandler(() => { resolve(); return false; }, null, 'presence', null, null, `${r}/bob`);
      conn.send($pres({ to: `${r}/bob` }).c('x', { xmlns: 'http://jabber.org/protocol/muc' }));
    });
    // The room, configured (XEP-0045 §10.1.3) to let occupants send private messages: our
    // template forbids them by default, rooms on other services may not.
    await new Promise((resolve, reject) => conn.sendIQ($iq({ type: 'set', to: r })
      .c('query', { xmlns: 'http://jabber.org/protocol/muc#owner' })
      .c('x', { xmlns: 'jabber:x:data', type: 'submit' })
      .c('field', { var: 'FORM_TYPE' }).c('value').t('http://jabber.org/protocol/muc#roomconfig')
      .up().up()
      .c('field', { var: 'allow_private_messages' }).c('value').t('1') // ejabberd's field
      .tree(), resolve, reject));
  }, room);
  const mallory = await client('carol');
  const joined = mallory.waitFor((s) => s.nodeName === 'presence'
    && s.getAttribute('from') === `${room}/alice`);
  mallory.sendRaw(`<presence xmlns='jabber:client' to='${room}/alice'>`
    + "<x xmlns='http://jabber.org/protocol/muc'/></presence>");
  await joined;
  const pm = "<x xmlns='http://jabber.org/protocol/muc#user'/>";
  mallory.sendRaw(propose(`${room}/bob`, 'stranger-1', pm));
  await proposalsHandled(bob, 1);
  assert.deepEqual(await bob.evaluate(() => [window.demo.jingle.calls.size, window.jmiOut]),
    [0, []], 'ignored: no call, not a word back');
  assert.equal(await dialog(bob).isVisible(), false);

  // bob lets people who are not his contacts ring: now it rings, marked, with the room's JID.
  await bob.getByLabel('Let people who are not my contacts ring me').check();
  mallory.sendRaw(propose(`${room}/bob`, 'stranger-2', pm));
  await dialog(bob).getByText(`Unknown caller ${room} is calling you`).waitFor();
  await dialog(bob).getByRole('button', { name: 'Reject' }).click();
  await status(bob, 'Call rejected.').waitFor();
});

test("a contact rings with the roster's name and the full bare JID", async () => {
  const alice = await pages.loggedIn('alice');
  const bob = await pages.loggedIn('bob');
  const name = await bob.evaluate((j) => window.demo.jingle.roster.name(j) ?? 'alice', bare('alice'));
  await callButton(alice, 'bob').click();
  await dialog(bob).getByText(`${name} is calling you (${bare('alice')})`, { exact: true }).waitFor();
  await alice.getByRole('button', { name: 'Cancel' }).click();
  await status(bob, 'alice cancelled the call.').waitFor();
});

test('a proposal stored while bob was offline rings only if younger than a ring', async () => {
  const store = "<store xmlns='urn:xmpp:hints'/>";
  const carol = await client('carol');
  // bob is offline; carol's proposal is stored and will come with the server's <delay/>.
  carol.sendRaw(propose(bare('bob'), 'old-1', store));
  await carol.sendIQ($iq({ type: 'get', to: bed.info.domain }).c('ping', { xmlns: NS.PING }));
  // bob's rings last 300 ms: logging in takes longer, so the stored proposal is older.
  let bob = await pages.loggedIn('bob', '/?ringTimeout=300', { testKnobs: true });
  await recordJmi(bob);
  // A message after the stored ones: once bob has it, he has handled them.
  await bob.evaluate(() => {
    window.demo.conn.addHandler((m) => {
      if (m.querySelector('body')?.textContent !== 'marker') return true;
      window.markerIn = true;
      return false;
    }, null, 'message');
  });
  carol.sendRaw(`<message xmlns='jabber:client' to='${await bob.evaluate(() => window.demo.conn
    .jid)}' type='chat'><body>marker</body></message>`);
  await bob.waitForFunction(() => window.markerIn);
  await bob.evaluate(() => new Promise((r) => { setTimeout(r, 0); }));
  assert.deepEqual(await bob.evaluate(() => [window.demo.jingle.calls.size, window.jmiOut]),
    [0, []], 'the old proposal does not ring');
  const gone = carol.waitFor((p) => p.nodeName === 'presence' && p.getAttribute('type')
    === 'unavailable' && p.getAttribute('from')?.startsWith(`${bare('bob')}/`));
  await bob.context().close();
  await gone;

  // The same with the default ring time (30 s): the stored proposal rings.
  carol.sendRaw(propose(bare('bob'), 'old-2', store));
  await carol.sendIQ($iq({ type: 'get', to: bed.info.domain }).c('ping', { xmlns: NS.PING }));
  bob = await pages.loggedIn('bob');
  await dialog(bob).getByText('carol is calling you').waitFor();
});

test('an incoming ring times out: "Missed call", and the caller hears "No answer"', async () => {
  const alice = await pages.loggedIn('alice');
  const bob = await pages.loggedIn('bob', '/?ringTimeout=1000', { testKnobs: true });
  await callButton(alice, 'bob').click();
  await dialog(bob).waitFor();
  await status(bob, 'Missed call from alice.').waitFor();
  await dialog(bob).waitFor({ state: 'hidden' });
  await status(alice, 'No answer from bob.').waitFor();
});

test('a caller rings at most 5 times a minute; more proposals get no answer', async () => {
  const bob = await pages.loggedIn('bob');
  await recordJmi(bob);
  const bobJid = await bob.evaluate(() => window.demo.conn.jid);
  const carol = await client('carol');
  for (let i = 0; i < 7; i += 1) carol.sendRaw(propose(bobJid, `flood-${i}`));
  await proposalsHandled(bob, 7);
  // The first rings, the next four get busy, the last two nothing.
  assert.deepEqual(await bob.evaluate(() => window.jmiOut),
    ['ringing', 'reject busy', 'reject busy', 'reject busy', 'reject busy']);
  await bob.getByRole('dialog', { name: 'Incoming call' }).getByRole('button', { name: 'Reject' })
    .click();
});

test('a message error ends our proposal only if it comes from the callee', async () => {
  const alice = await pages.loggedIn('alice');
  // bob is online on a device that does not ring (no JMI): alice's proposal stays 'proposing',
  // the state in which a bounce ends it.
  await client('bob');
  await callButton(alice, 'bob').click();
  await alice.locator('#outgoing-text').getByText('Calling bob…', { exact: true }).waitFor();
  const [sid, aliceJid] = await alice.evaluate(() => [window.demo.call.sid, window.demo.conn.jid]);
  await alice.evaluate(() => {
    window.errorsIn = 0;
    const { conn } = window.demo;
    const input = conn.xmlInput;
    conn.xmlInput = (el) => {
      // Over WebSocket each call is one stanza; the selector finds its child <error/>.
      window.errorsIn += el.querySelectorAll('message[type="error"] > error').length;
      input?.call(conn, el);
    };
  });
  // carol forges the bounce of alice's proposal.
  const carol = await client('carol');
  carol.sendRaw(`<message xmlns='jabber:client' to='${aliceJid}' type='error' id='${sid}'>`
    + "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
    + '</error></message>');
  await alice.waitForFunction(() => window.errorsIn >= 1);
  await alice.evaluate(() => new Promise((r) => { setTimeout(r, 0); }));
  assert.equal(await alice.evaluate(() => window.demo.call?.state), 'proposing');
  await alice.getByRole('button', { name: 'Cancel' }).click();
  await status(alice, 'Call cancelled.').waitFor();

  // A real bounce still ends a proposal: an unknown user (presence not consulted).
  const reason = await alice.evaluate(async (jid) => {
    window.demo.jingle.contacts = null;
    const call = await window.demo.jingle.call(jid);
    return new Promise((resolve) => call.addEventListener('ended', (e) => resolve(e.detail)));
  }, `nobody@${bed.info.domain}`);
  assert.deepEqual([reason.reason, reason.by], ['gone', 'remote']);
});

test("the demo's TURN and relay knobs are ignored unless the page was told before it loaded", async () => {
  const evil = encodeURIComponent(JSON.stringify([{ urls: 'turn:198.51.100.7:3478',
    username: 'u', credential: 'c' }]));
  const knobs = `/?relay=1&extdisco=0&ringTimeout=5&iceServers=${evil}`;
  const settings = (page) => page.evaluate(() => {
    const j = window.demo.jingle;
    return { rtcConfig: j.rtcConfig, extdisco: j.extdisco, ringTimeoutMs: j.ringTimeoutMs };
  });
  const linked = await pages.loggedIn('alice', knobs);
  assert.deepEqual(await settings(linked), { rtcConfig: {}, extdisco: true, ringTimeoutMs: 30000 });
  const testing = await pages.loggedIn('bob', knobs, { testKnobs: true });
  assert.deepEqual(await settings(testing), { rtcConfig: { iceTransportPolicy: 'relay',
    iceServers: JSON.parse(decodeURIComponent(evil)) }, extdisco: false, ringTimeoutMs: 5 });
});
