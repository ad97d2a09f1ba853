// ICE restarts in a call (lib/jingle.js), the way Conversations does them: the restarting side
// sends a transport-info with its new ufrag/pwd and no candidates, the other side answers with
// its new ufrag/pwd on its first candidates. Real ejabberd and Chromium, in a loopback-only
// network namespace. Also the SDP helpers the restart uses (lib/sdp-sections.js).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { openDemoPages, stopDemoPages, connectedCall, holdInput, releaseInput, recordJingleErrors }
  from './lib/demo-page.js';
import { mediaFlows } from './lib/media.js';
import { splitSdp, joinSdp, iceCredentials, transportMids, withIceCredentials }
  from '../lib/sdp-sections.js';

let bed;
let browser;
let pages;

before(async () => {
  ({ bed, browser, pages } = await openDemoPages({ users: ['alice:alice-pw', 'bob:bob-pw'] }));
});

afterEach(async () => {
  await pages.closeAll();
  assert.deepEqual(pages.errors.splice(0), []);
});

after(async () => {
  await stopDemoPages({ bed, browser });
});

/**
 * A logged-in demo page that records the transport-infos it receives in `window.transportIn`
 * ({contents: [{name, ufrag, pwd, candidates}]}) and the Jingle errors it sends in
 * `window.jingleErrorsOut`.
 */
async function loggedIn(name) {
  const page = await pages.loggedIn(name);
  await page.evaluate(() => {
    const { conn } = window.demo;
    window.transportIn = [];
    const input = conn.xmlInput;
    conn.xmlInput = (el) => {
      for (const j of el.querySelectorAll('iq[type="set"] > jingle[action="transport-info"]')) {
        window.transportIn.push({ contents: [...j.querySelectorAll(':scope > content')]
          .map((c) => {
            const t = c.querySelector(':scope > transport');
            return { name: c.getAttribute('name'), ufrag: t?.getAttribute('ufrag') ?? null,
              pwd: t?.getAttribute('pwd') ?? null,
              candidates: t?.querySelectorAll(':scope > candidate').length ?? 0 };
          }) });
      }
      input?.call(conn, el);
    };
  });
  await recordJingleErrors(page);
  return page;
}

/** The ICE ufrag/pwd of a description of the page's call: 'local' or 'remote'. */
const creds = (page, which) => page.evaluate((w) => {
  const sdp = window.demo.call.pc[`${w}Description`].sdp;
  return { ufrag: /^a=ice-ufrag:(\S+)/m.exec(sdp)[1], pwd: /^a=ice-pwd:(\S+)/m.exec(sdp)[1] };
}, which);

/** Waits until the page's local ufrag is no longer `old` (and the signalling is stable). */
const newLocalUfrag = (page, old) => page.waitForFunction((o) => {
  const { pc } = window.demo.call;
  return pc.signalingState === 'stable' && !pc.localDescription.sdp.includes(`a=ice-ufrag:${o}\r`);
}, old);

/**
 * Waits until media goes over a candidate pair of the ICE generation `ufrag` (our local ufrag):
 * the transport's selected pair has a local candidate with that ufrag, and is connected.
 */
const selectedPairUses = (page, ufrag) => page.waitForFunction(async (u) => {
  const { pc } = window.demo.call;
  if (pc.connectionState !== 'connected') return false;
  const stats = await pc.getStats();
  for (const s of stats.values()) {
    if (s.type !== 'transport' || !s.selectedCandidatePairId) continue;
    const pair = stats.get(s.selectedCandidatePairId);
    const local = pair && stats.get(pair.localCandidateId);
    if (local?.usernameFragment === u && pair.state === 'succeeded') return true;
  }
  return false;
}, ufrag, { polling: 100 });

/** The transport-infos a page received carrying `ufrag`. */
const transportInfosWith = (page, ufrag) => page.evaluate((u) => window.transportIn
  .filter((t) => t.contents.some((c) => c.ufrag === u)), ufrag);

/**
 * `restarter` restarts ICE (call.restartIce(), or what `trigger` does); checks the new
 * credentials on both sides, the stanzas that carried them, and the media over the new ICE
 * generation.
 */
async function restart(restarter, other,
  trigger = () => restarter.evaluate(() => window.demo.call.restartIce())) {
  const before = { restarter: await creds(restarter, 'local'), other: await creds(other, 'local') };
  await trigger();
  await Promise.all([newLocalUfrag(restarter, before.restarter.ufrag),
    newLocalUfrag(other, before.other.ufrag)]);
  const after = { restarter: await creds(restarter, 'local'), other: await creds(other, 'local') };
  for (const side of ['restarter', 'other']) {
    assert.notEqual(after[side].ufrag, before[side].ufrag, `${side}: new ufrag`);
    assert.notEqual(after[side].pwd, before[side].pwd, `${side}: new pwd`);
  }
  // Each side's remote description has the other's new credentials.
  assert.deepEqual(await creds(restarter, 'remote'), after.other);
  assert.deepEqual(await creds(other, 'remote'), after.restarter);

  // The offer: the first transport-info with the restarter's new credentials has every
  // content, with ufrag and pwd, and no candidates (as Conversations sends it).
  const [offer] = await transportInfosWith(other, after.restarter.ufrag);
  assert.ok(offer, 'the restart offer reached the other side');
  assert.ok(offer.contents.length >= 2, 'all contents (audio, video, data channel)');
  for (const c of offer.contents) {
    assert.deepEqual({ ufrag: c.ufrag, pwd: c.pwd, candidates: c.candidates },
      { ...after.restarter, candidates: 0 });
  }
  // The answer: the other side's new ufrag/pwd come with its first candidates.
  const answers = await transportInfosWith(restarter, after.other.ufrag);
  assert.ok(answers.length > 0, 'the answer reached the restarter');
  assert.ok(answers[0].contents.some((c) => c.candidates > 0), 'with candidates');
  assert.deepEqual(answers[0].contents.map((c) => c.name), offer.contents.map((c) => c.name),
    'the first one with the credentials of every content');
  for (const c of answers.flatMap((t) => t.contents)) assert.equal(c.pwd, after.other.pwd);

  await Promise.all([selectedPairUses(restarter, after.restarter.ufrag),
    selectedPairUses(other, after.other.ufrag)]);
  await Promise.all([mediaFlows(restarter), mediaFlows(other)]);
  for (const p of [restarter, other]) {
    assert.equal(await p.evaluate(() => window.demo.call.state), 'active');
  }
  return after;
}

test('ICE restart from either side: new credentials both sides, media over the new ones', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await connectedCall(alice, bob, 'bob', 'alice');
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);

  await restart(alice, bob); // the initiator restarts
  await restart(bob, alice); // the responder restarts

  for (const p of [alice, bob]) {
    assert.deepEqual(await p.evaluate(() => window.jingleErrorsOut), []);
    assert.equal(await p.evaluate(() => window.demo.jingle.calls.size), 1, 'the same call');
  }
  await alice.getByRole('button', { name: 'Hang up' }).click();
  await bob.getByText('alice hung up.').waitFor();
});

test('both restart ICE at once, or one restarts while the other changes its camera: tie-break', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await connectedCall(alice, bob, 'bob', 'alice');
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);
  const local = (p) => creds(p, 'local');

  // Both restart at once: alice (the initiator) wins, bob's offer gets a tie-break.
  let before = await Promise.all([local(alice), local(bob)]);
  for (const p of [alice, bob]) await holdInput(p);
  let done = Promise.all([alice, bob].map((p) => p.evaluate(() => window.demo.call.restartIce())));
  for (const p of [alice, bob]) await p.waitForFunction(() => window.demo.call.negotiating);
  await Promise.all([alice, bob].map(releaseInput));
  await done;
  await Promise.all([newLocalUfrag(alice, before[0].ufrag), newLocalUfrag(bob, before[1].ufrag)]);
  let after = await Promise.all([local(alice), local(bob)]);
  assert.deepEqual(await creds(alice, 'remote'), after[1]);
  assert.deepEqual(await creds(bob, 'remote'), after[0]);
  assert.deepEqual(await alice.evaluate(() => window.jingleErrorsOut), ['tie-break']);
  assert.deepEqual(await bob.evaluate(() => window.jingleErrorsOut), []);
  // bob's restart gave way to alice's: no second restart followed.
  assert.equal((await transportInfosWith(bob, after[0].ufrag)).filter((t) => t.contents
    .every((c) => c.candidates === 0)).length, 1, "alice's one restart offer");
  await Promise.all([selectedPairUses(alice, after[0].ufrag), selectedPairUses(bob, after[1].ufrag)]);
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);

  // bob restarts while alice turns her camera off: alice's content-modify wins, bob's restart
  // is redone after it.
  before = after;
  for (const p of [alice, bob]) await holdInput(p);
  done = Promise.all([alice.evaluate(() => window.demo.call.setCameraOff(true)),
    bob.evaluate(() => window.demo.call.restartIce())]);
  for (const p of [alice, bob]) await p.waitForFunction(() => window.demo.call.negotiating);
  await Promise.all([alice, bob].map(releaseInput));
  await done;
  await Promise.all([newLocalUfrag(alice, before[0].ufrag), newLocalUfrag(bob, before[1].ufrag)]);
  after = await Promise.all([local(alice), local(bob)]);
  assert.deepEqual(await creds(alice, 'remote'), after[1]);
  assert.deepEqual(await creds(bob, 'remote'), after[0]);
  assert.deepEqual(await alice.evaluate(() => window.jingleErrorsOut), ['tie-break', 'tie-break']);
  await bob.waitForFunction(() => !window.demo.call.remoteVideo);
  await Promise.all([selectedPairUses(alice, after[0].ufrag), selectedPairUses(bob, after[1].ufrag)]);
  await mediaFlows(alice); // bob's video and audio still reach alice
  assert.equal(await alice.evaluate(() => window.demo.jingle.calls.size), 1);
  await alice.getByRole('button', { name: 'Hang up' }).click();
  await bob.getByText('alice hung up.').waitFor();
});

/**
 * Makes the page's peer connection report `value` for `prop` ('iceConnectionState' or
 * 'connectionState') with its change event, as when the network goes away; then (unless
 * `keep`) the real value again. No tool here can cut loopback UDP (no tc actions, no
 * iptables in the namespace), so the browser's report is what the test stands in for.
 */
const reportState = (page, prop, value, keep = false) => page.evaluate((a) => {
  const { pc } = window.demo.call;
  Object.defineProperty(pc, a.prop, { get: () => a.value, configurable: true });
  pc.dispatchEvent(new Event(`${a.prop.toLowerCase()}change`));
  if (!a.keep) delete pc[a.prop];
}, { prop, value, keep });

test('reported ICE failure or long disconnection (state stood in for): real restart; none reconnects: call ends', async () => {
  const alice = await loggedIn('alice');
  const bob = await loggedIn('bob');
  await connectedCall(alice, bob, 'bob', 'alice');
  await Promise.all([mediaFlows(alice), mediaFlows(bob)]);

  // ICE fails on alice's side: she restarts at once.
  await restart(alice, bob, () => reportState(alice, 'iceConnectionState', 'failed'));
  // ICE stays disconnected on bob's side: the responder restarts after 2 x iceRestartAfterMs.
  await bob.evaluate(() => { window.demo.jingle.iceRestartAfterMs = 300; });
  await restart(bob, alice, () => reportState(bob, 'iceConnectionState', 'disconnected'));

  // The connection fails and the restart brings nothing back (bob's page hears nothing any
  // more): the call ends with connectivity-error after connectTimeoutMs.
  await alice.evaluate(() => {
    window.demo.jingle.connectTimeoutMs = 2000;
    window.endedCall = window.demo.call;
  });
  await holdInput(bob);
  const started = Date.now();
  await reportState(alice, 'connectionState', 'failed', true);
  await alice.waitForFunction(() => window.endedCall.state === 'ended');
  assert.ok(Date.now() - started >= 1900, 'not before connectTimeoutMs');
  assert.deepEqual(await alice.evaluate(() => window.endedCall.endReason),
    { condition: 'connectivity-error', text: 'no connection after ICE restart', by: 'local' });
});

test('sdp-sections: ICE credentials per section and after a restart', () => {
  const sdp = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=candidate:1 1 udp 1 127.0.0.1 5000 typ host',
    'a=ice-ufrag:old', 'a=ice-pwd:oldpwdoldpwdoldpwdoldpwd', 'a=mid:0', 'a=sendrecv',
    'a=end-of-candidates',
    'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=ice-ufrag:old', 'a=ice-pwd:oldpwdoldpwdoldpwdoldpwd',
    'a=mid:1', 'a=sendrecv', ''].join('\r\n');
  const parts = splitSdp(sdp);
  assert.deepEqual(iceCredentials(parts, '1'), { ufrag: 'old', pwd: 'oldpwdoldpwdoldpwdoldpwd' });
  assert.equal(iceCredentials(parts, '2'), null);
  assert.deepEqual(transportMids(parts, '1'), ['0', '1']);
  const restarted = withIceCredentials(parts, '0', { ufrag: 'new', pwd: 'newpwd' });
  for (const mid of ['0', '1']) {
    assert.deepEqual(iceCredentials(restarted, mid), { ufrag: 'new', pwd: 'newpwd' });
  }
  const out = joinSdp(restarted);
  assert.ok(!out.includes('a=candidate:') && !out.includes('a=end-of-candidates'),
    'the old generation candidates are gone');
  assert.ok(!out.includes('old'));
  // Without BUNDLE each section has its own transport.
  const single = { ...parts, head: parts.head.filter((l) => !l.startsWith('a=group:')) };
  assert.deepEqual(transportMids(single, '1'), ['1']);
  const one = withIceCredentials(single, '1', { ufrag: 'new', pwd: 'newpwd' });
  assert.deepEqual(iceCredentials(one, '0'), { ufrag: 'old', pwd: 'oldpwdoldpwdoldpwdoldpwd' });
  assert.deepEqual(iceCredentials(one, '1'), { ufrag: 'new', pwd: 'newpwd' });
});
