// The peer's session description kept as SDP media sections, for mid-call renegotiation.
//
// Jingle changes a session piecewise (content-add brings new contents, content-modify changes
// who sends), while RTCPeerConnection wants the whole remote description every time. So a
// call keeps the peer's sections and rebuilds the full remote offer or answer from them:
// existing sections in their first order (browsers refuse reordered m-lines), new ones
// appended, BUNDLE (if the peer uses it) listing every bundled mid, the direction of each section from the Jingle
// `senders` of its content, and the DTLS `setup` fitting the description's type. An ICE restart
// (new credentials in a transport-info) changes the ICE credentials of the sections concerned.

/** Parses SDP text into `{head: string[], sections: [{mid, kind, lines: string[]}]}`. */
export function splitSdp(sdp) {
  const lines = sdp.split(/\r?\n/).filter((l) => l !== '');
  const head = [];
  const sections = [];
  for (const line of lines) {
    if (line.startsWith('m=')) {
      sections.push({ mid: null, kind: line.slice(2).split(' ')[0], lines: [line] });
    } else if (sections.length) {
      const s = sections[sections.length - 1];
      s.lines.push(line);
      if (line.startsWith('a=mid:')) s.mid = line.slice(6).trim();
    } else {
      head.push(line);
    }
  }
  return { head, sections };
}

const DIRECTIONS = ['a=sendrecv', 'a=sendonly', 'a=recvonly', 'a=inactive'];

/** The mids a BUNDLE group would list: port 0 rejects a section, except with a=bundle-only. */
function bundledMids(sections) {
  return sections.filter((s) => s.mid !== null && (!/^m=\S+ 0 /.test(s.lines[0])
    || s.lines.includes('a=bundle-only'))).map((s) => s.mid);
}

/**
 * The SDP direction of `role`'s description (role: 'initiator' | 'responder') when
 * `senders` (Jingle: 'both' | 'initiator' | 'responder' | 'none') send.
 */
export function directionFor(senders, role) {
  const other = role === 'initiator' ? 'responder' : 'initiator';
  const sends = senders === 'both' || senders === role;
  const receives = senders === 'both' || senders === other;
  if (sends && receives) return 'sendrecv';
  if (sends) return 'sendonly';
  return receives ? 'recvonly' : 'inactive';
}

/** `senders` with `role`'s sending switched on or off. */
export function withSender(senders, role, on) {
  const other = role === 'initiator' ? 'responder' : 'initiator';
  const otherSends = senders === 'both' || senders === other;
  if (on) return otherSends ? 'both' : role;
  return otherSends ? other : 'none';
}

/** True if `role` sends under `senders`. */
export const sends = (senders, role) => senders === 'both' || senders === role;

function replaceAttr(lines, test, value) {
  const out = lines.filter((l) => !test(l));
  // Keep the attribute near where browsers put it: after the a=mid line if any.
  const at = out.findIndex((l) => l.startsWith('a=mid:'));
  out.splice(at < 0 ? out.length : at + 1, 0, value);
  return out;
}

/**
 * Builds full SDP from `head` and `sections`.
 * @param {object} parts `{head, sections}` as from splitSdp
 * @param {object} opts
 * @param {(mid: string) => string|null} opts.direction SDP direction per mid, null to keep
 * @param {string|null} opts.setup the `a=setup` value for every section, null to keep
 */
export function joinSdp({ head, sections }, { direction = () => null, setup = null } = {}) {
  const bundled = bundledMids(sections);
  // BUNDLE only if the peer uses it (a peer without it, e.g. Dino, has a transport per section).
  const bundle = head.some((l) => l.startsWith('a=group:BUNDLE'));
  const out = head.filter((l) => !l.startsWith('a=group:BUNDLE'));
  if (bundle && bundled.length) {
    const at = out.findIndex((l) => l.startsWith('t='));
    out.splice(at < 0 ? out.length : at + 1, 0, `a=group:BUNDLE ${bundled.join(' ')}`);
  }
  for (const s of sections) {
    let lines = s.lines;
    const dir = s.kind !== 'application' && s.mid !== null ? direction(s.mid) : null;
    if (dir) lines = replaceAttr(lines, (l) => DIRECTIONS.includes(l), `a=${dir}`);
    if (setup && lines.some((l) => l.startsWith('a=setup:'))) {
      lines = lines.map((l) => (l.startsWith('a=setup:') ? `a=setup:${setup}` : l));
    }
    out.push(...lines);
  }
  return `${out.join('\r\n')}\r\n`;
}

const extmapUri = (l) => /^a=extmap:\S+ (\S+)/.exec(l)?.[1] ?? null;

/**
 * The peer's `sections` fitted as an answer to our `offer` (SDP): its header extensions that
 * our offer lacks for that mid are left out (Firefox refuses an answer with any).
 */
export function fitToOffer(sections, offer) {
  const ours = new Map(splitSdp(offer).sections.map((s) => [s.mid,
    new Set(s.lines.map(extmapUri).filter(Boolean))]));
  return sections.map((s) => {
    const uris = ours.get(s.mid);
    return uris ? { ...s, lines: s.lines.filter((l) => !extmapUri(l) || uris.has(extmapUri(l))) }
      : s;
  });
}

/** `sections` with those of `extra` added, a section of the same mid replaced in place. */
export function mergeSections(sections, extra) {
  const out = [...sections];
  for (const s of extra) {
    const i = out.findIndex((x) => x.mid === s.mid);
    if (i >= 0) out[i] = s;
    else out.push(s);
  }
  return out;
}

/** The `a=setup` value of the first section that has one, or null. */
export function setupOf(sdp) {
  return /^a=setup:(\S+)/m.exec(sdp ?? '')?.[1] ?? null;
}

const iceAttr = (lines, key) => lines.find((l) => l.startsWith(`a=ice-${key}:`))
  ?.slice(`a=ice-${key}:`.length).trim() ?? null;

/** The ICE credentials `{ufrag, pwd}` of section `mid` (or of the session level), or null. */
export function iceCredentials({ head, sections }, mid) {
  const s = sections.find((x) => x.mid === mid);
  if (!s) return null;
  const ufrag = iceAttr(s.lines, 'ufrag') ?? iceAttr(head, 'ufrag');
  const pwd = iceAttr(s.lines, 'pwd') ?? iceAttr(head, 'pwd');
  return ufrag && pwd ? { ufrag, pwd } : null;
}

/**
 * The mids on the ICE transport of `mid`: with BUNDLE (as joinSdp writes it) every bundled
 * section, else `mid` alone.
 */
export function transportMids({ head, sections }, mid) {
  const bundled = head.some((l) => l.startsWith('a=group:BUNDLE')) ? bundledMids(sections) : [];
  return bundled.includes(mid) ? bundled : [mid];
}

/**
 * `parts` after an ICE restart of the transport of `mid`: the new `{ufrag, pwd}` in place of
 * the old ones in every section on that transport (and at the session level if there), and
 * the candidates of the old ICE generation taken out of those sections.
 */
export function withIceCredentials(parts, mid, { ufrag, pwd }) {
  const mids = transportMids(parts, mid);
  const swap = (l) => {
    if (l.startsWith('a=ice-ufrag:')) return `a=ice-ufrag:${ufrag}`;
    if (l.startsWith('a=ice-pwd:')) return `a=ice-pwd:${pwd}`;
    return l;
  };
  return {
    head: parts.head.map(swap),
    sections: parts.sections.map((s) => (mids.includes(s.mid) ? { ...s, lines: s.lines
      .filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates').map(swap) }
      : s)),
  };
}
