// A Firefox ESR demo page (puppeteer-core over WebDriver BiDi) in a group call (XEP-0521) with
// two Chromium demo pages, through the focus and the bridge: media both ways, Firefox sending
// its own form of simulcast (rid).
// Run as root inside a loopback-only network namespace (see lib/browser.js); lib/netns.js gives
// Firefox an address to gather ICE candidates on there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestbed } from './lib/testbed.js';
import { launchChromium, launchFirefox } from './lib/browser.js';
import { serveWebFilesFromDiskPuppeteer } from './lib/web-files.js';
import { DemoPages, status } from './lib/demo-page.js';
import { addFirefoxIceAddress } from './lib/netns.js';

const DEADLINE = 20000;

let bed;
let chromium;
let firefox;
let pages;
let removeIceAddress;
const ffErrors = [];

before(async () => {
  removeIceAddress = addFirefoxIceAddress();
  bed = await startTestbed({ users: ['firefox:firefox-pw', 'alice:alice-pw', 'bob:bob-pw'],
    web: true, focus: true });
  // The bridge's candidate is on 127.0.0.1: Firefox drops loopback remote candidates without
  // this pref.
  [chromium, firefox] = await Promise.all([launchChromium(),
    launchFirefox({ prefs: { 'media.peerconnection.ice.loopback': true } })]);
  pages = new DemoPages(chromium, bed);
});

after(async () => {
  await pages?.closeAll();
  await Promise.all([chromium?.close(), firefox?.close()].map((p) => p?.catch(() => {})));
  await bed?.stop();
  removeIceAddress?.();
});

/** The demo page in Firefox, logged in as "firefox", in the call of `room`. */
async function firefoxInRoom(room) {
  const context = await firefox.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(DEADLINE);
  page.on('pageerror', (e) => ffErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Data frame received after close/.test(m.text())) ffErrors.push(m.text());
  });
  await serveWebFilesFromDiskPuppeteer(page, bed.info.http);
  await page.goto(bed.info.http);
  const { jid, password } = bed.info.users.find((u) => u.jid.startsWith('firefox@'));
  await page.locator('#jid').fill(jid);
  await page.locator('#password').fill(password);
  await page.locator('::-p-aria([name="Log in"][role="button"])').click();
  await page.locator('::-p-aria([name="Online users"][role="heading"])').wait();
  await page.locator('#room').fill(room);
  await page.locator('::-p-aria([name="Join call"][role="button"])').click();
  await page.waitForFunction(() => document.getElementById('status').textContent
    .startsWith('In the call of'), { polling: 100 });
  return page;
}

/**
 * In a page (either browser): waits until the group call receives rising video frames and
 * audio from each participant named in `names`; resolves to {name: {frames, samples}}.
 */
async function receivesFromAll({ names, deadline }) {
  const call = [...window.demo.jingle.groupCalls.values()][0];
  const read = async () => {
    const out = {};
    for (const p of call.participants.values()) {
      const r = { frames: 0, samples: 0, bytes: 0 };
      for (const s of (await p.session.pc?.getStats())?.values() ?? []) {
        if (s.type !== 'inbound-rtp') continue;
        if (s.kind === 'video') r.frames += s.framesDecoded ?? 0;
        if (s.kind === 'audio') {
          r.samples += s.totalSamplesReceived ?? 0;
          r.bytes += s.bytesReceived ?? 0;
        }
      }
      out[p.name] = r;
    }
    return out;
  };
  const end = Date.now() + deadline;
  let first = null;
  let last = {};
  while (Date.now() < end) {
    last = await read();
    const all = names.every((n) => last[n]?.frames > 0 && last[n]?.bytes > 0);
    if (all && !first) first = last;
    else if (all && names.every((n) => last[n].frames > first[n].frames)) return last;
    // getStats has no "frame decoded" event: poll it.
    await new Promise((r) => { setTimeout(r, 100); });
  }
  throw new Error(`not receiving from all of ${names}: ${JSON.stringify(last)}`);
}

test('Firefox joins a room with two Chromium pages: media both ways, Firefox in simulcast', async () => {
  const alice = await pages.loggedIn('alice');
  const bob = await pages.loggedIn('bob');
  for (const page of [alice, bob]) {
    await page.getByRole('textbox', { name: 'Room', exact: true }).fill('mixed');
    await page.getByRole('button', { name: 'Join call' }).click();
    await status(page, 'In the call of mixed@').waitFor();
  }
  const ff = await firefoxInRoom('mixed');
  assert.match(await ff.evaluate(() => navigator.userAgent), / Firefox\/\d+/);
  const got = await ff.evaluate(receivesFromAll, { names: ['alice', 'bob'], deadline: DEADLINE });
  console.log(`# Firefox receives ${JSON.stringify(got)}`);
  for (const page of [alice, bob]) {
    await page.getByLabel('Video of firefox').waitFor();
    await page.evaluate(receivesFromAll, { names: ['firefox'], deadline: DEADLINE });
  }
  // Firefox offered its video in simulcast layers (rid), as the group call asks.
  const rids = await ff.evaluate(() => [...window.demo.jingle.groupCalls.values()][0]
    .session.pc.localDescription.sdp.match(/^a=rid:\S+ send/gm)?.length ?? 0);
  assert.equal(rids, 3);
  assert.deepEqual(ffErrors, []);
  assert.deepEqual(pages.errors, []);
});
