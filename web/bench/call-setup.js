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
// Also counts the stanzas both pages send from "Call bob" to both sides 'active'.
// Prints one JSON document: {meta, ours: {medianMs, runs}, floor: {medianMs, runs},
// overheadMs, stanzasPerSetup}.
//
//   cargo build -p testbed && bash web/tools/build-wasm.sh
//   unshare --net bash -c 'ip link set lo up && node web/bench/call-setup.js [--calls 10]'

import { parseArgs } from 'node:util';
import { startTestbed } from '../test/lib/testbed.js';
import { launchChromium } from '../test/lib/browser.js';

const { values: opts } = parseArgs({ options: { calls: { type: 'string', default: '10' } } });
const N = Number(opts.calls);
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
    await page.getByLabel('Password').fill(u.password);
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

  const floorPage = await (await browser.newContext()).newPage();
  await floorPage.goto(`${bed.info.http}/config.json`);
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
  }, null, 2));
} finally {
  await browser.close().catch(() => {});
  await bed.stop();
}
