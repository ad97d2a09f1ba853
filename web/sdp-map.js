// sdp-map in the browser (and in node): the Rust translator compiled to WebAssembly.
//
// Build the wasm first: `bash web/tools/build-wasm.sh` (writes web/pkg/, git-ignored).
//
//   import { sdpToJingle, jingleToSdp } from './sdp-map.js';
//   const xml = await sdpToJingle(pc.localDescription.sdp,
//       { action: 'session-initiate', sid, initiator: myJid, responder: peerJid });
//   const sdp = await jingleToSdp(xml, { type: 'offer' });
//
// Options are those of the crate's wasm exports:
//   sdpToJingle(sdp, {action, sid, initiator, responder, from, creator, reason, reasonText})
//   jingleToSdp(xml, {type: 'offer'|'answer', from})
// Errors are thrown as `Error` with the translator's one-line message.
//
// The first call loads and instantiates the wasm once; `initSdpMap()` does that explicitly and
// resolves to the raw, synchronous exports (for hot loops and benchmarks).

import init, * as glue from './pkg/sdp_map.js';

let ready = null;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function defaultSource() {
  if (!isNode) return undefined; // the glue fetches pkg/sdp_map_bg.wasm next to itself
  const { readFile } = await import('node:fs/promises');
  return readFile(new URL('./pkg/sdp_map_bg.wasm', import.meta.url));
}

/**
 * Load the wasm once. `source` may be a URL, a Response, bytes or a WebAssembly.Module;
 * by default the file next to the glue (fetched in browsers, read from disk in node).
 * @returns {Promise<{sdpToJingle: Function, jingleToSdp: Function,
 *   candidateToTransportInfo: Function, transportInfoToCandidates: Function}>}
 */
export function initSdpMap(source) {
  ready ??= (async () => {
    await init({ module_or_path: source ?? (await defaultSource()) });
    return {
      sdpToJingle: glue.sdpToJingle,
      jingleToSdp: glue.jingleToSdp,
      candidateToTransportInfo: glue.candidateToTransportInfo,
      transportInfoToCandidates: glue.transportInfoToCandidates,
    };
  })();
  return ready;
}

/** SDP text -> one `<jingle/>` element as XML text. */
export async function sdpToJingle(sdp, options = {}) {
  return (await initSdpMap()).sdpToJingle(sdp, options);
}

/** `<jingle/>` XML text -> SDP text (CRLF line ends). */
export async function jingleToSdp(xml, options = {}) {
  return (await initSdpMap()).jingleToSdp(xml, options);
}

/** One `a=candidate:` line (trickle) -> a transport-info `<jingle/>` element. */
export async function candidateToTransportInfo(candidate, options = {}) {
  return (await initSdpMap()).candidateToTransportInfo(candidate, options);
}

/** transport-info `<jingle/>` -> [{mid, candidate, ufrag?, endOfCandidates}]. */
export async function transportInfoToCandidates(xml) {
  return (await initSdpMap()).transportInfoToCandidates(xml);
}
