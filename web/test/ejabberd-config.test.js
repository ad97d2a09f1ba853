// The ejabberd template is safe to copy into production: checked in the config testbed
// generated from it and on the server running that config. The HTTP API answers only on a
// loopback listener of its own and only with the API account's password; TURN refuses to relay
// to private and link-local addresses; the offline store is bounded; in-band registration is
// for loopback; XEP-0191 blocking is on; a MUC room is neither a directory nor a way to reach
// its occupants.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startTestbed, repoRoot } from './lib/testbed.js';
import { connectClient, $iq, $msg, $pres, NS, errorCondition } from './lib/xmpp-client.js';
import { turnAllocate } from './lib/turn-client.js';

const EXTDISCO = 'urn:xmpp:extdisco:2';
const FLEX_OFFLINE = 'http://jabber.org/protocol/offline';
const BLOCKING = 'urn:xmpp:blocking';
const MUC = 'http://jabber.org/protocol/muc';

let bed;
let config;
const clients = [];

const readConfig = (info) => parseYaml(readFileSync(path.join(info.stateDir, 'ejabberd.yml'), 'utf8'));
/** The template itself, its `@NAME@` placeholders (not YAML) replaced by a word. */
const template = () => parseYaml(readFileSync(path.join(repoRoot, 'ejabberd-config/ejabberd.yml.in'),
  'utf8').replace(/@[A-Z0-9_]+@/g, 'PLACEHOLDER'));
const handlers = (listener) => Object.keys(listener.request_handlers ?? {});
const stunListener = (cfg) => cfg.listen.find((l) => l.module === 'ejabberd_stun');

async function connect(info, name, opts = {}) {
  const { jid, password } = info.users.find((u) => u.jid.startsWith(`${name}@`));
  const c = await connectClient({ websocket: info.websocket, jid, password, ...opts });
  clients.push(c);
  return c;
}

const ping = (c, to) => c.sendIQ($iq({ type: 'get', to }).c('ping', { xmlns: NS.PING }));

/** TURN/UDP service and credentials from XEP-0215, as the web client gets them. */
async function turnCredentials(c, domain) {
  const reply = await c.sendIQ($iq({ type: 'get', to: domain })
    .c('services', { xmlns: EXTDISCO, type: 'turn' }));
  const service = [...reply.getElementsByTagName('service')].find((s) =>
    s.getAttribute('type') === 'turn' && s.getAttribute('transport') === 'udp');
  assert.ok(service?.getAttribute('username'), 'a TURN/UDP service with credentials');
  return {
    host: service.getAttribute('host'),
    port: Number(service.getAttribute('port')),
    username: service.getAttribute('username'),
    password: service.getAttribute('password'),
    expires: Date.parse(service.getAttribute('expires')),
  };
}

before(async () => {
  bed = await startTestbed({ users: ['alice:pw-a', 'bob:pw-b', 'carol:pw-c'] });
  config = readConfig(bed.info);
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.disconnect()));
  await bed?.stop();
});

test('the HTTP API is not on the public listener; its own is loopback-only and wants the API password', async () => {
  const web = config.listen.find((l) => handlers(l).includes('/ws'));
  assert.deepEqual(handlers(web).sort(), ['/bosh', '/ws'], 'the proxied listener serves XMPP only');
  const apis = config.listen.filter((l) => handlers(l).includes('/api'));
  assert.equal(apis.length, 1);
  const [api] = apis;
  assert.equal(api.ip, '127.0.0.1');
  assert.notEqual(api.port, web.port);
  for (const proxy of ['127.0.0.0/8', '::1/128']) assert.ok(config.trusted_proxies?.includes(proxy));

  const { apiUser, apiPassword, domain } = bed.info;
  const call = async (port, { user, password, headers = {} } = {}) => {
    const auth = user ? { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } : {};
    const res = await fetch(`http://127.0.0.1:${port}/api/registered_users`, {
      method: 'POST', body: JSON.stringify({ host: domain }), headers: { ...headers, ...auth },
    });
    return { status: res.status, body: await res.text() };
  };
  const admin = { user: apiUser, password: apiPassword };
  // The public listener has no /api at all, whoever asks.
  assert.equal((await call(web.port)).status, 404);
  assert.equal((await call(web.port, admin)).status, 404);
  // The API listener: nothing without the API account's password, even from 127.0.0.1.
  for (const who of [{}, { user: apiUser, password: 'wrong' }, { user: `alice@${domain}`, password: 'pw-a' }]) {
    const { status, body } = await call(api.port, who);
    assert.ok(status === 401 || status === 403, `${JSON.stringify(who)}: ${status} ${body}`);
  }
  // A request a trusted proxy forwarded for a remote client is not from loopback.
  const proxied = await call(api.port, { ...admin, headers: { 'x-forwarded-for': '203.0.113.9' } });
  assert.equal(proxied.status, 403, proxied.body);
  const ok = await call(api.port, admin);
  assert.equal(ok.status, 200, ok.body);
  assert.ok(JSON.parse(ok.body).includes('alice'), ok.body);
  // The API account is for the API only: its password is right, but it gets no session.
  await assert.rejects(connectClient({ websocket: bed.info.websocket, jid: apiUser, password: apiPassword }),
    { status: 'AUTHFAIL', condition: 'bind' });
});

test('TURN refuses to relay to private and link-local addresses', async () => {
  const blacklist = stunListener(config).turn_blacklist;
  for (const range of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16',
    'fc00::/7', 'fe80::/10']) {
    assert.ok(blacklist?.includes(range), `turn_blacklist has ${range}: ${JSON.stringify(blacklist)}`);
  }
  // The template also blacklists loopback; testbed drops exactly that, so TURN works here.
  assert.equal(bed.info.relayLoopback, true);
  assert.deepEqual(stunListener(template()).turn_blacklist, ['127.0.0.0/8', '::1/128', ...blacklist]);

  const alice = await connect(bed.info, 'alice');
  const credentials = await turnCredentials(alice, bed.info.domain);
  const lifetimeMs = credentials.expires - Date.now();
  assert.ok(lifetimeMs > 0 && lifetimeMs <= 3600e3 + 60e3, `credentials live ${lifetimeMs} ms`);
  const turn = await turnAllocate(credentials);
  try {
    assert.equal(turn.ok, true, `allocation: ${JSON.stringify(turn)}`);
    for (const peer of ['10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1']) {
      assert.deepEqual(await turn.createPermission(peer), { ok: false, code: 403, reason: 'Forbidden' },
        `permission for ${peer}`);
    }
    // Controls: an address outside the blacklist, and loopback (testbed only).
    assert.deepEqual(await turn.createPermission('198.51.100.7'), { ok: true });
    assert.deepEqual(await turn.createPermission('127.0.0.1'), { ok: true });
  } finally {
    await turn.close();
  }
});

test('with the production blacklist (loopback kept) TURN refuses a loopback client', async () => {
  const prod = await startTestbed({ users: ['dave:pw-d'], relayLoopback: false });
  try {
    assert.equal(prod.info.relayLoopback, false);
    assert.deepEqual(stunListener(readConfig(prod.info)).turn_blacklist,
      stunListener(template()).turn_blacklist);
    const dave = await connect(prod.info, 'dave');
    const turn = await turnAllocate(await turnCredentials(dave, prod.info.domain));
    await turn.close();
    await dave.disconnect();
    assert.deepEqual({ ok: turn.ok, code: turn.code }, { ok: false, code: 403 });
  } finally {
    await prod.stop();
  }
});

test('an offline user gets at most max_user_offline_messages; senders of the rest get resource-constraint', async () => {
  const limit = config.shaper_rules?.max_user_offline_messages;
  assert.ok(Number.isInteger(limit) && limit > 0 && limit <= 1000, `limit ${limit}`);
  const extra = 5;
  const alice = await connect(bed.info, 'alice');
  const carolJid = `carol@${bed.info.domain}`;
  for (let i = 0; i < limit + extra; i += 1) {
    alice.send($msg({ to: carolJid, type: 'chat', id: `offline-${i}` }).c('body').t(`message ${i}`));
  }
  // The server handles alice's stanzas in order: once this answers, all were stored or refused.
  await ping(alice, bed.info.domain);
  // carol, who was never online, asks how many messages wait for her (XEP-0013).
  const carol = await connect(bed.info, 'carol');
  const info = await carol.sendIQ($iq({ type: 'get' })
    .c('query', { xmlns: NS.DISCO_INFO, node: FLEX_OFFLINE }));
  const field = [...info.getElementsByTagName('field')]
    .find((f) => f.getAttribute('var') === 'number_of_messages');
  assert.equal(Number(field?.getElementsByTagName('value')[0]?.textContent), limit);
  // alice hears of exactly the messages past the limit.
  const bounce = (s) => s.nodeName === 'message' && s.getAttribute('type') === 'error';
  for (let i = limit; i < limit + extra; i += 1) {
    const m = await alice.waitFor((s) => bounce(s) && s.getAttribute('id') === `offline-${i}`, 10000,
      { past: true });
    assert.equal(errorCondition(m)?.condition, 'resource-constraint');
  }
  assert.equal(alice.received.filter(bounce).length, extra);
});

test('in-band registration is for loopback only; the component listens on loopback', () => {
  const rule = config.modules.mod_register?.ip_access;
  assert.deepEqual(config.access_rules[rule], { allow: 'loopback' },
    `mod_register ip_access names the access rule ${rule}`);
  assert.deepEqual(config.acl.loopback, { ip: ['127.0.0.0/8', '::1/128'] });
  // (testbed itself registered its API account in-band from loopback: the API test used it.)
  const component = config.listen.find((l) => l.module === 'ejabberd_service');
  assert.equal(component.ip, '127.0.0.1');
});

test('XEP-0191: a blocked JID cannot reach the user who blocked it', async () => {
  const alice = await connect(bed.info, 'alice');
  const bob = await connect(bed.info, 'bob', { presence: true });
  const features = await alice.sendIQ($iq({ type: 'get', to: bed.info.domain })
    .c('query', { xmlns: NS.DISCO_INFO }));
  assert.ok([...features.getElementsByTagName('feature')].some((f) => f.getAttribute('var') === BLOCKING));
  await bob.sendIQ($iq({ type: 'set' }).c('block', { xmlns: BLOCKING })
    .c('item', { jid: `alice@${bed.info.domain}` }));
  const bounced = alice.waitFor((s) => s.nodeName === 'message' && s.getAttribute('id') === 'blocked-1');
  alice.send($msg({ to: bob.jid, type: 'chat', id: 'blocked-1' }).c('body').t('ring ring'));
  assert.equal(errorCondition(await bounced)?.condition, 'service-unavailable');
  await bob.sendIQ($iq({ type: 'set' }).c('unblock', { xmlns: BLOCKING }));
});

test('a new MUC room is not listed, and occupants cannot be reached through it', async () => {
  const conference = bed.info.conference;
  const room = `call-${Date.now()}@${conference}`;
  const alice = await connect(bed.info, 'alice');
  const bob = await connect(bed.info, 'bob');
  const join = async (c, nick) => {
    const joined = c.waitFor((s) => s.nodeName === 'presence' && s.getAttribute('from') === `${room}/${nick}`);
    c.send($pres({ to: `${room}/${nick}` }).c('x', { xmlns: MUC }));
    const p = await joined;
    assert.equal(p.getAttribute('type'), null, `${nick} joined`);
  };
  await join(alice, 'alice');
  const items = await bob.sendIQ($iq({ type: 'get', to: conference }).c('query', { xmlns: NS.DISCO_ITEMS }));
  assert.ok(![...items.getElementsByTagName('item')].some((i) => i.getAttribute('jid') === room),
    'the room is not listed on the service');
  await join(bob, 'bob');
  // No IQ (a Jingle session-initiate, a version query) to an occupant through the room.
  const iq = await bob.sendIQ($iq({ type: 'get', to: `${room}/alice` }).c('query', { xmlns: NS.VERSION }))
    .then(() => null, (e) => e);
  assert.equal(errorCondition(iq)?.condition, 'not-allowed');
  // No private message either.
  const refused = bob.waitFor((s) => s.nodeName === 'message' && s.getAttribute('id') === 'pm-1');
  bob.send($msg({ to: `${room}/alice`, type: 'chat', id: 'pm-1' }).c('body').t('hi'));
  assert.equal(errorCondition(await refused)?.condition, 'forbidden');
  // XEP-0410 self-ping still works.
  await ping(bob, `${room}/bob`);
});
