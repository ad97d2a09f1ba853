// Namespaces and the small DOM helpers the Jingle modules share (Strophe.js elements).

import { Strophe } from 'strophe.js';

export const NS = {
  JINGLE: 'urn:xmpp:jingle:1',
  JINGLE_ERRORS: 'urn:xmpp:jingle:errors:1',
  ICE_UDP: 'urn:xmpp:jingle:transports:ice-udp:1',
  RTP: 'urn:xmpp:jingle:apps:rtp:1',
  RTP_INFO: 'urn:xmpp:jingle:apps:rtp:info:1',
  JMI: 'urn:xmpp:jingle-message:0',
  HINTS: 'urn:xmpp:hints',
  CARBONS: 'urn:xmpp:carbons:2',
  FORWARD: 'urn:xmpp:forward:0',
  DELAY: 'urn:xmpp:delay',
  EXTDISCO: 'urn:xmpp:extdisco:2',
  STANZAS: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  DISCO_INFO: 'http://jabber.org/protocol/disco#info',
  RECEIPTS: 'urn:xmpp:receipts',
  /** XEP-0298 conference information (XEP-0521 marks the focus's sessions with it). */
  COIN: 'urn:xmpp:coin:1',
  /** XEP-0338's disco feature for BUNDLE (RFC 5888 grouping). */
  BUNDLE_FEATURE: 'urn:ietf:rfc:5888',
  /** XEP-0343's disco feature for WebRTC data channels. */
  DTLS_SCTP: 'urn:xmpp:jingle:transports:dtls-sctp:1',
  DATACHANNEL: 'urn:xmpp:jingle:apps:webrtc-datachannel:0',
};

/** The child elements of `el`, optionally only those named `name` in namespace `ns`. */
export function children(el, name, ns) {
  const out = [];
  for (const n of el?.childNodes ?? []) {
    if (n.nodeType !== 1) continue;
    if (name && n.nodeName !== name && n.localName !== name) continue;
    if (ns && n.namespaceURI !== ns && n.getAttribute('xmlns') !== ns) continue;
    out.push(n);
  }
  return out;
}

/** The first child element of `el` named `name` (in `ns`), or null. */
export const child = (el, name, ns) => children(el, name, ns)[0] ?? null;

/** `{condition, text}` of a `<reason/>` inside `el`, or null. */
export function readReason(el) {
  const reason = child(el, 'reason');
  if (!reason) return null;
  let condition = null;
  let text = null;
  for (const n of children(reason)) {
    if (n.nodeName === 'text') text = n.textContent;
    else condition ??= n.localName ?? n.nodeName;
  }
  return { condition: condition ?? 'general-error', text };
}

/** The root element of an XML text. */
export const parseXml = (xml) => Strophe.xmlHtmlNode(xml).documentElement;

/** A random hex id (session ids, message ids). */
export function randomId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Adds a stanza handler that runs `fn` for the stanzas `match` selects. Only those match, so
 * Strophe's own IQ fallback still answers the others; a throwing `fn` is logged, not fatal.
 */
export function addHandler(conn, match, fn) {
  const ref = conn.addHandler((s) => {
    try {
      fn(s);
    } catch (e) {
      console.error('jingle: handler failed', e);
    }
    return true;
  }, null, null, null);
  ref.isMatch = (s) => {
    try {
      return !!match(s);
    } catch {
      return false;
    }
  };
  return ref;
}

/** True if two JIDs are the same: node and domain compared without case, resource exactly. */
export function sameJid(a, b) {
  if (!a || !b) return false;
  const split = (j) => {
    const i = j.indexOf('/');
    return i < 0 ? [j.toLowerCase(), null] : [j.slice(0, i).toLowerCase(), j.slice(i + 1)];
  };
  const [ba, ra] = split(a);
  const [bb, rb] = split(b);
  return ba === bb && ra === rb;
}
