// A tiny static file server for browser tests: serves web/ on 127.0.0.1 with the right MIME
// types (.wasm as application/wasm, .js as text/javascript), a blank page at /, no directory
// listing, nothing outside web/ and nothing from node_modules.

import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { webRoot } from './vectors.js';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.ts': 'text/plain; charset=utf-8',
};

/** Serves web/ (read-only, no directory listing, no path escape) on 127.0.0.1. */
export function serveWeb() {
  const server = http.createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path === '/') {
      res.writeHead(200, { 'content-type': MIME['.html'] });
      res.end('<!doctype html><meta charset="utf-8"><title>sdp-map wasm test</title>');
      return;
    }
    const file = normalize(join(webRoot, path));
    if (!file.startsWith(webRoot + sep) || file.includes(`${sep}node_modules${sep}`)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

