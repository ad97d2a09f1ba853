// Starts `target/debug/testbed` (ejabberd + optional jingle-focus + optional web server on
// loopback) and drives it through its stdin command protocol. See testbed/src/main.rs.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { copyFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(repoRoot, 'target');
export const binaries = {
  testbed: path.join(targetDir, 'debug/testbed'),
  focus: process.env.JINGLE_FOCUS_BIN || path.join(targetDir, 'debug/jingle-focus'),
};

/**
 * Starts a testbed. Options: users (array of 'name:password' or names), focus (bool),
 * web (bool: serve web/), focusLog (tracing filter; default $FOCUS_LOG or 'info'), relayLoopback
 * (default true; false keeps loopback in TURN's turn_blacklist as in production, so TURN refuses
 * every client here). With $FOCUS_LOG_OUT set, stop() first copies the focus's log there (the
 * testbed's own copy goes with its temporary directory).
 * Resolves to { info, command(line) -> Promise<reply>, stop() -> Promise<void>, process }.
 */
export async function startTestbed({ users = [], focus = false, web = false,
  focusLog = process.env.FOCUS_LOG ?? 'info',
  relayLoopback = true, deadlineMs = 60000 } = {}) {
  for (const bin of [binaries.testbed, ...(focus ? [binaries.focus] : [])]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run cargo build --workspace first`);
  }
  const args = ['--json', '--focus-log', focusLog];
  for (const u of users) args.push('--user', u);
  if (focus) args.push('--focus', binaries.focus);
  if (web) args.push('--web', path.join(repoRoot, 'web'));
  if (!relayLoopback) args.push('--no-relay-loopback');
  const child = spawn(binaries.testbed, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  const events = [];
  let exited = null;
  lines.on('line', (line) => {
    let msg;
    try { msg = JSON.parse(line); } catch { return; }
    const w = waiting.shift();
    if (w) w.resolve(msg); else events.push(msg);
  });
  child.on('exit', (code) => {
    exited = code;
    for (const w of waiting.splice(0)) w.reject(new Error(`testbed exited with ${code}`));
  });
  const next = (ms) => new Promise((resolve, reject) => {
    if (events.length) return resolve(events.shift());
    if (exited !== null) return reject(new Error(`testbed exited with ${exited}`));
    const timer = setTimeout(() => reject(new Error(`testbed: no reply within ${ms} ms`)), ms);
    waiting.push({
      resolve: (m) => { clearTimeout(timer); resolve(m); },
      reject: (e) => { clearTimeout(timer); reject(e); },
    });
  });
  const info = await next(deadlineMs);
  if (info.event !== 'ready') throw new Error(`testbed: unexpected ${JSON.stringify(info)}`);
  return {
    info,
    process: child,
    /** Sends one command line; resolves to its JSON reply (throws on an error reply). */
    async command(line, ms = deadlineMs) {
      child.stdin.write(`${line}\n`);
      const reply = await next(ms);
      if (reply.event === 'error') throw new Error(`testbed ${line}: ${reply.error}`);
      return reply;
    },
    /** Stops everything the testbed started; resolves once it has exited. */
    async stop() {
      if (exited !== null) return;
      const logOut = process.env.FOCUS_LOG_OUT;
      if (logOut && info.focusLog) copyFileSync(info.focusLog, logOut);
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end('quit\n');
      await done;
    },
  };
}
