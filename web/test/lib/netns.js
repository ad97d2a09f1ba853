// Lets Firefox gather ICE candidates inside the loopback-only network namespace the tests run in.
//
// Firefox never uses loopback addresses for ICE (media.peerconnection.ice.loopback does not
// change that in Firefox ESR 153), and gathers nothing at all without a default route. So the
// namespace's lo gets a TEST-NET-1 address (RFC 5737, never routed) and a default route through
// lo: Firefox then gathers host candidates on 192.0.2.10, which reach Chromium's 127.0.0.1
// candidates and ejabberd locally, and nothing outside (the namespace has no other link).
// Only done in a loopback-only network namespace (never the machine's), and undone afterwards
// so that later tests in the same namespace see loopback only again.
import { execFileSync } from 'node:child_process';

export const FIREFOX_ICE_ADDRESS = '192.0.2.10';

const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** The network links of this namespace other than lo (none in a loopback-only namespace). */
const otherLinks = () => ip('-o', 'link', 'show').split('\n').filter(Boolean)
  .map((l) => l.split(':')[1].trim()).filter((name) => name !== 'lo');

/**
 * Adds 192.0.2.10 to lo and a default route through it. Returns a function that removes
 * both (also run at process exit). Throws with the reason if the namespace is not
 * loopback-only or `ip` fails.
 */
export function addFirefoxIceAddress() {
  // Never touch a namespace with real links (the machine's own): only a loopback-only one.
  const links = otherLinks();
  if (links.length) {
    throw new Error(`not a loopback-only network namespace (links: ${links.join(', ')}): run `
      + "inside `unshare --net bash -c 'ip link set lo up && ...'` as root (see scripts/test)");
  }
  const routes = ip('route', 'show', 'default').trim();
  if (routes) throw new Error(`the namespace already has a default route: ${routes}`);
  const undo = [];
  const run = (add, del) => {
    try {
      ip(...add);
    } catch (e) {
      for (const u of undo.reverse()) ip(...u);
      throw new Error(`ip ${add.join(' ')} failed (root in the namespace needed): `
        + `${e.stderr?.toString().trim() || e.message}`);
    }
    undo.push(del);
  };
  run(['addr', 'add', `${FIREFOX_ICE_ADDRESS}/32`, 'dev', 'lo'],
    ['addr', 'del', `${FIREFOX_ICE_ADDRESS}/32`, 'dev', 'lo']);
  run(['route', 'add', 'default', 'dev', 'lo', 'src', FIREFOX_ICE_ADDRESS],
    ['route', 'del', 'default', 'dev', 'lo']);
  let done = false;
  const remove = () => {
    if (done) return;
    done = true;
    for (const u of undo.reverse()) {
      try { ip(...u); } catch { /* already gone */ }
    }
  };
  process.once('exit', remove);
  return remove;
}
