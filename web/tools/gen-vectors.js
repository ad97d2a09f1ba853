#!/usr/bin/env node
// Golden SDP vectors from real browsers (issue 4, DESIGN.md §5 and §6).
//
// Drives headless Debian Chromium (playwright-core) and Firefox ESR (puppeteer-core over
// WebDriver BiDi), lets each produce offers and answers for a set of scenarios with ICE
// gathering complete (candidates inside the SDP), and writes the exact `localDescription.sdp`
// bytes (CRLF kept) to
//
//   sdp-map/tests/vectors/<browser>-<major>-<scenario>-<offer|answer>.sdp
//
// plus `index.json`, a manifest naming every vector, its pair and what it is meant to show.
//
// It runs its browsers in fresh network namespaces (it re-executes itself under `unshare --net`,
// so it needs root), so that no address of this machine ends up in the repository: loopback
// only for Chromium (127.0.0.1 candidates), loopback plus a veth with the documentation address
// 192.0.2.10 for Firefox, the cross-browser pairs and the mDNS scenario (see NETNS_SETUP).
// Running it inside `unshare --net bash -c 'ip link set lo up && node ...'` works too (the
// namespaces nest).
//
//   node web/tools/gen-vectors.js [--out DIR] [--only chromium|firefox] [--scenario NAME]...
//
// A full run (no --only/--scenario) replaces every vector in the directory and index.json.

import http from 'node:http';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launchChromium, launchFirefox, chromiumMdnsFlags } from '../test/lib/browser.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    out: { type: 'string', default: resolve(here, '../../sdp-map/tests/vectors') },
    only: { type: 'string' },
    scenario: { type: 'string', multiple: true },
    'manifest-out': { type: 'string' },
  },
});

// ---------------------------------------------------------------------------------------------
// In-page library, serialised into every page. Each scenario builds an offerer and, from an offer
// text, an answerer; both wait for ICE gathering to complete (with a deadline, never a sleep).
function pageLib() {
  const DEADLINE_MS = 15000;
  const withDeadline = (p, what, ms = DEADLINE_MS) => {
    let t;
    return Promise.race([
      p,
      new Promise((_, rej) => {
        t = setTimeout(() => rej(new Error(`deadline (${ms} ms) exceeded: ${what}`)), ms);
      }),
    ]).finally(() => clearTimeout(t));
  };
  // Resolves when the next 'complete' gathering state is reached after `start()` runs.
  const gatherAfter = async (pc, start) => {
    const done = new Promise((res) => {
      const on = () => {
        if (pc.iceGatheringState === 'complete') {
          pc.removeEventListener('icegatheringstatechange', on);
          res();
        }
      };
      pc.addEventListener('icegatheringstatechange', on);
    });
    await start();
    await withDeadline(done, 'ICE gathering complete');
    return pc.localDescription.sdp;
  };
  const state = { pcs: [], media: null };
  const media = async () => {
    if (!state.media) {
      state.media = await withDeadline(
        navigator.mediaDevices.getUserMedia({ audio: true, video: true }),
        'getUserMedia',
      );
    }
    return state.media;
  };
  const track = async (kind) => (await media()).getTracks().find((t) => t.kind === kind);
  // Browser defaults (bundlePolicy 'balanced': every m-line carries candidates) except where a
  // scenario asks otherwise.
  const pcConfig = { 'max-bundle': { bundlePolicy: 'max-bundle' } };
  const newPc = (scenario) => {
    const pc = new RTCPeerConnection(pcConfig[scenario] ?? {});
    state.pcs.push(pc);
    return pc;
  };

  // How each scenario fills the offerer.
  const offerers = {
    async audio(pc) {
      const s = await media();
      pc.addTrack(await track('audio'), s);
    },
    async 'audio-video'(pc) {
      const s = await media();
      pc.addTrack(await track('audio'), s);
      pc.addTrack(await track('video'), s);
    },
    async 'audio-video-data'(pc) {
      await offerers['audio-video'](pc);
      pc.createDataChannel('chat');
    },
    async 'max-bundle'(pc) {
      await offerers['audio-video-data'](pc);
    },
    async data(pc) {
      pc.createDataChannel('chat');
    },
    async 'two-video'(pc) {
      const s = await media();
      pc.addTrack(await track('audio'), s);
      pc.addTrack(await track('video'), s);
      const v2 = (await track('video')).clone();
      pc.addTrack(v2, new MediaStream([v2]));
    },
    async simulcast(pc) {
      const s = await media();
      pc.addTrack(await track('audio'), s);
      pc.addTransceiver(await track('video'), {
        direction: 'sendonly',
        streams: [s],
        sendEncodings: [
          { rid: 'h', maxBitrate: 1200000 },
          { rid: 'm', maxBitrate: 600000, scaleResolutionDownBy: 2 },
          { rid: 'l', maxBitrate: 200000, scaleResolutionDownBy: 4 },
        ],
      });
    },
    async recvonly(pc) {
      await offerers['audio-video'](pc);
    },
    async rejected(pc) {
      await offerers['audio-video'](pc);
    },
    async 'stop-in-answer'(pc) {
      await offerers['audio-video'](pc);
    },
    async 'ice-restart'(pc) {
      await offerers['audio-video-data'](pc);
    },
    async mdns(pc) {
      pc.createDataChannel('chat');
    },
  };
  // How the answerer treats the remote offer: mirror = send a track of each offered kind back.
  const answerers = {
    audio: { mirror: true },
    'audio-video': { mirror: true },
    'audio-video-data': { mirror: true },
    'max-bundle': { mirror: true },
    data: { mirror: false },
    'two-video': { mirror: true },
    simulcast: { mirror: false },
    recvonly: { mirror: false },
    rejected: { mirror: true },
    'stop-in-answer': { mirror: true, stopKind: 'video' },
    'ice-restart': { mirror: true },
    mdns: { mirror: false },
  };

  async function makeOffer(scenario) {
    const pc = newPc(scenario);
    await offerers[scenario](pc);
    const sdp = await gatherAfter(pc, async () => pc.setLocalDescription(await pc.createOffer()));
    return { id: state.pcs.indexOf(pc), sdp };
  }

  async function answer(scenario, offerSdp) {
    const how = answerers[scenario];
    const pc = newPc(scenario);
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    for (const t of pc.getTransceivers()) {
      const kind = t.receiver.track.kind;
      if (how.mirror) {
        await t.sender.replaceTrack(await track(kind));
        t.sender.setStreams?.(await media());
        t.direction = 'sendrecv';
      }
      if (how.stopKind === kind) t.stop();
    }
    const sdp = await gatherAfter(pc, async () => pc.setLocalDescription(await pc.createAnswer()));
    return { id: state.pcs.indexOf(pc), sdp };
  }

  async function applyAnswer(offererId, answerSdp) {
    await state.pcs[offererId].setRemoteDescription({ type: 'answer', sdp: answerSdp });
  }

  // Waits until both peer connections report 'connected' (ICE + DTLS done).
  async function connected(ids) {
    await Promise.all(
      ids.map((id) => {
        const pc = state.pcs[id];
        return withDeadline(
          new Promise((res, rej) => {
            const check = () => {
              if (pc.connectionState === 'connected') res();
              else if (pc.connectionState === 'failed') rej(new Error('connection failed'));
            };
            pc.addEventListener('connectionstatechange', check);
            check();
          }),
          `peer connection ${id} connected`,
        );
      }),
    );
  }

  // A new offer from an established peer connection: with an ICE restart, or after stopping
  // the transceivers of one kind (their m-lines are then rejected with port 0).
  async function reoffer(offererId, { iceRestart = false, stopKind = null } = {}) {
    const pc = state.pcs[offererId];
    if (stopKind) {
      for (const t of pc.getTransceivers()) if (t.receiver.track.kind === stopKind) t.stop();
    }
    if (!iceRestart) {
      await pc.setLocalDescription(await pc.createOffer());
      // No new gathering without an ICE restart: the description already has the candidates.
      return pc.localDescription.sdp;
    }
    return gatherAfter(pc, async () => pc.setLocalDescription(await pc.createOffer({ iceRestart })));
  }

  async function reanswer(answererId, offerSdp, { iceRestart = false } = {}) {
    const pc = state.pcs[answererId];
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    if (!iceRestart) {
      await pc.setLocalDescription(await pc.createAnswer());
      return pc.localDescription.sdp;
    }
    return gatherAfter(pc, async () => pc.setLocalDescription(await pc.createAnswer()));
  }

  window.jf = { makeOffer, answer, applyAnswer, connected, reoffer, reanswer };
}

// ---------------------------------------------------------------------------------------------
const SCENARIOS = {
  audio: 'one audio track, answered with audio',
  'audio-video': 'audio and video tracks in one stream, BUNDLE, answered sendrecv',
  'audio-video-data': 'audio, video and an SCTP data channel, BUNDLE',
  'max-bundle':
    "audio, video and data with bundlePolicy 'max-bundle' (only the first m-line has candidates; the others port 9 in Chromium, port 0 + a=bundle-only in Firefox); every other scenario uses the browser default 'balanced'",
  data: 'data channel only (m=application UDP/DTLS/SCTP webrtc-datachannel)',
  'two-video': 'audio plus two video tracks (second in its own stream)',
  simulcast:
    'audio plus a sendonly video with 3 rids h/m/l (a=simulcast:send); neither Chromium 156 nor Firefox 153 receives simulcast, so the answer is recvonly without a=simulcast:recv',
  recvonly: 'audio+video offer answered by a peer without tracks: recvonly answer',
  rejected:
    'established audio+video call; the offerer stops its video transceiver and re-offers: m=video port 0 in offer and answer',
  'stop-in-answer':
    'audio+video offer; the answerer stops its video transceiver before createAnswer (browsers answer a=inactive, not port 0)',
  'ice-restart':
    'established audio+video+data call; re-offer with iceRestart:true (new ufrag/pwd, new candidates) and its answer',
  mdns: 'data channel only, no media permission: host candidates hidden behind mDNS .local names (both sides)',
};
// Cross-browser pairs: offer made by one browser, answered by the other. Scenario names
// `ff2cr-<base>` (Firefox offer, Chromium answer) and `cr2ff-<base>`.
const CROSS = ['audio-video-data', 'two-video', 'simulcast'];

// Network namespaces the script runs its browsers in (it re-executes itself inside them):
// - 'lo': loopback only. Chromium's vectors come from here: their candidates are 127.0.0.1 and
//   carry no address of this machine.
// - 'net': loopback plus a veth pair with a TEST-NET-1 address (192.0.2.10, RFC 5737) and a
//   default route. Firefox ignores loopback for ICE (even with media.peerconnection.ice.loopback)
//   and gathers nothing without a default route, so its vectors and the cross-browser pairs
//   come from here. Without camera permission Chromium too gathers only on the default-route
//   interface (hidden behind an mDNS name), so the mdns scenario runs here as well.
const NETNS_SETUP = {
  lo: 'ip link set lo up',
  net:
    'ip link set lo up && ip link add jfv0 type veth peer name jfv1 && ' +
    'ip addr add 192.0.2.10/24 dev jfv0 && ip link set jfv0 up && ip link set jfv1 up && ' +
    'ip route add default dev jfv0',
};
// Child runs: namespace, browsers, scenarios, whether to make same-browser and cross pairs.
const RUNS = [
  { ns: 'lo', browsers: ['chromium'], mdns: false, same: true, cross: false },
  { ns: 'net', browsers: ['chromium', 'firefox'], mdns: false, same: false, cross: true },
  { ns: 'net', browsers: ['firefox'], mdns: false, same: true, cross: false },
  { ns: 'net', browsers: ['chromium', 'firefox'], mdns: true, same: true, cross: false },
];

function startServer() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><meta charset="utf-8"><title>sdp vectors</title>');
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res(server)));
}

async function openPage(browser, url) {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[page] ${m.text()}`);
  });
  await page.goto(url);
  await page.evaluate(pageLib);
  return page;
}

const call = (page, name, ...args) =>
  page.evaluate(({ name, args }) => window.jf[name](...args), { name, args });

// Runs inside a namespace: produces the vectors for `scenarios`, returns manifest entries.
async function generate(scenarios, outDir, { mdns, names, same, cross }) {
  const server = await startServer();
  const url = `http://127.0.0.1:${server.address().port}/`;
  const manifest = [];
  const failures = [];

  const write = (br, scenario, type, sdp, extra) => {
    const file = `${br.name}-${br.major}-${scenario}-${type}.sdp`;
    writeFileSync(join(outDir, file), sdp);
    manifest.push({ file, browser: br.name, version: Number(br.major), scenario, type, ...extra });
    console.log(`wrote ${file} (${sdp.length} bytes)`);
  };
  const writePair = (ob, ab, scenario, offer, answer, description) => {
    const of = `${ob.name}-${ob.major}-${scenario}-offer.sdp`;
    const af = `${ab.name}-${ab.major}-${scenario}-answer.sdp`;
    write(ob, scenario, 'offer', offer, { pair: af, description });
    write(ab, scenario, 'answer', answer, { pair: of, description });
  };

  const browsers = [];
  try {
    if (names.includes('chromium')) {
      const b = await launchChromium(mdns ? { flags: chromiumMdnsFlags } : {});
      browsers.push({ name: 'chromium', browser: b, major: b.version().split('.')[0] });
    }
    if (names.includes('firefox')) {
      const b = await launchFirefox({
        prefs: {
          'media.peerconnection.ice.loopback': true,
          'media.peerconnection.ice.obfuscate_host_addresses': mdns,
        },
      });
      const v = (await b.version()).match(/(\d+)\./)[1];
      browsers.push({ name: 'firefox', browser: b, major: v });
    }

    for (const br of same ? browsers : []) {
      for (const scenario of scenarios) {
        const page = await openPage(br.browser, url);
        try {
          const desc = SCENARIOS[scenario];
          const offer = await call(page, 'makeOffer', scenario);
          const ans = await call(page, 'answer', scenario, offer.sdp);
          if (scenario === 'ice-restart' || scenario === 'rejected') {
            await call(page, 'applyAnswer', offer.id, ans.sdp);
            await call(page, 'connected', [offer.id, ans.id]);
            const how = scenario === 'ice-restart' ? { iceRestart: true } : { stopKind: 'video' };
            const o2 = await call(page, 'reoffer', offer.id, how);
            const a2 = await call(page, 'reanswer', ans.id, o2, how);
            if (scenario === 'rejected' && !/^m=video 0 /m.test(a2)) {
              throw new Error('re-answer after stop() has no m=video 0');
            }
            writePair(br, br, scenario, o2, a2, desc);
          } else {
            if (scenario === 'mdns' && !/ \S+\.local \d+ typ host/.test(offer.sdp + ans.sdp)) {
              throw new Error('mdns scenario produced no .local candidate');
            }
            writePair(br, br, scenario, offer.sdp, ans.sdp, desc);
          }
        } catch (e) {
          failures.push(`${br.name} ${scenario}: ${e.message}`);
          console.error(`FAILED ${br.name} ${scenario}: ${e.message}`);
        } finally {
          await page.close();
        }
      }
    }

    if (cross && browsers.length === 2) {
      const [cr, ff] = browsers;
      for (const [ob, ab, tag] of [
        [ff, cr, 'ff2cr'],
        [cr, ff, 'cr2ff'],
      ]) {
        for (const base of CROSS.filter((c) => scenarios.includes(c))) {
          const scenario = `${tag}-${base}`;
          const po = await openPage(ob.browser, url);
          const pa = await openPage(ab.browser, url);
          try {
            const offer = await call(po, 'makeOffer', base);
            const ans = await call(pa, 'answer', base, offer.sdp);
            await call(po, 'applyAnswer', offer.id, ans.sdp);
            const desc = `${SCENARIOS[base]}; ${ob.name} offer answered by ${ab.name}`;
            writePair(ob, ab, scenario, offer.sdp, ans.sdp, desc);
          } catch (e) {
            failures.push(`${scenario}: ${e.message}`);
            console.error(`FAILED ${scenario}: ${e.message}`);
          } finally {
            await po.close();
            await pa.close();
          }
        }
      }
    }
  } finally {
    for (const br of browsers) await br.browser.close();
    server.close();
  }
  return { manifest, failures };
}

// Re-executes this script inside a fresh network namespace (we run as root).
function runInNamespace(run, scenarios, outDir, manifestFile) {
  const args = [process.argv[1], '--out', outDir, '--manifest-out', manifestFile];
  for (const s of scenarios) args.push('--scenario', s);
  const r = spawnSync(
    'unshare',
    ['--net', 'sh', '-c', `${NETNS_SETUP[run.ns]} && exec "$@"`, 'sh', process.execPath, ...args],
    { stdio: 'inherit', env: { ...process.env, JF_RUN: JSON.stringify(run) } },
  );
  if (r.error) throw r.error;
  return r.status;
}

async function main() {
  const outDir = resolve(opts.out);
  mkdirSync(outDir, { recursive: true });
  const wanted = opts.scenario ?? Object.keys(SCENARIOS);
  for (const s of wanted) if (!SCENARIOS[s]) throw new Error(`unknown scenario ${s}`);

  if (process.env.JF_RUN) {
    // Child: generate and hand the manifest entries back through a file.
    const run = JSON.parse(process.env.JF_RUN);
    const { manifest, failures } = await generate(wanted, outDir, { ...run, names: run.browsers });
    writeFileSync(opts['manifest-out'], JSON.stringify({ manifest, failures }));
    process.exitCode = failures.length ? 1 : 0;
    return;
  }

  // Orchestrator: one child per run, then merge the manifest into index.json.
  const tmp = mkdtempSync(join(tmpdir(), 'jf-vectors-'));
  const manifest = [];
  const failures = [];
  try {
    for (const [i, r0] of RUNS.entries()) {
      let run = r0;
      if (opts.only) {
        if (run.cross || !run.browsers.includes(opts.only)) continue;
        run = { ...run, browsers: [opts.only] };
      }
      const scenarios = wanted.filter((s) => (s === 'mdns') === run.mdns);
      if (!scenarios.length) continue;
      const mf = join(tmp, `${i}.json`);
      const status = runInNamespace(run, scenarios, outDir, mf);
      if (!existsSync(mf)) {
        failures.push(`run ${JSON.stringify(run)}: child exited with ${status} and no manifest`);
        continue;
      }
      const r = JSON.parse(readFileSync(mf, 'utf8'));
      manifest.push(...r.manifest);
      failures.push(...r.failures);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const indexFile = join(outDir, 'index.json');
  const fresh = new Set(manifest.map((m) => m.file));
  let index = [];
  if (existsSync(indexFile)) {
    index = JSON.parse(readFileSync(indexFile, 'utf8')).filter((m) => !fresh.has(m.file));
  }
  // A run of every scenario for every browser owns the directory: drop stale vectors.
  if (!opts.only && !opts.scenario) {
    index = [];
    for (const f of readdirSync(outDir)) {
      if (f.endsWith('.sdp') && !fresh.has(f)) unlinkSync(join(outDir, f));
    }
  }
  index.push(...manifest);
  index.sort((a, b) => a.file.localeCompare(b.file));
  writeFileSync(indexFile, JSON.stringify(index, null, 2) + '\n');
  console.log(`${manifest.length} vectors written to ${outDir}`);
  if (failures.length) {
    console.error(`${failures.length} scenario(s) failed:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

await main();
