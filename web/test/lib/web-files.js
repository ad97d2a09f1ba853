// Serves the demo page's static files (everything but the page itself and /config.json) to a
// browser context straight from web/ on disk, through playwright's (Chromium) or puppeteer's
// (Firefox) request interception.
//
// Why: the testbed's static server once (tiny_http) left one of a page's requests pending for
// good, which made tests that load many pages flaky; it is fixed (testbed/src/web.rs), and
// serving the subresources from disk still keeps the call tests about calls. The page document
// and /config.json come from the testbed (the page must have a loopback origin, or Chromium's
// local network access checks block its WebSocket), and demo-page.test.js exercises the real
// server for every file.
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { webRoot } from './vectors.js';

const MIME = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.html': 'text/html; charset=utf-8',
};

/** The response for `${origin}/<path>` from web/<path> on disk: {status, body?, contentType?}. */
async function fromDisk(path) {
  const file = normalize(join(webRoot, decodeURIComponent(path)));
  if (!file.startsWith(webRoot + sep)) return { status: 403 };
  try {
    const body = await readFile(file);
    return { status: 200, body, contentType: MIME[extname(file)] ?? 'application/octet-stream' };
  } catch {
    return { status: 404 };
  }
}

/** True for what comes from disk: everything of `origin` but the page and /config.json. */
const servedFromDisk = (url, origin) => url.origin === origin && url.pathname !== '/'
  && url.pathname !== '/config.json';

/** Routes `${base}/<file>` requests of `context` (playwright) to web/<file> on disk. */
export async function serveWebFilesFromDisk(context, base) {
  const origin = new URL(base).origin;
  await context.route((url) => servedFromDisk(url, origin), async (route) => route
    .fulfill(await fromDisk(new URL(route.request().url()).pathname)));
}

/** The same for a puppeteer page (Firefox over WebDriver BiDi), through request interception. */
export async function serveWebFilesFromDiskPuppeteer(page, base) {
  const origin = new URL(base).origin;
  await page.setRequestInterception(true);
  page.on('request', async (request) => {
    const url = new URL(request.url());
    if (!servedFromDisk(url, origin)) {
      await request.continue();
      return;
    }
    await request.respond(await fromDisk(url.pathname));
  });
}
