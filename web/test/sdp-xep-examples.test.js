// Jingle stanzas in the shape of the XEP examples (sdp-map/tests/xep-examples/*.xml), read by
// the `sdp-map to-sdp` CLI: what a peer that follows the XEP text sends must become the SDP
// the XEP's SDP mapping describes. transport-info goes through the wasm's
// transportInfoToCandidates (to-sdp reads session descriptions only).
//
//   node --test web/test/sdp-xep-examples.test.js

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSdp, parseCandidate } from './lib/sdp-semantics.js';
import { repoRoot, loadSdpMap } from './lib/vectors.js';

const dir = join(repoRoot, 'sdp-map/tests/xep-examples');
const bin = join(repoRoot, 'target/debug/sdp-map');

function toSdp(xml, type, from) {
  const r = spawnSync(bin, ['to-sdp', '--type', type, '--from', from], { input: xml, encoding: 'utf8' });
  assert.equal(r.status, 0, `sdp-map to-sdp failed: ${r.stderr}`);
  assert.ok(r.stdout.endsWith('\r\n'), 'SDP ends with CRLF');
  assert.ok(!/[^\r]\n/.test(r.stdout), 'every line ends with CRLF');
  return r.stdout;
}

const codec = (m, pt) => {
  const c = m.codecs.find((x) => x.pt === pt);
  assert.ok(c, `codec ${pt} in m=${m.kind}`);
  return c;
};

// Known divergences between what the XEP texts allow and what sdp-map does; each is asserted
// to still be present (so that fixing it makes this test fail until the entry is removed).
const KNOWN = {};

// What each fixture must become. `type`/`from` say how to read it.
const EXPECT = {
  'xep0167-audio-initiate.xml': {
    type: 'offer',
    check(s) {
      assert.equal(s.media.length, 1);
      const [m] = s.media;
      assert.equal(m.kind, 'audio');
      assert.equal(m.mid, 'voice');
      assert.deepEqual(m.codecOrder, [96, 97, 18, 103, 98]);
      assert.deepEqual([codec(m, 96).name, codec(m, 96).clock], ['speex', 16000]);
      assert.deepEqual([codec(m, 97).name, codec(m, 97).clock], ['speex', 8000]);
      assert.equal(codec(m, 18).name, 'g729');
      // static payload type without clockrate: the RFC 3551 rate
      assert.equal(codec(m, 18).clock, 8000);
      assert.deepEqual([codec(m, 103).clock, codec(m, 103).channels], [16000, 2]);
      assert.equal(codec(m, 98).name, 'x-isac');
      assert.deepEqual([m.ice.ufrag, m.ice.pwd], ['k4Tz', 'Qw7pL2xVb9nRt4kZ3mYc8d']);
      assert.equal(m.candidates.length, 2);
      assert.ok(m.candidates.some((c) => c.startsWith('1 1 udp 2130706431 10.1.2.3 40012 typ host')));
      assert.ok(
        m.candidates.some((c) =>
          c.startsWith('2 1 udp 1694498815 198.51.100.7 51234 typ srflx raddr 10.1.2.3 rport 40012'),
        ),
      );
      assert.equal(m.direction, 'sendrecv');
    },
  },
  'xep0167-audio-accept.xml': {
    type: 'answer',
    from: 'responder',
    check(s) {
      const [m] = s.media;
      assert.equal(s.media.length, 1);
      assert.deepEqual(m.codecOrder, [97, 18]);
      assert.deepEqual([m.ice.ufrag, m.ice.pwd], ['P9e2', 'Hn3sW8kQ1vLp6tYr0xBz5c']);
      assert.equal(m.candidates.length, 1);
      assert.match(m.candidates[0], /^1 1 udp 2130706431 203\.0\.113\.9 3478 typ host/);
    },
  },
  'xep0167-audio-video-initiate.xml': {
    type: 'offer',
    check(s) {
      assert.deepEqual(
        s.media.map((m) => [m.kind, m.mid]),
        [
          ['audio', 'voice'],
          ['video', 'webcam'],
        ],
      );
      const v = s.media[1];
      assert.deepEqual(v.codecOrder, [98, 28, 25, 32]);
      const theora = codec(v, 98);
      assert.equal(theora.name, 'theora');
      assert.equal(theora.clock, 90000);
      assert.deepEqual(theora.fmtp, [
        'configuration=somebase16string',
        'delivery-method=inline',
        'height=600',
        'sampling=YCbCr-4:2:2',
        'width=800',
      ]);
      assert.equal(codec(s.media[0], 0).name, 'pcmu');
    },
  },
  'xep0320-dtls-initiate.xml': {
    type: 'offer',
    check(s) {
      const [m] = s.media;
      assert.deepEqual(m.dtls, {
        fingerprints: [
          'sha-256 4F:0A:93:6C:1E:B2:57:D8:3A:C4:9F:11:62:E0:7B:25:A8:D3:46:5C:F1:0E:8B:72:39:C6:A4:1D:5E:F7:20:8B',
        ],
        setup: 'actpass',
      });
      assert.equal(m.protocol, 'UDP/TLS/RTP/SAVPF');
      assert.ok(m.rtcpMux);
      const opus = codec(m, 111);
      assert.deepEqual([opus.name, opus.clock, opus.channels], ['opus', 48000, 2]);
      assert.deepEqual(opus.fmtp, ['minptime=10', 'useinbandfec=1']);
    },
  },
  'xep0339-sources-initiate.xml': {
    type: 'offer',
    check(s) {
      const [m] = s.media;
      assert.deepEqual(
        m.ssrcs.map((x) => [x.ssrc, x.params.cname, x.params.msid]),
        [
          [1656081975, 'Yv6bW2qK9nXc4tLm', 'stream-a7c1 track-video-3f2e'],
          [3210987654, 'Yv6bW2qK9nXc4tLm', 'stream-a7c1 track-video-3f2e'],
        ],
      );
      assert.deepEqual(m.ssrcGroups, [{ semantics: 'FID', ssrcs: [1656081975, 3210987654] }]);
      assert.deepEqual(codec(m, 97).fmtp, ['apt=96']);
    },
  },
  'xep0293-0294-rtcpfb-hdrext-initiate.xml': {
    type: 'offer',
    check(s) {
      const [m] = s.media;
      // XEP-0293: rtcp-fb inside a payload-type applies to it; directly under <description/>
      // it applies to all payload types ('a=rtcp-fb:*').
      // (sdp-semantics folds 'a=rtcp-fb:*' into every codec, trr-int included)
      assert.deepEqual(codec(m, 96).rtcpFb, ['ccm fir', 'goog-remb', 'nack', 'nack pli', 'trr-int 100']);
      assert.deepEqual(codec(m, 100).rtcpFb, ['goog-remb', 'trr-int 100']);
      assert.deepEqual(codec(m, 100).fmtp, ['packetization-mode=1', 'profile-level-id=42e01f']);
      assert.deepEqual(
        m.extmaps.map((e) => [e.id, e.uri, e.direction]),
        [
          [1, 'urn:ietf:params:rtp-hdrext:toffset', 'sendrecv'],
          [2, 'urn:ietf:params:rtp-hdrext:sdes:mid', 'sendrecv'],
          // senders='initiator' in an offer from the initiator: sendonly
          [3, 'urn:3gpp:video-orientation', 'sendonly'],
        ],
      );
      assert.equal(m.extmapAllowMixed, true);
    },
    sdpText(sdp) {
      assert.match(sdp, /^a=rtcp-fb:(\*|100) goog-remb\r$/m);
      assert.match(sdp, /^a=rtcp-fb:\* trr-int 100\r$/m, 'XEP-0293 <rtcp-fb-trr-int/> kept');
    },
  },
  'xep0338-bundle-initiate.xml': {
    type: 'offer',
    check(s) {
      assert.deepEqual(s.session.groups, [{ semantics: 'BUNDLE', mids: ['voice', 'webcam'] }]);
      assert.deepEqual(
        s.media.map((m) => m.mid),
        ['voice', 'webcam'],
      );
    },
  },
  'xep0343-datachannel-initiate.xml': {
    type: 'offer',
    check(s) {
      const [m] = s.media;
      assert.equal(m.kind, 'application');
      assert.equal(m.protocol, 'UDP/DTLS/SCTP');
      assert.equal(m.fmts, 'webrtc-datachannel');
      assert.equal(m.sctpPort, 5000);
      assert.equal(m.dtls.fingerprints.length, 1, 'fingerprint text with surrounding whitespace');
      assert.match(m.dtls.fingerprints[0], /^sha-256 D7:23:8A:F1:.*:13:6F$/);
      assert.equal(m.candidates.length, 1);
    },
  },
  'xep0343-filetransfer-initiate.xml': {
    type: 'offer',
    check(s) {
      // the data channel rides under a file-transfer <description/>: the XEP-0343
      // <sctpmap/> in the transport makes it m=application
      const [m] = s.media;
      assert.equal(m.kind, 'application');
      assert.equal(m.protocol, 'UDP/DTLS/SCTP');
      assert.equal(m.fmts, 'webrtc-datachannel');
      assert.equal(m.sctpPort, 5000);
    },
  },
};

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.xml'))
  .sort();

let sdpMap;
before(async () => {
  const r = spawnSync('cargo', ['build', '-q', '-p', 'sdp-map', '--bin', 'sdp-map'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `cargo build -p sdp-map failed: ${r.stderr}`);
  sdpMap = await loadSdpMap();
});

test('every XEP example has an expectation', () => {
  const handled = new Set([...Object.keys(EXPECT), 'xep0176-transport-info.xml']);
  assert.deepEqual(
    files.filter((f) => !handled.has(f)),
    [],
  );
  assert.ok(files.length >= 10);
});

for (const [file, e] of Object.entries(EXPECT)) {
  const name = e.known ? `${file} (known divergence: ${e.known})` : file;
  test(`to-sdp reads ${name}`, () => {
    if (e.known) assert.ok(KNOWN[e.known], 'known divergence is documented');
    const xml = readFileSync(join(dir, file), 'utf8');
    const sdp = toSdp(xml, e.type, e.from ?? (e.type === 'offer' ? 'initiator' : 'responder'));
    e.check(parseSdp(sdp));
    e.sdpText?.(sdp);
  });
}

test('transportInfoToCandidates reads xep0176-transport-info.xml', () => {
  const xml = readFileSync(join(dir, 'xep0176-transport-info.xml'), 'utf8');
  const list = sdpMap.transportInfoToCandidates(xml);
  assert.equal(list.length, 1);
  assert.equal(list[0].mid, 'voice');
  assert.equal(list[0].ufrag, 'k4Tz');
  const c = parseCandidate(list[0].candidate);
  assert.deepEqual(
    [c.foundation, c.component, c.protocol, c.priority, c.address, c.port, c.type, c.raddr, c.rport],
    ['3', 1, 'udp', 16777215, '192.0.2.44', 62000, 'relay', '198.51.100.7', 51234],
  );
});
