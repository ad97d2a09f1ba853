// sdp-map as WebAssembly in headless Firefox ESR (puppeteer-core over WebDriver BiDi): the same
// ES module loads and translates there, and Firefox, a second SDP implementation, accepts every
// translated offer (setRemoteDescription + createAnswer, every m-line answered). The semantic
// round trip itself is checked in sdp-wasm.test.js (Chromium); here the page's output must be
// byte-identical to the wasm in node, so it carries the same guarantees.
//
//   node --test web/test/sdp-wasm-firefox.test.js

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchFirefox } from './lib/browser.js';
import { serveWeb } from './lib/serve-web.js';
import { parseSdp } from './lib/sdp-semantics.js';
import { loadVectors, loadSdpMap, jingleOptions } from './lib/vectors.js';
import { rejectedAnswerRoundTrip } from './lib/rejected-answer.js';

const vectors = loadVectors();
let server;
let browser;
let page;
let nodeSdpMap;

before(async () => {
  nodeSdpMap = await loadSdpMap();
  server = await serveWeb();
  browser = await launchFirefox();
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const loaded = await page.evaluate(async () => {
    const m = await import('/sdp-map.js');
    window.sdpMap = await m.initSdpMap();
    return Object.keys(window.sdpMap).length;
  });
  assert.equal(loaded, 4);
});

after(async () => {
  await browser?.close();
  server?.close();
});

for (const v of vectors.filter((x) => x.type === 'offer')) {
  test(`Firefox accepts the wasm translation of ${v.name}`, async () => {
    const opts = jingleOptions(v);
    const r = await page.evaluate(
      async ({ sdp, opts }) => {
        const xml = window.sdpMap.sdpToJingle(sdp, opts);
        const back = window.sdpMap.jingleToSdp(xml, { type: 'offer', from: opts.from });
        const pc = new RTCPeerConnection();
        try {
          await pc.setRemoteDescription({ type: 'offer', sdp: back });
          return { xml, back, answer: (await pc.createAnswer()).sdp };
        } catch (e) {
          return { xml, back, error: `${e.name}: ${e.message}` };
        } finally {
          pc.close();
        }
      },
      { sdp: v.sdp, opts },
    );
    assert.equal(r.xml, nodeSdpMap.sdpToJingle(v.sdp, opts), 'XML identical to node wasm');
    assert.equal(r.back, nodeSdpMap.jingleToSdp(r.xml, { type: 'offer', from: opts.from }));
    assert.equal(r.error, undefined, `Firefox rejected the translated offer: ${r.error}`);
    const orig = parseSdp(v.sdp);
    const answer = parseSdp(r.answer);
    assert.deepEqual(
      answer.media.map((m) => [m.kind, m.mid]),
      orig.media.map((m) => [m.kind, m.mid]),
      'every offered m-line is answered, in order',
    );
    for (const [i, m] of orig.media.entries()) {
      if ((m.kind === 'audio' || m.kind === 'video') && !m.rejected) {
        assert.ok(!answer.media[i].rejected, `m-line ${m.mid} accepted`);
      }
    }
  });
}

// A rejected m-line (port 0) in a translated answer (issue 11.5): see lib/rejected-answer.js.
test('Firefox takes a translated answer that rejects an m-line', async () => {
  const r = await page.evaluate(rejectedAnswerRoundTrip);
  assert.equal(r.error, undefined, r.error);
  const [audio, video] = parseSdp(r.sdp).media;
  assert.deepEqual([audio.rejected, video.rejected], [false, true], r.sdp);
  assert.match(r.xml, /senders='none'/);
  assert.equal(r.video, 'stopped');
});
