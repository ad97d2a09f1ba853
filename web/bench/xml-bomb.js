#!/usr/bin/env node
// What a peer's hostile Jingle XML costs sdp-map's XML reader: milliseconds until
// `to-sdp` / `jingleToSdp` answers (a result or an error), natively (the release `sdp-map` CLI)
// and as WebAssembly in headless Chromium (web/sdp-map.js), in one run.
//
//   attrs-250k   one <jingle> start tag with distinct attributes, 250 KiB (about 26k of them)
//   attrs-1m     the same up to the 1 MiB input cap
//   xmlns-1m     one element declaring namespace prefixes, up to 1 MiB
//   wide-1m      elements with 30 attributes each (a legitimate-looking shape), up to 1 MiB
//
//   node web/bench/xml-bomb.js [--runs 3]
//
// Builds the CLI (`cargo build --release -p sdp-map --bin sdp-map`) and the wasm
// (web/tools/build-wasm.sh) first. Run it inside a loopback-only network namespace, as the
// browser tests are (`unshare --net bash -c 'ip link set lo up && node web/bench/xml-bomb.js'`).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '../test/lib/browser.js';
import { serveWeb } from '../test/lib/serve-web.js';
import { buildWasm, repoRoot } from '../test/lib/vectors.js';

const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(opts.runs);

const HEAD = "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'";
const CAP = 1 << 20; // sdp-map's MAX_XML_LEN

/** `HEAD`, then `piece(i)` for i = 0.. while the whole fits in `bytes` with `tail`. */
function fill(bytes, piece, tail) {
  const parts = [HEAD];
  let len = HEAD.length + tail.length;
  for (let i = 0; ; i++) {
    const p = piece(i);
    if (len + p.length > bytes) break;
    parts.push(p);
    len += p.length;
  }
  parts.push(tail);
  return { xml: parts.join(''), count: parts.length - 2 };
}

const wideElement = `<x${Array.from({ length: 30 }, (_, i) => ` a${i}='vvvvvv'`).join('')}/>`;
const CASES = [
  ['attrs-250k', 'attributes on one element', fill(250 * 1024, (i) => ` a${i}=''`, '/>')],
  ['attrs-1m', 'attributes on one element', fill(CAP, (i) => ` a${i}=''`, '/>')],
  ['xmlns-1m', 'namespace declarations on one element', fill(CAP, (i) => ` xmlns:p${i}='u'`, '/>')],
  ['wide-1m', 'elements with 30 attributes', fill(CAP, (i) => (i === 0 ? `>${wideElement}` : wideElement),
    '</jingle>')],
].map(([name, what, { xml, count }]) => ({ name, what: `${count} ${what}`, xml }));

function run(cmd, args, input) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, status: r.status, out: (r.status === 0 ? r.stdout : r.stderr).trim().split('\n')[0].slice(0, 100) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const build = spawnSync('cargo', ['build', '-q', '--release', '-p', 'sdp-map', '--bin', 'sdp-map'],
  { cwd: repoRoot, stdio: 'inherit' });
if (build.status !== 0) throw new Error('cargo build failed');
buildWasm();
const cli = join(repoRoot, 'target/release/sdp-map');

const server = await serveWeb();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.evaluate(async () => {
    window.sdpMap = await (await import('/sdp-map.js')).initSdpMap();
  });
  console.log('case        bytes     native ms (CLI, incl. process start)   wasm ms (Chromium)   answer (CLI)');
  for (const c of CASES) {
    const native = [];
    let answer = '';
    for (let i = 0; i < runs; i++) {
      const r = run(cli, ['to-sdp'], c.xml);
      native.push(r.ms);
      answer = r.out;
    }
    const wasm = [];
    for (let i = 0; i < runs; i++) {
      wasm.push(await page.evaluate((xml) => {
        const t0 = performance.now();
        try {
          window.sdpMap.jingleToSdp(xml, { type: 'offer' });
        } catch { /* the error is the expected answer */ }
        return performance.now() - t0;
      }, c.xml));
    }
    console.log(`${c.name.padEnd(11)} ${String(c.xml.length).padStart(8)}  ${median(native).toFixed(1).padStart(12)}`
      + `${median(wasm).toFixed(1).padStart(35)}   ${answer}  [${c.what}]`);
  }
} finally {
  await browser.close();
  server.close();
}
