// A room's call settings (XEP-0050 command urn:xmpp:av-conferences:config at ROOM@focus.HOST),
// seen from real XMPP clients (Strophe.js in node) against ejabberd and the focus: only the
// MUC room's owners may run it, and the participant limit it sets holds for the next join.
// Participants here only signal (Jingle from a browser's offer); no media flows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { startTestbed } from './lib/testbed.js';
import { connectClient, $iq, $pres, errorCondition, Strophe } from './lib/xmpp-client.js';
import { loadSdpMap, vectorsDir } from './lib/vectors.js';

const NS_COMMANDS = 'http://jabber.org/protocol/commands';
const NODE = 'urn:xmpp:av-conferences:config';

let bed;
let sdp;
const clients = [];

before(async () => {
  bed = await startTestbed({ users: ['alice:a', 'bob:b', 'carol:c', 'dave:d'], focus: true });
  sdp = await loadSdpMap();
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.disconnect()));
  await bed?.stop();
});

async function client(name) {
  const { jid, password } = bed.info.users.find((u) => u.jid.startsWith(`${name}@`));
  const c = await connectClient({ websocket: bed.info.websocket, jid, password });
  // A participant acknowledges the focus's Jingle (its session-accept, the sessions it opens):
  // one that answers with an error leaves the call, and the limit would count one less.
  c.conn.addHandler((iq) => {
    c.send($iq({ type: 'result', id: iq.getAttribute('id'), to: iq.getAttribute('from') }));
    return true;
  }, 'urn:xmpp:jingle:1', 'iq', 'set');
  clients.push(c);
  return c;
}

/** `c` enters the MUC room `room` as `nick`; resolves on its own presence. */
async function enter(c, room, nick) {
  const own = c.waitFor((p) => p.nodeName === 'presence'
    && [...p.getElementsByTagName('status')].some((s) => s.getAttribute('code') === '110'));
  c.send($pres({ to: `${room}@conference.${bed.info.domain}/${nick}` })
    .c('x', { xmlns: 'http://jabber.org/protocol/muc' }));
  await own;
}

/** Sends an IQ; resolves to the result, or to the error condition's name. */
async function ask(c, iq) {
  try {
    return await c.sendIQ(iq);
  } catch (e) {
    return errorCondition(e).condition;
  }
}

/** Runs the settings command of `room` as `c`: `max` submits it, else the form is asked for. */
function command(c, room, { action = 'execute', max } = {}) {
  const iq = $iq({ type: 'set', to: `${room}@${bed.info.focus}` })
    .c('command', { xmlns: NS_COMMANDS, node: NODE, action });
  if (max !== undefined) {
    iq.c('x', { xmlns: 'jabber:x:data', type: 'submit' })
      .c('field', { var: 'FORM_TYPE' }).c('value').t(NODE).up().up()
      .c('field', { var: 'max-participants' }).c('value').t(String(max));
  }
  return ask(c, iq);
}

/** `c` asks to join the call of `room` with a Chromium offer whose ssrcs start at `base`. */
function join(c, room, base) {
  let offer = readFileSync(joinPath(vectorsDir, 'chromium-156-audio-video-offer.sdp'), 'utf8');
  const shift = (n) => String((Number(n) + base) >>> 0);
  offer = offer.replace(/a=ssrc:(\d+)/g, (_, n) => `a=ssrc:${shift(n)}`)
    .replace(/a=ssrc-group:FID (\d+) (\d+)/g, (_, a, b) => `a=ssrc-group:FID ${shift(a)} ${shift(b)}`);
  const xml = sdp.sdpToJingle(offer, { action: 'session-initiate', sid: `s${base}`,
    initiator: c.conn.jid, responder: `${room}@${bed.info.focus}` });
  return ask(c, $iq({ type: 'set', to: `${room}@${bed.info.focus}` })
    .cnode(Strophe.xmlHtmlNode(xml).documentElement));
}

test('owners set the participant limit; others may not; the limit holds', async () => {
  const [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map(client));
  await enter(alice, 'board', 'alice'); // alice creates the room: its owner
  for (const [c, nick] of [[bob, 'bob'], [carol, 'carol'], [dave, 'dave']]) await enter(c, 'board', nick);

  // The owner gets the form, with the current limit.
  const form = await command(alice, 'board');
  const cmd = form.getElementsByTagName('command')[0];
  assert.equal(cmd.getAttribute('status'), 'executing');
  const field = [...cmd.getElementsByTagName('field')].find((f) => f.getAttribute('var') === 'max-participants');
  assert.equal(field.getElementsByTagName('value')[0].textContent, '16');
  // Others may not change it; nonsense is refused.
  assert.equal(await command(bob, 'board', { action: 'complete', max: 50 }), 'forbidden');
  assert.equal(await command(alice, 'board', { action: 'complete', max: 0 }), 'not-acceptable');
  // The owner sets 2.
  const done = await command(alice, 'board', { action: 'complete', max: 2 });
  assert.equal(done.getElementsByTagName('command')[0].getAttribute('status'), 'completed');

  assert.equal((await join(bob, 'board', 1000)).getAttribute('type'), 'result');
  assert.equal((await join(carol, 'board', 2000)).getAttribute('type'), 'result');
  assert.equal(await join(dave, 'board', 3000), 'resource-constraint');
  // A room that does not exist has no settings to change.
  assert.equal(await command(alice, 'nosuchroom'), 'item-not-found');
});
