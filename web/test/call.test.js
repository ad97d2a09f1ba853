// 1:1 calls on the demo page (lib/jingle.js: XEP-0353 + XEP-0166 with sdp-map) between pages
// of one Chromium against a real ejabberd: media both ways, hang up, reject, busy, no answer.
// Run inside a loopback-only network namespace (see lib/browser.js).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startTestbed } from './lib/testbed.js';
import { launchChromium } from './lib/browser.js';

const DEADLINE = 15000;

let bed;
let browser;
const pageErrors = [];
/** Browser contexts opened by the running test, closed after it whatever its outcome. */
const contexts = [];

before(async () => {
  bed = await startTestbed({ users: ['alice:alice-pw', 'bob:bob-pw', 'carol:carol-pw'], web: true });
  browser = await launchChromium();
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => {})));
});

after(async () => {
  await browser?.close().catch(() => {});
  await bed?.stop();
});

const user = (name) => bed.info.users.find((u) => u.jid.startsWith(`${name}@`));

/** A fresh page (own browser context) on the demo, logged in as `name`. */
async function loggedIn(name, query = '') {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(DEADLINE);
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on('console', (m) => {
    if (process.env.DEMO_DEBUG) console.log(name, m.type(), m.text());
    if (m.type() === 'error' && !/Data frame received after close/.test(m.text())) {
      pageErrors.push(`${name} console: ${m.text()}`);
    }
  });
  await page.goto(`${bed.info.http}${query}`);
  const u = user(name);
  await page.getByLabel('JID').fill(u.jid);
  await page.getByLabel('Password').fill(u.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Online users' }).waitFor();
  return page;
}

const callButton = (page, name) => page.getByRole('button', { name: `Call ${name}` });
const status = (page, text) => page.getByRole('status').filter({ hasText: text });

/** Waits until `page`'s call shows video frames decoded and audio samples received, rising. */
function mediaFlows(page) {
  return page.evaluate(async (deadline) => {
    const read = async () => {
      const out = { frames: 0, samples: 0 };
      const pc = window.demo.call?.pc;
      if (!pc) return out;
      for (const s of (await pc.getStats()).values()) {
        if (s.type !== 'inbound-rtp') continue;
        if (s.kind === 'video') out.frames += s.framesDecoded ?? 0;
        if (s.kind === 'audio') out.samples += s.totalSamplesReceived ?? 0;
      }
      return out;
    };
    const end = Date.now() + deadline;
    let first = null;
    let last = null;
    while (Date.now() < end) {
      last = await read();
      if (!first && last.frames > 0 && last.samples > 0) first = last;
      else if (first && last.frames > first.frames && last.samples > first.samples) {
        return { first, last };
      }
      // Poll the stats until the deadline (the browser has no "frame decoded" event here).
      await new Promise((r) => { setTimeout(r, 50); });
    }
    throw new Error(`media not flowing within ${deadline} ms: ${JSON.stringify({ first, last })}`);
  }, DEADLINE);
}

async function connectedCall(caller, callee, calleeName, callerName) {
  await callButton(caller, calleeName).click();
  await caller.locator('#outgoing-text').getByText(`Calling ${calleeName}`).waitFor();
  const dialog = callee.getByRole('dialog', { name: 'Incoming call' });
  await dialog.getByText(`${callerName} is calling you`).waitFor();
  await dialog.getByRole('button', { name: 'Accept' }).click();
  for (const page of [caller, callee]) {
    await page.getByRole('button', { name: 'Hang up' }).waitFor();
    await page.getByLabel('Remote video').waitFor();
    await page.getByLabel('Local video').waitFor();
  }
}

test('alice calls bob, bob accepts: media both ways; bob hangs up and both sides end', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await connectedCall(alice, bob, 'bob', 'alice');
  const [a, b] = await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
  assert.ok(a.last.frames > a.first.frames && a.last.samples > a.first.samples);
  assert.ok(b.last.frames > b.first.frames && b.last.samples > b.first.samples);
  await status(alice, 'In a call with bob.').waitFor();
  // The remote <video> really plays (has a size from decoded frames).
  await bob.waitForFunction(() => document.getElementById('remote-video').videoWidth > 0);
  // alice's user list shows bob "in a call".
  await alice.getByRole('listitem').filter({ hasText: 'bob@' }).getByText('in a call').waitFor();

  await bob.getByRole('button', { name: 'Hang up' }).click();
  await status(bob, 'Call ended.').waitFor();
  await status(alice, 'bob hung up.').waitFor();
  for (const page of [alice, bob]) {
    await page.getByRole('button', { name: 'Hang up' }).waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => window.demo.call), null);
    assert.equal(await page.evaluate(() => window.demo.jingle.calls.size), 0);
  }
  // Both can call again.
  await callButton(alice, 'bob').waitFor();
  assert.equal(await callButton(alice, 'bob').isEnabled(), true);
  await alice.context().close();
  await bob.context().close();
  assert.deepEqual(pageErrors, []);
});

test('bob rejects: alice sees "rejected"', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await callButton(alice, 'bob').click();
  const dialog = bob.getByRole('dialog', { name: 'Incoming call' });
  await dialog.getByRole('button', { name: 'Reject' }).click();
  await status(alice, 'bob rejected the call.').waitFor();
  await status(bob, 'Call rejected.').waitFor();
  await alice.getByRole('button', { name: 'Cancel' }).waitFor({ state: 'hidden' });
  await dialog.waitFor({ state: 'hidden' });
  await alice.context().close();
  await bob.context().close();
  assert.deepEqual(pageErrors, []);
});

test('bob is in a call with carol: alice gets busy', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  const carol = await loggedIn('carol');
  await connectedCall(bob, carol, 'carol', 'bob');
  await callButton(alice, 'bob').click();
  await status(alice, 'bob is busy.').waitFor();
  // bob was not disturbed: no incoming dialog, and his call with carol goes on.
  assert.equal(await bob.getByRole('dialog', { name: 'Incoming call' }).isVisible(), false);
  assert.equal(await bob.evaluate(() => window.demo.call?.state), 'active');
  await mediaFlows(bob);
  await carol.getByRole('button', { name: 'Hang up' }).click();
  await status(bob, 'carol hung up.').waitFor();
  for (const p of [alice, bob, carol]) await p.context().close();
  assert.deepEqual(pageErrors, []);
});

test('nobody answers: the call is retracted after the (configured) timeout', async () => {
  const alice = await loggedIn('alice', '/?ringTimeout=1500');
  const bob = await loggedIn('bob');
  await callButton(alice, 'bob').click();
  const dialog = bob.getByRole('dialog', { name: 'Incoming call' });
  await dialog.waitFor();
  await alice.getByText('Calling bob… (ringing)').waitFor();
  await status(alice, 'No answer from bob.').waitFor();
  await status(bob, 'Missed call from alice.').waitFor();
  await dialog.waitFor({ state: 'hidden' });
  await alice.context().close();
  await bob.context().close();
  assert.deepEqual(pageErrors, []);
});
