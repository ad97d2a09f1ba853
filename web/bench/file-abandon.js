#!/usr/bin/env node
// Memory a call peer can make us hold with files it never finishes: in a call between two demo
// pages, alice's page writes straight to the call's data channel (as a hostile peer would) a
// file header, then --mb MiB of bytes, and no `end`, --files times; bob's page does nothing.
// Reported: the resident memory (RSS) of this run's Chromium (browser process and children),
// bob's JS heap, and the size of the profile directory (where Chromium pages out large blobs),
// before the attack and after it (both after garbage collection and a settle time), and the
// differences; and what bob's page keeps (transfers, bytes).
//
//   cargo build -p testbed && bash web/tools/build-wasm.sh
//   unshare --net bash -c 'ip link set lo up && node web/bench/file-abandon.js [--files 20]
//     [--mb 16]'

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestbed } from '../test/lib/testbed.js';
import { launchChromium } from '../test/lib/browser.js';
import { serveWebFilesFromDisk } from '../test/lib/web-files.js';

const { values: opts } = parseArgs({ options: { files: { type: 'string', default: '20' },
  mb: { type: 'string', default: '16' } } });
const FILES = Number(opts.files);
const MB = Number(opts.mb);
const DEADLINE = 60000;

const TAG = `--jf-bench=${process.pid}`;
const procs = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d));
const read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/**
 * This run's Chromium (the browser process, found by TAG on its command line, and all its
 * descendants): the sum of their RSS in KiB, and the browser's profile directory.
 */
function chromium() {
  const all = procs().map((pid) => ({ pid, cmd: read(`/proc/${pid}/cmdline`).split('\0'),
    ppid: read(`/proc/${pid}/stat`).replace(/^.*\) /, '').split(' ')[1] }));
  const root = all.find((p) => p.cmd.includes(TAG));
  const tree = new Set([root.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (!tree.has(p.pid) && tree.has(p.ppid)) {
        tree.add(p.pid);
        grew = true;
      }
    }
  }
  let rss = 0;
  for (const pid of tree) rss += Number(/VmRSS:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`))?.[1] ?? 0);
  const profile = root.cmd.find((a) => a.startsWith('--user-data-dir='))?.slice(16);
  return { rss, profile, processes: tree.size };
}

/** Bytes under `dir` (recursively), 0 if it does not exist. */
function du(dir) {
  let n = 0;
  let entries = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += du(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

const bed = await startTestbed({ users: ['alice:alice-pw', 'bob:bob-pw'], web: true });
const browser = await launchChromium({ args: [TAG] });
try {
  const login = async (name) => {
    const context = await browser.newContext();
    await serveWebFilesFromDisk(context, bed.info.http);
    const page = await context.newPage();
    page.setDefaultTimeout(DEADLINE);
    await page.addInitScript(() => { window.demoTestKnobs = true; });
    await page.goto(bed.info.http);
    const u = bed.info.users.find((x) => x.jid.startsWith(`${name}@`));
    await page.getByLabel('JID').fill(u.jid);
    await page.getByLabel('Password', { exact: true }).fill(u.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Online users' }).waitFor();
    return page;
  };
  const alice = await login('alice');
  const bob = await login('bob');
  await alice.getByRole('button', { name: 'Call bob' }).click();
  await bob.getByRole('dialog', { name: 'Incoming call' }).getByRole('button', { name: 'Accept' })
    .click();
  for (const p of [alice, bob]) await p.waitForFunction(() => window.demo.call?.files?.open);
  const cdp = await bob.context().newCDPSession(bob);
  const measure = async () => {
    // Settle: collect garbage in both pages, then wait for the browser to let go of freed blobs.
    for (const p of [alice, bob]) {
      const s = await p.context().newCDPSession(p);
      await s.send('HeapProfiler.collectGarbage');
    }
    await new Promise((r) => { setTimeout(r, 3000); });
    const heap = await cdp.send('Runtime.getHeapUsage');
    const { rss, profile, processes } = chromium();
    return { rssMiB: rss / 1024, processes, bobHeapMiB: heap.usedSize / 1048576,
      blobDiskMiB: du(profile) / 1048576 };
  };
  const before = await measure();
  const sent = await alice.evaluate(async ({ files, mb }) => {
    const ch = window.demo.call.files.channel;
    const chunk = new Uint8Array(64 * 1024);
    crypto.getRandomValues(chunk);
    const room = () => new Promise((resolve) => {
      if (ch.bufferedAmount < 4 * 1048576) resolve();
      else ch.addEventListener('bufferedamountlow', resolve, { once: true });
    });
    ch.bufferedAmountLowThreshold = 1048576;
    let bytes = 0;
    for (let f = 0; f < files; f += 1) {
      ch.send(JSON.stringify({ type: 'file', id: `abandoned-${f}`, name: `a${f}.bin`,
        size: mb * 1048576, mime: 'application/octet-stream' }));
      for (let i = 0; i < mb * 16; i += 1) {
        await room();
        ch.send(chunk);
        bytes += chunk.length;
      }
    }
    while (ch.bufferedAmount > 0) await new Promise((r) => { setTimeout(r, 50); });
    return bytes;
  }, { files: FILES, mb: MB });
  // What bob's page made of it (transfers it keeps, bytes it counted).
  const kept = await bob.evaluate(() => {
    const ts = [...(window.demo.call?.files?.transfers?.values() ?? [])];
    return { transfers: ts.length, bytes: ts.reduce((n, t) => n + (t.bytes ?? 0), 0) };
  });
  const after = await measure();
  console.log(JSON.stringify({
    meta: { files: FILES, mibPerFile: MB, sentMiB: sent / 1048576 },
    before, after,
    heldMiB: { rss: after.rssMiB - before.rssMiB, bobHeap: after.bobHeapMiB - before.bobHeapMiB,
      profileDisk: after.blobDiskMiB - before.blobDiskMiB },
    bobKept: kept,
  }, null, 2));
} finally {
  await browser.close().catch(() => {});
  await bed.stop();
}
