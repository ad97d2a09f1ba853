// What the network offers a call: STUN/TURN from our server (XEP-0215) and what a peer can do
// (XEP-0030 disco#info), plus our own disco#info answer.
//
//   const services = new Services(conn, { extdisco: true, disco: true });
//   const iceServers = await services.iceServers();     // RTCIceServer[] ([] if none)
//   const features = await services.features(peerFull); // Set of vars, or null
//   services.stop();

import { Strophe, $iq } from 'strophe.js';
import { NS, children, child, addHandler } from './xml.js';

/**
 * What we announce in disco#info (XEP-0030): Jingle RTP audio/video over ICE-UDP + DTLS,
 * BUNDLE, JMI, and files over a WebRTC data channel (XEP-0343). Peers decide from it whether
 * to offer a data channel or BUNDLE; we do the same with theirs.
 */
export const FEATURES = [
  NS.DISCO_INFO, NS.JINGLE, NS.RTP, 'urn:xmpp:jingle:apps:rtp:audio',
  'urn:xmpp:jingle:apps:rtp:video', 'urn:xmpp:jingle:transports:ice-udp:1',
  'urn:xmpp:jingle:apps:dtls:0', NS.BUNDLE_FEATURE, 'urn:xmpp:jingle:apps:grouping:0',
  'urn:xmpp:jingle:apps:rtp:rtcp-fb:0', 'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0',
  'urn:ietf:rfc:5576', 'urn:xmpp:jingle:apps:rtp:ssma:0', NS.DTLS_SCTP, NS.DATACHANNEL,
  NS.JMI, NS.RECEIPTS,
];

/**
 * ICE servers from an XEP-0215 `<services/>` result. `stun:` URLs get no `?transport=` (Chromium
 * rejects it); `turn:`/`turns:` keep it and carry username/credential.
 */
export function iceServersFromServices(services) {
  const out = [];
  for (const s of children(services, 'service')) {
    const type = s.getAttribute('type');
    const host = s.getAttribute('host');
    if (!host || !['stun', 'turn', 'turns'].includes(type)) continue;
    const port = s.getAttribute('port');
    const transport = s.getAttribute('transport');
    const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    let url = `${type}:${h}${port ? `:${port}` : ''}`;
    if (type !== 'stun' && transport) url += `?transport=${transport}`;
    const server = { urls: url };
    if (type !== 'stun') {
      const username = s.getAttribute('username');
      const password = s.getAttribute('password');
      if (username) server.username = username;
      if (password) server.credential = password;
    }
    out.push(server);
  }
  return out;
}

/** STUN/TURN and disco#info for one connection. */
export class Services {
  #conn;
  #handler = null;

  /**
   * @param {object} conn a connected Strophe.Connection
   * @param {object} [opts]
   * @param {boolean} [opts.extdisco=true] ask the server for STUN/TURN (XEP-0215)
   * @param {boolean} [opts.disco=true] answer disco#info about us with FEATURES
   */
  constructor(conn, { extdisco = true, disco = true } = {}) {
    this.#conn = conn;
    /** Ask the server for STUN/TURN (XEP-0215). */
    this.extdisco = extdisco;
    if (disco) {
      this.#handler = addHandler(conn, (s) => s.nodeName === 'iq'
        && s.getAttribute('type') === 'get' && !!child(s, 'query', NS.DISCO_INFO),
      (s) => this.#onDiscoInfo(s));
    }
  }

  /** Stops answering disco#info. */
  stop() {
    if (this.#handler) this.#conn.deleteHandler(this.#handler);
    this.#handler = null;
  }

  /** STUN/TURN servers from our server (XEP-0215), [] if it has none or does not answer. */
  iceServers() {
    if (!this.extdisco) return Promise.resolve([]);
    const domain = Strophe.getDomainFromJid(this.#conn.jid);
    return new Promise((resolve) => {
      this.#conn.sendIQ($iq({ type: 'get', to: domain }).c('services', { xmlns: NS.EXTDISCO })
        .tree(), (iq) => {
        try {
          resolve(iceServersFromServices(child(iq, 'services')));
        } catch (e) {
          console.warn('jingle: bad XEP-0215 answer', e);
          resolve([]);
        }
      }, () => resolve([]), 5000);
    });
  }

  /**
   * The disco#info of a JID: `{identities: [{category, type, name}], features: Set}`; null if
   * it does not answer within `timeoutMs` (then nothing optional is assumed).
   */
  info(jid, timeoutMs = 3000) {
    return new Promise((resolve) => {
      this.#conn.sendIQ($iq({ type: 'get', to: jid }).c('query', { xmlns: NS.DISCO_INFO }).tree(),
        (iq) => {
          const query = child(iq, 'query');
          resolve({
            identities: children(query, 'identity').map((i) => ({
              category: i.getAttribute('category'), type: i.getAttribute('type'),
              name: i.getAttribute('name') })),
            features: new Set(children(query, 'feature').map((f) => f.getAttribute('var'))),
          });
        },
        () => resolve(null), timeoutMs);
    });
  }

  /** The disco#info features of a JID as a Set; null if it does not answer within 3 s. */
  async features(jid) {
    return (await this.info(jid))?.features ?? null;
  }

  /** Answers disco#info about us (no node) with FEATURES. */
  #onDiscoInfo(iq) {
    const query = child(iq, 'query', NS.DISCO_INFO);
    const reply = $iq({ type: 'result', id: iq.getAttribute('id') ?? '',
      to: iq.getAttribute('from') ?? undefined });
    if (query.getAttribute('node')) {
      reply.attrs({ type: 'error' }).c('error', { type: 'cancel' })
        .c('item-not-found', { xmlns: NS.STANZAS });
    } else {
      reply.c('query', { xmlns: NS.DISCO_INFO })
        .c('identity', { category: 'client', type: 'web', name: 'Jingle Focus' }).up();
      for (const f of FEATURES) reply.c('feature', { var: f }).up();
    }
    this.#conn.send(reply.tree());
  }
}
