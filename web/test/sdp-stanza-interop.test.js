// Interop of sdp-map (as wasm, in node) with an independent Jingle implementation: StanzaJS 12
// (npm `stanza`: its JXT XML definitions and its jingle/sdp SDP <-> Jingle JSON code).
//
// For every golden browser vector:
//   ours -> StanzaJS: our <jingle/> XML, parsed by StanzaJS's XML registry, turned into SDP by
//     StanzaJS (convertRequestToIntermediate + exportToSDP), means the same as the original.
//   StanzaJS -> ours: the <jingle/> XML StanzaJS makes from the same SDP (importFromSDP +
//     convertIntermediateToRequest + its XML registry), read by us, means the same as the
//     original.
// "Means the same" is test/lib/sdp-semantics.js: m-lines, codecs, fmtp, rtcp-fb, header
// extensions, sources and groups, msid, simulcast, candidates, ICE, DTLS, SCTP, BUNDLE.
//
// Where the two differ for a known reason, the difference is removed by a named EXCEPTION
// below and nowhere else; each exception must still be needed by at least one vector (a final
// test checks), so an exception that no longer applies (a bug fixed) has to be deleted.
//
//   node --test web/test/sdp-stanza-interop.test.js

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import stanza from 'stanza';
import ProtocolModule from 'stanza/protocol/index.js';
import * as Intermediate from 'stanza/jingle/sdp/Intermediate.js';
import * as StanzaSdp from 'stanza/jingle/sdp/Protocol.js';
import { parseSdp, diff } from './lib/sdp-semantics.js';
import { loadVectors, loadSdpMap, jingleOptions } from './lib/vectors.js';

const { JXT } = stanza;
const NS_ICE_UDP = 'urn:xmpp:jingle:transports:ice-udp:1';
const registry = new JXT.Registry();
registry.define(ProtocolModule.default ?? ProtocolModule);

const clone = (x) => JSON.parse(JSON.stringify(x));
const eachMedia = (o, r, fn) =>
  o.media.forEach((m, i) => {
    if (r.media[i]) fn(m, r.media[i], i);
  });
const live = (m) => !m.rejected;

// ---------------------------------------------------------------------------------------------
// Named divergences. `dir`: which direction it concerns. `apply(orig, result)` edits both
// semantics objects in place to remove exactly that divergence.
const EXCEPTIONS = [
  {
    name: 'stanza-no-ice-options',
    dir: 'both',
    why: "StanzaJS's Jingle model has no ICE options: a=ice-options:trickle is lost",
    apply: (o, r) =>
      eachMedia(o, r, (a, b) => {
        if (live(a) && live(b)) a.ice.options = b.ice.options = [];
      }),
  },
  {
    name: 'stanza-candidate-extensions-dropped',
    dir: 'both',
    why: 'StanzaJS converts candidates without generation, network(-id), network-cost (Chromium extensions); the RFC 8839 fields survive',
    apply: (o, r) => {
      const core = (c) => c.replace(/ (generation|ufrag|network-id|network-cost) \S+/g, '');
      eachMedia(o, r, (a, b) => {
        if (!live(a) || !live(b)) return;
        a.candidates = a.candidates.map(core).sort();
        b.candidates = b.candidates.map(core).sort();
      });
    },
  },
  {
    name: 'stanza-no-extmap-allow-mixed',
    dir: 'both',
    why: 'StanzaJS has no XEP-0294 <extmap-allow-mixed/>',
    apply: (o, r) =>
      eachMedia(o, r, (a, b) => {
        delete a.extmapAllowMixed;
        delete b.extmapAllowMixed;
      }),
  },
  {
    name: 'stanza-no-rtcp-xr',
    dir: 'both',
    why: 'StanzaJS drops a=rtcp-xr (no Jingle element for it)',
    apply: (o, r) =>
      eachMedia(o, r, (a, b) => {
        if (a.rtcpXr && b.rtcpXr) a.rtcpXr = b.rtcpXr = [];
      }),
  },
  {
    name: 'stanza-single-source',
    dir: 'both',
    why: 'StanzaJS keeps one <source> per content (the first ssrc, with cname only) and one FID group: further ssrcs, SIM groups and the per-ssrc msid parameter are dropped',
    apply: (o, r) =>
      eachMedia(o, r, (a, b) => {
        if (!a.ssrcs || !b.ssrcs) return;
        const orig = new Map(a.ssrcs.map((s) => [s.ssrc, s]));
        // What survives must be a subset of the original, with the same cname.
        const subset = b.ssrcs.every(
          (s) => orig.has(s.ssrc) && orig.get(s.ssrc).params.cname === s.params.cname,
        );
        const groups = b.ssrcGroups.every((g) =>
          a.ssrcGroups.some((h) => JSON.stringify(h) === JSON.stringify(g)),
        );
        if (!subset || !groups || b.ssrcs.length > 2) return;
        const keep = new Set(b.ssrcs.map((s) => s.ssrc));
        const cnameOnly = (s) => ({ ssrc: s.ssrc, params: { cname: s.params.cname } });
        a.ssrcs = a.ssrcs.filter((s) => keep.has(s.ssrc)).map(cnameOnly);
        b.ssrcs = b.ssrcs.map(cnameOnly);
        a.ssrcGroups = b.ssrcGroups;
      }),
  },
  {
    name: 'stanza-no-simulcast',
    dir: 'both',
    why: 'StanzaJS has no rid / simulcast elements',
    apply: (o, r) =>
      eachMedia(o, r, (a, b) => {
        if (!a.rids || !b.rids) return;
        a.rids = b.rids = [];
        a.simulcast = b.simulcast = null;
      }),
  },
  {
    name: 'stanza-no-max-message-size',
    dir: 'both',
    why: "StanzaJS's XEP-0343 element has no max-message-size",
    apply: (o, r) =>
      eachMedia(o, r, (a, b) => {
        if (a.kind === 'application' && b.kind === 'application') {
          a.maxMessageSize = b.maxMessageSize = null;
        }
      }),
  },
  {
    name: 'stanza-no-end-of-candidates',
    dir: 'both',
    why: "StanzaJS's SDP export never writes a=end-of-candidates (Firefox's)",
    apply: (o, r) =>
      eachMedia(o, r, (a, b) => {
        if (live(a) && live(b)) a.endOfCandidates = b.endOfCandidates = false;
      }),
  },
  {
    name: 'stanza-bundle-only-transport-dropped',
    dir: 'stanza->ours',
    why: "StanzaJS's SDP import takes Firefox's bundle-only m-lines (port 0 + a=bundle-only) for rejected ones and sends their contents without ICE/DTLS; read by us they carry no transport of their own (the BUNDLE group's transport still applies)",
    apply: (o, r) =>
      eachMedia(o, r, (a, b) => {
        if (a.bundleOnly && live(b) && b.ice.ufrag === null && b.dtls.fingerprints.length === 0) {
          b.ice = clone(a.ice);
          b.dtls = clone(a.dtls);
        }
      }),
  },
  {
    name: 'stanza-no-bundle-only',
    dir: 'both',
    why: 'StanzaJS has no bundle-only notion: Firefox max-bundle m-lines (port 0 + a=bundle-only) come out as ordinary port-9 m-lines',
    apply: (o, r) =>
      eachMedia(o, r, (a, b) => {
        if (live(a) && live(b)) a.bundleOnly = b.bundleOnly = false;
      }),
  },
  {
    name: 'stanza-keyless-fmtp-needs-name',
    dir: 'ours->stanza',
    why: "we write a key-less fmtp item (RED's 111/111, telephone-event's 0-15) as <parameter value='0-15'/> (what Conversations requires, Jitsi reads); StanzaJS's parameterMap keys it by the missing name and writes a=fmtp:101 undefined=0-15",
    apply: (o, r) =>
      eachMedia(o, r, (a, b) => {
        for (const c of b.codecs ?? []) {
          const orig = a.codecs?.find((x) => x.pt === c.pt);
          if (!orig) continue;
          c.fmtp = c.fmtp
            .map((p) => {
              const bare = p.startsWith('undefined=') ? p.slice('undefined='.length) : null;
              return bare !== null && !bare.includes('=') && orig.fmtp.includes(bare) ? bare : p;
            })
            .sort();
        }
      }),
  },
];

const used = new Map(EXCEPTIONS.map((e) => [e.name, new Set()]));

/** Compares semantics, removing named divergences; returns the remaining differences. */
function compare(origSdp, resultSdp, dir, vectorName) {
  const o = parseSdp(origSdp);
  const r = parseSdp(resultSdp);
  assert.equal(r.media.length, o.media.length, 'number of m-lines');
  let remaining = diff(o, r);
  for (const e of EXCEPTIONS) {
    if (e.dir !== 'both' && e.dir !== dir) continue;
    e.apply(o, r);
    const now = diff(o, r);
    if (now.length < remaining.length) used.get(e.name).add(`${dir} ${vectorName}`);
    remaining = now;
  }
  return remaining;
}

// ---------------------------------------------------------------------------------------------
// StanzaJS sides.
function stanzaXmlToSdp(jingleXml, role) {
  const iq = registry.import(JXT.parse(`<iq xmlns='jabber:client' type='set' id='t'>${jingleXml}</iq>`));
  assert.ok(iq?.jingle, 'StanzaJS parsed a <jingle/> payload');
  assert.ok(iq.jingle.contents?.length, 'StanzaJS found contents');
  return Intermediate.exportToSDP(StanzaSdp.convertRequestToIntermediate(iq.jingle, role));
}

function stanzaSdpToXml(sdp, v) {
  const o = jingleOptions(v);
  const req = StanzaSdp.convertIntermediateToRequest(Intermediate.importFromSDP(sdp), v.role, NS_ICE_UDP);
  const iq = registry.export('iq', {
    type: 'set',
    id: 't',
    jingle: { action: o.action, sid: o.sid, initiator: o.initiator, responder: o.responder, ...req },
  });
  const jingle = iq.children.find((c) => typeof c !== 'string' && c.name === 'jingle');
  assert.ok(jingle, 'StanzaJS exported a <jingle/> element');
  return jingle.toString();
}

// ---------------------------------------------------------------------------------------------
const vectors = loadVectors();
let sdpMap;

before(async () => {
  sdpMap = await loadSdpMap();
});

test('there are browser vectors to check', () => {
  assert.ok(vectors.length >= 20, `only ${vectors.length} vectors`);
});

for (const v of vectors) {
  test(`ours -> StanzaJS: ${v.name}`, () => {
    const xml = sdpMap.sdpToJingle(v.sdp, jingleOptions(v));
    const sdp = stanzaXmlToSdp(xml, v.role);
    assert.deepEqual(compare(v.sdp, sdp, 'ours->stanza', v.name), []);
  });

  test(`StanzaJS -> ours: ${v.name}`, () => {
    const xml = stanzaSdpToXml(v.sdp, v);
    const sdp = sdpMap.jingleToSdp(xml, { type: v.type, from: v.role });
    assert.deepEqual(compare(v.sdp, sdp, 'stanza->ours', v.name), []);
  });
}

// ---------------------------------------------------------------------------------------------
// Issue 11 regressions, one per item, with StanzaJS as the independent other side.
const directionsOf = (sdp) => parseSdp(sdp).media.filter(live).map((m) => `${m.mid} ${m.direction}`);

test('11.1 an answer is the responder\'s SDP without `from` (StanzaJS reads the same directions)', () => {
  const answers = vectors.filter((v) => v.type === 'answer' && /a=(recv|send)only/.test(v.sdp));
  assert.ok(answers.length >= 2, 'one-way answers among the vectors');
  for (const v of answers) {
    const { from, ...options } = jingleOptions(v);
    assert.equal(from, 'responder');
    const xml = sdpMap.sdpToJingle(v.sdp, options);
    assert.deepEqual(directionsOf(stanzaXmlToSdp(xml, 'responder')), directionsOf(v.sdp), v.name);
  }
});

test('11.2 StanzaJS FID groups keep retransmission: the RTX ssrc gets the primary cname', () => {
  let groups = 0;
  for (const v of vectors.filter((x) => /a=ssrc-group:FID /.test(x.sdp))) {
    const xml = stanzaSdpToXml(v.sdp, v);
    const sdp = sdpMap.jingleToSdp(xml, { type: v.type, from: v.role });
    for (const m of parseSdp(sdp).media.filter(live)) {
      for (const g of m.ssrcGroups?.filter((x) => x.semantics === 'FID') ?? []) {
        // StanzaJS describes only the primary ssrc; the group names the RTX one too
        assert.ok(!new RegExp(`ssrc='${g.ssrcs[1]}'><parameter`).test(xml), `${v.name}: StanzaJS described it`);
        const [primary, rtx] = g.ssrcs.map((ssrc) => m.ssrcs.find((s) => s.ssrc === ssrc));
        assert.ok(primary && rtx, `${v.name}: both ssrcs of FID ${g.ssrcs} described`);
        assert.equal(rtx.params.cname, primary.params.cname, v.name);
        groups += 1;
      }
    }
  }
  assert.ok(groups >= 10, `only ${groups} FID groups seen`);
});

test('11.3 simulcast: named <rid>/<simulcast> elements in <description> that any XML reader finds', () => {
  const NS_RTP = 'urn:xmpp:jingle:apps:rtp:1';
  const NS_SDP = 'urn:xmpp:jingle-focus:sdp:0';
  const simulcast = vectors.filter((v) => /^a=simulcast:/m.test(v.sdp));
  assert.ok(simulcast.length >= 2, 'simulcast vectors');
  for (const v of simulcast) {
    // StanzaJS's generic XML parser, not its Jingle definitions (which know no simulcast)
    const jingle = JXT.parse(sdpMap.sdpToJingle(v.sdp, jingleOptions(v)));
    const found = [];
    for (const content of jingle.getChildren('content')) {
      const d = content.getChild('description', NS_RTP);
      for (const rid of d?.getChildren('rid', NS_SDP) ?? []) {
        const params = rid.getChildren('parameter', NS_SDP).map((p) => `${p.attributes.name}=${p.attributes.value}`);
        found.push(`rid:${rid.attributes.id} ${rid.attributes.direction}${params.length ? ` ${params.join(';')}` : ''}`);
      }
      const sim = d?.getChild('simulcast', NS_SDP);
      if (sim) found.push(`simulcast:${sim.attributes.send ? `send ${sim.attributes.send}` : `recv ${sim.attributes.recv}`}`);
    }
    const lines = v.sdp.split(/\r\n/).filter((l) => /^a=(rid|simulcast):/.test(l)).map((l) => l.slice(2));
    assert.deepEqual(found, lines, v.name);
  }
});

test('11.4 what StanzaJS sends is complete; the same without ICE credentials is refused by name', () => {
  for (const v of vectors) {
    const xml = stanzaSdpToXml(v.sdp, v);
    sdpMap.jingleToSdp(xml, { type: v.type, from: v.role }); // complete: no error
    const [, mid] = xml.match(/<content [^>]*name="([^"]+)"/) ?? xml.match(/<content [^>]*name='([^']+)'/);
    // the first content's transport without its pwd
    const broken = xml.replace(/(<transport [^>]*?) pwd=(["'])[^"']*\2/, '$1');
    assert.notEqual(broken, xml, v.name);
    assert.throws(() => sdpMap.jingleToSdp(broken, { type: v.type, from: v.role }),
      { message: `<content name='${mid}'>: <transport> lacks attribute 'pwd'` }, v.name);
  }
  // an SDP offer without ICE credentials does not become a session-initiate either
  const v = vectors.find((x) => x.name === 'chromium-156-audio-offer');
  const noIce = v.sdp.replace(/^a=ice-(ufrag|pwd):.*\r\n/gm, '');
  assert.throws(() => sdpMap.sdpToJingle(noIce, jingleOptions(v)), /m-line 1 \(mid '0'\) has no a=ice-ufrag/);
});

test('11.5 a rejected m-line (port 0) stays rejected for StanzaJS, which knows no marker of ours', () => {
  const rejecting = vectors.filter((v) => v.type === 'answer' && parseSdp(v.sdp).media.some((m) => m.rejected));
  assert.ok(rejecting.length >= 2, 'answers with a rejected m-line');
  for (const v of rejecting) {
    const xml = sdpMap.sdpToJingle(v.sdp, jingleOptions(v));
    const ours = parseSdp(v.sdp).media;
    const theirs = parseSdp(stanzaXmlToSdp(xml, v.role)).media;
    assert.deepEqual(theirs.map((m) => m.rejected), ours.map((m) => m.rejected), v.name);
    // and our marker is still there for us
    assert.match(xml, /<media xmlns='urn:xmpp:jingle-focus:sdp:0'[^>]* rejected='true'/, v.name);
  }
});

test('11.6 key-less fmtp (RED 111/111): StanzaJS\'s name form and Conversations\' value form read the same', () => {
  const v = vectors.find((x) => x.name === 'chromium-156-audio-offer');
  assert.match(v.sdp, /^a=fmtp:63 111\/111\r$/m);
  const stanzaXml = stanzaSdpToXml(v.sdp, v);
  assert.match(stanzaXml, /<parameter name="111\/111"\/>/, 'StanzaJS writes the item as a name');
  const conversationsXml = stanzaXml.replace('<parameter name="111/111"/>', '<parameter value="111/111"/>');
  for (const xml of [stanzaXml, conversationsXml]) {
    const red = parseSdp(sdpMap.jingleToSdp(xml, { type: 'offer' })).media[0].codecs.find((c) => c.pt === 63);
    assert.deepEqual(red.fmtp, ['111/111']);
  }
  // ours: the value form (what Conversations requires)
  assert.match(sdpMap.sdpToJingle(v.sdp, jingleOptions(v)), /<payload-type id='63' name='red'[^>]*><parameter value='111\/111'\/>/);
});

// Runs after the per-vector tests (node:test runs top-level tests in order).
test('every named divergence is still real (needed by at least one vector)', () => {
  const unused = EXCEPTIONS.filter((e) => used.get(e.name).size === 0).map((e) => e.name);
  assert.deepEqual(unused, [], 'exceptions no longer needed: delete them');
});

after(() => {
  // A summary for the log: each divergence and how many vector checks needed it.
  const lines = EXCEPTIONS.map((e) => `  ${e.name} (${e.dir}): ${used.get(e.name).size} — ${e.why}`);
  console.log(`StanzaJS interop divergences:\n${lines.join('\n')}`);
});
