#!/usr/bin/env node
// sdp-map (Rust, native) against the npm translators, per golden browser vector, both
// directions, in one session:
//
//   1. builds the wasm (web/tools/build-wasm.sh; prints its size),
//   2. runs the criterion bench `cargo bench -p sdp-map --bench translate` (bencher output),
//   3. runs web/bench/js-translators.js (sdp-jingle-json, StanzaJS JSON and XML, sdp-map wasm),
//   4. prints a table: Rust µs, the fastest JS translator and its µs, the ratio, and the wasm µs,
//      then the goals (10x the fastest JS translator, < 50 µs for the BUNDLE audio+video+data
//      offers, wasm < 300 KB).
//
// "Fastest JS translator" is the fastest of sdp-jingle-json, stanza-json and stanza-xml for that
// vector and direction; the JSON ones do no XML at all (sdp-map reads and writes XML text).
//
//   node web/bench/sdp-compare.js [--filter SUBSTRING] [--time-ms 250] [--rust-time-s 1]
//                                 [--skip-rust] [--json FILE]
//
// --skip-rust reads the last criterion results (target/criterion/*/*/new/estimates.json) instead
// of running the bench. The machine is shared: run it when it is quiet, and read ratios from
// one run only.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, webRoot } from '../test/lib/vectors.js';

const { values: opts } = parseArgs({
  options: {
    filter: { type: 'string' },
    'time-ms': { type: 'string', default: '250' },
    'rust-time-s': { type: 'string', default: '1' },
    'skip-rust': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});

const JS = ['sdp-jingle-json', 'stanza-json', 'stanza-xml'];
const DIRS = [
  ['to-jingle', 'sdp_to_jingle'],
  ['to-sdp', 'jingle_to_sdp'],
];
const GOAL_RATIO = 10;
const GOAL_US = 50;
const GOAL_WASM_BYTES = 300_000;
const BUNDLE_AVD = /audio-video-data-offer$/;

function run(cmd, args, what) {
  process.stderr.write(`sdp-compare: ${what}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) {
    throw new Error(`${what} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

function wasmSize() {
  run('bash', [join(webRoot, 'tools/build-wasm.sh')], 'wasm build');
  const file = join(webRoot, 'pkg/sdp_map_bg.wasm');
  return existsSync(file) ? statSync(file).size : null;
}

/** Map "sdp_to_jingle/<vector>" -> µs, from a fresh bencher-format criterion run. */
function rustBench() {
  const args = ['bench', '-q', '-p', 'sdp-map', '--bench', 'translate', '--', '--output-format', 'bencher'];
  const t = Number(opts['rust-time-s']);
  if (t > 0) args.push('--measurement-time', String(t), '--warm-up-time', String(Math.max(0.1, t / 3)));
  if (opts.filter) args.push(opts.filter);
  const out = run('cargo', args, 'criterion bench');
  const us = new Map();
  for (const m of out.matchAll(/^test (\S+) \.\.\. bench:\s+([\d,]+) ns\/iter/gm)) {
    us.set(m[1], Number(m[2].replace(/,/g, '')) / 1000);
  }
  if (us.size === 0) throw new Error(`no bencher lines in the criterion output:\n${out}`);
  return us;
}

/** The same map from the last criterion run's estimates (median); criterion keeps each
 * benchmark "group/name" under target/criterion/group_name/. */
function rustEstimates() {
  const us = new Map();
  const root = join(repoRoot, 'target/criterion');
  const dirs = existsSync(root) ? readdirSync(root) : [];
  for (const [, group] of DIRS) {
    for (const dir of dirs.filter((d) => d.startsWith(`${group}_`))) {
      const name = dir.slice(group.length + 1);
      const f = join(root, dir, 'new/estimates.json');
      if (!existsSync(f) || (opts.filter && !name.includes(opts.filter))) continue;
      us.set(`${group}/${name}`, JSON.parse(readFileSync(f, 'utf8')).median.point_estimate / 1000);
    }
  }
  if (us.size === 0) throw new Error('no criterion results under target/criterion: run without --skip-rust');
  return us;
}

function jsBench() {
  const out = join(mkdtempSync(join(tmpdir(), 'sdp-compare-')), 'js.json');
  const args = [join(webRoot, 'bench/js-translators.js'), '--time-ms', opts['time-ms'], '--out', out];
  if (opts.filter) args.push('--filter', opts.filter);
  run(process.execPath, args, 'JS translators');
  return JSON.parse(readFileSync(out, 'utf8'));
}

const fmt = (x, d = 1) => (x == null || Number.isNaN(x) ? '-' : x.toFixed(d));
const pad = (s, n, left = false) => (left ? String(s).padEnd(n) : String(s).padStart(n));
const geomean = (xs) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);

function main() {
  const wasmBytes = wasmSize();
  const rust = opts['skip-rust'] ? rustEstimates() : rustBench();
  const js = jsBench();

  const cell = (vector, translator, direction) =>
    js.results.find((r) => r.vector === vector && r.translator === translator && r.direction === direction && !r.error);
  const vectors = [...new Set(js.results.map((r) => r.vector))];
  const rows = [];
  for (const vector of vectors) {
    const row = { vector };
    for (const [direction, group] of DIRS) {
      const fastest = JS.map((t) => cell(vector, t, direction))
        .filter(Boolean)
        .sort((a, b) => a.us - b.us)[0];
      const r = rust.get(`${group}/${vector}`);
      row[direction] = {
        rustUs: r ?? null,
        jsTranslator: fastest?.translator ?? null,
        jsUs: fastest?.us ?? null,
        ratio: r && fastest ? fastest.us / r : null,
        wasmUs: cell(vector, 'sdp-map-wasm', direction)?.us ?? null,
      };
    }
    rows.push(row);
  }

  const w = Math.max(6, ...vectors.map((v) => v.length));
  const head =
    `${pad('vector', w, true)} | ` +
    DIRS.map(([d]) => `${pad(`${d}: rust µs`, 16)} ${pad('fastest JS', 16)} ${pad('JS µs', 8)} ${pad('ratio', 6)} ${pad('wasm µs', 8)}`).join(' | ');
  console.log(head);
  console.log('-'.repeat(head.length));
  for (const row of rows) {
    console.log(
      `${pad(row.vector, w, true)} | ` +
        DIRS.map(([d]) => {
          const c = row[d];
          return `${pad(fmt(c.rustUs), 16)} ${pad(c.jsTranslator ?? '-', 16)} ${pad(fmt(c.jsUs), 8)} ${pad(c.ratio ? `${fmt(c.ratio)}x` : '-', 6)} ${pad(fmt(c.wasmUs), 8)}`;
        }).join(' | '),
    );
  }

  console.log('');
  const summary = {};
  for (const [d] of DIRS) {
    const ratios = rows.map((r) => r[d].ratio).filter((x) => x);
    const below = rows.filter((r) => r[d].ratio && r[d].ratio < GOAL_RATIO).map((r) => r.vector);
    summary[d] = {
      geomeanRatio: ratios.length ? geomean(ratios) : null,
      minRatio: ratios.length ? Math.min(...ratios) : null,
      belowGoal: below,
    };
    const list = below.length <= 8 ? `: ${below.join(', ') || 'none'}` : '';
    console.log(
      `${d}: ratio Rust native vs fastest JS: geometric mean ${fmt(summary[d].geomeanRatio)}x, ` +
        `min ${fmt(summary[d].minRatio)}x, max ${fmt(Math.max(...ratios))}x; ` +
        `${below.length} of ${ratios.length} vectors below ${GOAL_RATIO}x${list}`,
    );
  }
  const avd = rows.filter((r) => BUNDLE_AVD.test(r.vector));
  for (const r of avd) {
    const ok = DIRS.every(([d]) => r[d].rustUs != null && r[d].rustUs < GOAL_US);
    console.log(
      `BUNDLE audio+video+data offer ${r.vector}: to-jingle ${fmt(r['to-jingle'].rustUs)} µs, ` +
        `to-sdp ${fmt(r['to-sdp'].rustUs)} µs (goal < ${GOAL_US} µs each: ${ok ? 'met' : 'MISSED'})`,
    );
  }
  console.log(
    `wasm: web/pkg/sdp_map_bg.wasm ${wasmBytes ?? '?'} bytes (${wasmBytes ? (wasmBytes / 1024).toFixed(0) : '?'} KiB; ` +
      `goal < ${GOAL_WASM_BYTES} bytes: ${wasmBytes != null && wasmBytes < GOAL_WASM_BYTES ? 'met' : 'MISSED'})`,
  );

  if (opts.json) {
    writeFileSync(
      opts.json,
      JSON.stringify({ meta: { date: new Date().toISOString(), js: js.meta, wasmBytes }, rows, summary }, null, 2) + '\n',
    );
  }
}

main();
