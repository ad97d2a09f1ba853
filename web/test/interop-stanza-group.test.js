// Interop of the conference focus (XEP-0521 + XEP-0298) with an independent joiner: a StanzaJS 12
// page (npm `stanza`: its own XMPP client over ejabberd's WebSocket, its MUC support and its
// Jingle SessionManager/MediaSession; nothing of ours in that page but this test's glue) joins a
// room's call next to two of our demo pages (the Rooms panel). Media is checked both ways with
// getStats, and everything StanzaJS refuses, fails on or ends is collected and must stay empty.
//
// What the StanzaJS page does, with StanzaJS's own API:
// - `client.joinRoom(ROOM@conference.HOST, nick)`: the focus admits only room occupants;
// - `jingle.createMediaSession(ROOM@focus.HOST, undefined, cameraAndMicrophone)`, then
//   `session.start({offerToReceiveAudio: false, offerToReceiveVideo: false})`: StanzaJS adds the
//   tracks sendrecv; the legacy offer options turn them sendonly in Chromium, which StanzaJS
//   writes as `senders='initiator'`;
// - every `jingle:incoming` session from ROOM@focus.HOST is accepted with `session.accept()`
//   and no tracks of its own (receive-only).
//
// StanzaJS 12 and the focus, what differs (interop knowledge, found with this test):
// - Tie-break. StanzaJS's SessionManager answers a session-initiate with `conflict` +
//   `<tie-break/>` when it already has a *pending* session with the same full JID whose
//   application types overlap (its `performTieBreak`) and whose sid sorts higher: it takes a
//   second RTP session from one JID for the XEP-0166 collision of two initiates. Every session
//   of a conference comes from ROOM@focus.HOST, and the focus opens them back to back (right
//   after its session-accept), so by default the second callback is refused whenever the first
//   one is still pending and the sids sort that way (seen in one of two runs here; the focus
//   then treats that stream as declined). Turned off with StanzaJS's own option `jingle:
//   {performTieBreak: () => false}` (createClient's `jingle` config goes to the SessionManager);
//   the duplicate-sid checks stay.
// - Sending only. StanzaJS adds a session's tracks with addTrack (sendrecv). `start()` passes
//   its argument to createOffer, so the legacy options `{offerToReceiveAudio: false,
//   offerToReceiveVideo: false}` make Chromium offer sendonly, which StanzaJS writes as
//   `senders='initiator'`. Its session-accept of a callback is recvonly, i.e.
//   `senders='initiator'` too.
// - Conference info. StanzaJS does not read XEP-0298 `<conference-info>`: this glue reads whose
//   media a callback carries (`<user entity='xmpp:BARE-JID'>`) from the raw session-initiate.
//   It answers the focus's session-info it does not know (`<dominant-speaker
//   xmlns='urn:xmpp:jingle-focus:conference:0'/>`) with a result, not `unsupported-info`;
//   the focus needs neither.
// - Leaving. StanzaJS ends one session at a time, as XEP-0166 has it: terminating its own
//   session leaves the focus's callbacks active on its side. The focus used to drop those
//   without a word (our plugin drops them itself); it now sends a session-terminate for each
//   (src/focus/conference.rs, `Tell::Callbacks`), which this test checks.
// - ICE-lite. The bridge is ICE-lite, which the focus can say only in its own
//   `<session xmlns='urn:xmpp:jingle-focus:sdp:0'><attribute>ice-lite</attribute></session>`
//   (Jingle has no standard element for it). StanzaJS ignores it, so its Chromium answers as
//   a full agent in the controlled role and both ends start controlled; RFC 8445 §7.3.1.1
//   role-conflict repair then picks the controlling side by tie-breaker (Chromium on the
//   bridge's 487, or the bridge's rtc-ice agent, which then checks and nominates like a full
//   agent). Chromium's transport stats showed both outcomes (iceRole controlling and
//   controlled) in one run, and media flowed either way.
// - StanzaJS's session-initiate and session-accept carry no `initiator`/`responder`
//   attributes; the focus takes the IQ's sender as the initiator.
//
// Run inside a loopback-only network namespace (see lib/browser.js).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { openDemoPages, stopDemoPages, status, DEADLINE } from './lib/demo-page.js';
import { serveWebFilesFromDisk } from './lib/web-files.js';

let bed;
let browser;
let pages;
let bundle;
const contexts = [];

before(async () => {
  const out = await build({
    entryPoints: [fileURLToPath(new URL('../node_modules/stanza/index.module.js', import.meta.url))],
    bundle: true, format: 'iife', globalName: 'XMPP', platform: 'browser', write: false,
    logLevel: 'error',
  });
  bundle = out.outputFiles[0].text;
  ({ bed, browser, pages } = await openDemoPages({
    users: ['alice:alice-pw', 'bob:bob-pw', 'carol:carol-pw'], focus: true,
  }));
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => {})));
  await pages.closeAll();
});

after(async () => {
  await stopDemoPages({ bed, browser });
});

async function joinRoom(page, room) {
  await page.getByRole('textbox', { name: 'Room', exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join call' }).click();
  await status(page, `In the call of ${room}@`).waitFor();
}

/**
 * A page running StanzaJS 12 alone, logged in as `name`, at `window.peer`: it enters the MUC
 * room `room` as `name` and sends its camera and microphone to the room's focus. Resolves once
 * the focus accepted that session.
 */
async function stanzaJoiner(name, room) {
  // The StanzaJS bundle goes in as an inline script, which the demo page's
  // Content-Security-Policy forbids: this harness page (not our client) bypasses it.
  const context = await browser.newContext({ bypassCSP: true });
  contexts.push(context);
  await serveWebFilesFromDisk(context, bed.info.http);
  const page = await context.newPage();
  page.setDefaultTimeout(DEADLINE);
  const label = `${name} (StanzaJS)`;
  page.on('pageerror', (e) => pages.errors.push(`${label}: ${e.message}`));
  page.on('console', (m) => {
    if (process.env.DEMO_DEBUG) console.log(label, m.type(), m.text());
    if (m.type() === 'error' && !/Data frame received after close/.test(m.text())) {
      pages.errors.push(`${label} console: ${m.text()}`);
    }
  });
  // A page of our own origin (the idle demo page, not logged in: Chromium's local network access
  // checks block WebSockets to loopback from pages faked with route()), plus StanzaJS.
  await page.goto(bed.info.http);
  await page.addScriptTag({ content: bundle });
  await page.waitForFunction(() => window.XMPP?.createClient);
  const u = pages.user(name);
  await page.evaluate(async ({ deadline, jid, password, websocket, muc, focus, nick }) => {
    const client = window.XMPP.createClient({
      jid, password, resource: 'stanza',
      transports: { websocket, bosh: false },
      jingle: {
        iceServers: [], bundlePolicy: 'max-bundle',
        // Several sessions come from ROOM@focus.HOST at once: never tie-break them (header).
        performTieBreak: () => false,
      },
    });
    const peer = {
      client,
      own: null,
      /** The focus's sessions toward us, by sid. */
      incoming: new Map(),
      /** Whose media (the conference-info user entity) each focus session carries, by sid. */
      users: new Map(),
      /** Jingle as sent: {action, sid, senders} per content. */
      sent: [],
      /** Everything that went wrong: errors sent or received, StanzaJS errors, ended sessions. */
      problems: [],
      terminated: [],
    };
    window.peer = peer;
    /** `promise`, or a rejection naming `what` (and what went wrong) after `deadline`. */
    const within = (promise, what) => Promise.race([promise, new Promise((_, reject) => {
      setTimeout(() => reject(new Error(`${what} within ${deadline} ms: ${JSON.stringify(peer.problems)}`)),
        deadline);
    })]);
    const parse = (xml) => {
      const doc = new DOMParser().parseFromString(xml, 'application/xml');
      return doc.getElementsByTagName('parsererror').length ? null : doc.documentElement;
    };
    client.on('raw:incoming', (xml) => {
      const el = parse(xml);
      if (el?.nodeName !== 'iq') return;
      if (el.getAttribute('type') === 'error') peer.problems.push(`received ${xml}`);
      const jingle = el.getElementsByTagNameNS('urn:xmpp:jingle:1', 'jingle')[0];
      if (jingle?.getAttribute('action') !== 'session-initiate') return;
      const user = jingle.getElementsByTagNameNS('urn:xmpp:coin:1', 'user')[0];
      peer.users.set(jingle.getAttribute('sid'), user?.getAttribute('entity') ?? null);
    });
    client.on('raw:outgoing', (xml) => {
      const el = parse(xml);
      if (el?.nodeName !== 'iq') return;
      if (el.getAttribute('type') === 'error') peer.problems.push(`sent ${xml}`);
      const jingle = el.getElementsByTagNameNS('urn:xmpp:jingle:1', 'jingle')[0];
      if (!jingle) return;
      peer.sent.push({
        action: jingle.getAttribute('action'),
        sid: jingle.getAttribute('sid'),
        senders: [...jingle.getElementsByTagNameNS('urn:xmpp:jingle:1', 'content')]
          .map((c) => c.getAttribute('senders') ?? 'both'),
      });
    });
    client.jingle.on('log:error', (msg, ...args) => {
      peer.problems.push(`StanzaJS: ${msg} ${args.map((a) => a?.message ?? JSON.stringify(a)).join(' ')}`);
    });
    client.on('jingle:terminated', (session, reason) => {
      peer.terminated.push({ sid: session.sid, reason: reason?.condition ?? reason });
    });
    // Play what arrives (Chromium counts audio samples only for played-out audio).
    const playing = new Set();
    client.jingle.on('peerTrackAdded', (session, track, stream) => {
      if (playing.has(stream)) return;
      playing.add(stream);
      const v = document.createElement('video');
      v.autoplay = true;
      v.srcObject = stream;
      document.body.append(v);
    });
    client.on('jingle:incoming', (session) => {
      if (session.peerID !== focus) {
        peer.problems.push(`a session from ${session.peerID}`);
        session.decline();
        return;
      }
      peer.incoming.set(session.sid, session);
      session.accept();
    });
    await within(new Promise((resolve, reject) => {
      client.on('session:started', resolve);
      client.on('auth:failed', () => reject(new Error('StanzaJS: auth failed')));
      client.on('disconnected', () => reject(new Error('StanzaJS: disconnected')));
      client.connect();
    }), 'StanzaJS logged in');
    client.sendPresence();
    await within(client.joinRoom(muc, nick), 'StanzaJS in the MUC room');
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const accepted = new Promise((resolve) => {
      client.on('jingle:accepted', (session) => { if (session === peer.own) resolve(); });
    });
    peer.own = client.jingle.createMediaSession(focus, undefined, stream);
    peer.own.start({ offerToReceiveAudio: false, offerToReceiveVideo: false });
    await within(accepted, 'the focus accepted the StanzaJS session');
  }, {
    deadline: DEADLINE, jid: u.jid, password: u.password, websocket: bed.info.websocket,
    muc: `${room}@conference.${bed.info.domain}`, focus: `${room}@${bed.info.focus}`, nick: name,
  });
  return page;
}

/**
 * Waits until the StanzaJS page decodes video and receives audio, both rising, on one focus
 * session per user in `users` (bare JIDs) and on no other. Resolves to {entity: {frames, samples}}.
 */
function stanzaReceivesFrom(page, users, deadline = 20000) {
  return page.evaluate(async ({ users, deadline }) => {
    const read = async () => {
      const out = {};
      for (const [sid, session] of window.peer.incoming) {
        if (session.state === 'ended') continue;
        const r = { frames: 0, samples: 0 };
        for (const s of (await session.pc.getStats()).values()) {
          if (s.type !== 'inbound-rtp') continue;
          if (s.kind === 'video') r.frames += s.framesDecoded ?? 0;
          if (s.kind === 'audio') r.samples += s.totalSamplesReceived ?? 0;
        }
        out[window.peer.users.get(sid)] = r;
      }
      return out;
    };
    const want = users.map((u) => `xmpp:${u}`).sort();
    const end = Date.now() + deadline;
    let first = null;
    let got = {};
    while (Date.now() < end) {
      got = await read();
      const flowing = JSON.stringify(Object.keys(got).sort()) === JSON.stringify(want)
        && want.every((u) => got[u].frames > 0 && got[u].samples > 0);
      if (flowing && !first) first = got;
      else if (flowing && want.every((u) => got[u].frames > first[u].frames
        && got[u].samples > first[u].samples)) return got;
      // getStats has no "frame decoded" event: poll it.
      await new Promise((r) => { setTimeout(r, 100); });
    }
    throw new Error(`StanzaJS does not receive from exactly ${want}: ${JSON.stringify(got)} `
      + `${JSON.stringify(window.peer.problems)}`);
  }, { users, deadline });
}

/**
 * Waits until a demo page decodes video and receives audio, both rising, from the participant
 * named `name`; resolves to {frames, samples}.
 */
function demoReceivesFrom(page, name, deadline = 20000) {
  return page.evaluate(async ({ name, deadline }) => {
    const read = async () => {
      const call = [...window.demo.jingle.groupCalls.values()][0];
      const p = [...call.participants.values()].find((x) => x.name === name);
      const r = { frames: 0, samples: 0 };
      for (const s of (await p?.session.pc.getStats())?.values() ?? []) {
        if (s.type !== 'inbound-rtp') continue;
        if (s.kind === 'video') r.frames += s.framesDecoded ?? 0;
        if (s.kind === 'audio') r.samples += s.totalSamplesReceived ?? 0;
      }
      return r;
    };
    const end = Date.now() + deadline;
    let first = null;
    let got;
    while (Date.now() < end) {
      got = await read();
      if (!first && got.frames > 0 && got.samples > 0) first = got;
      else if (first && got.frames > first.frames && got.samples > first.samples) return got;
      // getStats has no "frame decoded" event: poll it.
      await new Promise((r) => { setTimeout(r, 100); });
    }
    throw new Error(`no media from ${name}: ${JSON.stringify({ first, got })}`);
  }, { name, deadline });
}

test('a StanzaJS 12 joiner and two demo pages in one room: media both ways', async () => {
  const room = 'mixed';
  const alice = await pages.loggedIn('alice');
  await joinRoom(alice, room);
  const bob = await pages.loggedIn('bob');
  await joinRoom(bob, room);
  // carol joins last: the focus calls her back twice at once, from one JID.
  const carol = await stanzaJoiner('carol', room);

  // What StanzaJS sent: its own session with our media only, receive-only answers.
  const own = await carol.evaluate(() => window.peer.own.sid);
  const sent = await carol.evaluate(() => window.peer.sent);
  const initiate = sent.find((j) => j.action === 'session-initiate' && j.sid === own);
  assert.deepEqual(initiate.senders, ['initiator', 'initiator'], 'audio and video, sent only');

  const got = await stanzaReceivesFrom(carol, [pages.user('alice').jid, pages.user('bob').jid]);
  console.log(`# StanzaJS receives ${JSON.stringify(got)}`);
  for (const page of [alice, bob]) {
    await page.getByLabel('Video of carol').waitFor();
    const r = await demoReceivesFrom(page, 'carol');
    console.log(`# a demo page receives from carol ${JSON.stringify(r)}`);
  }
  // And the demo pages still receive each other.
  await demoReceivesFrom(alice, 'bob');
  await demoReceivesFrom(bob, 'alice');

  // StanzaJS answered each focus session with a receive-only session-accept, and took every
  // stanza of the focus without an error.
  const peer = await carol.evaluate(() => ({
    sent: window.peer.sent, incoming: [...window.peer.incoming.keys()],
    problems: window.peer.problems, terminated: window.peer.terminated,
  }));
  assert.equal(peer.incoming.length, 2);
  for (const sid of peer.incoming) {
    const accept = peer.sent.find((j) => j.action === 'session-accept' && j.sid === sid);
    assert.deepEqual(accept?.senders, ['initiator', 'initiator'], `the session-accept of ${sid}`);
  }
  assert.deepEqual(peer.problems, []);
  assert.deepEqual(peer.terminated, []);

  // StanzaJS hangs up its own session: its tile leaves both demo pages, and the focus ends
  // each session it opened toward StanzaJS with a session-terminate (XEP-0166: ending one
  // session ends no other).
  await carol.evaluate(() => window.peer.own.end('success'));
  for (const page of [alice, bob]) await page.getByLabel('Video of carol').waitFor({ state: 'detached' });
  await carol.waitForFunction(() => [...window.peer.incoming.values()].every((s) => s.state === 'ended'));
  const after = await carol.evaluate(() => ({
    problems: window.peer.problems, terminated: window.peer.terminated, own: window.peer.own.sid,
  }));
  assert.deepEqual(after.problems, []);
  assert.deepEqual(after.terminated.filter((t) => t.sid !== after.own).map((t) => t.reason),
    ['success', 'success'], 'the focus terminated both sessions toward StanzaJS');
  assert.deepEqual(pages.errors, []);
});
