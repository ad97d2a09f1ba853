//! The typed session model that sits between SDP and Jingle.
//!
//! Both translators read into and write from these types. The model is
//! *normalised*: attributes that SDP allows at session level (Firefox puts
//! `a=fingerprint`, `a=ice-ufrag`, `a=ice-options`, `a=setup` there;
//! Chromium puts `a=extmap-allow-mixed` there) are copied into every
//! content when parsing, because Jingle carries them per content. Derived
//! SDP items that Jingle cannot carry and that carry no information for a
//! WebRTC peer (the `m=` port when not 0, `c=`, `a=rtcp:`) are not stored.

/// Most contents (m-lines) in one session description. Both translators refuse more, so
/// that a peer cannot make them hold or redo much (a call has a handful; an XEP-0521
/// session one per stream).
pub const MAX_CONTENTS: usize = 128;
/// Most payload types in one content (there are 128 RTP payload type numbers).
pub const MAX_CODECS: usize = 128;
/// Most ssrcs described, and most ssrc groups, in one content.
pub const MAX_SOURCES: usize = 512;
/// Most ssrcs in one ssrc group (FID has 2, SIM 3).
pub const MAX_GROUP_SSRCS: usize = 16;
/// Most content groups (`a=group`, XEP-0338) in one session.
pub const MAX_GROUPS: usize = 16;

/// A whole session description: one SDP, or the contents of one Jingle element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Session {
    /// `o=` line; `None` when the session came from Jingle (a default is written).
    pub origin: Option<Origin>,
    /// `a=group:` lines (XEP-0338), e.g. BUNDLE.
    pub groups: Vec<Group>,
    /// `a=msid-semantic:` value (e.g. `WMS *`), kept verbatim.
    pub msid_semantic: Option<String>,
    /// Session-level attributes that have no typed field, verbatim without `a=`.
    pub extra: Vec<String>,
    /// The media sections, in order.
    pub contents: Vec<Content>,
}

/// The `o=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name (`-` for browsers).
    pub username: String,
    /// Session id.
    pub session_id: String,
    /// Session version.
    pub session_version: String,
    /// Network type and address type and address, e.g. `IN IP4 127.0.0.1`.
    pub address: String,
}

/// An `a=group:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Semantics, e.g. `BUNDLE` or `LS`.
    pub semantics: String,
    /// The mids (= Jingle content names) in the group.
    pub mids: Vec<String>,
}

/// Media kind of an `m=` line; Jingle `<description media=...>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    /// `audio`
    Audio,
    /// `video`
    Video,
    /// `application` (data channel)
    Application,
    /// anything else, kept verbatim
    Other(String),
}

impl Media {
    /// The SDP / Jingle token.
    pub fn as_str(&self) -> &str {
        match self {
            Media::Audio => "audio",
            Media::Video => "video",
            Media::Application => "application",
            Media::Other(s) => s,
        }
    }
    /// Parses the token (never fails; unknown kinds are kept).
    pub fn from_token(s: &str) -> Media {
        match s {
            "audio" => Media::Audio,
            "video" => Media::Video,
            "application" => Media::Application,
            o => Media::Other(o.to_string()),
        }
    }
}

/// SDP direction attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// `a=sendrecv` (also the default when absent)
    #[default]
    SendRecv,
    /// `a=sendonly`
    SendOnly,
    /// `a=recvonly`
    RecvOnly,
    /// `a=inactive`
    Inactive,
}

impl Direction {
    /// The SDP token.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    /// Parses an SDP token.
    pub fn from_token(s: &str) -> Option<Direction> {
        Some(match s {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }
}

/// One media section (`m=`), one Jingle `<content>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Content {
    /// `a=mid`, equal to the Jingle content name.
    pub mid: String,
    /// Media kind.
    pub media: Option<Media>,
    /// `m=` port 0 without `a=bundle-only`: the section is rejected. In Jingle a rejected
    /// content has `senders='none'` and a transport without ICE/DTLS parameters, so its
    /// direction, ICE and DTLS parameters do not travel.
    pub rejected: bool,
    /// `a=bundle-only` (Firefox: port 0 but live).
    pub bundle_only: bool,
    /// Direction as written in the SDP (sender's point of view).
    pub direction: Direction,
    /// Transport protocol of the `m=` line, e.g. `UDP/TLS/RTP/SAVPF`.
    pub protocol: String,
    /// `m=` format list for non-RTP media (e.g. `webrtc-datachannel`, or `5000` for old sctpmap).
    pub formats: Vec<String>,
    /// Codecs, in `m=` order.
    pub codecs: Vec<Codec>,
    /// `a=rtcp-fb:*` lines (apply to all codecs).
    pub rtcp_fb_all: Vec<RtcpFb>,
    /// `a=extmap` lines.
    pub hdrexts: Vec<HeaderExtension>,
    /// `a=extmap-allow-mixed` (media level, or session level copied down).
    pub extmap_allow_mixed: bool,
    /// `a=ssrc` lines grouped by ssrc.
    pub sources: Vec<Source>,
    /// `a=ssrc-group` lines.
    pub ssrc_groups: Vec<SsrcGroup>,
    /// `a=msid:` lines (stream id, optional track id).
    pub msids: Vec<Msid>,
    /// `a=rid` lines (RFC 8851): the RTP streams of a simulcast sender or receiver.
    pub rids: Vec<Rid>,
    /// `a=simulcast` (RFC 8853): which rids are sent or received as simulcast.
    pub simulcast: Option<Simulcast>,
    /// ICE parameters and candidates.
    pub ice: Ice,
    /// DTLS parameters.
    pub dtls: Dtls,
    /// `a=rtcp-mux`
    pub rtcp_mux: bool,
    /// `a=rtcp-mux-only`
    pub rtcp_mux_only: bool,
    /// `a=rtcp-rsize`
    pub rtcp_rsize: bool,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// SCTP data channel parameters.
    pub sctp: Option<Sctp>,
    /// Media-level attributes without a typed field, verbatim without `a=`.
    pub extra: Vec<String>,
}

/// One codec (`a=rtpmap` + `a=fmtp` + `a=rtcp-fb`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Codec {
    /// Payload type.
    pub pt: u8,
    /// Encoding name (`opus`, `VP8`, ...); empty for static payload types without rtpmap.
    pub name: String,
    /// Clock rate, 0 when unknown.
    pub clockrate: u32,
    /// Channels (`a=rtpmap:111 opus/48000/2`).
    pub channels: Option<u8>,
    /// `a=fmtp` parameters, in order. A parameter without `=` (RED's `111/111`)
    /// has an empty key; in Jingle it is `<parameter value='111/111'/>`.
    pub params: Vec<(String, String)>,
    /// `a=rtcp-fb` lines for this payload type.
    pub rtcp_fb: Vec<RtcpFb>,
    /// Whether an `a=rtpmap` line was present (static payload types may omit it).
    pub rtpmap: bool,
}

/// `a=rtcp-fb:<pt> <type> [<subtype>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpFb {
    /// Feedback type, e.g. `nack`, `transport-cc`, `trr-int`.
    pub kind: String,
    /// Optional subtype / parameter, e.g. `pli`.
    pub subtype: Option<String>,
}

/// `a=extmap:<id>[/<direction>] <uri> [<attributes>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderExtension {
    /// Extension id.
    pub id: u16,
    /// Direction, `None` when absent (= sendrecv).
    pub direction: Option<Direction>,
    /// Extension URI.
    pub uri: String,
    /// Extension attributes, verbatim.
    pub attributes: Option<String>,
}

/// One ssrc with its `a=ssrc:<ssrc> <name>[:<value>]` parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The ssrc.
    pub ssrc: u32,
    /// Parameters in order (name, optional value), e.g. (`cname`, `{abc}`).
    pub params: Vec<(String, Option<String>)>,
}

/// `a=ssrc-group:<semantics> <ssrc>...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcGroup {
    /// `FID`, `SIM`, `FEC-FR`, ...
    pub semantics: String,
    /// The ssrcs.
    pub ssrcs: Vec<u32>,
}

/// `a=msid:<stream> [<track>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msid {
    /// Stream id (`-` for no stream); Firefox uses `{uuid}`.
    pub stream: String,
    /// Track id.
    pub track: Option<String>,
}

/// `a=rid:<id> <send|recv> [pt=<pt>,...;]<restriction>;...` (RFC 8851): one RTP stream
/// (a simulcast layer) and what constrains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rid {
    /// Rid id (`h`, `m`, `l` from browsers), as in the RTP `rtp-stream-id` header extension.
    pub id: String,
    /// Whether the writer of the description sends or receives this stream.
    pub direction: RidDirection,
    /// `pt=`: the payload types the stream may use; empty: any of the content's.
    pub payload_types: Vec<u8>,
    /// The other restrictions in order, e.g. (`max-width`, `1280`); a restriction without
    /// `=` has no value. [`Rid::max_width`] and the like read the RFC 8851 ones.
    pub restrictions: Vec<(String, Option<String>)>,
}

/// The direction of a [`Rid`], from the point of view of the description's writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RidDirection {
    /// `send`
    Send,
    /// `recv`
    Recv,
}

impl RidDirection {
    /// The SDP / XML token.
    pub fn as_str(self) -> &'static str {
        match self {
            RidDirection::Send => "send",
            RidDirection::Recv => "recv",
        }
    }
    /// Parses the token.
    pub fn from_token(s: &str) -> Option<RidDirection> {
        match s {
            "send" => Some(RidDirection::Send),
            "recv" => Some(RidDirection::Recv),
            _ => None,
        }
    }
}

impl Rid {
    /// The value of restriction `name` (the last one if repeated); `Some("")` for one without value.
    pub fn restriction(&self, name: &str) -> Option<&str> {
        self.restrictions
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }
    fn number<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.restriction(name)?.parse().ok()
    }
    /// `max-width`: largest width in pixels.
    pub fn max_width(&self) -> Option<u32> {
        self.number("max-width")
    }
    /// `max-height`: largest height in pixels.
    pub fn max_height(&self) -> Option<u32> {
        self.number("max-height")
    }
    /// `max-fps`: largest frame rate.
    pub fn max_fps(&self) -> Option<f64> {
        self.number("max-fps")
    }
    /// `max-fs`: largest frame size in pixels.
    pub fn max_fs(&self) -> Option<u64> {
        self.number("max-fs")
    }
    /// `max-br`: largest bit rate in bits per second.
    pub fn max_br(&self) -> Option<u64> {
        self.number("max-br")
    }
    /// `max-pps`: largest pixel rate in pixels per second.
    pub fn max_pps(&self) -> Option<u64> {
        self.number("max-pps")
    }
    /// `max-bpp`: largest bits per pixel.
    pub fn max_bpp(&self) -> Option<f64> {
        self.number("max-bpp")
    }
    /// `depend`: the rids this stream depends on.
    pub fn depend(&self) -> impl Iterator<Item = &str> {
        self.restriction("depend")
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
    }
}

/// `a=simulcast:[send <streams>] [recv <streams>]` (RFC 8853).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Simulcast {
    /// The simulcast streams the writer of the description sends, best first by convention.
    pub send: Vec<SimulcastStream>,
    /// The simulcast streams the writer receives.
    pub recv: Vec<SimulcastStream>,
}

/// One simulcast stream: the rids that may carry it, in order of preference (almost
/// always one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulcastStream {
    /// The alternatives (`h,h2` in SDP).
    pub alternatives: Vec<SimulcastRid>,
}

/// A rid named in `a=simulcast`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulcastRid {
    /// The [`Rid::id`].
    pub id: String,
    /// `~id`: the stream is paused.
    pub paused: bool,
}

impl Simulcast {
    /// The first rid of each stream sent, in order (what a receiver of the layers asks about).
    pub fn send_rids(&self) -> impl Iterator<Item = &SimulcastRid> {
        self.send.iter().filter_map(|s| s.alternatives.first())
    }
    /// The first rid of each stream received, in order.
    pub fn recv_rids(&self) -> impl Iterator<Item = &SimulcastRid> {
        self.recv.iter().filter_map(|s| s.alternatives.first())
    }
}

/// ICE parameters of one content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ice {
    /// `a=ice-ufrag`
    pub ufrag: Option<String>,
    /// `a=ice-pwd`
    pub pwd: Option<String>,
    /// `a=ice-options` tokens, e.g. `trickle`.
    pub options: Vec<String>,
    /// `a=candidate` lines.
    pub candidates: Vec<Candidate>,
    /// `a=end-of-candidates` (XEP-0371 `<gathering-complete/>` in Jingle).
    pub end_of_candidates: bool,
}

/// An ICE candidate (`a=candidate`, XEP-0176 `<candidate/>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Candidate {
    /// Foundation.
    pub foundation: String,
    /// Component (1 = RTP, 2 = RTCP).
    pub component: u16,
    /// Transport, kept with its case (`udp`, Firefox `UDP`).
    pub protocol: String,
    /// Priority.
    pub priority: u32,
    /// IP address or mDNS host name (`<uuid>.local`).
    pub ip: String,
    /// Port.
    pub port: u16,
    /// `host`, `srflx`, `prflx`, `relay`.
    pub kind: String,
    /// `raddr`
    pub rel_addr: Option<String>,
    /// `rport`
    pub rel_port: Option<u16>,
    /// `tcptype`
    pub tcptype: Option<String>,
    /// `generation`
    pub generation: Option<u32>,
    /// `network-id` (Jingle `network`)
    pub network: Option<u32>,
    /// `network-cost`
    pub network_cost: Option<u32>,
    /// `ufrag` extension attribute.
    pub ufrag: Option<String>,
    /// Jingle candidate `id` (not in SDP).
    pub id: Option<String>,
}

/// DTLS parameters (XEP-0320).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dtls {
    /// `a=fingerprint` lines (hash, value).
    pub fingerprints: Vec<Fingerprint>,
    /// `a=setup` (`actpass`, `active`, `passive`).
    pub setup: Option<String>,
}

/// `a=fingerprint:<hash> <value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Hash function, e.g. `sha-256`.
    pub hash: String,
    /// Colon-separated hex value.
    pub value: String,
}

/// `b=<type>:<value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `AS`, `TIAS`, `CT`.
    pub kind: String,
    /// Value.
    pub value: u64,
}

/// SCTP parameters of a data channel content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sctp {
    /// `a=sctp-port`.
    pub port: Option<u16>,
    /// `a=max-message-size`.
    pub max_message_size: Option<u64>,
    /// Legacy `a=sctpmap:<number> <protocol> <streams>`.
    pub sctpmap: Option<SctpMap>,
}

/// Legacy `a=sctpmap` / XEP-0343 `<sctpmap/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SctpMap {
    /// SCTP port number.
    pub number: u16,
    /// Protocol, e.g. `webrtc-datachannel`.
    pub protocol: String,
    /// Number of streams.
    pub streams: Option<u32>,
}

impl Content {
    /// True for RTP media (audio/video with an RTP profile).
    pub fn is_rtp(&self) -> bool {
        self.protocol.contains("RTP")
    }

    /// True when the content has ICE credentials or a DTLS fingerprint; a Jingle
    /// content without them is not live (candidates alone are not usable:
    /// StanzaJS copies them into its rejected contents).
    pub fn has_transport(&self) -> bool {
        self.ice.ufrag.is_some() || self.ice.pwd.is_some() || !self.dtls.fingerprints.is_empty()
    }

    /// The `m=` protocol used when none is given: `UDP/DTLS/SCTP` for data
    /// channels, `UDP/TLS/RTP/SAVPF` for RTP with a DTLS fingerprint, else `RTP/AVPF`
    /// (also for a rejected content, whose fingerprint does not travel in Jingle).
    pub fn default_protocol(&self) -> &'static str {
        match self.media {
            Some(Media::Application) => "UDP/DTLS/SCTP",
            _ if self.dtls.fingerprints.is_empty() || self.rejected => "RTP/AVPF",
            _ => "UDP/TLS/RTP/SAVPF",
        }
    }
}

/// RFC 3551 clock rate (and channels) of a static payload type; `None` for
/// dynamic or unassigned ones.
pub fn static_payload_rate(pt: u8) -> Option<(u32, Option<u8>)> {
    Some(match pt {
        0 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 13 | 15 | 18 => (8000, None),
        6 => (16000, None),
        10 => (44100, Some(2)),
        11 => (44100, None),
        16 => (11025, None),
        17 => (22050, None),
        14 | 25 | 26 | 28 | 31 | 32 | 33 | 34 => (90000, None),
        _ => return None,
    })
}

/// The Jingle roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// The party that sent `session-initiate`.
    #[default]
    Initiator,
    /// The other party.
    Responder,
}

impl Role {
    /// The other role.
    pub fn other(self) -> Role {
        match self {
            Role::Initiator => Role::Responder,
            Role::Responder => Role::Initiator,
        }
    }
}

/// XEP-0166 `senders` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Senders {
    /// `both`
    Both,
    /// `initiator`
    Initiator,
    /// `responder`
    Responder,
    /// `none`
    None,
}

impl Senders {
    /// XML token.
    pub fn as_str(self) -> &'static str {
        match self {
            Senders::Both => "both",
            Senders::Initiator => "initiator",
            Senders::Responder => "responder",
            Senders::None => "none",
        }
    }
    /// Parses the XML token.
    pub fn from_token(s: &str) -> Option<Senders> {
        Some(match s {
            "both" => Senders::Both,
            "initiator" => Senders::Initiator,
            "responder" => Senders::Responder,
            "none" => Senders::None,
            _ => return None,
        })
    }
    /// Senders from an SDP direction written by `from`.
    pub fn from_direction(d: Direction, from: Role) -> Senders {
        match (d, from) {
            (Direction::SendRecv, _) => Senders::Both,
            (Direction::Inactive, _) => Senders::None,
            (Direction::SendOnly, Role::Initiator) | (Direction::RecvOnly, Role::Responder) => {
                Senders::Initiator
            }
            (Direction::SendOnly, Role::Responder) | (Direction::RecvOnly, Role::Initiator) => {
                Senders::Responder
            }
        }
    }
    /// SDP direction as seen by the party `local` that will use the SDP (written from its side).
    pub fn to_direction(self, from: Role) -> Direction {
        match (self, from) {
            (Senders::Both, _) => Direction::SendRecv,
            (Senders::None, _) => Direction::Inactive,
            (Senders::Initiator, Role::Initiator) | (Senders::Responder, Role::Responder) => {
                Direction::SendOnly
            }
            (Senders::Initiator, Role::Responder) | (Senders::Responder, Role::Initiator) => {
                Direction::RecvOnly
            }
        }
    }
}

/// Whether an SDP is an offer or an answer (decides the default `a=setup`
/// when a Jingle peer sends no `setup` attribute: `actpass` in offers, `active` in answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SdpType {
    /// An offer.
    #[default]
    Offer,
    /// An answer.
    Answer,
}
