#!/usr/bin/env node
// Call set-up time of the demo page (lib/jingle.js) against the floor of two RTCPeerConnections
// in one page connected directly (no signalling), in the same Chromium and the same run.
//
//   ours:  N calls alice -> bob between two pages through a real ejabberd; for each, the time
//          from bob's click on "Accept" to the first decoded remote frame (`loadeddata` of the
//          remote <video>) on bob's side and on alice's side; the call counts as set up when
//          both have a frame (the later of the two).
//   floor: N times, two RTCPeerConnections in one page with the same fake camera/microphone,
//          offer/answer and candidates handed over directly; from createOffer to the first
//          decoded frame on both sides.
// Also counts the stanzas both pages send from "Call bob" to both sides 'active', and measures
// file-transfer throughput, --file-runs times (medians reported, as the machine may be shared):
// a --file-mb MB file alice -> bob through call.files of a fresh call, then a second one
// (lib/file-transfer.js, SHA-256 on both sides included), against a raw data channel between
// two fresh peer connections in one page and one added to a fresh call, all with the same chunk
// size and back-pressure (CHUNK, HIGH_WATER, LOW_WATER imported from lib/file-transfer.js).
// Prints one JSON document: {meta, ours: {medianMs, runs}, floor: {medianMs, runs},
// overheadMs, stanzasPerSetup, files: {oursMBps, oursWarmMBps, rawMBps, rawCallMBps, ratio
// (ours / raw), warmRatio (oursWarm / raw), callRatio (ours / rawCall), runs}}.
//
//   cargo build -p testbed && bash web/tools/build-wasm.sh
//   unshare --net bash -c 'ip link set lo up && node web/bench/call-setup.js [--calls 10]
//     [--file-mb 50] [--file-runs 3]'

import { parseArgs } from 'node:util';
import { startTestbed } from '../test/lib/testbed.js';
import { launchChromium } from '../test/lib/browser.js';
import { CHUNK, HIGH_WATER, LOW_WATER } from '../lib/file-transfer.js';

const { values: opts } = parseArgs({ options: { calls: { type: 'string', default: '10' },
  'file-mb': { type: 'string', default: '50' }, 'file-runs': { type: 'string', default: '3' } } });
const N = Number(opts.calls);
const FILE_MB = Number(opts['file-mb']);
const FILE_RUNS = Number(opts['file-runs']);
const DEADLINE = 15000;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const bed = await startTestbed({ users: ['alice:alice-pw', 'bob:bob-pw'], web: true });
const browser = await launchChromium();
try {
  const login = async (name) => {
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(DEADLINE);
    await page.goto(bed.info.http);
    const u = bed.info.users.find((x) => x.jid.startsWith(`${name}@`));
    await page.getByLabel('JID').fill(u.jid);
    await page.getByLabel('Password', { exact: true }).fill(u.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Online users' }).waitFor();
    // Stanza counter and first-frame clock (wall clock: shared by the pages of one browser).
    await page.evaluate(() => {
      window.bench = { sent: 0, firstFrame: null };
      const out = window.demo.conn.xmlOutput;
      window.demo.conn.xmlOutput = (el) => { window.bench.sent += 1; out?.call(window.demo.conn, el); };
      document.getElementById('remote-video').addEventListener('loadeddata', () => {
        window.bench.firstFrame ??= performance.timeOrigin + performance.now();
      });
      document.getElementById('accept').addEventListener('click', () => {
        window.bench.accepted = performance.timeOrigin + performance.now();
      }, { capture: true });
    });
    return page;
  };
  const alice = await login('alice');
  const bob = await login('bob');
  await alice.getByRole('button', { name: 'Call bob' }).waitFor();

  const ours = [];
  const stanzas = [];
  for (let i = 0; i < N; i += 1) {
    for (const p of [alice, bob]) {
      await p.evaluate(() => { window.bench.sent = 0; window.bench.firstFrame = null; });
    }
    await alice.getByRole('button', { name: 'Call bob' }).click();
    await bob.getByRole('dialog', { name: 'Incoming call' }).getByRole('button', { name: 'Accept' }).click();
    for (const p of [alice, bob]) {
      await p.waitForFunction(() => window.bench.firstFrame && window.demo.call?.state === 'active');
    }
    const [a, b] = await Promise.all([alice, bob].map((p) => p.evaluate(() => ({ ...window.bench }))));
    ours.push({ calleeMs: b.firstFrame - b.accepted, callerMs: a.firstFrame - b.accepted,
      bothMs: Math.max(a.firstFrame, b.firstFrame) - b.accepted });
    stanzas.push(a.sent + b.sent);
    await bob.getByRole('button', { name: 'Hang up' }).click();
    await alice.waitForFunction(() => !window.demo.call);
    await bob.waitForFunction(() => !window.demo.call);
  }

  // File throughput, --file-runs times. Each run: a raw channel added to a fresh call, then in
  // a second fresh call two files through call.files and, while that call is still up (same
  // CPU load: two pages decoding and rendering video on a small machine), a raw channel between
  // two fresh peer connections in a third page. The call's first bulk transfer meets its SCTP
  // association cold (in Chromium, raw or not, about half the throughput of later ones), hence
  // both the first ('ours') and the second ('oursWarm') file, and the raw channel in a call.
  /** MB/s of one --file-mb file alice -> bob through call.files, from send() to bob's 'done'. */
  const throughCall = async () => {
    const received = bob.evaluate(() => new Promise((resolve) => {
      window.demo.call.files.addEventListener('transfer', (e) => {
        e.detail.addEventListener('done', (d) => resolve({ at: performance.timeOrigin + performance.now(),
          verified: d.detail.verified }));
        e.detail.accept(); // as the receiver's "Accept" would (the offer's round trip counts)
      }, { once: true });
    }));
    const sentAt = await alice.evaluate((mb) => {
      const block = new Uint8Array(64 * 1024);
      crypto.getRandomValues(block);
      const file = new File(Array(mb * 16).fill(block), 'bench.bin');
      const now = () => performance.timeOrigin + performance.now();
      const t0 = now();
      const t = window.demo.call.files.send(file);
      window.benchSender = {};
      t.addEventListener('progress', () => { window.benchSender.first ??= now(); }, { once: true });
      t.addEventListener('done', () => { window.benchSender.done = now(); });
      return t0;
    }, FILE_MB);
    const got = await received;
    if (!got.verified) throw new Error('file transfer: SHA-256 mismatch');
    const sender = await alice.evaluate(() => window.benchSender);
    if (process.env.BENCH_DEBUG) {
      console.error({ firstProgressMs: sender.first - sentAt, sendMs: sender.done - sender.first,
        tailMs: got.at - sender.done });
    }
    return FILE_MB / ((got.at - sentAt) / 1000);
  };
  /** MB/s of the same size through a raw data channel, same chunk size and back-pressure. */
  const rawChannel = (page) => page.evaluate(async ({ mb, chunk, high, low }) => {
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    const ch = a.createDataChannel('raw', { ordered: true });
    const incoming = new Promise((resolve) => { b.ondatachannel = (e) => resolve(e.channel); });
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    const rx = await incoming;
    rx.binaryType = 'arraybuffer';
    if (ch.readyState !== 'open') await new Promise((r) => ch.addEventListener('open', r, { once: true }));
    const total = mb * 1024 * 1024;
    let got = 0;
    const done = new Promise((resolve) => {
      rx.onmessage = (e) => { got += e.data.byteLength; if (got >= total) resolve(performance.now()); };
    });
    ch.bufferedAmountLowThreshold = low;
    const buf = new Uint8Array(chunk);
    crypto.getRandomValues(buf.subarray(0, 65536));
    const t0 = performance.now();
    for (let sent = 0; sent < total; sent += chunk) {
      if (ch.bufferedAmount > high) {
        await new Promise((r) => ch.addEventListener('bufferedamountlow', r, { once: true }));
      }
      ch.send(buf);
    }
    const t1 = await done;
    a.close();
    b.close();
    return mb / ((t1 - t0) / 1000);
  }, { mb: FILE_MB, chunk: CHUNK, high: HIGH_WATER, low: LOW_WATER });

  /**
   * MB/s of the same size through a second, raw channel of a fresh call: the conditions of the
   * call's first file (SCTP association cold, two pages, video) without call.files.
   */
  const rawInCall = async () => {
    const opts = { mb: FILE_MB, chunk: CHUNK, high: HIGH_WATER, low: LOW_WATER, id: 512 };
    await bob.evaluate(async ({ mb, id }) => {
      const ch = window.demo.call.pc.createDataChannel('raw', { negotiated: true, id });
      ch.binaryType = 'arraybuffer';
      let got = 0;
      window.benchRaw = new Promise((resolve) => {
        ch.onmessage = (e) => {
          got += e.data.byteLength;
          if (got >= mb * 1024 * 1024) resolve(performance.timeOrigin + performance.now());
        };
      });
      if (ch.readyState !== 'open') await new Promise((r) => ch.addEventListener('open', r, { once: true }));
    }, opts);
    const t0 = await alice.evaluate(async ({ mb, chunk, high, low, id }) => {
      const ch = window.demo.call.pc.createDataChannel('raw', { negotiated: true, id });
      if (ch.readyState !== 'open') await new Promise((r) => ch.addEventListener('open', r, { once: true }));
      ch.bufferedAmountLowThreshold = low;
      const buf = new Uint8Array(chunk);
      crypto.getRandomValues(buf.subarray(0, 65536));
      const start = performance.timeOrigin + performance.now();
      (async () => {
        for (let sent = 0; sent < mb * 1024 * 1024; sent += chunk) {
          if (ch.bufferedAmount > high) {
            await new Promise((r) => ch.addEventListener('bufferedamountlow', r, { once: true }));
          }
          ch.send(buf);
        }
      })();
      return start;
    }, opts);
    return FILE_MB / (((await bob.evaluate(() => window.benchRaw)) - t0) / 1000);
  };
  const call = async () => {
    await alice.getByRole('button', { name: 'Call bob' }).click();
    await bob.getByRole('dialog', { name: 'Incoming call' }).getByRole('button', { name: 'Accept' }).click();
    for (const p of [alice, bob]) await p.waitForFunction(() => window.demo.call?.files);
  };
  const hangUp = async () => {
    await bob.getByRole('button', { name: 'Hang up' }).click();
    await alice.waitForFunction(() => !window.demo.call);
    await bob.waitForFunction(() => !window.demo.call);
  };

  const floorPage = await (await browser.newContext()).newPage();
  await floorPage.goto(`${bed.info.http}/config.json`);
  const fileRuns = [];
  for (let i = 0; i < FILE_RUNS; i += 1) {
    await call();
    const rawCallMBps = await rawInCall();
    await hangUp();
    await call();
    const oursMBps = await throughCall();
    const oursWarmMBps = await throughCall();
    const rawMBps = await rawChannel(floorPage);
    await hangUp();
    fileRuns.push({ oursMBps, oursWarmMBps, rawMBps, rawCallMBps, ratio: oursMBps / rawMBps,
      warmRatio: oursWarmMBps / rawMBps, callRatio: oursMBps / rawCallMBps });
  }

  const floor = await floorPage.evaluate(async (n) => {
    const runs = [];
    for (let i = 0; i < n; i += 1) {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      const t0 = performance.now();
      const a = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      const b = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      for (const t of stream.getTracks()) { a.addTrack(t, stream); b.addTrack(t, stream); }
      a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
      b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
      const frame = (pc) => new Promise((resolve) => {
        pc.ontrack = (e) => {
          if (e.track.kind !== 'video') return;
          const v = document.createElement('video');
          v.muted = true;
          v.addEventListener('loadeddata', () => resolve(performance.now()), { once: true });
          v.srcObject = new MediaStream([e.track]);
          v.play().catch(() => {});
        };
      });
      const frames = Promise.all([frame(a), frame(b)]);
      await a.setLocalDescription(await a.createOffer());
      await b.setRemoteDescription(a.localDescription);
      await b.setLocalDescription(await b.createAnswer());
      await a.setRemoteDescription(b.localDescription);
      const [fa, fb] = await frames;
      runs.push({ bothMs: Math.max(fa, fb) - t0 });
      a.close();
      b.close();
      for (const t of stream.getTracks()) t.stop();
    }
    return runs;
  }, N);


  const oursMedian = median(ours.map((r) => r.bothMs));
  const floorMedian = median(floor.map((r) => r.bothMs));
  console.log(JSON.stringify({
    meta: { calls: N, browser: browser.version(), date: new Date().toISOString(),
      goal: 'overheadMs < 150 on loopback' },
    ours: { medianMs: oursMedian, calleeMedianMs: median(ours.map((r) => r.calleeMs)),
      callerMedianMs: median(ours.map((r) => r.callerMs)), runs: ours },
    floor: { medianMs: floorMedian, runs: floor },
    overheadMs: oursMedian - floorMedian,
    stanzasPerSetup: median(stanzas),
    files: { mb: FILE_MB, goal: 'ratio >= 0.8', runs: fileRuns,
      ...Object.fromEntries(['oursMBps', 'oursWarmMBps', 'rawMBps', 'rawCallMBps', 'ratio',
        'warmRatio', 'callRatio'].map((k) => [k, median(fileRuns.map((r) => r[k]))])) },
  }, null, 2));
} finally {
  await browser.close().catch(() => {});
  await bed.stop();
}
