// Interop of our plugin (the demo page, lib/jingle.js) with an independent Jingle
// implementation in the same Chromium: StanzaJS 12 (npm `stanza`, its Jingle SessionManager and
// MediaSession), bundled for the browser with esbuild at test time. Calls both ways, media
// checked with getStats on both sides.
//
// StanzaJS 12 only knows an obsolete JMI namespace (urn:xmpp:jingle:jingle-message:0), so the
// StanzaJS peer answers our `propose` (urn:xmpp:jingle-message:0) with a `proceed` it writes
// itself; when StanzaJS calls, it sends a plain session-initiate, which our plugin rings for.
// Run inside a loopback-only network namespace (see lib/browser.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { startTestbed } from './lib/testbed.js';
import { launchChromium } from './lib/browser.js';
import { serveWebFilesFromDisk } from './lib/web-files.js';
import { mediaFlows, demoCallPc, videoStops } from './lib/media.js';

const DEADLINE = 15000;
let bed;
let browser;
let bundle;
const pageErrors = [];

before(async () => {
  const out = await build({
    entryPoints: [fileURLToPath(new URL('../node_modules/stanza/index.module.js', import.meta.url))],
    bundle: true, format: 'iife', globalName: 'XMPP', platform: 'browser', write: false,
    logLevel: 'error',
  });
  bundle = out.outputFiles[0].text;
  bed = await startTestbed({ users: ['alice:alice-pw', 'carol:carol-pw'], web: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close().catch(() => {});
  await bed?.stop();
});

const user = (name) => bed.info.users.find((u) => u.jid.startsWith(`${name}@`));

function watch(page, name) {
  page.setDefaultTimeout(DEADLINE);
  if (process.env.PENDING_DEBUG) {
    const pending = new Map();
    page.on('request', (r) => pending.set(r, Date.now()));
    page.on('requestfinished', (r) => pending.delete(r));
    page.on('requestfailed', (r) => pending.delete(r));
    page.pending = () => [...pending].map(([r, t]) => `${r.url()} ${Date.now() - t}ms`);
    setTimeout(() => { if (pending.size) console.log(name, 'PENDING', page.pending()); }, 10000).unref();
  }
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on('console', (m) => {
    if (process.env.DEMO_DEBUG) console.log(name, m.type(), m.text());
    if (m.type() === 'error' && !/Data frame received after close/.test(m.text())) {
      pageErrors.push(`${name} console: ${m.text()}`);
    }
  });
}

async function newPage(contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  await serveWebFilesFromDisk(context, bed.info.http);
  return context.newPage();
}

async function demoPage(name) {
  const page = await newPage();
  watch(page, name);
  await page.goto(bed.info.http);
  await page.getByLabel('JID').fill(user(name).jid);
  await page.getByLabel('Password', { exact: true }).fill(user(name).password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Online users' }).waitFor();
  return page;
}

/** A page running a StanzaJS client logged in as `name`, answering calls automatically. */
async function stanzaPage(name) {
  // A page of our own origin (the idle demo page, not logged in: Chromium's local network
  // access checks block WebSockets to loopback from pages faked with route()), plus StanzaJS.
  // The StanzaJS bundle goes in as an inline script, which the demo page's
  // Content-Security-Policy forbids: this harness page (not our client) bypasses it.
  const page = await newPage({ bypassCSP: true });
  watch(page, `${name} (StanzaJS)`);
  await page.goto(bed.info.http);
  await page.addScriptTag({ content: bundle });
  await page.waitForFunction(() => window.XMPP?.createClient);
  await page.evaluate(({ jid, password, websocket }) => new Promise((resolve, reject) => {
    const client = window.XMPP.createClient({
      jid, password, resource: 'stanza',
      transports: { websocket, bosh: false },
      jingle: { iceServers: [], bundlePolicy: 'max-bundle' },
    });
    window.peer = { client, session: null, remote: [] };
    // Play what arrives (Chromium counts audio samples only for played-out audio).
    client.jingle.on('peerTrackAdded', (session, track, stream) => {
      window.peer.remote.push(track.kind);
      if (track.kind !== 'video') return;
      const v = document.createElement('video');
      v.autoplay = true;
      v.srcObject = stream;
      document.body.append(v);
      v.play().catch(() => {});
    });
    // Our JMI namespace is unknown to StanzaJS: answer `propose` with `proceed` by hand.
    client.on('raw:incoming', (xml) => {
      const m = /<propose[^>]*xmlns=['"]urn:xmpp:jingle-message:0['"][^>]*>/.exec(xml)
        ?? /<propose[^>]*id=['"][^'"]+['"][^>]*xmlns=['"]urn:xmpp:jingle-message:0['"]/.exec(xml);
      if (!m || !window.peer.autoProceed) return;
      const id = /id=['"]([^'"]+)['"]/.exec(m[0])[1];
      const from = /<message[^>]*from=['"]([^'"]+)['"]/.exec(xml)[1];
      client.transport.socket.send(`<message xmlns='jabber:client' to='${from}' type='chat'>`
        + `<proceed xmlns='urn:xmpp:jingle-message:0' id='${id}'/></message>`);
    });
    client.on('jingle:incoming', async (session) => {
      window.peer.session = session;
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      for (const t of stream.getTracks()) session.addTrack(t, stream);
      session.accept();
    });
    client.on('session:started', () => {
      client.sendPresence();
      resolve();
    });
    client.on('auth:failed', () => reject(new Error('StanzaJS: auth failed')));
    client.on('disconnected', () => reject(new Error('StanzaJS: disconnected')));
    client.connect();
  }), { jid: user(name).jid, password: user(name).password, websocket: bed.info.websocket });
  return page;
}

const ours = demoCallPc;
const theirs = () => window.peer.session?.pc;

test('our plugin calls StanzaJS 12: media both ways, hang up from our side', async () => {
  const carol = await stanzaPage('carol');
  await carol.evaluate(() => { window.peer.autoProceed = true; });
  const alice = await demoPage('alice');
  await alice.getByRole('button', { name: 'Call carol' }).click();
  await alice.getByRole('button', { name: 'Hang up' }).waitFor();
  await Promise.all([mediaFlows(alice, ours), mediaFlows(carol, theirs)]);
  // StanzaJS refuses content-modify (bad-request): camera off still stops our video (the
  // sender has no track), and camera on brings it back without renegotiating.
  await alice.getByRole('button', { name: 'Camera off' }).click();
  await alice.getByRole('button', { name: 'Camera on' }).waitFor();
  const stopped = await videoStops(carol, theirs);
  await alice.getByRole('button', { name: 'Camera on' }).click();
  await carol.waitForFunction(async (from) => {
    let frames = 0;
    for (const s of (await window.peer.session.pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
    }
    return frames > from + 5;
  }, stopped, { polling: 100 });
  await mediaFlows(alice, ours);
  await alice.getByRole('button', { name: 'Hang up' }).click();
  await carol.waitForFunction(() => window.peer.session.state === 'ended');
  await alice.getByRole('status').filter({ hasText: 'Call ended.' }).waitFor();
  await alice.context().close();
  await carol.context().close();
  assert.deepEqual(pageErrors, []);
});

test('StanzaJS 12 calls our plugin (session-initiate without JMI): media both ways, it hangs up', async () => {
  const carol = await stanzaPage('carol');
  const alice = await demoPage('alice');
  const aliceJid = await alice.evaluate(() => window.demo.conn.jid);
  await carol.evaluate(async (to) => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const session = window.peer.client.jingle.createMediaSession(to, undefined, stream);
    window.peer.session = session; // the stream's tracks are added by the constructor
    session.start();
  }, aliceJid);
  const dialog = alice.getByRole('dialog', { name: 'Incoming call' });
  await dialog.getByText('carol is calling you').waitFor();
  await dialog.getByRole('button', { name: 'Accept' }).click();
  await Promise.all([mediaFlows(alice, ours), mediaFlows(carol, theirs)]);
  await carol.evaluate(() => window.peer.session.end('success'));
  await alice.getByRole('status').filter({ hasText: 'carol hung up.' }).waitFor();
  await alice.context().close();
  await carol.context().close();
  assert.deepEqual(pageErrors, []);
});
