// The demo page in Chromium against a real ejabberd: log in, the live "Online users" list,
// logging out, closing the page, a second device, and a wrong password.
// Run inside a loopback-only network namespace (see lib/browser.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestbed } from './lib/testbed.js';
import { launchChromium } from './lib/browser.js';
import { connectClient } from './lib/xmpp-client.js';

const DEADLINE = 15000;
const SCREENSHOT = process.env.DEMO_SCREENSHOT || '/tmp/demo-page.png';

let bed;
let browser;
const pageErrors = [];

before(async () => {
  bed = await startTestbed({ users: ['alice:alice-pw', 'bob:bob-pw'], web: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close().catch(() => {});
  await bed?.stop();
});

/** A fresh page (own browser context, like a separate browser) on the demo URL. */
async function openDemo(label) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(DEADLINE);
  page.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
  if (process.env.DEMO_DEBUG) {
    page.on('console', (m) => console.log(label, m.type(), m.text()));
    page.on('request', (r) => console.log(label, 'request', r.url()));
    page.on('requestfinished', (r) => console.log(label, 'finished', r.url()));
  }
  page.on('console', (m) => {
    // ejabberd sends a frame after its WebSocket close frame when a user logs out while
    // others are online; Chromium logs that, but the logout itself is complete and clean.
    if (m.type() === 'error' && !/failed: Data frame received after close/.test(m.text())) {
      pageErrors.push(`${label} console: ${m.text()}`);
    }
  });
  await page.goto(bed.info.http);
  return page;
}

async function logIn(page, jid, password) {
  await page.getByLabel('JID').fill(jid);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const onlineUsers = (page) => page.getByRole('list', { name: 'Online users' });
// An empty <ul> has no size, so playwright never calls it visible: wait for the heading.
const usersHeading = (page) => page.getByRole('heading', { name: 'Online users' });
const userItem = (page, jid) => onlineUsers(page).getByRole('listitem').filter({ hasText: jid });

test('alice sees bob come online and go offline, live', async () => {
  const [alice, bob] = bed.info.users;
  const alicePage = await openDemo('alice');
  await logIn(alicePage, alice.jid, alice.password);
  await alicePage.getByRole('button', { name: 'Log out' }).waitFor();
  await alicePage.getByText(`Logged in as ${alice.jid}`).waitFor();
  await alicePage.getByRole('status').filter({ hasText: 'Connected to localhost.' }).waitFor();
  await usersHeading(alicePage).waitFor();
  await alicePage.getByText('Nobody else is online yet.').waitFor();
  assert.equal(await onlineUsers(alicePage).getByRole('listitem').count(), 0);

  // bob logs in from his own page.
  const bobPage = await openDemo('bob');
  await logIn(bobPage, bob.jid, bob.password);
  const bobItem = userItem(alicePage, bob.jid);
  await bobItem.waitFor();
  await bobItem.getByText('available').waitFor();
  assert.equal(await onlineUsers(alicePage).getByRole('listitem').count(), 1);
  // bob sees alice, and neither sees themself.
  await userItem(bobPage, alice.jid).waitFor();
  assert.equal(await userItem(alicePage, alice.jid).count(), 0);
  assert.equal(await userItem(bobPage, bob.jid).count(), 0);
  await alicePage.screenshot({ path: SCREENSHOT });

  // bob logs out with the button: he disappears from alice's list.
  await bobPage.getByRole('button', { name: 'Log out' }).click();
  await bobItem.waitFor({ state: 'detached' });
  await bobPage.getByRole('status').filter({ hasText: 'Logged out.' }).waitFor();
  await bobPage.getByRole('button', { name: 'Log in' }).waitFor();
  await alicePage.getByText('Nobody else is online yet.').waitFor();

  // bob comes back on the same page, then closes it: he disappears again.
  await logIn(bobPage, bob.jid, bob.password);
  await bobItem.waitFor();
  await bobPage.close();
  await bobItem.waitFor({ state: 'detached' });

  await alicePage.context().close();
  assert.deepEqual(pageErrors, []);
});

test('a user on two devices stays listed until the last one leaves', async () => {
  const [alice, bob] = bed.info.users;
  const alicePage = await openDemo('alice');
  await logIn(alicePage, alice.jid, alice.password);
  await usersHeading(alicePage).waitFor();

  const bobPage = await openDemo('bob');
  await logIn(bobPage, bob.jid, bob.password);
  const bobItem = userItem(alicePage, bob.jid);
  await bobItem.waitFor();
  // bob's second device: a Strophe.js client in node.
  const bobPhone = await connectClient({ websocket: bed.info.websocket, jid: bob.jid,
    password: bob.password, presence: true });
  try {
    await alicePage.waitForFunction(
      (jid) => window.demo.contacts?.get(jid)?.resources.length === 2, bob.jid);
    await bobPage.getByRole('button', { name: 'Log out' }).click();
    await alicePage.waitForFunction(
      (jid) => window.demo.contacts?.get(jid)?.resources.length === 1, bob.jid);
    assert.equal(await bobItem.count(), 1, 'bob is still online on his phone');
  } finally {
    await bobPhone.disconnect();
  }
  await bobItem.waitFor({ state: 'detached' });
  await alicePage.context().close();
  await bobPage.context().close();
  assert.deepEqual(pageErrors, []);
});

test('a wrong password shows "Login failed"', async () => {
  const [alice] = bed.info.users;
  const page = await openDemo('wrong-password');
  await logIn(page, alice.jid, 'not-the-password');
  const status = page.getByRole('status').filter({ hasText: /^Login failed: / });
  await status.waitFor();
  assert.match(await status.textContent(), /Login failed: wrong JID or password/);
  // The form is back, ready for another try; no user list.
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Log out' }).count(), 0);
  assert.equal(await usersHeading(page).isVisible(), false);
  // And the right password then works.
  await page.getByLabel('Password', { exact: true }).fill(alice.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  await page.context().close();
  assert.deepEqual(pageErrors, []);
});

test('a lost connection is shown, and logging in again works once the server is back', async () => {
  const [alice] = bed.info.users;
  const page = await openDemo('connection-lost');
  await logIn(page, alice.jid, alice.password);
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  await bed.command('stop-ejabberd');
  try {
    const status = page.getByRole('status').filter({ hasText: /^Connection lost/ });
    await status.waitFor();
    // Usually 'Connection lost: system-shutdown' (ejabberd's stream error), but the socket can
    // also close first.
    assert.match(await status.textContent(), /^Connection lost(: |\.)/);
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    assert.equal(await usersHeading(page).isVisible(), false);
  } finally {
    await bed.command('start-ejabberd');
  }
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  await page.context().close();
  // Strophe and Chromium log the server's stream error or the closed WebSocket to the
  // console; that is the expected event here.
  assert.deepEqual(pageErrors.filter((e) => !/^connection-lost console: WebSocket /i.test(e)), []);
});

test('the page has a Content-Security-Policy: injected scripts do not run, the page still works', async () => {
  const [alice] = bed.info.users;
  pageErrors.splice(0); // the tests before checked theirs
  const page = await openDemo('csp');
  const policy = await page.evaluate(() => document
    .querySelector('meta[http-equiv="Content-Security-Policy"]')?.content ?? null);
  assert.match(policy ?? '', /script-src 'self' 'wasm-unsafe-eval' 'sha256-[^']+'/);
  assert.match(policy, /object-src 'none'/);
  // What an HTML injection would try: an inline script, and a script from elsewhere.
  const violations = await page.evaluate(() => new Promise((resolve) => {
    const seen = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      seen.push(e.effectiveDirective);
      if (seen.length === 2) resolve(seen.sort());
    });
    const inline = document.createElement('script');
    inline.textContent = 'window.injected = true';
    document.body.append(inline);
    const foreign = document.createElement('script');
    foreign.src = 'https://198.51.100.7/x.js';
    document.body.append(foreign);
  }));
  assert.deepEqual(violations, ['script-src-elem', 'script-src-elem']);
  assert.equal(await page.evaluate(() => window.injected), undefined);
  // The page itself (modules, import map, wasm, WebSocket) works under the policy.
  await logIn(page, alice.jid, alice.password);
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  assert.equal(await page.evaluate(async () => {
    await window.demo.jingle.ready; // the sdp-map wasm, compiled under 'wasm-unsafe-eval'
    return typeof window.demo.jingle.sessions.sdp.jingleToSdp;
  }), 'function');
  await page.context().close();
  // Chromium reports each refused script on the console: those two are expected here.
  assert.deepEqual(pageErrors.splice(0).filter((e) => !/^csp console: .*Content Security Policy/
    .test(e)), []);
});
