// The jingle-focus component seen from a real XMPP client (Strophe.js over ejabberd's
// WebSocket, as our users run it): discovery, version, ping, errors for malformed and
// unexpected stanzas, and survival of an ejabberd restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startTestbed, repoRoot } from './lib/testbed.js';
import { connectClient, $iq, NS, errorCondition } from './lib/xmpp-client.js';

let bed;
let focus;
const clients = [];

async function connect(i = 0) {
  const { jid, password } = bed.info.users[i];
  const c = await connectClient({ websocket: bed.info.websocket, jid, password });
  clients.push(c);
  return c;
}

const ping = (c, to = focus) => c.sendIQ($iq({ type: 'get', to }).c('ping', { xmlns: NS.PING }));

before(async () => {
  bed = await startTestbed({ users: ['alice:pw-a', 'bob:pw-b'], focus: true });
  focus = bed.info.focus;
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.disconnect()));
  await bed?.stop();
});

/** What the focus serves for group calls (XEP-0521 on XEP-0166/0167/0176/0320/0338/0339/0293/0294, XEP-0298). */
const JINGLE_FEATURES = [
  'urn:xmpp:jingle:1', 'urn:xmpp:jingle:apps:rtp:1', 'urn:xmpp:jingle:apps:rtp:audio',
  'urn:xmpp:jingle:apps:rtp:video', 'urn:xmpp:jingle:transports:ice-udp:1', 'urn:xmpp:jingle:apps:dtls:0',
  'urn:xmpp:jingle:apps:grouping:0', 'urn:ietf:rfc:5888', 'urn:xmpp:jingle:apps:rtp:rtcp-fb:0',
  'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0', 'urn:xmpp:jingle:apps:rtp:ssma:0', 'urn:ietf:rfc:5576',
  'urn:xmpp:coin:1', 'urn:xmpp:jingle:av-conferences:0',
];

async function discoInfo(client, to) {
  const reply = await client.sendIQ($iq({ type: 'get', to }).c('query', { xmlns: NS.DISCO_INFO }));
  assert.equal(reply.getAttribute('from'), to);
  const query = reply.getElementsByTagName('query')[0];
  const identities = [...query.getElementsByTagName('identity')]
    .map((i) => `${i.getAttribute('category')}/${i.getAttribute('type')}`);
  const features = [...query.getElementsByTagName('feature')].map((f) => f.getAttribute('var')).sort();
  return { identities, features };
}

test('disco#info: one identity and exactly the features it supports', async () => {
  const alice = await connect();
  const { identities, features } = await discoInfo(alice, focus);
  assert.deepEqual(identities, ['component/generic']);
  assert.deepEqual(features, [NS.DISCO_INFO, NS.DISCO_ITEMS, NS.VERSION, NS.PING, ...JINGLE_FEATURES].sort());
});

test('disco#info of a room JID: an audio/video conference (XEP-0521) with a settings command', async () => {
  const alice = await connect();
  const { identities, features } = await discoInfo(alice, `room1@${focus}`);
  assert.deepEqual(identities, ['conference/audio-video']);
  assert.deepEqual(features,
    [NS.DISCO_INFO, NS.DISCO_ITEMS, 'http://jabber.org/protocol/commands', ...JINGLE_FEATURES].sort());
});

test('disco#items: empty while no conference exists', async () => {
  const alice = await connect();
  const reply = await alice.sendIQ($iq({ type: 'get', to: focus }).c('query', { xmlns: NS.DISCO_ITEMS }));
  const query = reply.getElementsByTagName('query')[0];
  assert.equal(query.namespaceURI, NS.DISCO_ITEMS);
  assert.equal(query.getElementsByTagName('item').length, 0);
});

test('version: the crate name and version', async () => {
  const alice = await connect();
  const reply = await alice.sendIQ($iq({ type: 'get', to: focus }).c('query', { xmlns: NS.VERSION }));
  const cargo = readFileSync(path.join(repoRoot, 'Cargo.toml'), 'utf8');
  const version = /\[workspace\.package\][^[]*?version = "([^"]+)"/.exec(cargo)[1];
  assert.equal(reply.getElementsByTagName('name')[0].textContent, 'jingle-focus');
  assert.equal(reply.getElementsByTagName('version')[0].textContent, version);
  assert.equal(reply.getElementsByTagName('os').length, 0, 'the OS is not disclosed');
});

test('ping: the domain and any JID at it answer', async () => {
  const alice = await connect();
  for (const to of [focus, `room1@${focus}`, `room1@${focus}/someone`]) {
    const reply = await ping(alice, to);
    assert.equal(reply.getAttribute('type'), 'result', to);
    assert.equal(reply.getAttribute('from'), to);
  }
});

// Each row: a stanza written raw to the WebSocket, and the error condition of the reply it
// must get (null: no reply at all). A ping sent right after it travels the same path in
// order, so "no reply before the ping's answer" proves "no reply".
const F = () => focus;
const table = [
  ['unknown IQ child (get)', () => `<iq type='get' id='t1' to='${F()}'><x xmlns='urn:example:unknown'/></iq>`, 'service-unavailable'],
  ['unknown IQ child (set)', () => `<iq type='set' id='t2' to='${F()}'><x xmlns='urn:example:unknown'/></iq>`, 'service-unavailable'],
  ['disco#info as set', () => `<iq type='set' id='t3' to='${F()}'><query xmlns='${NS.DISCO_INFO}'/></iq>`, 'feature-not-implemented'],
  ['ping with a child', () => `<iq type='get' id='t4' to='${F()}'><ping xmlns='${NS.PING}'><x/></ping></iq>`, 'bad-request'],
  ['IQ get without payload', () => `<iq type='get' id='t5' to='${F()}'/>`, 'bad-request'],
  ['IQ with two payloads', () => `<iq type='get' id='t6' to='${F()}'><ping xmlns='${NS.PING}'/><ping xmlns='${NS.PING}'/></iq>`, 'bad-request'],
  ['IQ of unknown type', () => `<iq type='fetch' id='t7' to='${F()}'><ping xmlns='${NS.PING}'/></iq>`, 'bad-request'],
  ['IQ without id', () => `<iq type='get' to='${F()}'><ping xmlns='${NS.PING}'/></iq>`, 'bad-request'],
  ['unknown disco node', () => `<iq type='get' id='t9' to='${F()}'><query xmlns='${NS.DISCO_INFO}' node='nope'/></iq>`, 'item-not-found'],
  // ejabberd refuses the address itself; the focus never sees it.
  ['bad to (malformed JID)', () => `<iq type='get' id='t10' to='a@b@${F()}'><ping xmlns='${NS.PING}'/></iq>`, 'bad-request'],
  ['large payload (100 KB)', () => `<iq type='set' id='t11' to='${F()}'><x xmlns='urn:example:big'>${'A'.repeat(100_000)}</x></iq>`, 'service-unavailable'],
  // ejabberd's WebSocket listener passes it on whole: the focus must cope and answer.
  ['huge payload (2 MB)', () => `<iq type='set' id='t11b' to='${F()}'><x xmlns='urn:example:big'>${'<y>B</y>'.repeat(250_000)}</x></iq>`, 'service-unavailable'],
  ['chat message', () => `<message type='chat' id='t12' to='${F()}'><body>hello?</body></message>`, 'service-unavailable'],
  ['headline message', () => `<message type='headline' id='t13' to='${F()}'><body>news</body></message>`, null],
  ['groupchat message', () => `<message type='groupchat' id='t14' to='${F()}'><body>hi all</body></message>`, null],
  ['error message', () => `<message type='error' id='t15' to='${F()}'><error type='cancel'><item-not-found xmlns='${NS.STANZAS}'/></error></message>`, null],
  ['directed presence', () => `<presence id='t16' to='${F()}'/>`, null],
  ['IQ error', () => `<iq type='error' id='t17' to='${F()}'><error type='cancel'><item-not-found xmlns='${NS.STANZAS}'/></error></iq>`, null],
  ['unsolicited IQ result', () => `<iq type='result' id='t18' to='${F()}'/>`, null],
];

test('malformed and unexpected stanzas get the right reply or none', async () => {
  const alice = await connect();
  for (const [name, raw, expected] of table) {
    const stanza = raw().replace(/^<(\w+) /, "<$1 xmlns='jabber:client' ");
    const id = /id='([^']+)'/.exec(stanza)?.[1];
    const reply = alice.waitFor((s) => s.getAttribute('type') === 'error'
      && (id ? s.getAttribute('id') === id : !s.getAttribute('id')), 5000);
    alice.sendRaw(stanza);
    if (expected) {
      const got = await reply.catch((e) => assert.fail(`${name}: ${e.message}`));
      assert.equal(errorCondition(got)?.condition, expected, name);
    } else {
      const marker = ping(alice);
      const first = await Promise.race([reply.then((s) => ['reply', s]), marker.then(() => ['ping'])]);
      assert.equal(first[0], 'ping', `${name}: expected no reply`);
      reply.catch(() => {}); // its deadline passes unanswered: that is the expected outcome
    }
    const after = await ping(alice);
    assert.equal(after.getAttribute('type'), 'result', `${name}: still answering`);
  }
});

test('ejabberd restarted under the component: it reattaches and answers again', async () => {
  const started = Date.now();
  const done = await bed.command('restart-ejabberd', 60000);
  const bob = await connect(1);
  const reply = await ping(bob);
  const total = Date.now() - started;
  assert.equal(reply.getAttribute('type'), 'result');
  assert.equal(reply.getAttribute('from'), focus);
  console.log(`# ejabberd restart: server down and up again in ${done.ms - done.result.focusOnlineAfterMs} ms, `
    + `focus online ${done.result.focusOnlineAfterMs} ms later, a client's ping answered ${total} ms after the restart began`);
});
