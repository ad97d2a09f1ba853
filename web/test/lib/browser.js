// Shared helpers for launching the Debian browsers in tests and tools.
//
// Chromium is driven by playwright-core, Firefox ESR by puppeteer-core over WebDriver BiDi
// (DESIGN.md §5 "Browser tests" and "Firefox too"). Each launch gets a fresh profile directory
// that is removed when the browser is closed. Run browser tests inside a loopback-only network
// namespace (`unshare --net bash -c 'ip link set lo up && ...'`), otherwise Chromium may pick a
// non-loopback address for ICE.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const firefoxPath = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';

// Flags from DESIGN.md §5; --headless and --user-data-dir are added by launchChromium.
export const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

// Flags for a Chromium that hides host addresses behind mDNS `.local` names: no camera
// permission and no WebRtcHideLocalIpsWithMdns override (DESIGN.md §5).
export const chromiumMdnsFlags = chromiumFlags.filter(
  (f) => f !== '--use-fake-ui-for-media-stream' && !f.startsWith('--disable-features=WebRtcHideLocalIpsWithMdns'),
);

function attachCleanup(browser, dir) {
  const close = browser.close.bind(browser);
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    rmSync(dir, { recursive: true, force: true });
  };
  browser.close = async (...a) => {
    try {
      return await close(...a);
    } finally {
      cleanup();
    }
  };
  process.once('exit', cleanup);
  return browser;
}

/**
 * Launch headless Debian Chromium with the DESIGN.md flags.
 * playwright's `launch()` gives every browser a fresh temporary `--user-data-dir`
 * (`playwright_chromiumdev_profile-*`) and deletes it on `close()`.
 * @param {{args?: string[], flags?: string[]}} [opts] `args` are appended to `flags`
 *   (default `chromiumFlags`; pass `chromiumMdnsFlags` for mDNS host candidates).
 * @returns {Promise<import('playwright-core').Browser>}
 */
export async function launchChromium({ args = [], flags = chromiumFlags } = {}) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [...flags, ...args],
  });
}

/**
 * Launch headless Firefox ESR over WebDriver BiDi with fake media and no permission prompts.
 * @param {{prefs?: Record<string, unknown>, args?: string[]}} [opts]
 * @returns {Promise<import('puppeteer-core').Browser>} closing it removes the profile dir.
 */
export async function launchFirefox({ prefs = {}, args = [] } = {}) {
  const puppeteer = (await import('puppeteer-core')).default;
  const dir = mkdtempSync(join(tmpdir(), 'jf-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath,
    headless: true,
    userDataDir: dir,
    args,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      ...prefs,
    },
  });
  return attachCleanup(browser, dir);
}
