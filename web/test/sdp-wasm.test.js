// sdp-map as WebAssembly in headless Chromium (web/sdp-map.js + web/pkg/, built by
// web/tools/build-wasm.sh, which this test runs first).
//
// For every golden browser vector, in the page: SDP -> Jingle -> SDP with the wasm; in node:
// the result means the same as the original (test/lib/sdp-semantics.js: m-lines, codecs,
// fmtp, rtcp-fb, header extensions, ssrcs and groups, msid, rids/simulcast, candidates, ICE,
// DTLS, SCTP, BUNDLE), and the page's XML/SDP are byte-identical to the same wasm run in node.
// For offers, the translated SDP goes into a fresh RTCPeerConnection's setRemoteDescription and
// createAnswer must succeed, with every m-line of the offer answered.
//
//   node --test web/test/sdp-wasm.test.js

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchChromium } from './lib/browser.js';
import { serveWeb } from './lib/serve-web.js';
import { parseSdp, diff } from './lib/sdp-semantics.js';
import { loadVectors, loadSdpMap, jingleOptions, webRoot } from './lib/vectors.js';
import { rejectedAnswerRoundTrip } from './lib/rejected-answer.js';

const vectors = loadVectors();
let server;
let browser;
let page;
let nodeSdpMap;

before(async () => {
  nodeSdpMap = await loadSdpMap(); // builds web/pkg when needed
  server = await serveWeb();
  browser = await launchChromium();
  page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const loaded = await page.evaluate(async () => {
    const m = await import('/sdp-map.js');
    window.sdpMap = await m.initSdpMap();
    return Object.keys(window.sdpMap).sort();
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(loaded, [
    'candidateToTransportInfo',
    'jingleToSdp',
    'sdpToJingle',
    'transportInfoToCandidates',
  ]);
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('the wasm served to the browser is the size budget (< 300 KB)', async () => {
  const { size } = await import('node:fs').then((fs) => fs.statSync(join(webRoot, 'pkg/sdp_map_bg.wasm')));
  assert.ok(size < 300_000, `sdp_map_bg.wasm is ${size} bytes`);
});

test('errors come back as Error with the translator message', async () => {
  const r = await page.evaluate(() => {
    try {
      window.sdpMap.jingleToSdp('<jingle xmlns="urn:xmpp:jingle:1"', { type: 'offer' });
      return null;
    } catch (e) {
      return { isError: e instanceof Error, message: String(e.message) };
    }
  });
  assert.ok(r, 'malformed XML throws');
  assert.equal(r.isError, true);
  assert.ok(r.message.length > 0 && !r.message.includes('\n'), `one-line message: ${r.message}`);
});

for (const v of vectors) {
  test(`wasm in Chromium round-trips ${v.name}`, async () => {
    const opts = jingleOptions(v);
    const r = await page.evaluate(
      async ({ sdp, opts, type }) => {
        const xml = window.sdpMap.sdpToJingle(sdp, opts);
        const back = window.sdpMap.jingleToSdp(xml, { type, from: opts.from });
        const out = { xml, back };
        if (type === 'offer') {
          const pc = new RTCPeerConnection();
          try {
            await pc.setRemoteDescription({ type: 'offer', sdp: back });
            out.answer = (await pc.createAnswer()).sdp;
          } catch (e) {
            out.error = `${e.name}: ${e.message}`;
          } finally {
            pc.close();
          }
        }
        return out;
      },
      { sdp: v.sdp, opts, type: v.type },
    );

    // Same code, same result in the browser and in node.
    assert.equal(r.xml, nodeSdpMap.sdpToJingle(v.sdp, opts), 'XML identical to node wasm');
    assert.equal(r.back, nodeSdpMap.jingleToSdp(r.xml, { type: v.type, from: opts.from }));
    assert.ok(r.xml.startsWith("<jingle xmlns='urn:xmpp:jingle:1'"), r.xml.slice(0, 80));

    const orig = parseSdp(v.sdp);
    const back = parseSdp(r.back);
    assert.deepEqual(diff(orig, back), [], 'SDP -> Jingle -> SDP keeps the semantics');
    // The headline items, spelled out.
    assert.deepEqual(
      back.media.map((m) => [m.kind, m.mid, m.rejected]),
      orig.media.map((m) => [m.kind, m.mid, m.rejected]),
    );
    assert.equal(
      back.media.reduce((n, m) => n + (m.candidates?.length ?? 0), 0),
      orig.media.reduce((n, m) => n + (m.candidates?.length ?? 0), 0),
      'candidate count',
    );

    if (v.type === 'offer') {
      assert.equal(r.error, undefined, `Chromium rejected the translated offer: ${r.error}`);
      const answer = parseSdp(r.answer);
      assert.deepEqual(
        answer.media.map((m) => [m.kind, m.mid]),
        orig.media.map((m) => [m.kind, m.mid]),
        'every offered m-line is answered, in order',
      );
      for (const [i, m] of orig.media.entries()) {
        if (m.kind === 'audio' || m.kind === 'video') {
          if (!m.rejected) assert.ok(!answer.media[i].rejected, `m-line ${m.mid} accepted`);
          if (!m.rejected) assert.ok(answer.media[i].codecs.length > 0, `codecs for ${m.mid}`);
        }
      }
    }
  });
}

// A rejected m-line (port 0) in a translated answer (issue 11.5): see lib/rejected-answer.js.
test('Chromium takes a translated answer that rejects an m-line', async () => {
  const r = await page.evaluate(rejectedAnswerRoundTrip);
  assert.equal(r.error, undefined, r.error);
  const [audio, video] = parseSdp(r.sdp).media;
  assert.deepEqual([audio.rejected, video.rejected], [false, true], r.sdp);
  assert.doesNotMatch(r.sdp.slice(r.sdp.indexOf('m=video')), /a=ice-ufrag/, 'no ICE for it');
  assert.match(r.xml, /senders='none'/);
  assert.equal(r.video, 'stopped');
});

// A trap in the module (a panic aborts it) leaves its instance broken: web/sdp-map.js must
// answer the next call with a fresh one. abortForTests uses most of the module's 1 MiB stack
// before it traps, so an instance that were kept would trap on every later call.
const TRAP_ROUNDS = 3;
const trapOutcome = Array(TRAP_ROUNDS).fill(['Error/RuntimeError', 'same']).flat();

test('after a wasm trap the next call runs on a fresh instance (Chromium)', async () => {
  const seen = await page.evaluate(async (rounds) => {
    const m = await import('/sdp-map.js');
    const sdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n'
      + 'a=mid:0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\na=setup:actpass\r\n';
    const translate = () => window.sdpMap.sdpToJingle(sdp, { sid: 's1' });
    const want = translate();
    const out = [];
    for (let round = 0; round < rounds; round++) {
      try {
        await m.abortForTests(1000);
        out.push('no trap');
      } catch (e) {
        out.push(`${e.constructor.name}/${e.cause?.constructor.name}`);
      }
      await m.initSdpMap(); // resolves once an instance answers again
      out.push(translate() === want ? 'same' : 'different');
    }
    return out;
  }, TRAP_ROUNDS);
  assert.deepEqual(seen, trapOutcome);
});

test('after a wasm trap the next call runs on a fresh instance (node)', async () => {
  const m = await import(join(webRoot, 'sdp-map.js'));
  const v = vectors.find((x) => x.name === 'chromium-156-audio-video-offer');
  const translate = () => nodeSdpMap.sdpToJingle(v.sdp, jingleOptions(v));
  const want = translate();
  const seen = [];
  for (let round = 0; round < TRAP_ROUNDS; round++) {
    await assert.rejects(m.abortForTests(1000), (e) => {
      seen.push(`${e.constructor.name}/${e.cause?.constructor.name}`);
      return true;
    });
    await m.initSdpMap();
    seen.push(translate() === want ? 'same' : 'different');
  }
  assert.deepEqual(seen, trapOutcome);
});
