// lib/sdp-sections.js: rebuilding the peer's description for mid-call renegotiation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { splitSdp, joinSdp, mergeSections, fitToOffer, directionFor, withSender, sends,
  setupOf } from '../lib/sdp-sections.js';

const vector = (name) => readFileSync(new URL(`../../sdp-map/tests/vectors/${name}.sdp`,
  import.meta.url), 'utf8');

test('senders map to the SDP direction of each party', () => {
  const rows = [
    ['both', 'sendrecv', 'sendrecv'],
    ['initiator', 'sendonly', 'recvonly'],
    ['responder', 'recvonly', 'sendonly'],
    ['none', 'inactive', 'inactive'],
  ];
  for (const [senders, ofInitiator, ofResponder] of rows) {
    assert.equal(directionFor(senders, 'initiator'), ofInitiator, senders);
    assert.equal(directionFor(senders, 'responder'), ofResponder, senders);
  }
});

test('withSender switches one party and keeps the other', () => {
  for (const senders of ['both', 'initiator', 'responder', 'none']) {
    for (const role of ['initiator', 'responder']) {
      const other = role === 'initiator' ? 'responder' : 'initiator';
      for (const on of [true, false]) {
        const out = withSender(senders, role, on);
        assert.equal(sends(out, role), on, `${senders} ${role} ${on}`);
        assert.equal(sends(out, other), sends(senders, other), `${senders} ${role} ${on}`);
      }
    }
  }
});

test('split and join keep a browser offer line for line', () => {
  const sdp = vector('chromium-156-audio-video-data-offer');
  assert.equal(joinSdp(splitSdp(sdp)), sdp);
  const parts = splitSdp(sdp);
  assert.deepEqual(parts.sections.map((s) => [s.mid, s.kind]),
    [['0', 'audio'], ['1', 'video'], ['2', 'application']]);
  assert.equal(setupOf(sdp), 'actpass');
});

test('join sets directions, setup and BUNDLE; merge appends new sections in order', () => {
  const parts = splitSdp(vector('chromium-156-audio-answer'));
  const video = splitSdp(vector('chromium-156-audio-video-answer')).sections
    .find((s) => s.kind === 'video');
  const added = { ...video, mid: '7', lines: video.lines.map((l) => (l.startsWith('a=mid:') ? 'a=mid:7' : l)) };
  parts.sections = mergeSections(parts.sections, [added]);
  const out = joinSdp(parts, { direction: (mid) => (mid === '7' ? 'recvonly' : null),
    setup: 'passive' });
  const back = splitSdp(out);
  assert.deepEqual(back.sections.map((s) => s.mid), ['0', '7']);
  assert.match(out, /^a=group:BUNDLE 0 7$/m);
  assert.equal(out.match(/^a=group:BUNDLE/gm).length, 1);
  assert.ok(back.sections[1].lines.includes('a=recvonly'));
  assert.equal(back.sections[1].lines.filter((l) => /^a=(send|recv|inactive)/.test(l)).length, 1);
  assert.ok(back.sections.every((s) => s.lines.includes('a=setup:passive')));
  assert.ok(back.sections[0].lines.includes('a=sendrecv'), 'untouched direction kept');
  // A section of a known mid is replaced in place, not appended.
  assert.equal(mergeSections(back.sections, [back.sections[0]]).length, 2);
});

test("bundle-only sections (Firefox's max-bundle offer) stay in BUNDLE", () => {
  const sdp = vector('firefox-153-max-bundle-offer');
  const bundleOnly = splitSdp(sdp).sections.filter((s) => s.lines.includes('a=bundle-only'));
  assert.ok(bundleOnly.length > 0, 'the vector has bundle-only sections');
  const group = /^a=group:BUNDLE (.*)$/m.exec(joinSdp(splitSdp(sdp)))[1].split(' ');
  assert.deepEqual(group, splitSdp(sdp).sections.map((s) => s.mid));
});

test('fitToOffer drops header extensions our offer lacks, per mid', () => {
  const answer = splitSdp(vector('chromium-156-audio-video-answer'));
  const offer = vector('firefox-153-audio-video-offer');
  const uri = (l) => /^a=extmap:\S+ (\S+)/.exec(l)?.[1];
  const fitted = fitToOffer(answer.sections, offer);
  const offered = new Map(splitSdp(offer).sections.map((s) => [s.mid,
    new Set(s.lines.map(uri).filter(Boolean))]));
  let dropped = 0;
  for (const [i, s] of fitted.entries()) {
    const ours = offered.get(s.mid);
    for (const u of s.lines.map(uri).filter(Boolean)) assert.ok(!ours || ours.has(u), u);
    dropped += answer.sections[i].lines.length - s.lines.length;
    // Everything else is kept as it was.
    assert.deepEqual(s.lines.filter((l) => !uri(l)), answer.sections[i].lines.filter((l) => !uri(l)));
  }
  assert.ok(dropped > 0, 'the vectors differ in header extensions');
});
