// Serves the demo page's static files (everything but the page itself and /config.json) to a
// browser context straight from web/ on disk, through playwright's request interception.
//
// Why: the testbed's static server (tiny_http) now and then leaves one of Chromium's requests
// pending for good (seen: /lib/jingle.js pending > 10 s, about one page load in 25), which
// makes tests that load many pages flaky. Serving the subresources from disk keeps the call
// tests about calls; the page document and /config.json still come from the testbed (the page
// must have a loopback origin, or Chromium's local network access checks block its
// WebSocket), and demo-page.test.js exercises the real server for every file.
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

/** Routes `${base}/<file>` requests of `context` to web/<file> on disk. */
export async function serveWebFilesFromDisk(context, base) {
  const origin = new URL(base).origin;
  await context.route((url) => url.origin === origin && url.pathname !== '/'
    && url.pathname !== '/config.json', async (route) => {
    const path = decodeURIComponent(new URL(route.request().url()).pathname);
    const file = normalize(join(webRoot, path));
    if (!file.startsWith(webRoot + sep)) return route.fulfill({ status: 403 });
    try {
      const body = await readFile(file);
      return route.fulfill({ status: 200, body,
        contentType: MIME[extname(file)] ?? 'application/octet-stream' });
    } catch {
      return route.fulfill({ status: 404 });
    }
  });
}
