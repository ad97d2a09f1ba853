// The node Strophe.js client helper against a real ejabberd: login, IQs, raw stanzas, waitFor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestbed } from './lib/testbed.js';
import { connectClient, $iq, $msg, NS, errorCondition } from './lib/xmpp-client.js';

let bed;
const clients = [];
const connect = async (i, extra = {}) => {
  const { jid, password } = bed.info.users[i];
  const c = await connectClient({ websocket: bed.info.websocket, jid, password, ...extra });
  clients.push(c);
  return c;
};

before(async () => {
  bed = await startTestbed({ users: ['alice:pw-a', 'bob:pw-b'] });
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.disconnect()));
  await bed?.stop();
});

test('logs in and pings the server domain', async () => {
  const alice = await connect(0);
  assert.match(alice.jid, /^alice@localhost\/.+/);
  const reply = await alice.sendIQ($iq({ type: 'get', to: bed.info.domain }).c('ping', { xmlns: NS.PING }));
  assert.equal(reply.getAttribute('type'), 'result');
  assert.equal(reply.getAttribute('from'), bed.info.domain);
});

test('sendIQ rejects with the error stanza', async () => {
  const alice = await connect(0);
  const err = await alice.sendIQ($iq({ type: 'get', to: bed.info.domain }).c('nonsense', { xmlns: 'urn:example:nonsense' }))
    .then(() => assert.fail('expected an error reply'), (e) => e);
  assert.equal(err.getAttribute?.('type'), 'error', `got ${err}`);
  assert.equal(errorCondition(err).condition, 'service-unavailable');
});

test('wrong password rejects with AUTHFAIL', async () => {
  const { jid } = bed.info.users[0];
  await assert.rejects(connectClient({ websocket: bed.info.websocket, jid, password: 'wrong' }),
    (e) => e.status === 'AUTHFAIL' && e.condition === 'not-authorized');
});

test('sendRaw and waitFor: a raw message reaches the other client', async () => {
  const alice = await connect(0);
  const bob = await connect(1);
  const got = bob.waitFor((s) => s.nodeName === 'message' && s.getAttribute('id') === 'raw-1');
  alice.sendRaw(`<message xmlns='jabber:client' to='${bob.jid}' id='raw-1' type='chat'><body>hi &amp; bye</body></message>`);
  const msg = await got;
  assert.equal(msg.getAttribute('from'), alice.jid);
  assert.equal(msg.getElementsByTagName('body')[0].textContent, 'hi & bye');
  // Builder messages too, and the past option finds a stanza that already arrived.
  const next = bob.waitFor((s) => s.getAttribute('id') === 'built-1');
  alice.send($msg({ to: bob.jid, id: 'built-1', type: 'chat' }).c('body').t('again'));
  await next;
  assert.ok(await bob.waitFor((s) => s.getAttribute('id') === 'raw-1', 1000, { past: true }));
  await assert.rejects(bob.waitFor((s) => s.getAttribute('id') === 'never', 300), /no matching stanza/);
});

test('an IQ get nobody handles is answered with service-unavailable, even while waiting', async () => {
  const alice = await connect(0);
  const bob = await connect(1);
  const waiting = bob.waitFor((s) => s.getAttribute('id') === 'unrelated', 5000).catch(() => {});
  const err = await alice.sendIQ($iq({ type: 'get', to: bob.jid }).c('query', { xmlns: 'urn:example:x' }))
    .then(() => assert.fail('expected an error reply'), (e) => e);
  assert.equal(errorCondition(err).condition, 'service-unavailable');
  alice.send($msg({ to: bob.jid, id: 'unrelated' }));
  await waiting;
});
