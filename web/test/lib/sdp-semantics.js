// SDP semantics for tests: parse SDP text into a plain, order-normalised object holding what a
// translator must keep (m-lines, codecs, header extensions, sources, simulcast, ICE, DTLS,
// SCTP, BUNDLE), so that two SDPs can be compared by meaning rather than by text.
//
// Session-level attributes that apply to every m-line (Firefox puts fingerprint, ice-options,
// direction there) are folded into each m-line, so where an attribute sits does not matter.

const DIRECTIONS = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

function splitLines(text) {
  return text.split(/\r?\n/).filter((l) => l.length > 0);
}

function attr(line) {
  // 'a=name:value' -> [name, value]; 'a=flag' -> [flag, null]
  const body = line.slice(2);
  const i = body.indexOf(':');
  return i < 0 ? [body, null] : [body.slice(0, i), body.slice(i + 1)];
}

function normFmtp(value) {
  // 'a=fmtp:PT k=v;k2=v2' params, order-insensitive; a value without '=' (red's '111/111')
  // is kept as it is.
  return value
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? p : `${p.slice(0, i).trim().toLowerCase()}=${p.slice(i + 1).trim()}`;
    })
    .sort();
}

/** Parses one `a=candidate:` value (without the `a=` / `candidate:` prefix) into fields. */
export function parseCandidate(value) {
  const v = value.startsWith('candidate:') ? value.slice(10) : value;
  const t = v.trim().split(/\s+/);
  const c = {
    foundation: t[0],
    component: Number(t[1]),
    protocol: t[2].toLowerCase(),
    priority: Number(t[3]),
    address: t[4],
    port: Number(t[5]),
    type: t[7],
  };
  for (let i = 8; i + 1 < t.length; i += 2) {
    const k = t[i];
    const val = t[i + 1];
    if (k === 'raddr') c.raddr = val;
    else if (k === 'rport') c.rport = Number(val);
    else if (k === 'tcptype') c.tcptype = val;
    else if (k === 'generation') c.generation = Number(val);
    else if (k === 'network-id') c.networkId = Number(val);
    else if (k === 'network-cost') c.networkCost = Number(val);
    else if (k === 'ufrag') c.ufrag = val;
    else (c.extensions ??= []).push(`${k} ${val}`);
  }
  return c;
}

/** The candidate fields every implementation carries (RFC 8839 grammar without extensions). */
export function candidateCore(c) {
  let s = `${c.foundation} ${c.component} ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}`;
  if (c.raddr !== undefined) s += ` raddr ${c.raddr} rport ${c.rport}`;
  if (c.tcptype !== undefined) s += ` tcptype ${c.tcptype}`;
  return s;
}

function candidateFull(c) {
  let s = candidateCore(c);
  if (c.generation !== undefined) s += ` generation ${c.generation}`;
  if (c.ufrag !== undefined) s += ` ufrag ${c.ufrag}`;
  if (c.networkId !== undefined) s += ` network-id ${c.networkId}`;
  if (c.networkCost !== undefined) s += ` network-cost ${c.networkCost}`;
  for (const e of c.extensions ?? []) s += ` ${e}`;
  return s;
}

/**
 * Parses SDP text into its semantics.
 * @returns {{session: object, media: object[]}}
 */
export function parseSdp(text) {
  const lines = splitLines(text);
  // extmapAllowMixed is only kept per RTP m-line (its effective value): Jingle carries it in
  // each RTP <description/> (XEP-0294), so a data-only session has nowhere to put it.
  const session = {
    groups: [],
    iceLite: false,
    bandwidth: [],
  };
  let sessionAllowMixed = false;
  const sessionAttrs = { fingerprints: [], iceOptions: [] };
  const media = [];
  let m = null;

  for (const line of lines) {
    const type = line[0];
    if (line[1] !== '=') throw new Error(`not an SDP line: ${JSON.stringify(line)}`);
    if (type === 'm') {
      const [kind, port, protocol, ...fmts] = line.slice(2).split(' ');
      m = {
        kind,
        port: Number(port.split('/')[0]),
        protocol: protocol.toUpperCase(),
        fmts,
        attrs: [],
        bandwidth: [],
      };
      media.push(m);
      continue;
    }
    if (!m) {
      if (type === 'b') session.bandwidth.push(line.slice(2));
      if (type !== 'a') continue;
      const [name, value] = attr(line);
      if (name === 'group') {
        const [semantics, ...mids] = value.split(' ');
        session.groups.push({ semantics, mids });
      } else if (name === 'extmap-allow-mixed') sessionAllowMixed = true;
      else if (name === 'ice-lite') session.iceLite = true;
      else if (name === 'fingerprint') sessionAttrs.fingerprints.push(value);
      else if (name === 'setup') sessionAttrs.setup = value;
      else if (name === 'ice-ufrag') sessionAttrs.ufrag = value;
      else if (name === 'ice-pwd') sessionAttrs.pwd = value;
      else if (name === 'ice-options') sessionAttrs.iceOptions.push(...value.split(' '));
      else if (DIRECTIONS.has(name)) sessionAttrs.direction = name;
      continue;
    }
    if (type === 'b') m.bandwidth.push(line.slice(2));
    if (type === 'a') m.attrs.push(attr(line));
  }

  return {
    session,
    media: media.map((raw) => mediaSemantics(raw, sessionAttrs, sessionAllowMixed)),
  };
}

function mediaSemantics(raw, sa, sessionAllowMixed) {
  const get = (n) => raw.attrs.filter(([k]) => k === n).map(([, v]) => v);
  const has = (n) => raw.attrs.some(([k]) => k === n);
  const bundleOnly = has('bundle-only');
  if (raw.port === 0 && !bundleOnly) {
    // A rejected m-line means only "this mid, this kind: no"; what else it carries is noise.
    return { kind: raw.kind, protocol: raw.protocol, mid: get('mid')[0] ?? null, rejected: true };
  }
  const out = {
    kind: raw.kind,
    protocol: raw.protocol,
    mid: get('mid')[0] ?? null,
    rejected: false,
    bundleOnly,
    direction:
      raw.attrs.map(([k]) => k).find((k) => DIRECTIONS.has(k)) ?? sa.direction ?? 'sendrecv',
    ice: {
      ufrag: get('ice-ufrag')[0] ?? sa.ufrag ?? null,
      pwd: get('ice-pwd')[0] ?? sa.pwd ?? null,
      options: [...new Set([...sa.iceOptions, ...get('ice-options').flatMap((v) => v.split(' '))])].sort(),
    },
    dtls: {
      fingerprints: (get('fingerprint').length ? get('fingerprint') : sa.fingerprints)
        .map((f) => {
          const [hash, value] = f.split(' ');
          return `${hash.toLowerCase()} ${value.toUpperCase()}`;
        })
        .sort(),
      setup: get('setup')[0] ?? sa.setup ?? null,
    },
    candidates: get('candidate').map((c) => candidateFull(parseCandidate(c))).sort(),
    endOfCandidates: has('end-of-candidates'),
    rtcpMux: has('rtcp-mux'),
    rtcpMuxOnly: has('rtcp-mux-only'),
    rtcpRsize: has('rtcp-rsize'),
    bandwidth: [...raw.bandwidth].sort(),
  };

  if (raw.kind === 'application') {
    out.sctpPort = get('sctp-port')[0] !== undefined ? Number(get('sctp-port')[0]) : null;
    out.maxMessageSize =
      get('max-message-size')[0] !== undefined ? Number(get('max-message-size')[0]) : null;
    // old-style sctpmap: 'a=sctpmap:5000 webrtc-datachannel 1024'
    const sctpmap = get('sctpmap')[0];
    if (sctpmap && out.sctpPort === null) out.sctpPort = Number(sctpmap.split(' ')[0]);
    out.fmts = raw.fmts.join(' ');
    return out;
  }

  // Codecs, by payload type.
  const codecs = new Map();
  for (const pt of raw.fmts) codecs.set(pt, { pt: Number(pt), fmtp: [], rtcpFb: [] });
  for (const v of get('rtpmap')) {
    const [pt, enc] = v.split(' ');
    const [name, clock, channels] = enc.split('/');
    const c = codecs.get(pt);
    if (!c) continue;
    c.name = name.toLowerCase();
    c.clock = Number(clock);
    c.channels = channels ? Number(channels) : 1;
  }
  for (const v of get('fmtp')) {
    const i = v.indexOf(' ');
    const c = codecs.get(v.slice(0, i));
    if (c) c.fmtp.push(...normFmtp(v.slice(i + 1)));
  }
  const wildcardFb = [];
  for (const v of get('rtcp-fb')) {
    const i = v.indexOf(' ');
    const pt = v.slice(0, i);
    const fb = v.slice(i + 1).trim();
    if (pt === '*') wildcardFb.push(fb);
    else codecs.get(pt)?.rtcpFb.push(fb);
  }
  for (const c of codecs.values()) {
    c.fmtp.sort();
    c.rtcpFb = [...new Set([...c.rtcpFb, ...wildcardFb])].sort();
  }
  out.extmapAllowMixed = sessionAllowMixed || has('extmap-allow-mixed');
  out.codecs = [...codecs.values()];
  out.codecOrder = raw.fmts.map(Number);

  out.extmaps = get('extmap')
    .map((v) => {
      const [idDir, uri, ...rest] = v.split(' ');
      const [id, dir] = idDir.split('/');
      return { id: Number(id), uri, direction: dir ?? 'sendrecv', attributes: rest.join(' ') };
    })
    .sort((a, b) => a.id - b.id);

  const ssrcs = new Map();
  for (const v of get('ssrc')) {
    const i = v.indexOf(' ');
    const ssrc = Number(v.slice(0, i));
    const rest = v.slice(i + 1);
    const j = rest.indexOf(':');
    const name = j < 0 ? rest : rest.slice(0, j);
    const value = j < 0 ? null : rest.slice(j + 1);
    if (!ssrcs.has(ssrc)) ssrcs.set(ssrc, { ssrc, params: {} });
    ssrcs.get(ssrc).params[name] = value;
  }
  out.ssrcs = [...ssrcs.values()].sort((a, b) => a.ssrc - b.ssrc);
  out.ssrcGroups = get('ssrc-group')
    .map((v) => {
      const [semantics, ...ids] = v.split(' ');
      return { semantics, ssrcs: ids.map(Number) };
    })
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  out.msid = get('msid')
    .map((v) => v.trim())
    .sort();
  out.rids = get('rid').map((v) => {
    const [id, direction, ...params] = v.split(' ');
    return { id, direction, params: params.join(' ') };
  });
  out.simulcast = get('simulcast')[0] ?? null;
  out.rtcpXr = get('rtcp-xr');
  return out;
}

/** Deep-equal helper returning a list of human-readable differences (path: a vs b). */
export function diff(a, b, path = '') {
  if (Object.is(a, b)) return [];
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') {
    return [`${path || '.'}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`];
  }
  if (Array.isArray(a) !== Array.isArray(b)) return [`${path}: array vs object`];
  const out = [];
  if (Array.isArray(a)) {
    if (a.length !== b.length) out.push(`${path}.length: ${a.length} != ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) out.push(...diff(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    out.push(...diff(a[k], b[k], `${path}.${k}`));
  }
  return out;
}
