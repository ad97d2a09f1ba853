//! Real WebRTC peers for the bridge's integration tests: `rtc` peer connections, each on its
//! own thread with its own UDP socket on loopback, sending synthetic RTP (VP8-shaped video
//! with keyframes, audio with the RFC 6464 level) tagged with who sent it.
#![allow(dead_code)]

use bridge::{BridgeConfig, BridgeHandle, Command, EndpointId, Event, ParticipantId, RoomId};
use bytes::{Bytes, BytesMut};
use rtc::interceptor::Registry;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
const RID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
const RRID: &str = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

/// How long any wait in a test may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub fn start_bridge() -> (BridgeHandle, Events) {
    let _ = env_logger::builder().is_test(true).try_init();
    let (handle, rx) = BridgeHandle::spawn(BridgeConfig::new("127.0.0.1:0".parse().unwrap()))
        .expect("bridge starts");
    (
        handle,
        Events {
            rx,
            seen: Vec::new(),
        },
    )
}

/// The bridge's events, with waiting by predicate.
pub struct Events {
    rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
    pub seen: Vec<Event>,
}

impl Events {
    pub fn from_receiver(rx: tokio::sync::mpsc::UnboundedReceiver<Event>) -> Self {
        Self {
            rx,
            seen: Vec::new(),
        }
    }

    /// The first event (seen before or arriving within the deadline) that `pick` accepts.
    pub fn wait<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        if let Some(found) = self.seen.iter().find_map(&mut pick) {
            return found;
        }
        let end = Instant::now() + DEADLINE;
        loop {
            match self.rx.try_recv() {
                Ok(e) => {
                    let found = pick(&e);
                    self.seen.push(e);
                    if let Some(found) = found {
                        return found;
                    }
                }
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                    assert!(
                        Instant::now() < end,
                        "timed out waiting for {what}; saw {:?}",
                        self.seen
                    );
                    // block on the channel for a short slice, not a sleep: it wakes on any event
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_time()
                        .build()
                        .unwrap();
                    if let Ok(Some(e)) = rt.block_on(async {
                        tokio::time::timeout(Duration::from_millis(50), self.rx.recv()).await
                    }) {
                        let found = pick(&e);
                        self.seen.push(e);
                        if let Some(found) = found {
                            return found;
                        }
                    }
                }
                Err(e) => panic!("bridge event channel: {e}"),
            }
        }
    }

    pub fn answer(&mut self, endpoint: EndpointId) -> String {
        self.wait("answer", |e| match e {
            Event::Answer { endpoint: x, sdp } if *x == endpoint => Some(sdp.clone()),
            Event::Refused { endpoint: x, error } if *x == endpoint => panic!("refused: {error}"),
            _ => None,
        })
    }

    pub fn offer(&mut self, endpoint: EndpointId) -> String {
        self.wait("offer", |e| match e {
            Event::Offer { endpoint: x, sdp } if *x == endpoint => Some(sdp.clone()),
            Event::Refused { endpoint: x, error } if *x == endpoint => panic!("refused: {error}"),
            _ => None,
        })
    }

    pub fn connected(&mut self, endpoint: EndpointId) {
        self.wait("connected", |e| match e {
            Event::Connected { endpoint: x } if *x == endpoint => Some(()),
            Event::Closed {
                endpoint: x,
                reason,
            } if *x == endpoint => panic!("closed: {reason:?}"),
            _ => None,
        })
    }

    pub fn refused(&mut self, endpoint: EndpointId) -> bridge::RefuseError {
        self.wait("refused", |e| match e {
            Event::Refused { endpoint: x, error } if *x == endpoint => Some(error.clone()),
            _ => None,
        })
    }
}

/// What a test peer has seen.
#[derive(Default, Debug)]
pub struct Seen {
    pub connected: bool,
    pub failed: bool,
    /// ssrc -> (sender tag, layer tag) -> packets
    pub rtp: HashMap<u32, BTreeMap<(u8, u8), u32>>,
    /// ssrc -> sequence numbers received
    pub seqs: HashMap<u32, Vec<u16>>,
    pub plis: HashMap<u32, u32>,
    /// For the subscriber: packets of its own tag (must stay 0).
    pub bytes: u64,
}

/// What a publisher sends.
#[derive(Clone)]
pub struct Media {
    /// Tag written into every payload (who sent it).
    pub tag: u8,
    pub audio: bool,
    pub video: bool,
    /// Simulcast rids, lowest first, or empty.
    pub rids: Vec<&'static str>,
    /// dBov of the audio level (0 loudest, 127 silent).
    pub dbov: Arc<std::sync::atomic::AtomicU8>,
}

impl Media {
    pub fn new(tag: u8) -> Self {
        Self {
            tag,
            audio: true,
            video: true,
            rids: Vec::new(),
            dbov: Arc::new(std::sync::atomic::AtomicU8::new(127)),
        }
    }
}

pub struct Peer {
    pub seen: Arc<(Mutex<Seen>, Condvar)>,
    stop: Arc<AtomicBool>,
    pli_to: Arc<Mutex<Vec<u32>>>,
    thread: Option<JoinHandle<()>>,
    pub local: SocketAddr,
}

impl Peer {
    pub fn wait(&self, what: &str, cond: impl Fn(&Seen) -> bool) {
        let end = Instant::now() + DEADLINE;
        let (lock, cvar) = &*self.seen;
        let mut seen = lock.lock().unwrap();
        while !cond(&seen) {
            let left = end.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}: {seen:?}");
            seen = cvar.wait_timeout(seen, left).unwrap().0;
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.seen.0.lock().unwrap())
    }

    /// Ask the sender of `ssrc` for a keyframe.
    pub fn send_pli(&self, ssrc: u32) {
        self.pli_to.lock().unwrap().push(ssrc);
    }

    /// Stop the peer without a word (a page that died).
    pub fn vanish(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn media_engine() -> (MediaEngine, Registry) {
    let mut me = MediaEngine::default();
    me.register_default_codecs().unwrap();
    for (uri, kinds) in [
        (AUDIO_LEVEL, &[RtpCodecKind::Audio][..]),
        (MID, &[RtpCodecKind::Audio, RtpCodecKind::Video][..]),
        (RID, &[RtpCodecKind::Video][..]),
        (RRID, &[RtpCodecKind::Video][..]),
    ] {
        for &kind in kinds {
            me.register_header_extension(
                RTCRtpHeaderExtensionCapability { uri: uri.into() },
                kind,
                None,
            )
            .unwrap();
        }
    }
    let registry = register_default_interceptors(Registry::new(), &mut me)
        .unwrap()
        .with(
            rtc::interceptor::Slot::from(bridge::KEYFRAME_REQUEST_SLOT),
            bridge::KeyframeRequests::default(),
        );
    (me, registry)
}

fn new_pc(socket: &UdpSocket) -> RTCPeerConnection {
    let (me, registry) = media_engine();
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .build();
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_setting_engine(settings)
        .with_media_engine(me)
        .with_interceptor_registry(registry)
        .build(Instant::now())
        .unwrap();
    let local = socket.local_addr().unwrap();
    let host = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".into(),
            address: local.ip().to_string(),
            port: local.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()
    .unwrap();
    pc.add_local_candidate(RTCIceCandidate::from(&host).to_json().unwrap())
        .unwrap();
    pc
}

/// sender, ssrcs per layer, payload type, mid ext, rid ext
type VideoSender = (
    RTCRtpSenderId,
    Vec<(u32, &'static str)>,
    u8,
    Option<u8>,
    Option<u8>,
);

struct Sending {
    media: Media,
    audio: Option<(RTCRtpSenderId, u32, u8, Option<u8>)>,
    video: Option<VideoSender>,
    mid_video: String,
    seq: u16,
    frames: u32,
}

/// Publish through the bridge: offer, Publish, answer; the peer then streams.
pub fn publish(
    bridge: &BridgeHandle,
    events: &mut Events,
    endpoint: EndpointId,
    room: RoomId,
    participant: ParticipantId,
    media: Media,
) -> Peer {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut pc = new_pc(&socket);
    let mut audio = None;
    let mut video = None;
    let mut ssrc = 1000 * u32::from(media.tag) + 1;
    if media.audio {
        let track = MediaStreamTrack::new(
            format!("s{}", media.tag),
            format!("a{}", media.tag),
            "audio".into(),
            RtpCodecKind::Audio,
            vec![coding("", ssrc, "audio/opus", 48000, 2)],
        );
        audio = Some((pc.add_track(track).unwrap(), ssrc));
        ssrc += 1;
    }
    if media.video {
        let rids: Vec<&'static str> = if media.rids.is_empty() {
            vec![""]
        } else {
            media.rids.clone()
        };
        let mut layers = Vec::new();
        let codings = rids
            .iter()
            .map(|rid| {
                layers.push((ssrc, *rid));
                ssrc += 1;
                coding(rid, ssrc - 1, "video/VP8", 90000, 0)
            })
            .collect();
        let track = MediaStreamTrack::new(
            format!("s{}", media.tag),
            format!("v{}", media.tag),
            "video".into(),
            RtpCodecKind::Video,
            codings,
        );
        video = Some((pc.add_track(track).unwrap(), layers));
    }
    let offer = pc.create_offer(None).unwrap();
    pc.set_local_description(Instant::now(), offer.clone())
        .unwrap();
    bridge.send(Command::Publish {
        endpoint,
        room,
        participant,
        offer: offer.sdp,
    });
    let answer = events.answer(endpoint);
    pc.set_remote_description(
        Instant::now(),
        RTCSessionDescription::answer(answer).unwrap(),
    )
    .unwrap();
    let mut sending = Sending {
        media: media.clone(),
        audio: None,
        video: None,
        mid_video: String::new(),
        seq: 0,
        frames: 0,
    };
    if let Some((id, ssrc)) = audio {
        let params = pc.rtp_sender(id).unwrap().get_parameters().clone();
        let pt = params.rtp_parameters.codecs[0].payload_type;
        let level = ext_id(&params.rtp_parameters.header_extensions, AUDIO_LEVEL);
        sending.audio = Some((id, ssrc, pt, level));
    }
    if let Some((id, layers)) = video {
        let params = pc.rtp_sender(id).unwrap().get_parameters().clone();
        let pt = params
            .rtp_parameters
            .codecs
            .iter()
            .find(|c| c.rtp_codec.mime_type == "video/VP8")
            .unwrap()
            .payload_type;
        let exts = &params.rtp_parameters.header_extensions;
        sending.video = Some((id, layers, pt, ext_id(exts, MID), ext_id(exts, RID)));
        let all: Vec<_> = pc.get_transceivers().collect();
        let t = all.into_iter().find(|&t| {
            pc.rtp_transceiver(t)
                .is_some_and(|x| x.sender() == Some(id))
        });
        sending.mid_video = t
            .and_then(|t| pc.rtp_transceiver(t).and_then(|x| x.mid().clone()))
            .unwrap_or_default();
    }
    run(pc, socket, Some(sending), Downlink::default())
}

fn ext_id(
    exts: &[rtc::rtp_transceiver::rtp_sender::RTCRtpHeaderExtensionParameters],
    uri: &str,
) -> Option<u8> {
    exts.iter().find(|e| e.uri == uri).map(|e| e.id as u8)
}

fn coding(
    rid: &str,
    ssrc: u32,
    mime: &str,
    clock_rate: u32,
    channels: u16,
) -> RTCRtpEncodingParameters {
    RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            rid: rid.into(),
            ssrc: Some(ssrc),
            ..Default::default()
        },
        active: true,
        codec: rtc::rtp_transceiver::rtp_sender::RTCRtpCodec {
            mime_type: mime.into(),
            clock_rate,
            channels,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Subscribe through the bridge: Subscribe, offer, answer. `drop_nth`: lose the n-th video
/// datagram on arrival (to provoke a NACK).
pub fn subscribe(
    bridge: &BridgeHandle,
    events: &mut Events,
    endpoint: EndpointId,
    room: RoomId,
    subscriber: ParticipantId,
    publisher: ParticipantId,
    drop_nth: Option<u32>,
) -> (Peer, String) {
    let link = Downlink {
        drop_nth,
        bps: None,
    };
    subscribe_with(bridge, events, endpoint, room, subscriber, publisher, link)
}

/// [`subscribe`] for a subscriber behind a bottleneck of `bps` bits per second.
pub fn subscribe_behind(
    bridge: &BridgeHandle,
    events: &mut Events,
    endpoint: EndpointId,
    room: RoomId,
    subscriber: ParticipantId,
    publisher: ParticipantId,
    bps: u64,
) -> (Peer, String) {
    let link = Downlink {
        drop_nth: None,
        bps: Some(bps),
    };
    subscribe_with(bridge, events, endpoint, room, subscriber, publisher, link)
}

fn subscribe_with(
    bridge: &BridgeHandle,
    events: &mut Events,
    endpoint: EndpointId,
    room: RoomId,
    subscriber: ParticipantId,
    publisher: ParticipantId,
    link: Downlink,
) -> (Peer, String) {
    bridge.send(Command::Subscribe {
        endpoint,
        room,
        subscriber,
        publisher,
    });
    let offer = events.offer(endpoint);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut pc = new_pc(&socket);
    pc.set_remote_description(
        Instant::now(),
        RTCSessionDescription::offer(offer.clone()).unwrap(),
    )
    .unwrap();
    let answer = pc.create_answer(None).unwrap();
    pc.set_local_description(Instant::now(), answer.clone())
        .unwrap();
    bridge.send(Command::Answer {
        endpoint,
        answer: answer.sdp,
    });
    (run(pc, socket, None, link), offer)
}

/// What happens to datagrams on their way to a peer.
#[derive(Clone, Copy, Default)]
struct Downlink {
    /// Lose the n-th SRTP datagram, once.
    drop_nth: Option<u32>,
    /// A bottleneck: datagrams leave a drop-tail queue at this rate.
    bps: Option<u64>,
}

/// The longest a datagram waits in a bottleneck's queue before it is dropped.
const BOTTLENECK_QUEUE: Duration = Duration::from_millis(200);

/// A VP8 frame in one packet: descriptor, frame tag (keyframe with size, or delta), tag bytes.
fn vp8_payload(key: bool, height: u16, tag: u8, layer: u8) -> Bytes {
    let mut p = vec![0x10];
    if key {
        p.extend_from_slice(&[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]);
        p.extend_from_slice(&(height * 16 / 9).to_le_bytes());
        p.extend_from_slice(&height.to_le_bytes());
    } else {
        p.extend_from_slice(&[0x11, 0x02, 0x00]);
    }
    p.extend_from_slice(&[0xee, tag, layer]);
    // the layers' rates differ as real ones do: ~55, ~165 and ~285 kbit/s at 30 fps
    p.resize(p.len() + 200 + 450 * usize::from(layer), 0x55);
    Bytes::from(p)
}

/// (tag, layer) from a payload written by `vp8_payload` or the audio sender.
fn payload_tag(payload: &[u8]) -> (u8, u8) {
    if let Some(i) = payload.iter().position(|&b| b == 0xee)
        && i + 2 < payload.len()
    {
        return (payload[i + 1], payload[i + 2]);
    }
    (0, 0)
}

fn run(
    mut pc: RTCPeerConnection,
    socket: UdpSocket,
    mut sending: Option<Sending>,
    link: Downlink,
) -> Peer {
    let seen = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let pli_to = Arc::new(Mutex::new(Vec::new()));
    let local = socket.local_addr().unwrap();
    let thread = {
        let (seen, stop, pli_to) = (seen.clone(), stop.clone(), pli_to.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 2048];
            let start = Instant::now();
            let mut next_audio = start;
            let mut next_video = start;
            let mut keyframe_wanted = true;
            let mut received = 0u32;
            // datagrams in the bottleneck: (leaves at, datagram, from)
            let mut queue: std::collections::VecDeque<(Instant, Vec<u8>, SocketAddr)> =
                Default::default();
            let mut link_free = start;
            let read = |pc: &mut RTCPeerConnection, at: Instant, data: &[u8], from| {
                let _ = pc.handle_read(TaggedBytesMut {
                    now: at,
                    transport: TransportContext {
                        local_addr: local,
                        peer_addr: from,
                        ecn: None,
                        transport_protocol: TransportProtocol::UDP,
                    },
                    message: BytesMut::from(data),
                });
            };
            while !stop.load(Ordering::SeqCst) {
                let now = Instant::now();
                let connected = seen.0.lock().unwrap().connected;
                // media
                if let Some(s) = sending.as_mut().filter(|_| connected) {
                    if now >= next_audio {
                        next_audio += Duration::from_millis(20);
                        if let Some((id, ssrc, pt, level)) = s.audio {
                            s.seq = s.seq.wrapping_add(1);
                            let mut header = rtc::rtp::header::Header {
                                version: 2,
                                payload_type: pt,
                                sequence_number: s.seq,
                                timestamp: u32::from(s.seq) * 960,
                                ssrc,
                                ..Default::default()
                            };
                            if let Some(level) = level {
                                let dbov = s.media.dbov.load(Ordering::Relaxed);
                                header
                                    .set_extension(level, Bytes::from(vec![0x80 | dbov]))
                                    .unwrap();
                            }
                            let mut payload = vec![0xee, s.media.tag, 0];
                            payload.resize(80, 0x11);
                            let _ = pc.rtp_sender(id).unwrap().write_rtp(
                                now,
                                rtc::rtp::Packet {
                                    header,
                                    payload: payload.into(),
                                },
                            );
                        }
                    }
                    if now >= next_video {
                        next_video += Duration::from_millis(33);
                        let mid = s.mid_video.clone();
                        if let Some((id, layers, pt, mid_ext, rid_ext)) = s.video.as_ref() {
                            s.frames += 1;
                            let key = keyframe_wanted || s.frames % 100 == 1;
                            keyframe_wanted = false;
                            let n = layers.len();
                            for (i, (ssrc, rid)) in layers.iter().enumerate() {
                                let height = 720u16 >> (n - 1 - i);
                                let mut header = rtc::rtp::header::Header {
                                    version: 2,
                                    marker: true,
                                    payload_type: *pt,
                                    sequence_number: s.frames as u16,
                                    timestamp: s.frames * 3000,
                                    ssrc: *ssrc,
                                    ..Default::default()
                                };
                                if !rid.is_empty() {
                                    if let Some(e) = mid_ext {
                                        header
                                            .set_extension(
                                                *e,
                                                Bytes::from(mid.clone().into_bytes()),
                                            )
                                            .unwrap();
                                    }
                                    if let Some(e) = rid_ext {
                                        header
                                            .set_extension(*e, Bytes::from(rid.as_bytes().to_vec()))
                                            .unwrap();
                                    }
                                }
                                let payload = vp8_payload(key, height, s.media.tag, i as u8);
                                let _ = pc
                                    .rtp_sender(*id)
                                    .unwrap()
                                    .write_rtp(now, rtc::rtp::Packet { header, payload });
                            }
                        }
                    }
                }
                for ssrc in std::mem::take(&mut *pli_to.lock().unwrap()) {
                    let pli = PictureLossIndication {
                        sender_ssrc: 1,
                        media_ssrc: ssrc,
                    };
                    let receivers: Vec<_> = pc.get_receivers().collect();
                    for r in receivers {
                        if pc
                            .rtp_receiver(r)
                            .is_some_and(|x| x.track().ssrcs().any(|s| s == ssrc))
                        {
                            pc.rtp_receiver(r)
                                .unwrap()
                                .write_rtcp(now, vec![Box::new(pli.clone())])
                                .unwrap();
                        }
                    }
                }
                if pc.poll_timeout().is_some_and(|t| t <= now) {
                    let _ = pc.handle_timeout(now);
                }
                while let Some(out) = pc.poll_write() {
                    let _ = socket.send_to(&out.message, out.transport.peer_addr);
                }
                {
                    let mut changed = false;
                    let mut s = seen.0.lock().unwrap();
                    while let Some(event) = pc.poll_event() {
                        if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) = event {
                            match state {
                                RTCPeerConnectionState::Connected => s.connected = true,
                                RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                                    s.failed = true
                                }
                                _ => {}
                            }
                            changed = true;
                        }
                    }
                    while let Some(TaggedRTCMessage { message, .. }) = pc.poll_read() {
                        match message {
                            RTCMessage::RtpPacket(_, p) => {
                                *s.rtp
                                    .entry(p.header.ssrc)
                                    .or_default()
                                    .entry(payload_tag(&p.payload))
                                    .or_default() += 1;
                                s.seqs
                                    .entry(p.header.ssrc)
                                    .or_default()
                                    .push(p.header.sequence_number);
                                s.bytes += p.payload.len() as u64;
                                changed = true;
                            }
                            RTCMessage::RtcpPacket(_, packets) => {
                                for p in packets {
                                    if let Some(pli) =
                                        p.as_any().downcast_ref::<PictureLossIndication>()
                                    {
                                        *s.plis.entry(pli.media_ssrc).or_default() += 1;
                                        keyframe_wanted = true;
                                        changed = true;
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    if changed {
                        seen.1.notify_all();
                    }
                }
                while queue
                    .front()
                    .is_some_and(|(at, _, _)| *at <= Instant::now())
                {
                    let (at, data, from) = queue.pop_front().unwrap();
                    read(&mut pc, at, &data, from);
                }
                // wait for a datagram until the next thing to do
                let mut until = now + Duration::from_millis(20);
                if let Some((at, _, _)) = queue.front() {
                    until = until.min(*at);
                }
                if let Some(t) = pc.poll_timeout() {
                    until = until.min(t);
                }
                let wait = until
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1));
                socket.set_read_timeout(Some(wait)).unwrap();
                if let Ok((n, from)) = socket.recv_from(&mut buf) {
                    // the n-th SRTP datagram is lost, once
                    if buf[0] >= 128 && buf[0] < 192 && n > 200 {
                        received += 1;
                        if link.drop_nth == Some(received) {
                            continue;
                        }
                    }
                    let now = Instant::now();
                    match link.bps {
                        None => read(&mut pc, now, &buf[..n], from),
                        Some(bps) => {
                            let leaves = link_free.max(now)
                                + Duration::from_secs_f64((n * 8) as f64 / bps as f64);
                            if leaves.saturating_duration_since(now) <= BOTTLENECK_QUEUE {
                                link_free = leaves;
                                queue.push_back((leaves, buf[..n].to_vec(), from));
                            }
                        }
                    }
                }
            }
        })
    };
    Peer {
        seen,
        stop,
        pli_to,
        thread: Some(thread),
        local,
    }
}

/// Participant 1 publishes three simulcast layers (`q`, `h`, `f`) as endpoint 1 of `room`,
/// connected.
pub fn publish_simulcast(bridge: &BridgeHandle, events: &mut Events, room: RoomId) -> Peer {
    let mut media = Media::new(1);
    media.rids = vec!["q", "h", "f"];
    let publisher = publish(bridge, events, EndpointId(1), room, ParticipantId(1), media);
    events.connected(EndpointId(1));
    publisher
}

/// Packets of (sender tag, layer tag) a peer received on `ssrc`.
pub fn layer_count(s: &Seen, ssrc: u32, tag: u8, layer: u8) -> u32 {
    s.rtp
        .get(&ssrc)
        .and_then(|m| m.get(&(tag, layer)))
        .copied()
        .unwrap_or(0)
}

/// The ssrcs of `a=ssrc` lines per m-line kind in an SDP.
pub fn offered_ssrcs(sdp: &str, kind: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut in_kind = false;
    for line in sdp.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            in_kind = m.starts_with(kind);
        } else if in_kind && let Some(rest) = line.strip_prefix("a=ssrc:") {
            let n: u32 = rest.split_whitespace().next().unwrap().parse().unwrap();
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// A publishing offer for `media`, as a real peer would make it (the peer is dropped).
pub fn offer_sdp(media: &Media) -> String {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut pc = new_pc(&socket);
    let mut ssrc = 1000 * u32::from(media.tag) + 1;
    if media.audio {
        let track = MediaStreamTrack::new(
            format!("s{}", media.tag),
            format!("a{}", media.tag),
            "audio".into(),
            RtpCodecKind::Audio,
            vec![coding("", ssrc, "audio/opus", 48000, 2)],
        );
        pc.add_track(track).unwrap();
        ssrc += 1;
    }
    if media.video {
        let track = MediaStreamTrack::new(
            format!("s{}", media.tag),
            format!("v{}", media.tag),
            "video".into(),
            RtpCodecKind::Video,
            vec![coding("", ssrc, "video/VP8", 90000, 0)],
        );
        pc.add_track(track).unwrap();
    }
    pc.create_offer(None).unwrap().sdp
}

/// The bridge's event that `endpoint` closed, with its reason.
pub fn closed(events: &mut Events, endpoint: EndpointId) -> bridge::CloseReason {
    events.wait("closed", |e| match e {
        Event::Closed {
            endpoint: x,
            reason,
        } if *x == endpoint => Some(*reason),
        _ => None,
    })
}

/// A subscribing peer for a bridge offer: returns the running peer and its SDP answer.
pub fn answer_offer(offer: &str) -> (Peer, String) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut pc = new_pc(&socket);
    pc.set_remote_description(
        Instant::now(),
        RTCSessionDescription::offer(offer.to_owned()).unwrap(),
    )
    .unwrap();
    let answer = pc.create_answer(None).unwrap();
    pc.set_local_description(Instant::now(), answer.clone())
        .unwrap();
    (run(pc, socket, None, Downlink::default()), answer.sdp)
}
