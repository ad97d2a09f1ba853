//! One endpoint: an `rtc` peer connection set up as the bridge's side of a Jingle session.

use crate::api::{Limits, ParticipantId, RefuseError, RoomId};
use crate::bwe::{Estimate, LinkCap, RateMeter};
use crate::forward::OutStream;
use crate::media::VideoCodec;
use rtc::crypto::{RTCCryptoProvider, SignatureScheme};
use rtc::interceptor::{
    CongestionControlBuilder, Gcc, NackGeneratorBuilder, NackResponderBuilder,
    ReceiverReportBuilder, Registry, SenderReportBuilder, Slot, TwccReceiverBuilder,
    TwccSenderBuilder,
};
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::peer_connection::certificate::{CertificateParams, RTCCertificate};
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_RTX, MediaEngine};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate,
};
use rtc::rtp_transceiver::RTCRtpReceiverId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const TWCC_URI: &str = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
const RID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
const RRID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

/// Packets of retransmission history per forwarded video stream (a power of two, as rtc's
/// NACK responder wants). A 1 Mbit/s 720p layer sends ~120 packets/s, so this is ~0.5 s of
/// it (2 s of a thumbnail layer): a NACK comes one round trip after the gap. Each entry holds
/// the packet, and with it the received datagram's buffer, which subscribers of the same
/// layer share; at 16 participants the history is ~10% of the bridge's heap.
pub(crate) const SUBSCRIBER_NACK_HISTORY: u16 = 64;

/// A connection is given this long to come up after its descriptions are complete.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// ICE: how long without the peer's connectivity checks before `rtc` calls the connection
/// disconnected, then failed. An ICE-lite agent sends no checks and hears only the peer's:
/// Firefox sends them every 5 s ± 20% (RFC 7675 consent), so anything near 7 s fails live
/// connections now and then (seen: Firefox's sessions failed in a room). A page that dies is
/// noticed sooner by the bridge's own silence timeout, which counts every datagram.
const ICE_DISCONNECTED: Duration = Duration::from_secs(10);
const ICE_FAILED: Duration = Duration::from_secs(15);
const ICE_KEEPALIVE: Duration = Duration::from_secs(1);

pub(crate) struct Endpoint {
    pub room: RoomId,
    pub participant: ParticipantId,
    pub pc: RTCPeerConnection,
    pub ufrag: String,
    pub addrs: Vec<SocketAddr>,
    pub connected: bool,
    /// When the connection must be up, or it is failed.
    pub connect_by: Option<Instant>,
    pub role: Role,
    /// Token bucket against floods: datagrams allowed now, refilled per second.
    pub tokens: f64,
    pub tokens_at: Instant,
    /// The last datagram accepted from the peer.
    pub last_rx: Instant,
    /// Media moved since the peer connection's deadline was last read (see
    /// `Bridge::process_media`): read it at the next tick.
    pub deadline_stale: bool,
}

pub(crate) enum Role {
    Publisher(Publisher),
    Subscriber(Subscriber),
}

/// A publishing endpoint: the tracks it sends and how its SSRCs map to them.
pub(crate) struct Publisher {
    pub tracks: Vec<PublishedTrack>,
    /// media SSRC -> (track, layer); a handful, one per layer that has started
    pub ssrcs: Vec<(u32, (usize, usize))>,
    /// SSRCs the offer declared (reserved in the room).
    pub declared: Vec<u32>,
}

pub(crate) struct PublishedTrack {
    pub mid: String,
    pub video: bool,
    pub receiver: Option<RTCRtpReceiverId>,
    pub track_id: String,
    /// Negotiated codecs with the publisher's payload types (primary and RTX).
    pub codecs: Vec<RTCRtpCodecParameters>,
    pub video_codec: Option<VideoCodec>,
    pub audio_level_id: Option<u8>,
    /// Simulcast layers in the offer's order (lowest first, as browsers send them); one
    /// layer with an empty rid without simulcast.
    pub layers: Vec<Layer>,
}

pub(crate) struct Layer {
    pub rid: String,
    pub ssrc: Option<u32>,
    /// Picture height seen in its last keyframe (VP8), 0 if unknown.
    pub height: u16,
    pub last_keyframe_request: Option<Instant>,
    pub keyframe_pending: bool,
    /// When its last packet arrived: a sender drops layers under CPU or bandwidth pressure
    /// (Chromium stops its top layer), and a layer that sends nothing must not be chosen.
    pub last_packet: Option<Instant>,
    /// What it sends, to fit it to a subscriber's link.
    pub rate: RateMeter,
}

/// A layer that sent nothing for this long is not chosen.
pub(crate) const LAYER_IDLE: Duration = Duration::from_millis(1500);

/// A subscribing endpoint: one publisher's tracks, rewritten for this subscriber.
pub(crate) struct Subscriber {
    pub publisher: ParticipantId,
    pub streams: Vec<OutStream>,
    pub answered: bool,
    pub max_height: u32,
    /// What its link allows (congestion control on its TWCC feedback).
    pub link: LinkCap,
}

/// What a publishing offer declares, checked before anything is built.
#[derive(Debug, Default)]
pub(crate) struct OfferSummary {
    pub media: Vec<MediaSummary>,
    pub ssrcs: Vec<u32>,
}

#[derive(Debug)]
pub(crate) struct MediaSummary {
    pub mid: String,
    pub video: bool,
    pub rids: Vec<String>,
    pub audio_level_id: Option<u8>,
}

/// Parse and check a publishing offer against the limits.
pub(crate) fn summarize_offer(sdp: &str, limits: &Limits) -> Result<OfferSummary, RefuseError> {
    let desc = rtc::peer_connection::sdp::RTCSessionDescription::offer(sdp.to_owned())
        .map_err(|e| RefuseError::BadSdp(e.to_string()))?;
    let parsed = desc
        .unmarshal()
        .map_err(|e| RefuseError::BadSdp(e.to_string()))?;
    let count = parsed.media_descriptions.len();
    if count > limits.contents_per_endpoint {
        return Err(RefuseError::TooManyContents {
            count,
            max: limits.contents_per_endpoint,
        });
    }
    let mut summary = OfferSummary::default();
    let (mut audio, mut video) = (0, 0);
    for m in &parsed.media_descriptions {
        let kind = m.media_name.media.as_str();
        if kind != "audio" && kind != "video" {
            continue;
        }
        let is_video = kind == "video";
        let sends = m
            .attributes
            .iter()
            .any(|a| a.key == "sendonly" || a.key == "sendrecv");
        let Some(mid) = m.attribute("mid").flatten() else {
            return Err(RefuseError::BadSdp("an m-line has no a=mid".into()));
        };
        // Port 0 rejects an m-line, except with a=bundle-only (RFC 8843 §6): Firefox offers
        // every m-line after the first that way under max-bundle, and they are live.
        let bundle_only = m.attributes.iter().any(|a| a.key == "bundle-only");
        if (m.media_name.port.value == 0 && !bundle_only) || !sends {
            continue;
        }
        let mut rids = Vec::new();
        let mut audio_level_id = None;
        for a in &m.attributes {
            let value = a.value.as_deref().unwrap_or("");
            match a.key.as_str() {
                "rid" => {
                    let mut parts = value.split_whitespace();
                    if let (Some(id), Some("send")) = (parts.next(), parts.next()) {
                        rids.push(id.to_owned());
                    }
                }
                "ssrc" => {
                    let n = value.split_whitespace().next().unwrap_or("");
                    let ssrc: u32 = n
                        .parse()
                        .map_err(|_| RefuseError::BadSdp(format!("bad ssrc {n:?}")))?;
                    if !summary.ssrcs.contains(&ssrc) {
                        summary.ssrcs.push(ssrc);
                    }
                }
                "extmap" => {
                    let mut parts = value.split_whitespace();
                    if let (Some(id), Some(uri)) = (parts.next(), parts.next())
                        && uri == AUDIO_LEVEL_URI
                    {
                        audio_level_id = id.split('/').next().and_then(|i| i.parse().ok());
                    }
                }
                _ => {}
            }
        }
        if rids.len() > 4 {
            return Err(RefuseError::BadSdp("more than 4 simulcast layers".into()));
        }
        if is_video {
            video += 1;
        } else {
            audio += 1;
        }
        summary.media.push(MediaSummary {
            mid: mid.to_owned(),
            video: is_video,
            rids,
            audio_level_id,
        });
    }
    for count in [audio, video] {
        if count > limits.tracks_per_kind {
            return Err(RefuseError::TooManyTracks {
                count,
                max: limits.tracks_per_kind,
            });
        }
    }
    if summary.ssrcs.len() > 4 * limits.contents_per_endpoint * 2 {
        return Err(RefuseError::BadSdp("too many ssrc lines".into()));
    }
    if summary.media.is_empty() {
        return Err(RefuseError::BadSdp("nothing to publish".into()));
    }
    Ok(summary)
}

fn video_feedback() -> Vec<RTCPFeedback> {
    [
        ("nack", ""),
        ("nack", "pli"),
        ("ccm", "fir"),
        ("transport-cc", ""),
    ]
    .into_iter()
    .map(|(typ, parameter)| RTCPFeedback {
        typ: typ.into(),
        parameter: parameter.into(),
    })
    .collect()
}

fn codec(mime: &str, clock_rate: u32, channels: u16, fmtp: &str, pt: u8) -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: mime.into(),
            clock_rate,
            channels,
            sdp_fmtp_line: fmtp.into(),
            rtcp_feedback: if mime.starts_with("video/") && !mime.ends_with("rtx") {
                video_feedback()
            } else if mime.starts_with("audio/") {
                vec![RTCPFeedback {
                    typ: "transport-cc".into(),
                    parameter: String::new(),
                }]
            } else {
                Vec::new()
            },
        },
        payload_type: pt,
    }
}

/// What a publisher may send: the codecs the bridge can forward (it must find keyframes in
/// them) and the header extensions it reads.
pub(crate) fn publisher_media_engine() -> rtc::shared::error::Result<MediaEngine> {
    let mut me = MediaEngine::default();
    me.register_codec(
        codec("audio/opus", 48000, 2, "minptime=10;useinbandfec=1", 111),
        RtpCodecKind::Audio,
    )?;
    for (mime, fmtp, pt) in [
        ("video/VP8", "", 96),
        ("video/VP9", "profile-id=0", 98),
        (
            "video/H264",
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
            102,
        ),
        (
            "video/H264",
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
            104,
        ),
        ("video/AV1", "", 45),
    ] {
        me.register_codec(codec(mime, 90000, 0, fmtp, pt), RtpCodecKind::Video)?;
        me.register_codec(
            codec(MIME_TYPE_RTX, 90000, 0, &format!("apt={pt}"), pt + 1),
            RtpCodecKind::Video,
        )?;
    }
    let ext = |me: &mut MediaEngine, uri: &str, kind| {
        me.register_header_extension(
            RTCRtpHeaderExtensionCapability { uri: uri.into() },
            kind,
            None,
        )
    };
    ext(&mut me, AUDIO_LEVEL_URI, RtpCodecKind::Audio)?;
    for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
        ext(&mut me, TWCC_URI, kind)?;
        ext(&mut me, MID_URI, kind)?;
    }
    ext(&mut me, RID_URI, RtpCodecKind::Video)?;
    ext(&mut me, RRID_URI, RtpCodecKind::Video)?;
    Ok(me)
}

/// What a subscriber is offered: exactly the codecs its publisher negotiated (no
/// transcoding), audio level, TWCC and mid.
pub(crate) fn subscriber_media_engine(
    tracks: &[PublishedTrack],
) -> rtc::shared::error::Result<MediaEngine> {
    let mut me = MediaEngine::default();
    let mut seen: Vec<(bool, u8)> = Vec::new();
    for track in tracks {
        for c in &track.codecs {
            if seen.contains(&(track.video, c.payload_type)) {
                continue;
            }
            seen.push((track.video, c.payload_type));
            let mut c = c.clone();
            let rtx = c.rtp_codec.mime_type.eq_ignore_ascii_case(MIME_TYPE_RTX);
            c.rtp_codec.rtcp_feedback = if track.video && !rtx {
                video_feedback()
            } else if !track.video {
                vec![RTCPFeedback {
                    typ: "transport-cc".into(),
                    parameter: String::new(),
                }]
            } else {
                Vec::new()
            };
            let kind = if track.video {
                RtpCodecKind::Video
            } else {
                RtpCodecKind::Audio
            };
            me.register_codec(c, kind)?;
        }
    }
    let ext = |me: &mut MediaEngine, uri: &str, kind| {
        me.register_header_extension(
            RTCRtpHeaderExtensionCapability { uri: uri.into() },
            kind,
            None,
        )
    };
    ext(&mut me, AUDIO_LEVEL_URI, RtpCodecKind::Audio)?;
    for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
        ext(&mut me, TWCC_URI, kind)?;
        ext(&mut me, MID_URI, kind)?;
    }
    Ok(me)
}

/// Interceptors of a publishing endpoint: NACK what is lost, TWCC feedback so the sender
/// adapts, receiver reports. Nothing for sending: the endpoint only receives, and every
/// interceptor costs each packet a pass through its queue.
pub(crate) fn publisher_interceptors() -> Registry {
    Registry::new()
        .with(Slot::NackGenerator, NackGeneratorBuilder::new().build())
        .with(Slot::TwccReceiver, TwccReceiverBuilder::new().build())
        .with(Slot::ReceiverReport, ReceiverReportBuilder::new().build())
}

/// Interceptors of a subscribing endpoint: answer NACKs from a short history, sender reports,
/// transport-wide sequence numbers and congestion control on the subscriber's TWCC feedback
/// (its target into `estimate`), keyframe requests to the application. Nothing for
/// receiving: the endpoint only sends.
pub(crate) fn subscriber_interceptors(estimate: Estimate) -> Registry {
    let gcc = Gcc::new(
        crate::bwe::INITIAL_BPS,
        crate::bwe::MIN_BPS,
        crate::bwe::MAX_BPS,
    );
    Registry::new()
        .with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(gcc)
                .with_prune_horizon(crate::bwe::FEEDBACK_HORIZON)
                .build(),
        )
        .with(Slot::TwccSender, TwccSenderBuilder::new().build())
        .with(
            Slot::NackResponder,
            NackResponderBuilder::new()
                .with_size(SUBSCRIBER_NACK_HISTORY)
                .build(),
        )
        .with(Slot::SenderReport, SenderReportBuilder::new().build())
        .with(
            Slot::from(crate::tap::KEYFRAME_REQUEST_SLOT),
            crate::tap::KeyframeRequests::reporting(estimate),
        )
}

/// The bridge's DTLS identity, shared by all its peer connections.
///
/// Left to itself, `rtc` makes every peer connection a new ECDSA key and self-signed
/// certificate: under XEP-0521 that is 2(N-1) of them per newcomer, each held for the
/// session's life. One identity per bridge process is what SFUs do: the fingerprint says
/// which bridge, not which session, and DTLS still keys every session afresh (ECDHE).
#[derive(Clone)]
pub(crate) struct Identity {
    crypto: Arc<dyn RTCCryptoProvider>,
    certificate: RTCCertificate,
}

impl Identity {
    pub fn generate() -> rtc::shared::error::Result<Self> {
        let other = |e: String| rtc::shared::error::Error::Other(e);
        let crypto = rtc::crypto::default_provider().map_err(|e| other(e.to_string()))?;
        let name = format!(
            "bridge-{:016x}",
            RandomState::new().hash_one(Instant::now())
        );
        let params = CertificateParams::new(vec![name]).map_err(|e| other(e.to_string()))?;
        let certificate =
            RTCCertificate::generate(crypto.crypto(), SignatureScheme::EcdsaP256Sha256, params)?;
        Ok(Self {
            crypto,
            certificate,
        })
    }
}

/// An ICE-lite peer connection with our credentials and one host candidate.
pub(crate) fn build_pc(
    identity: Option<&Identity>,
    media_engine: MediaEngine,
    interceptors: Registry,
    ufrag: &str,
    pwd: &str,
    candidate: SocketAddr,
    now: Instant,
) -> rtc::shared::error::Result<RTCPeerConnection> {
    let mut settings = SettingEngineBuilder::new()
        .with_lite(true)
        .with_ice_credentials(ufrag.to_owned(), pwd.to_owned())
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_answering_dtls_role(RTCDtlsRole::Server)
        .with_ice_timeouts(
            Some(ICE_DISCONNECTED),
            Some(ICE_FAILED),
            Some(ICE_KEEPALIVE),
        );
    let mut configuration = RTCConfigurationBuilder::new();
    if let Some(identity) = identity {
        settings = settings.with_crypto_provider(identity.crypto.clone());
        configuration = configuration.with_certificates(vec![identity.certificate.clone()]);
    }
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(configuration.build())
        .with_setting_engine(settings.build())
        .with_media_engine(media_engine)
        .with_interceptor_registry(interceptors)
        .build(now)?;
    let host = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: candidate.ip().to_string(),
            port: candidate.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    pc.add_local_candidate(RTCIceCandidate::from(&host).to_json()?)?;
    Ok(pc)
}

/// Choose the layer for a wanted tile height: the smallest layer at least that tall, else the
/// tallest. Heights not yet seen are assumed to halve per layer below a 720p top layer.
pub(crate) fn choose_layer(layers: &[Layer], max_height: u32, now: Instant) -> Option<usize> {
    if max_height == 0 || layers.is_empty() {
        return None;
    }
    let n = layers.len();
    let height = |i: usize| -> u32 {
        match layers[i].height {
            0 => 720 >> (n - 1 - i),
            h => u32::from(h),
        }
    };
    let active = |i: &usize| {
        layers[*i]
            .last_packet
            .is_some_and(|t| now.saturating_duration_since(t) < LAYER_IDLE)
    };
    // Among the layers that send (all of them before any packet came), the smallest tall
    // enough, else the tallest.
    let candidates: Vec<usize> = match (0..n).filter(active).collect::<Vec<_>>() {
        live if live.is_empty() => (0..n).collect(),
        live => live,
    };
    candidates
        .iter()
        .copied()
        .find(|&i| height(i) >= max_height)
        .or(candidates.last().copied())
}

/// Fit the layer chosen by tile size to a link's video budget: the tallest layer up to
/// `wanted` that sends and fits, else the lowest that sends. A layer above the one the
/// subscriber receives needs headroom, so that a rate near the budget does not flap.
pub(crate) fn fit_layer(
    layers: &[Layer],
    wanted: usize,
    current: Option<usize>,
    budget: Option<u64>,
    now: Instant,
) -> usize {
    let Some(budget) = budget else {
        return wanted;
    };
    let active = |i: usize| {
        layers[i]
            .last_packet
            .is_some_and(|t| now.saturating_duration_since(t) < LAYER_IDLE)
    };
    let fits = |i: usize| {
        let bps = layers[i].rate.bps();
        let needed = if current.is_some_and(|c| i > c) {
            bps + bps / 8
        } else {
            bps
        };
        needed <= budget
    };
    (0..=wanted)
        .rev()
        .filter(|&i| active(i))
        .find(|&i| fits(i))
        .or_else(|| (0..=wanted).find(|&i| active(i)))
        .unwrap_or(wanted)
}

/// Payload types and extension ids of an SDP the bridge produced, per m-line.
pub(crate) struct OfferedIds {
    media: Vec<OfferedMedia>,
}

struct OfferedMedia {
    /// (pt, encoding name, clock rate, fmtp)
    codecs: Vec<(u8, String, u32, String)>,
    audio_level: Option<u8>,
}

impl OfferedIds {
    pub(crate) fn parse(sdp: &str) -> Self {
        let mut media: Vec<OfferedMedia> = Vec::new();
        for line in sdp.lines() {
            if line.starts_with("m=") {
                media.push(OfferedMedia {
                    codecs: Vec::new(),
                    audio_level: None,
                });
                continue;
            }
            let Some(m) = media.last_mut() else {
                continue;
            };
            if let Some(rest) = line.strip_prefix("a=rtpmap:") {
                let mut parts = rest.split_whitespace();
                let (Some(pt), Some(enc)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let mut enc = enc.split('/');
                let name = enc.next().unwrap_or("").to_owned();
                let clock = enc.next().and_then(|c| c.parse().ok()).unwrap_or(0);
                if let Ok(pt) = pt.parse() {
                    m.codecs.push((pt, name, clock, String::new()));
                }
            } else if let Some(rest) = line.strip_prefix("a=fmtp:") {
                if let Some((pt, fmtp)) = rest.split_once(' ')
                    && let Ok(pt) = pt.parse::<u8>()
                    && let Some(c) = m.codecs.iter_mut().find(|c| c.0 == pt)
                {
                    c.3 = fmtp.to_owned();
                }
            } else if let Some(rest) = line.strip_prefix("a=extmap:") {
                let mut parts = rest.split_whitespace();
                if let (Some(id), Some(AUDIO_LEVEL_URI)) = (parts.next(), parts.next()) {
                    m.audio_level = id.split('/').next().and_then(|i| i.parse().ok());
                }
            }
        }
        Self { media }
    }

    /// Our payload type for a publisher's codec on m-line `index`.
    pub(crate) fn payload_type(&self, index: usize, codec: &RTCRtpCodec) -> Option<u8> {
        let name = codec.mime_type.rsplit('/').next()?;
        let m = self.media.get(index)?;
        let same = |c: &&(u8, String, u32, String)| {
            c.1.eq_ignore_ascii_case(name) && c.2 == codec.clock_rate
        };
        m.codecs
            .iter()
            .filter(same)
            .find(|c| c.3 == codec.sdp_fmtp_line)
            .or_else(|| m.codecs.iter().find(same))
            .map(|c| c.0)
    }

    pub(crate) fn audio_level(&self, index: usize) -> Option<u8> {
        self.media.get(index)?.audio_level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(heights: &[u16]) -> Vec<Layer> {
        heights
            .iter()
            .map(|&height| Layer {
                rid: String::new(),
                ssrc: None,
                height,
                last_keyframe_request: None,
                keyframe_pending: false,
                last_packet: None,
                rate: Default::default(),
            })
            .collect()
    }

    #[test]
    fn layer_choice() {
        let three = layers(&[180, 360, 720]);
        let cases = [
            (0, None),
            (90, Some(0)),
            (180, Some(0)),
            (200, Some(1)),
            (720, Some(2)),
            (1080, Some(2)),
        ];
        let now = Instant::now();
        for (h, want) in cases {
            assert_eq!(choose_layer(&three, h, now), want, "height {h}");
        }
        // unknown heights: 180/360/720 assumed
        assert_eq!(choose_layer(&layers(&[0, 0, 0]), 300, now), Some(1));
        assert_eq!(choose_layer(&layers(&[0]), 100, now), Some(0));
        assert_eq!(choose_layer(&[], 100, now), None);
    }

    #[test]
    fn layers_that_stopped_sending_are_not_chosen() {
        let t0 = Instant::now();
        let now = t0 + LAYER_IDLE * 2;
        let mut three = layers(&[180, 360, 720]);
        three[0].last_packet = Some(now);
        three[1].last_packet = Some(now);
        // The top layer sent last long ago: a large tile gets the middle one.
        three[2].last_packet = Some(t0);
        assert_eq!(choose_layer(&three, 720, now), Some(1));
        assert_eq!(choose_layer(&three, 180, now), Some(0));
        // It comes back.
        three[2].last_packet = Some(now);
        assert_eq!(choose_layer(&three, 720, now), Some(2));
    }

    #[test]
    fn a_budget_takes_the_tallest_layer_that_fits() {
        let t0 = Instant::now();
        let now = t0 + Duration::from_secs(1);
        let mut three = layers(&[180, 360, 720]);
        for (layer, bps) in three.iter_mut().zip([150_000, 500_000, 1_200_000]) {
            layer.rate.record(bps / 8, t0);
            layer.rate.record(0, now);
            layer.last_packet = Some(now);
        }
        assert_eq!(fit_layer(&three, 2, Some(2), None, now), 2, "no budget");
        assert_eq!(fit_layer(&three, 2, Some(2), Some(1_300_000), now), 2);
        assert_eq!(fit_layer(&three, 2, Some(2), Some(900_000), now), 1);
        assert_eq!(
            fit_layer(&three, 1, Some(1), Some(5_000_000), now),
            1,
            "the tile wins"
        );
        assert_eq!(
            fit_layer(&three, 2, Some(2), Some(100_000), now),
            0,
            "never nothing"
        );
        // going up needs an eighth of headroom; staying does not
        assert_eq!(fit_layer(&three, 2, Some(1), Some(1_250_000), now), 1);
        assert_eq!(fit_layer(&three, 2, Some(1), Some(1_400_000), now), 2);
        // a layer that stopped sending is not chosen, whatever the budget
        three[2].last_packet = Some(t0);
        let later = t0 + LAYER_IDLE * 2;
        three[0].last_packet = Some(later);
        three[1].last_packet = Some(later);
        assert_eq!(fit_layer(&three, 2, Some(2), Some(5_000_000), later), 1);
    }

    #[test]
    fn offers_are_checked() {
        let limits = Limits::default();
        let base = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n";
        let m = |mid: u32, kind: &str, extra: &str| {
            format!(
                "m={kind} 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:{mid}\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n{extra}"
            )
        };
        let ok = format!(
            "{base}{}",
            m(
                0,
                "video",
                "a=ssrc:5 cname:x\r\na=rid:q send\r\na=rid:f send\r\n"
            )
        );
        let s = summarize_offer(&ok, &limits).unwrap();
        assert_eq!(s.ssrcs, vec![5]);
        assert_eq!(s.media[0].rids, vec!["q", "f"]);
        let many: String = (0..10).map(|i| m(i, "video", "")).collect();
        assert!(matches!(
            summarize_offer(&format!("{base}{many}"), &limits),
            Err(RefuseError::TooManyContents { count: 10, .. })
        ));
        let three: String = (0..3).map(|i| m(i, "video", "")).collect();
        assert!(matches!(
            summarize_offer(&format!("{base}{three}"), &limits),
            Err(RefuseError::TooManyTracks { count: 3, .. })
        ));
        assert!(matches!(
            summarize_offer("garbage", &limits),
            Err(RefuseError::BadSdp(_))
        ));
        let bad_ssrc = format!("{base}{}", m(0, "audio", "a=ssrc:x cname:y\r\n"));
        assert!(matches!(
            summarize_offer(&bad_ssrc, &limits),
            Err(RefuseError::BadSdp(_))
        ));
        // Firefox under max-bundle: the second m-line has port 0 and a=bundle-only, and is live;
        // port 0 alone is a rejected m-line.
        let audio = m(0, "audio", "")
            .replace("96 VP8/90000", "109 opus/48000/2")
            .replace(" 96\r\n", " 109\r\n");
        let live = m(1, "video", "a=bundle-only\r\n").replace("video 9", "video 0");
        let s = summarize_offer(&format!("{base}{audio}{live}"), &limits).unwrap();
        assert_eq!(
            s.media.iter().map(|m| m.mid.as_str()).collect::<Vec<_>>(),
            ["0", "1"]
        );
        let rejected = m(1, "video", "").replace("video 9", "video 0");
        let s = summarize_offer(&format!("{base}{audio}{rejected}"), &limits).unwrap();
        assert_eq!(
            s.media.iter().map(|m| m.mid.as_str()).collect::<Vec<_>>(),
            ["0"]
        );
    }
}
