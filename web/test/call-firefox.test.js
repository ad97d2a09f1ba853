// 1:1 calls between the demo page in Firefox ESR (puppeteer-core over WebDriver BiDi) and in
// Chromium (playwright-core) through a real ejabberd, both directions: media both ways checked
// with getStats, hang up seen by both; Firefox turns its camera off and on (Jingle
// content-modify); files both ways over the call's data channel.
// Run as root inside a loopback-only network namespace (see lib/browser.js); lib/netns.js gives
// Firefox an address to gather ICE candidates on there.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startTestbed } from './lib/testbed.js';
import { launchChromium, launchFirefox } from './lib/browser.js';
import { serveWebFilesFromDisk, serveWebFilesFromDiskPuppeteer } from './lib/web-files.js';
import { mediaFlows, videoStops } from './lib/media.js';
import { addFirefoxIceAddress } from './lib/netns.js';

const DEADLINE = 15000;

let bed;
let chromium;
let firefox;
let removeIceAddress;
const pageErrors = [];
/** Closes what the running test opened (browser contexts), whatever its outcome. */
const closers = [];

before(async () => {
  removeIceAddress = addFirefoxIceAddress();
  bed = await startTestbed({ users: ['firefox:firefox-pw', 'chromium:chromium-pw'], web: true });
  // Chromium's candidates are loopback ones (127.0.0.1, and ejabberd's TURN relay on
  // 127.0.0.1): Firefox drops loopback remote candidates without this pref.
  [chromium, firefox] = await Promise.all([launchChromium(),
    launchFirefox({ prefs: { 'media.peerconnection.ice.loopback': true } })]);
});

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close().catch(() => {})));
  assert.deepEqual(pageErrors.splice(0), []);
});

after(async () => {
  await Promise.all([chromium?.close(), firefox?.close()].map((p) => p?.catch(() => {})));
  await bed?.stop();
  removeIceAddress?.();
});

const user = (name) => bed.info.users.find((u) => u.jid.startsWith(`${name}@`));

/** Records page errors and console errors (ejabberd's frame after close is harmless). */
function watch(page, name) {
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on('console', (m) => {
    if (process.env.DEMO_DEBUG) console.log(name, m.type(), m.text());
    if (m.type() === 'error' && !/Data frame received after close/.test(m.text())) {
      pageErrors.push(`${name} console: ${m.text()}`);
    }
  });
}

/**
 * One side of a call, the same for both drivers: `click(label)` presses a button by its
 * accessible name, `until(fn, arg)` waits until `fn(arg)` in the page is truthy.
 */
const side = (name, page, click, until) => ({ name, page, click, until });

/** The demo page in a fresh Firefox context, logged in as "firefox". */
async function firefoxSide() {
  const context = await firefox.createBrowserContext();
  closers.push(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(DEADLINE);
  watch(page, 'firefox');
  // As for Chromium: the page from the testbed, its files from disk (see lib/web-files.js); a
  // load that hangs names the requests still pending.
  await serveWebFilesFromDiskPuppeteer(page, bed.info.http);
  const pending = new Set();
  page.on('request', (r) => pending.add(r.url()));
  for (const end of ['requestfinished', 'requestfailed']) {
    page.on(end, (r) => pending.delete(r.url()));
  }
  await page.goto(bed.info.http).catch((e) => {
    throw new Error(`${e.message}; pending: ${[...pending].join(' ')}`);
  });
  const button = (label) => page.locator(`::-p-aria([name="${label}"][role="button"])`);
  // By id: Firefox gives the password field no role puppeteer's ARIA queries know.
  await page.locator('#jid').fill(user('firefox').jid);
  await page.locator('#password').fill(user('firefox').password);
  await button('Log in').click();
  await page.locator('::-p-aria([name="Online users"][role="heading"])').wait();
  return side('firefox', page, (label) => button(label).click(),
    (fn, arg) => page.waitForFunction(fn, { polling: 100 }, arg));
}

/** The demo page in a fresh Chromium context, logged in as "chromium". */
async function chromiumSide() {
  const context = await chromium.newContext();
  closers.push(() => context.close());
  await serveWebFilesFromDisk(context, bed.info.http);
  const page = await context.newPage();
  page.setDefaultTimeout(DEADLINE);
  watch(page, 'chromium');
  await page.goto(bed.info.http);
  await page.getByLabel('JID').fill(user('chromium').jid);
  await page.getByLabel('Password', { exact: true }).fill(user('chromium').password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Online users' }).waitFor();
  return side('chromium', page,
    (label) => page.getByRole('button', { name: label, exact: true }).click(),
    (fn, arg) => page.waitForFunction(fn, arg, { polling: 100 }));
}

/** Keeps the end reason of the page's last call in `window.lastEnd` (for failure messages). */
const recordEnds = (s) => s.page.evaluate(() => window.demo.jingle.addEventListener('state',
  ({ detail }) => { if (detail.state === 'ended') window.lastEnd = detail.call.endReason; }));

/** Both sides, each checked to run in the browser it claims to be. */
async function sides() {
  const [ff, cr] = await Promise.all([firefoxSide(), chromiumSide()]);
  assert.match(await ff.page.evaluate(() => navigator.userAgent), / Firefox\/\d+/);
  assert.match(await cr.page.evaluate(() => navigator.userAgent), /Chrome\/\d+/);
  await Promise.all([recordEnds(ff), recordEnds(cr)]);
  return { ff, cr };
}

const textIs = (s, id, text) => s.until(([i, t]) => document.getElementById(i)?.textContent === t,
  [id, text]);
const statusIs = (s, text) => textIs(s, 'status', text);

/** In the page: what its call and ICE state are (for failure messages). */
async function callInfo() {
  const { call } = window.demo;
  const pc = call?.pc;
  const stats = pc ? [...(await pc.getStats()).values()] : [];
  const candidates = (type) => stats.filter((x) => x.type === type)
    .map((x) => `${x.protocol} ${x.address}:${x.port} ${x.candidateType}`);
  return { who: navigator.userAgent.match(/(Firefox|Chrome)\/\d+/)?.[0], state: call?.state,
    ice: pc?.iceConnectionState, connection: pc?.connectionState, status: document
      .getElementById('status').textContent, local: candidates('local-candidate'),
    remote: candidates('remote-candidate'), lastEnd: window.lastEnd };
}

/** `caller` calls `callee`, who accepts; both reach 'active' and play the remote video. */
async function connectedCall(caller, callee) {
  await caller.click(`Call ${callee.name}`);
  // The caller's roster name (else its node) and its bare JID.
  const jid = user(caller.name).jid.split('/')[0];
  const name = await callee.page.evaluate((j) => window.demo.jingle.roster.name(j), jid);
  await textIs(callee, 'incoming-text', `${name ?? caller.name} is calling you (${jid})`);
  await callee.click('Accept');
  for (const s of [caller, callee]) {
    await s.until(() => window.demo.call?.state === 'active').catch(async (e) => {
      throw new Error(`${s.name}: no active call (${e.message}): ${JSON.stringify(
        await Promise.all([caller, callee].map((x) => x.page.evaluate(callInfo))))}`);
    });
    await statusIs(s, `In a call with ${s === caller ? callee.name : caller.name}.`);
  }
  await Promise.all([caller, callee].map((s) => s.until(
    () => document.getElementById('remote-video').videoWidth > 0)));
}

/** Waits until the video frames and audio samples `s` receives rise (getStats). */
async function receives(s, when) {
  const { first, last } = await mediaFlows(s.page).catch((e) => {
    throw new Error(`${s.name} ${when}: ${e.message}`);
  });
  assert.ok(last.frames > first.frames && last.samples > first.samples, JSON.stringify(last));
}

const mediaBothWays = (a, b, when) => Promise.all([receives(a, when), receives(b, when)]);

/** `by` hangs up: it sees "Call ended.", the other "<by> hung up.", neither has a call left. */
async function hangUp(by, other) {
  await by.click('Hang up');
  await statusIs(by, 'Call ended.');
  await statusIs(other, `${by.name} hung up.`);
  for (const s of [by, other]) {
    await s.until(() => document.getElementById('in-call').hidden);
    assert.equal(await s.page.evaluate(() => window.demo.call), null);
    assert.equal(await s.page.evaluate(() => window.demo.jingle.calls.size), 0);
  }
}

test('Firefox calls Chromium: media both ways; Chromium hangs up and both sides end', async () => {
  const { ff, cr } = await sides();
  await connectedCall(ff, cr);
  await mediaBothWays(ff, cr, 'in the call');
  await hangUp(cr, ff);
});

test('Chromium calls Firefox: media both ways; Firefox hangs up and both sides end', async () => {
  const { ff, cr } = await sides();
  await connectedCall(cr, ff);
  await mediaBothWays(ff, cr, 'in the call');
  await hangUp(ff, cr);
});

/** Records the `senders` of each content-modify the page receives, in `window.modifies`. */
const recordModifies = (page) => page.evaluate(() => {
  window.modifies = [];
  const input = window.demo.conn.xmlInput;
  window.demo.conn.xmlInput = (el) => {
    for (const j of el.querySelectorAll('iq[type="set"] > jingle[action="content-modify"]')) {
      window.modifies.push(j.querySelector('content').getAttribute('senders'));
    }
    input?.call(window.demo.conn, el);
  };
});

/** In the page: true once its call has decoded more than `from` + 5 video frames. */
async function videoBeyond(from) {
  let frames = 0;
  for (const s of (await window.demo.call.pc.getStats()).values()) {
    if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
  }
  return frames > from + 5;
}

/**
 * Waits until the page's video transceiver has negotiated `direction` (an answer applied);
 * fails at once with the reason if the call ended instead.
 */
async function videoNegotiated(s, direction) {
  await s.until((d) => !window.demo.call || window.demo.call.pc.getTransceivers()
    .some((t) => t.receiver.track.kind === 'video' && t.currentDirection === d), direction);
  const ended = await s.page.evaluate(() => (window.demo.call ? null : window.lastEnd));
  assert.equal(ended, null, `${s.name}'s call ended: ${JSON.stringify(ended)}`);
}

const liveVideoTracks = (s) => s.page.evaluate(() => (window.demo.call.localStream
  ?.getVideoTracks() ?? []).filter((t) => t.readyState === 'live').length);

// Firefox decides about its own sending in both roles: as initiator its content-modify sets
// senders to 'responder' then 'both', as responder to 'initiator' then 'both'.
for (const firefoxCalls of [true, false]) {
  const role = firefoxCalls ? 'initiator' : 'responder';
  test(`Firefox (${role}) turns its camera off and on: content-modify, video stops and resumes`,
    async () => {
      const { ff, cr } = await sides();
      await (firefoxCalls ? connectedCall(ff, cr) : connectedCall(cr, ff));
      await mediaBothWays(ff, cr, 'before');
      await recordModifies(cr.page);
      const other = firefoxCalls ? 'responder' : 'initiator';

      await ff.click('Camera off');
      await videoNegotiated(ff, 'recvonly');
      await videoNegotiated(cr, 'sendonly');
      await textIs(cr, 'in-call-text', "In a call with firefox (firefox's camera is off)");
      assert.equal(await ff.page.evaluate(() => window.demo.call.localVideo), false);
      assert.equal(await liveVideoTracks(ff), 0, "Firefox's camera is released");
      assert.deepEqual(await cr.page.evaluate(() => window.modifies), [other]);
      const stopped = await videoStops(cr.page);
      await receives(ff, 'with its camera off'); // still gets Chromium's video and audio

      await ff.click('Camera on');
      await videoNegotiated(ff, 'sendrecv');
      await videoNegotiated(cr, 'sendrecv');
      await textIs(cr, 'in-call-text', 'In a call with firefox');
      await cr.until(videoBeyond, stopped);
      assert.equal(await ff.page.evaluate(() => window.demo.call.localVideo), true);
      assert.equal(await liveVideoTracks(ff), 1);
      assert.deepEqual(await cr.page.evaluate(() => window.modifies), [other, 'both']);
      await mediaBothWays(ff, cr, 'camera on again');
      await hangUp(cr, ff);
    });
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

/**
 * Accepts every file offered to the page from now on, and keeps the transfers in
 * `window.transfersSeen` (a finished one leaves `files.transfers`).
 */
const acceptFiles = (s) => s.page.evaluate(() => {
  window.transfersSeen = [];
  window.demo.call.files.addEventListener('transfer', ({ detail: t }) => {
    window.transfersSeen.push(t);
    if (t.direction === 'incoming') t.accept();
  });
});

/** SHA-256 (hex) of the file `name` the page received, computed in the page. */
const receivedSha = (s, name) => s.page.evaluate(async (n) => {
  const t = window.transfersSeen.find((x) => x.direction === 'incoming' && x.name === n);
  const d = await crypto.subtle.digest('SHA-256', await t.blob.arrayBuffer());
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}, name);

/** Waits until the page's transfer row starting with `label` says `state`. */
const transferState = (s, label, state) => s.until(([l, st]) => [...document
  .querySelectorAll('#transfers li')].some((li) => li.querySelector('.file-name').textContent
  .startsWith(l) && li.querySelector('.file-state').textContent === st), [label, state]);

test('files both ways between Firefox and Chromium during a call, SHA-256 verified', async () => {
  const { ff, cr } = await sides();
  await connectedCall(ff, cr);
  for (const s of [ff, cr]) await s.until(() => !document.getElementById('send-file').disabled);
  for (const s of [ff, cr]) await acceptFiles(s);
  // Firefox sends 1 MB made in the page; Chromium sends 1 MB through its file chooser.
  const ffSha = await ff.page.evaluate(async (size) => {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    window.demo.call.files.send(new File([bytes], 'from-firefox.bin'));
    const d = await crypto.subtle.digest('SHA-256', bytes);
    return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, 1024 * 1024);
  const fromChromium = randomBytes(1024 * 1024);
  const chooser = cr.page.waitForEvent('filechooser');
  await cr.click('Send file');
  await (await chooser).setFiles({ name: 'from-chromium.bin', mimeType: 'application/octet-stream',
    buffer: fromChromium });

  await transferState(cr, 'Receiving from-firefox.bin', 'received, SHA-256 verified');
  await transferState(ff, 'Receiving from-chromium.bin', 'received, SHA-256 verified');
  await transferState(ff, 'Sending from-firefox.bin', 'sent');
  await transferState(cr, 'Sending from-chromium.bin', 'sent');
  assert.equal(await receivedSha(cr, 'from-firefox.bin'), ffSha);
  assert.equal(await receivedSha(ff, 'from-chromium.bin'), sha256(fromChromium));
  await hangUp(ff, cr);
});
