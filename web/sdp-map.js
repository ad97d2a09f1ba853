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
//
// A trap in the module (a `WebAssembly.RuntimeError`: a panic, which aborts, or running out of
// memory) leaves its instance in an unknown state: its stack pointer where the trap happened,
// its allocator perhaps half-way through a change. So the call that trapped throws an `Error`
// (the RuntimeError as its `cause`) and the next call runs on a fresh instance of the same
// compiled module. wasm-bindgen's glue keeps its instance in module-level variables, so each
// instance gets its own copy of the glue (imported with a query string), loaded ahead so that
// the switch is synchronous; if a second trap comes before the next copy is loaded, calls throw
// until it is, and `initSdpMap()` resolves when it is. A module that keeps trapping is given
// up after MAX_RESTARTS (each replaced instance stays in memory with its glue copy).

import init, * as firstGlue from './pkg/sdp_map.js';

const MAX_RESTARTS = 16;
const EXPORTS = ['sdpToJingle', 'jingleToSdp', 'candidateToTransportInfo', 'transportInfoToCandidates'];

/** Resolves to `api` once an instance answers calls (again, after a trap). */
let ready = null;
/** The synchronous exports handed out by initSdpMap; they call whichever instance is current. */
let api = null;
/** The compiled module, instantiated again after a trap. */
let compiled = null;
/** The glue whose instance answers calls; null after a trap until a fresh one takes over. */
let current = null;
/** A fresh copy of the glue, not yet instantiated (it takes over after a trap). */
let spare = null;
/** Resolves `ready` when a fresh instance takes over after the spare was late. */
let tookOver = null;
let copies = 0;
let restarts = 0;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function defaultSource() {
  if (!isNode) return new URL('./pkg/sdp_map_bg.wasm', import.meta.url);
  const { readFile } = await import('node:fs/promises');
  return readFile(new URL('./pkg/sdp_map_bg.wasm', import.meta.url));
}

/** A WebAssembly.Module from a URL, a Response, bytes or a Module. */
async function compile(source) {
  let s = source ?? (await defaultSource());
  if (s instanceof WebAssembly.Module) return s;
  if (typeof s === 'string' || s instanceof URL) s = await fetch(s);
  if (typeof Response === 'function' && s instanceof Response) {
    if (!s.ok) throw new Error(`sdp-map: fetching the wasm failed: ${s.status} ${s.statusText}`);
    if (typeof WebAssembly.compileStreaming === 'function'
      && s.headers.get('content-type') === 'application/wasm') {
      return WebAssembly.compileStreaming(s);
    }
    s = await s.arrayBuffer();
  }
  return WebAssembly.compile(s);
}

/** Loads a copy of the glue with module-level state of its own, as the next spare. */
function loadSpare() {
  copies += 1;
  return import(new URL(`./pkg/sdp_map.js?instance=${copies}`, import.meta.url).href)
    .then((glue) => {
      spare = glue;
      if (!current) takeOver(); // a trap came before the spare was there
    })
    .catch((e) => console.warn('sdp-map: no spare instance loaded', e));
}

/** The spare, instantiated, answers the calls from now on; another spare is loaded. */
function takeOver() {
  if (restarts >= MAX_RESTARTS || !spare) return;
  restarts += 1;
  const glue = spare;
  spare = null;
  glue.initSync({ module: compiled });
  current = glue;
  tookOver?.(api);
  tookOver = null;
  loadSpare();
}

/** After a trap: the instance that trapped answers nothing more. */
function restart() {
  current = null;
  takeOver();
  if (current) return;
  if (restarts >= MAX_RESTARTS) {
    ready = Promise.reject(new Error(`sdp-map: the translator trapped ${MAX_RESTARTS + 1} times and was given up`));
    ready.catch(() => {});
  } else {
    ready = new Promise((resolve) => { tookOver = resolve; });
  }
}

function call(name, args) {
  if (!current) {
    throw new Error(restarts >= MAX_RESTARTS
      ? `sdp-map: the translator trapped ${MAX_RESTARTS + 1} times and was given up`
      : 'sdp-map: the translator trapped and is being restarted (initSdpMap() resolves when it is back)');
  }
  try {
    return current[name](...args);
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    restart();
    throw new Error(`sdp-map: the translator trapped (${e.message}); ${current
      ? 'a fresh instance takes the next call' : 'it is being restarted'}`, { cause: e });
  }
}

/**
 * Load the wasm once. `source` may be a URL, a Response, bytes or a WebAssembly.Module;
 * by default the file next to the glue (fetched in browsers, read from disk in node).
 * After a trap it resolves once a fresh instance answers calls.
 * @returns {Promise<{sdpToJingle: Function, jingleToSdp: Function,
 *   candidateToTransportInfo: Function, transportInfoToCandidates: Function}>}
 */
export function initSdpMap(source) {
  if (!ready) {
    ready = (async () => {
      compiled = await compile(source);
      await init({ module_or_path: compiled });
      current = firstGlue;
      await loadSpare();
      api = Object.fromEntries(EXPORTS.map((name) => [name, (...args) => call(name, args)]));
      return api;
    })();
    ready.catch(() => { ready = null; }); // a failed load may be retried
  }
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

/**
 * For tests: makes the module trap after using `stackKib` KiB of its stack, as a panic deep in
 * a translation would. Throws the Error a trap gives; the next call runs on a fresh instance.
 */
export async function abortForTests(stackKib) {
  await initSdpMap();
  return call('abortForTests', [stackKib]);
}
