// Demo pages in tests: each page in its own browser context (like a separate browser), logged
// in as a testbed user, with the locators and steps the call tests share.
//
//   const pages = new DemoPages(browser, bed);
//   const alice = await pages.loggedIn('alice');
//   const bob = await pages.loggedIn('bob', '/?relay=1', { testKnobs: true });
//   const focus = await pages.plugin('carol');         // the plugin alone, no presence
//   await connectedCall(alice, bob, 'bob', 'alice');
//   await status(alice, 'In a call with bob.').waitFor();
//   assert.deepEqual(pages.errors, []);
//   await pages.closeAll();                              // in afterEach
//
// A test file opens them once:
//
//   before(async () => { ({ bed, browser, pages } = await openDemoPages({ users })); });
//   after(() => stopDemoPages({ bed, browser }));
import { launchChromium } from './browser.js';
import { startTestbed } from './testbed.js';
import { serveWebFilesFromDisk } from './web-files.js';

/**
 * What a file of demo-page tests needs: a testbed serving the web client (`options` as for
 * startTestbed) and Chromium. Resolves to { bed, browser, pages }; if Chromium does not start,
 * the testbed is stopped before the error is thrown.
 */
export async function openDemoPages(options) {
  const bed = await startTestbed({ web: true, ...options });
  let browser;
  try {
    browser = await launchChromium();
  } catch (e) {
    await bed.stop();
    throw e;
  }
  return { bed, browser, pages: new DemoPages(browser, bed) };
}

/** Stops what openDemoPages started; either part may be missing (a `before` that failed). */
export async function stopDemoPages({ bed, browser }) {
  await browser?.close().catch(() => {});
  await bed?.stop();
}

/** Default deadline of every locator wait, in ms: generous for 2 cores shared with others. */
export const DEADLINE = 15000;

/** Opens demo pages and collects their errors. */
export class DemoPages {
  /**
   * @param {import('playwright-core').Browser} browser
   * @param {{info: object}} bed a started testbed (lib/testbed.js) with `web: true`
   */
  constructor(browser, bed) {
    this.browser = browser;
    this.bed = bed;
    /** Page errors and console errors, `name: message`; tests assert it stays empty. */
    this.errors = [];
    this._contexts = [];
  }

  /** The testbed user `{jid, password}` whose JID starts with `name@`. */
  user(name) {
    return this.bed.info.users.find((u) => u.jid.startsWith(`${name}@`));
  }

  /** A fresh page of its own context; its XMPP input can be held (holdInput). */
  async _page(name) {
    const context = await this.browser.newContext();
    this._contexts.push(context);
    await serveWebFilesFromDisk(context, this.bed.info.http);
    const page = await context.newPage();
    page.setDefaultTimeout(DEADLINE);
    this._watch(page, name);
    await relayWebSocket(page);
    return page;
  }

  /**
   * A fresh page on the demo, logged in as `name`. `query`: URL knobs such as '/?relay=1',
   * which the page takes only with `testKnobs` (else a link could set someone's TURN server).
   * `prepare(page)` runs before the page loads (e.g. `page.addInitScript`); it may also be
   * given alone as the third argument.
   */
  async loggedIn(name, query = '', options = {}) {
    const { testKnobs = false, prepare = null } = typeof options === 'function'
      ? { prepare: options } : options;
    const page = await this._page(name);
    if (testKnobs) await page.addInitScript(() => { window.demoTestKnobs = true; });
    await prepare?.(page);
    await page.goto(new URL(query || '/', this.bed.info.http).href);
    const u = this.user(name);
    await page.getByLabel('JID').fill(u.jid);
    await page.getByLabel('Password', { exact: true }).fill(u.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Online users' }).waitFor();
    return page;
  }

  /**
   * A page that runs the plugin alone (lib/jingle.js, no demo UI) logged in as `name`, as
   * `window.jingle` (with `window.conn`, and the modules as `window.lib`). Without
   * `presence` it sends none: to others it is a JID with no presence, like a conference focus.
   */
  async plugin(name, { presence = false, options = {} } = {}) {
    const page = await this._page(name);
    // The idle demo page gives the origin (loopback, for the WebSocket) and the import map.
    await page.goto(this.bed.info.http);
    const u = this.user(name);
    await page.evaluate(async ({ jid, password, websocket, presence: pres, options: opts }) => {
      const { Strophe, $pres } = await import('strophe.js');
      window.lib = await import('/lib/jingle.js');
      const conn = new Strophe.Connection(websocket);
      await new Promise((resolve, reject) => conn.connect(jid, password, (status) => {
        if (status === Strophe.Status.CONNECTED) resolve();
        if ([Strophe.Status.AUTHFAIL, Strophe.Status.CONNFAIL].includes(status)) {
          reject(new Error(`login failed: ${status}`));
        }
      }));
      window.conn = conn;
      window.jingle = new window.lib.Jingle(conn, opts);
      await window.jingle.ready;
      if (pres) conn.send($pres());
    }, { jid: u.jid, password: u.password, websocket: this.bed.info.websocket, presence,
      options });
    return page;
  }

  _watch(page, name) {
    page.on('pageerror', (e) => this.errors.push(`${name}: ${e.message}`));
    page.on('console', (m) => {
      if (process.env.DEMO_DEBUG) console.log(name, m.type(), m.text());
      // ejabberd may send a frame after its WebSocket close frame; the logout is still clean.
      if (m.type() === 'error' && !/Data frame received after close/.test(m.text())) {
        this.errors.push(`${name} console: ${m.text()}`);
      }
    });
  }

  /** Closes every page opened so far (call it after each test, whatever its outcome). */
  async closeAll() {
    await Promise.all(this._contexts.splice(0).map((c) => c.close().catch(() => {})));
  }
}

export const callButton = (page, name) => page.getByRole('button', { name: `Call ${name}` });
/** The status line, once it says `text`. */
export const status = (page, text) => page.getByRole('status').filter({ hasText: text });
/** A user's item in the "Online users" list. */
export const userItem = (page, jid) => page.getByRole('list', { name: 'Online users' })
  .getByRole('listitem').filter({ hasText: jid });
/** The state text ("available", "in a call", ...) of a user's item, once it says `text`. */
export const userState = (page, jid, text) => userItem(page, jid).locator('.state')
  .getByText(text, { exact: true });

/**
 * The caller places a call, the callee accepts it, both show the call with video elements and
 * ICE/DTLS has connected on both sides ("Hang up" shows earlier, from 'proceeding' on).
 */
export async function connectedCall(caller, callee, calleeName, callerName) {
  await acceptedCall(caller, callee, calleeName, callerName);
  for (const page of [caller, callee]) {
    await page.getByRole('button', { name: 'Hang up' }).waitFor();
    await page.getByLabel('Remote video').waitFor();
    await page.getByLabel('Local video').waitFor();
    await page.waitForFunction(() => window.demo.call?.state === 'active');
  }
}

/** The caller places a call and the callee accepts it (whether it then connects or not). */
export async function acceptedCall(caller, callee, calleeName, callerName) {
  await callButton(caller, calleeName).click();
  await caller.locator('#outgoing-text').getByText(`Calling ${calleeName}`).waitFor();
  const dialog = callee.getByRole('dialog', { name: 'Incoming call' });
  await dialog.getByText(`${callerName} is calling you`).waitFor();
  await dialog.getByRole('button', { name: 'Accept' }).click();
}

/**
 * Relays the page's WebSocket (its XMPP stream) through playwright, so that a test can hold
 * what the page receives (holdInput). Set up before the page connects.
 */
async function relayWebSocket(page) {
  const held = [];
  let holding = false;
  page.holdInput = () => { holding = true; };
  page.releaseInput = () => {
    holding = false;
    for (const deliver of held.splice(0)) deliver();
  };
  await page.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((m) => {
      if (holding) held.push(() => ws.send(m));
      else ws.send(m);
    });
    ws.onMessage((m) => server.send(m));
    ws.onClose((code, reason) => server.close({ code, reason }));
    server.onClose((code, reason) => ws.close({ code, reason }));
  });
}

/**
 * Holds the stanzas a page receives (on the wire, before the page sees them) until
 * `releaseInput(page)`: two pages then both send their request before seeing the other's,
 * which makes a collision (tie-break) certain.
 */
export const holdInput = async (page) => page.holdInput();

/** Delivers what holdInput held, in order, and stops holding. */
export const releaseInput = async (page) => page.releaseInput();

/**
 * Records the Jingle error conditions (urn:xmpp:jingle:errors:1, e.g. 'tie-break') the page
 * sends from now on, in `window.jingleErrorsOut`.
 */
export const recordJingleErrors = (page) => page.evaluate(() => {
  window.jingleErrorsOut = [];
  const { conn } = window.demo;
  const output = conn.xmlOutput;
  conn.xmlOutput = (el) => {
    for (const e of el.querySelectorAll('iq[type="error"] > error > *')) {
      const ns = e.namespaceURI ?? e.getAttribute('xmlns');
      if (ns === 'urn:xmpp:jingle:errors:1') window.jingleErrorsOut.push(e.nodeName);
    }
    output?.call(conn, el);
  };
});
