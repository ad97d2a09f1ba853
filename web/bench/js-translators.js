#!/usr/bin/env node
// Microseconds per translation of every golden browser vector (sdp-map/tests/vectors) by the
// npm translators, both directions, in node:
//
//   sdp-jingle-json 3   to-jingle: toOutgoingJSON{Offer,Answer}(sdp) -> Jingle JSON
//                       to-sdp:    toIncomingSDP{Offer,Answer}(json)  (JSON made beforehand)
//   stanza 12 (JSON)    to-jingle: importFromSDP + convertIntermediateToRequest
//                       to-sdp:    convertRequestToIntermediate + exportToSDP
//   stanza 12 (XML)     the same plus its JXT XML layer: export + toString / parse + import,
//                       i.e. SDP text <-> <jingle/> text, what sdp-map does
//   sdp-map wasm        sdpToJingle / jingleToSdp from web/sdp-map.js in the same V8
//                       (run web/tools/build-wasm.sh first; skipped with a note if absent)
//
// Each cell: warm-up, then 5 timed batches; the median batch gives µs per call. Prints one JSON
// document to stdout (also written to --out FILE): {meta, results: [{vector, translator,
// direction, us, calls, error?}]}; the Rust criterion bench and a combining script compare it.
//
//   node web/bench/js-translators.js [--time-ms 250] [--filter SUBSTRING] [--out FILE]

import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadVectors, jingleOptions, webRoot } from '../test/lib/vectors.js';

const require = createRequire(import.meta.url);
const SJJ = require('sdp-jingle-json');
const stanza = require('stanza');
const ProtocolModule = require('stanza/protocol');
const Intermediate = require('stanza/jingle/sdp/Intermediate');
const StanzaSdp = require('stanza/jingle/sdp/Protocol');

const { values: opts } = parseArgs({
  options: {
    'time-ms': { type: 'string', default: '250' },
    filter: { type: 'string' },
    out: { type: 'string' },
  },
});
const cellMs = Number(opts['time-ms']);

const { JXT } = stanza;
const registry = new JXT.Registry();
registry.define(ProtocolModule.default ?? ProtocolModule);
const NS_ICE_UDP = 'urn:xmpp:jingle:transports:ice-udp:1';

let sink = 0; // keeps results alive
const consume = (x) => {
  sink += typeof x === 'string' ? x.length : x ? 1 : 0;
};

/** Median µs per call of fn over 5 batches after a warm-up. */
function measure(fn) {
  const now = () => Number(process.hrtime.bigint()) / 1e3; // µs
  // Warm-up and calibration: find a batch size taking ~cellMs/10.
  let n = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < n; i++) consume(fn());
    const dt = now() - t0;
    if (dt > (cellMs * 1000) / 10 || n > 1e7) break;
    n *= 2;
  }
  const perBatch = [];
  let calls = 0;
  for (let b = 0; b < 5; b++) {
    const t0 = now();
    for (let i = 0; i < n; i++) consume(fn());
    perBatch.push((now() - t0) / n);
    calls += n;
  }
  perBatch.sort((a, b) => a - b);
  return { us: Number(perBatch[2].toFixed(3)), calls };
}

async function loadWasm() {
  if (!existsSync(join(webRoot, 'pkg/sdp_map_bg.wasm'))) return null;
  const { initSdpMap } = await import(join(webRoot, 'sdp-map.js'));
  return initSdpMap();
}

function stanzaJingle(sdp, v) {
  const o = jingleOptions(v);
  return {
    action: o.action,
    sid: o.sid,
    initiator: o.initiator,
    responder: o.responder,
    ...StanzaSdp.convertIntermediateToRequest(Intermediate.importFromSDP(sdp), v.role, NS_ICE_UDP),
  };
}

async function main() {
  const wasm = await loadWasm();
  const vectors = loadVectors().filter((v) => !opts.filter || v.name.includes(opts.filter));
  const results = [];

  for (const v of vectors) {
    const offer = v.type === 'offer';
    // Inputs for the to-sdp direction, each made by the translator under test.
    const sjjJson = offer ? SJJ.toOutgoingJSONOffer(v.sdp) : SJJ.toOutgoingJSONAnswer(v.sdp);
    const stJson = stanzaJingle(v.sdp, v);
    const stXml = registry.export('iq', { type: 'set', id: 'b', jingle: stJson }).toString();

    const cells = [
      ['sdp-jingle-json', 'to-jingle', () =>
        offer ? SJJ.toOutgoingJSONOffer(v.sdp) : SJJ.toOutgoingJSONAnswer(v.sdp)],
      ['sdp-jingle-json', 'to-sdp', () =>
        offer ? SJJ.toIncomingSDPOffer(sjjJson) : SJJ.toIncomingSDPAnswer(sjjJson)],
      ['stanza-json', 'to-jingle', () => stanzaJingle(v.sdp, v)],
      ['stanza-json', 'to-sdp', () =>
        Intermediate.exportToSDP(StanzaSdp.convertRequestToIntermediate(stJson, v.role))],
      ['stanza-xml', 'to-jingle', () =>
        registry.export('iq', { type: 'set', id: 'b', jingle: stanzaJingle(v.sdp, v) }).toString()],
      ['stanza-xml', 'to-sdp', () => {
        const iq = registry.import(JXT.parse(stXml));
        return Intermediate.exportToSDP(StanzaSdp.convertRequestToIntermediate(iq.jingle, v.role));
      }],
    ];
    if (wasm) {
      const o = jingleOptions(v);
      const xml = wasm.sdpToJingle(v.sdp, o);
      const to = { type: v.type, from: v.role };
      cells.push(['sdp-map-wasm', 'to-jingle', () => wasm.sdpToJingle(v.sdp, o)]);
      cells.push(['sdp-map-wasm', 'to-sdp', () => wasm.jingleToSdp(xml, to)]);
    }

    for (const [translator, direction, fn] of cells) {
      const row = { vector: v.name, bytes: v.sdp.length, translator, direction };
      try {
        consume(fn()); // must work once before it is timed
        Object.assign(row, measure(fn));
      } catch (e) {
        row.error = String(e?.message ?? e).split('\n')[0];
      }
      results.push(row);
      process.stderr.write(
        `${v.name} ${translator} ${direction}: ${row.error ? `error ${row.error}` : `${row.us} µs`}\n`,
      );
    }
  }

  const doc = {
    meta: {
      tool: 'web/bench/js-translators.js',
      node: process.version,
      date: new Date().toISOString(),
      cellMs,
      versions: {
        'sdp-jingle-json': require('sdp-jingle-json/package.json').version,
        stanza: require('stanza/package.json').version,
      },
      wasm: !!wasm,
      sink,
    },
    results,
  };
  const text = JSON.stringify(doc, null, 2);
  if (opts.out) writeFileSync(opts.out, text + '\n');
  console.log(text);
}

await main();
