// The golden browser vectors (sdp-map/tests/vectors, made by web/tools/gen-vectors.js) and the
// sdp-map wasm for node tests.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');
export const webRoot = resolve(here, '../..');
export const vectorsDir = join(repoRoot, 'sdp-map/tests/vectors');

/**
 * Every vector: {file, name, sdp, type: 'offer'|'answer', role: 'initiator'|'responder',
 * action}. The offerer is taken as the Jingle initiator.
 */
export function loadVectors() {
  return readdirSync(vectorsDir)
    .filter((f) => f.endsWith('.sdp'))
    .sort()
    .map((file) => {
      const type = file.endsWith('-offer.sdp') ? 'offer' : 'answer';
      return {
        file,
        name: file.replace(/\.sdp$/, ''),
        sdp: readFileSync(join(vectorsDir, file), 'utf8'),
        type,
        role: type === 'offer' ? 'initiator' : 'responder',
        action: type === 'offer' ? 'session-initiate' : 'session-accept',
      };
    });
}

/** Jingle options for a vector: fixed JIDs and sid, SDP author = initiator for offers. */
export function jingleOptions(v) {
  return {
    action: v.action,
    sid: 'vector-sid',
    initiator: 'romeo@example.net/orchard',
    responder: 'juliet@example.com/balcony',
    from: v.role,
  };
}

/** Runs web/tools/build-wasm.sh (idempotent; a cargo no-op when up to date). */
export function buildWasm() {
  const r = spawnSync('bash', [join(webRoot, 'tools/build-wasm.sh')], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) {
    throw new Error(`build-wasm.sh failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** The wasm translator in node (builds it first when needed): synchronous exports. */
export async function loadSdpMap() {
  buildWasm();
  const { initSdpMap } = await import(join(webRoot, 'sdp-map.js'));
  return initSdpMap();
}
