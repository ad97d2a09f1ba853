//! The sans-IO bridge: commands, datagrams and time in; datagrams, events and deadlines out.

use crate::api::{
    BridgeStats, CloseReason, Command, EndpointId, Event, Limits, ParticipantId, RefuseError,
    RoomId,
};
use crate::bwe::{Estimate, LinkCap};
use crate::demux;
use crate::endpoint::{
    self, CONNECT_TIMEOUT, Endpoint, Identity, Layer, PublishedTrack, Publisher, Role, Subscriber,
};
use crate::forward::{OutStream, Verdict};
use crate::media::{self, VideoCodec};
use crate::speaker::{SpeakerConfig, SpeakerDetector};
use bytes::BytesMut;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_RTX;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::{RTCIceConnectionState, RTCPeerConnectionState};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpRtxParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use rustc_hash::FxHashMap;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Keyframe requests to one publisher layer are at most this frequent; one asked for sooner
/// is sent when the interval has passed.
/// An RTP header without extensions, counted into a layer's rate with its payload.
const RTP_HEADER: usize = 12;

const KEYFRAME_INTERVAL: Duration = Duration::from_millis(300);
/// Housekeeping (speaker decisions, deferred keyframe requests, connect deadlines).
const TICK: Duration = Duration::from_millis(100);
/// A connected endpoint that has sent nothing (no media, RTCP or consent check) for this long
/// is gone. Browsers send consent checks every 5 s ± 20% (RFC 7675), and RTCP about every
/// second while media flows: a subscriber whose publisher sends nothing (camera off, muted)
/// has only the checks, so the limit leaves room for one late check, and a page that died
/// is still noticed within 10 s.
const SILENCE_TIMEOUT: Duration = Duration::from_millis(8500);
/// Remote addresses remembered per endpoint (a peer may switch candidate pairs).
const ADDRS_PER_ENDPOINT: usize = 4;

/// How the core is set up; the driver fills it from the socket it bound.
#[derive(Debug, Clone)]
pub struct BridgeSetup {
    /// The address the UDP socket is bound to.
    pub local: SocketAddr,
    /// The address put in the host candidate (the public address behind 1:1 NAT).
    pub candidate: SocketAddr,
    pub limits: Limits,
    pub speaker: SpeakerConfig,
}

/// A datagram to send.
#[derive(Debug)]
pub struct Transmit {
    pub destination: SocketAddr,
    pub contents: BytesMut,
}

#[derive(Default)]
struct Member {
    /// The participant's publishing endpoint.
    publish: Option<EndpointId>,
    /// Endpoints that carry this participant's media to others.
    subscribers: Vec<EndpointId>,
    /// All endpoints this participant holds (publishing and subscribing).
    own: Vec<EndpointId>,
}

struct Room {
    members: FxHashMap<ParticipantId, Member>,
    speaker: SpeakerDetector<ParticipantId>,
    /// SSRCs declared by publishers, so that no one can claim another's.
    ssrcs: HashMap<u32, ParticipantId>,
}

/// The media bridge core. See the crate documentation.
pub struct Bridge {
    setup: BridgeSetup,
    /// The DTLS identity of every endpoint.
    identity: Option<Identity>,
    /// Boxed: a peer connection is 8.5 kB inline, and the table keeps up to twice as many slots
    /// as entries (and moves them all when it grows).
    endpoints: FxHashMap<EndpointId, Box<Endpoint>>,
    ufrags: HashMap<String, EndpointId>,
    addrs: HashMap<SocketAddr, EndpointId>,
    rooms: FxHashMap<RoomId, Room>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// Endpoint deadlines, earliest first.
    timers: BTreeSet<(Instant, EndpointId)>,
    deadlines: FxHashMap<EndpointId, Instant>,
    next_tick: Option<Instant>,
    random: RandomState,
    counter: u64,
    totals: BridgeStats,
}

impl Bridge {
    pub fn new(setup: BridgeSetup) -> Self {
        let identity = Identity::generate()
            .inspect_err(|e| {
                tracing::warn!("no shared DTLS identity ({e}): each endpoint makes its own")
            })
            .ok();
        Self {
            setup,
            identity,
            endpoints: FxHashMap::default(),
            ufrags: HashMap::new(),
            addrs: HashMap::new(),
            rooms: FxHashMap::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            timers: BTreeSet::new(),
            deadlines: FxHashMap::default(),
            next_tick: None,
            random: RandomState::new(),
            counter: 0,
            totals: BridgeStats::default(),
        }
    }

    fn random(&mut self) -> u64 {
        self.counter += 1;
        let mut h = self.random.build_hasher();
        h.write_u64(self.counter);
        h.finish()
    }

    fn random_token(&mut self, chars: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
        let mut s = String::with_capacity(chars);
        while s.len() < chars {
            let mut r = self.random();
            for _ in 0..10 {
                if s.len() == chars {
                    break;
                }
                s.push(ALPHABET[(r & 63) as usize] as char);
                r >>= 6;
            }
        }
        s
    }

    /// Counts for tests and metrics.
    pub fn stats(&self) -> BridgeStats {
        let mut s = self.totals;
        s.endpoints = self.endpoints.len();
        s.connected_endpoints = self.endpoints.values().filter(|e| e.connected).count();
        s.rooms = self.rooms.len();
        s.publishers = self
            .endpoints
            .values()
            .filter(|e| matches!(e.role, Role::Publisher(_)))
            .count();
        s.forwarded_streams = self
            .endpoints
            .values()
            .map(|e| match &e.role {
                Role::Subscriber(sub) if e.connected => {
                    sub.streams.iter().filter(|s| s.current.is_some()).count()
                }
                _ => 0,
            })
            .sum();
        s.routes = self.ufrags.len() + self.addrs.len();
        s
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let endpoint = self.timers.first().map(|(t, _)| *t);
        [endpoint, self.next_tick].into_iter().flatten().min()
    }

    // ---------------------------------------------------------------- commands

    pub fn handle_command(&mut self, command: Command, now: Instant) {
        let (endpoint, result) = match command {
            Command::Publish {
                endpoint,
                room,
                participant,
                offer,
            } => (
                endpoint,
                self.publish(endpoint, room, participant, &offer, now),
            ),
            Command::Subscribe {
                endpoint,
                room,
                subscriber,
                publisher,
            } => (
                endpoint,
                self.subscribe(endpoint, room, subscriber, publisher, now),
            ),
            Command::Answer { endpoint, answer } => (endpoint, self.answer(endpoint, answer, now)),
            Command::Constrain {
                endpoint,
                max_height,
            } => (endpoint, self.constrain(endpoint, max_height, now)),
            Command::Close { endpoint } => {
                let result = if self.endpoints.contains_key(&endpoint) {
                    self.close(endpoint, CloseReason::Requested);
                    Ok(())
                } else {
                    Err(RefuseError::UnknownEndpoint)
                };
                (endpoint, result)
            }
        };
        if let Err(error) = result {
            self.events.push_back(Event::Refused { endpoint, error });
        }
        self.ensure_tick(now);
    }

    fn check_new(&self, endpoint: EndpointId, room: RoomId) -> Result<(), RefuseError> {
        if self.endpoints.contains_key(&endpoint) {
            return Err(RefuseError::EndpointExists);
        }
        if self.endpoints.len() >= self.setup.limits.endpoints {
            return Err(RefuseError::TooManyEndpoints {
                max: self.setup.limits.endpoints,
            });
        }
        let _ = room;
        Ok(())
    }

    fn new_credentials(&mut self, endpoint: EndpointId) -> (String, String) {
        // the ufrag starts with the endpoint id so that it is unique; the rest is random
        let ufrag = format!("{:x}{}", endpoint.0, self.random_token(8));
        let pwd = self.random_token(24);
        (ufrag, pwd)
    }

    fn publish(
        &mut self,
        id: EndpointId,
        room_id: RoomId,
        participant: ParticipantId,
        offer: &str,
        now: Instant,
    ) -> Result<(), RefuseError> {
        self.check_new(id, room_id)?;
        let limits = self.setup.limits;
        let summary = endpoint::summarize_offer(offer, &limits)?;
        if let Some(room) = self.rooms.get(&room_id) {
            if room
                .members
                .get(&participant)
                .is_some_and(|m| m.publish.is_some())
            {
                return Err(RefuseError::AlreadyPublishing);
            }
            let publishers = room
                .members
                .values()
                .filter(|m| m.publish.is_some())
                .count();
            if publishers >= limits.participants_per_room {
                return Err(RefuseError::RoomFull {
                    max: limits.participants_per_room,
                });
            }
            if let Some(&ssrc) = summary
                .ssrcs
                .iter()
                .find(|s| room.ssrcs.get(s).is_some_and(|p| *p != participant))
            {
                return Err(RefuseError::SsrcInUse(ssrc));
            }
        }
        let (ufrag, pwd) = self.new_credentials(id);
        let rtc_err = |e: rtc::shared::error::Error| RefuseError::Rtc(e.to_string());
        let mut pc = endpoint::build_pc(
            self.identity.as_ref(),
            endpoint::publisher_media_engine().map_err(rtc_err)?,
            endpoint::publisher_interceptors(),
            &ufrag,
            &pwd,
            self.setup.candidate,
            now,
        )
        .map_err(rtc_err)?;
        let remote = RTCSessionDescription::offer(offer.to_owned())
            .map_err(|e| RefuseError::BadSdp(e.to_string()))?;
        pc.set_remote_description(now, remote)
            .map_err(|e| RefuseError::BadSdp(e.to_string()))?;
        let answer = pc.create_answer(None).map_err(rtc_err)?;
        pc.set_local_description(now, answer).map_err(rtc_err)?;
        let sdp = pc
            .local_description()
            .map(|d| d.sdp)
            .ok_or_else(|| RefuseError::Rtc("no local description".into()))?;

        // What the answer accepted, per offered track.
        let mut tracks = Vec::new();
        let transceivers: Vec<_> = pc.get_transceivers().collect();
        for media in &summary.media {
            let found = transceivers.iter().find_map(|&t| {
                let tr = pc.rtp_transceiver(t)?;
                (tr.mid().as_deref() == Some(media.mid.as_str())).then(|| tr.receiver())?
            });
            let Some(receiver_id) = found else {
                continue;
            };
            let Some(mut receiver) = pc.rtp_receiver(receiver_id) else {
                continue;
            };
            let codecs = receiver.get_parameters().rtp_parameters.codecs.clone();
            let track_id = receiver.track().track_id().clone();
            let Some(primary) = codecs
                .iter()
                .find(|c| !c.rtp_codec.mime_type.eq_ignore_ascii_case(MIME_TYPE_RTX))
            else {
                continue;
            };
            let video_codec = VideoCodec::from_mime(&primary.rtp_codec.mime_type);
            if media.video && video_codec.is_none() {
                continue;
            }
            let rids = if media.rids.is_empty() {
                vec![String::new()]
            } else {
                media.rids.clone()
            };
            tracks.push(PublishedTrack {
                mid: media.mid.clone(),
                video: media.video,
                receiver: Some(receiver_id),
                track_id,
                codecs,
                video_codec,
                audio_level_id: media.audio_level_id,
                layers: rids
                    .into_iter()
                    .map(|rid| Layer {
                        rid,
                        ssrc: None,
                        height: 0,
                        last_keyframe_request: None,
                        keyframe_pending: false,
                        last_packet: None,
                        rate: Default::default(),
                    })
                    .collect(),
            });
        }
        if tracks.is_empty() {
            return Err(RefuseError::BadSdp("no forwardable codec offered".into()));
        }

        let room = self.rooms.entry(room_id).or_insert_with(|| Room {
            members: FxHashMap::default(),
            speaker: SpeakerDetector::new(self.setup.speaker),
            ssrcs: HashMap::new(),
        });
        for &ssrc in &summary.ssrcs {
            room.ssrcs.insert(ssrc, participant);
        }
        let member = room.members.entry(participant).or_default();
        member.publish = Some(id);
        member.own.push(id);
        self.ufrags.insert(ufrag.clone(), id);
        self.endpoints.insert(
            id,
            Box::new(Endpoint {
                room: room_id,
                participant,
                pc,
                ufrag,
                addrs: Vec::new(),
                connected: false,
                connect_by: Some(now + CONNECT_TIMEOUT),
                role: Role::Publisher(Publisher {
                    tracks,
                    ssrcs: Vec::new(),
                    declared: summary.ssrcs,
                }),
                tokens: f64::from(limits.packets_per_second),
                tokens_at: now,
                last_rx: now,
                deadline_stale: false,
            }),
        );
        self.events.push_back(Event::Answer { endpoint: id, sdp });
        self.process(id, now);
        Ok(())
    }

    fn subscribe(
        &mut self,
        id: EndpointId,
        room_id: RoomId,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        now: Instant,
    ) -> Result<(), RefuseError> {
        self.check_new(id, room_id)?;
        if subscriber == publisher {
            return Err(RefuseError::OwnMedia);
        }
        let publish_id = self
            .rooms
            .get(&room_id)
            .and_then(|r| r.members.get(&publisher))
            .and_then(|m| m.publish)
            .ok_or(RefuseError::UnknownPublisher)?;
        let Some(Role::Publisher(source)) = self.endpoints.get(&publish_id).map(|e| &e.role) else {
            return Err(RefuseError::UnknownPublisher);
        };
        let rtc_err = |e: rtc::shared::error::Error| RefuseError::Rtc(e.to_string());
        let media_engine = endpoint::subscriber_media_engine(&source.tracks).map_err(rtc_err)?;
        // what to add, copied out so that `self` is free again
        let plan: Vec<(usize, bool, Vec<_>, String)> = source
            .tracks
            .iter()
            .enumerate()
            .map(|(i, t)| (i, t.video, t.codecs.clone(), t.mid.clone()))
            .collect();
        let (ufrag, pwd) = self.new_credentials(id);
        let estimate = Estimate::default();
        let mut pc = endpoint::build_pc(
            self.identity.as_ref(),
            media_engine,
            endpoint::subscriber_interceptors(estimate.clone()),
            &ufrag,
            &pwd,
            self.setup.candidate,
            now,
        )
        .map_err(rtc_err)?;
        let mut streams = Vec::new();
        for (index, video, codecs, mid) in &plan {
            let primary = codecs
                .iter()
                .find(|c| !c.rtp_codec.mime_type.eq_ignore_ascii_case(MIME_TYPE_RTX))
                .cloned()
                .ok_or_else(|| RefuseError::Rtc("publisher track without codec".into()))?;
            let has_rtx = codecs
                .iter()
                .any(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(MIME_TYPE_RTX));
            let ssrc = self.random() as u32;
            let rtx = (*video && has_rtx).then(|| RTCRtpRtxParameters {
                ssrc: (self.random() as u32) | 1,
            });
            let kind = if *video {
                RtpCodecKind::Video
            } else {
                RtpCodecKind::Audio
            };
            let stream_id = format!("p{}", publisher.0);
            let track_id = format!("p{}-{}", publisher.0, mid);
            let track = MediaStreamTrack::new(
                stream_id,
                track_id.clone(),
                track_id,
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        rtx,
                        ..Default::default()
                    },
                    active: true,
                    codec: primary.rtp_codec.clone(),
                    ..Default::default()
                }],
            );
            let init = RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendonly,
                streams: Vec::new(),
                send_encodings: Vec::new(),
            };
            pc.add_transceiver_from_track(track, Some(init))
                .map_err(rtc_err)?;
            streams.push((*index, *video, ssrc, primary.rtp_codec.clock_rate));
        }
        let offer = pc.create_offer(None).map_err(rtc_err)?;
        pc.set_local_description(now, offer).map_err(rtc_err)?;
        let sdp = pc
            .local_description()
            .map(|d| d.sdp)
            .ok_or_else(|| RefuseError::Rtc("no local description".into()))?;
        // The payload types and extension ids the subscriber will see are ours (from the
        // offer); the publisher's are mapped to them per packet.
        let ours = crate::endpoint::OfferedIds::parse(&sdp);
        let out = streams
            .into_iter()
            .map(|(index, video, ssrc, clock_rate)| {
                let codecs = &plan[index].2;
                let pt_map = codecs
                    .iter()
                    .filter(|c| !c.rtp_codec.mime_type.eq_ignore_ascii_case(MIME_TYPE_RTX))
                    .filter_map(|c| Some((c.payload_type, ours.payload_type(index, &c.rtp_codec)?)))
                    .collect();
                OutStream::new(
                    index,
                    video,
                    ssrc,
                    pt_map,
                    if video { None } else { ours.audio_level(index) },
                    clock_rate,
                )
            })
            .collect();

        let room = self
            .rooms
            .get_mut(&room_id)
            .ok_or(RefuseError::UnknownPublisher)?;
        room.members.entry(subscriber).or_default().own.push(id);
        if let Some(m) = room.members.get_mut(&publisher) {
            m.subscribers.push(id);
        }
        self.ufrags.insert(ufrag.clone(), id);
        self.endpoints.insert(
            id,
            Box::new(Endpoint {
                room: room_id,
                participant: subscriber,
                pc,
                ufrag,
                addrs: Vec::new(),
                connected: false,
                connect_by: None,
                role: Role::Subscriber(Subscriber {
                    publisher,
                    streams: out,
                    answered: false,
                    max_height: u32::MAX,
                    link: LinkCap::new(estimate),
                }),
                tokens: f64::from(self.setup.limits.packets_per_second),
                tokens_at: now,
                last_rx: now,
                deadline_stale: false,
            }),
        );
        self.retarget(id, now);
        self.events.push_back(Event::Offer { endpoint: id, sdp });
        self.process(id, now);
        Ok(())
    }

    fn answer(&mut self, id: EndpointId, answer: String, now: Instant) -> Result<(), RefuseError> {
        let ep = self
            .endpoints
            .get_mut(&id)
            .ok_or(RefuseError::UnknownEndpoint)?;
        let Role::Subscriber(sub) = &mut ep.role else {
            return Err(RefuseError::WrongState);
        };
        if sub.answered {
            return Err(RefuseError::WrongState);
        }
        let desc = RTCSessionDescription::answer(answer)
            .map_err(|e| RefuseError::BadSdp(e.to_string()))?;
        ep.pc
            .set_remote_description(now, desc)
            .map_err(|e| RefuseError::BadSdp(e.to_string()))?;
        sub.answered = true;
        ep.connect_by = Some(now + CONNECT_TIMEOUT);
        self.process(id, now);
        Ok(())
    }

    fn constrain(
        &mut self,
        id: EndpointId,
        max_height: u32,
        now: Instant,
    ) -> Result<(), RefuseError> {
        let ep = self
            .endpoints
            .get_mut(&id)
            .ok_or(RefuseError::UnknownEndpoint)?;
        let Role::Subscriber(sub) = &mut ep.role else {
            return Err(RefuseError::WrongState);
        };
        sub.max_height = max_height;
        self.retarget(id, now);
        Ok(())
    }

    /// Recompute which layer each video stream of a subscriber should carry, and ask the
    /// publisher for a keyframe where a switch is pending.
    fn retarget(&mut self, id: EndpointId, now: Instant) {
        let Some((publish_id, audio, video)) = self.forwarded_rates(id) else {
            return;
        };
        // what the link allows for video: its allowance less the audio it also carries
        let budget = match self.endpoints.get_mut(&id).map(|e| &mut e.role) {
            Some(Role::Subscriber(sub)) => sub
                .link
                .allowance(now, audio + video)
                .map(|bps| bps.saturating_sub(audio)),
            _ => return,
        };
        let Some(ep) = self.endpoints.get(&id) else {
            return;
        };
        let (Role::Subscriber(sub), Some(Role::Publisher(source))) =
            (&ep.role, self.endpoints.get(&publish_id).map(|e| &e.role))
        else {
            return;
        };
        let max_height = sub.max_height;
        let targets: Vec<Option<usize>> = sub
            .streams
            .iter()
            .map(|s| {
                if s.video {
                    let layers = &source.tracks[s.source].layers;
                    endpoint::choose_layer(layers, max_height, now)
                        .map(|wanted| endpoint::fit_layer(layers, wanted, s.current, budget, now))
                } else {
                    Some(0)
                }
            })
            .collect();
        let connected = ep.connected;
        let mut wanted = Vec::new();
        if let Some(Role::Subscriber(sub)) = self.endpoints.get_mut(&id).map(|e| &mut e.role) {
            for (stream, target) in sub.streams.iter_mut().zip(targets) {
                if target.is_none() {
                    stream.pause();
                    continue;
                }
                if stream.target != target || (stream.current != target && connected) {
                    stream.target = target;
                    if stream.current != target
                        && let Some(layer) = target
                    {
                        wanted.push((stream.source, layer));
                    }
                }
            }
        }
        if connected {
            for (track, layer) in wanted {
                self.request_keyframe(publish_id, track, layer, now);
            }
        }
    }

    /// The publishing endpoint a subscribing one forwards, and what it forwards now in bits
    /// per second: (publisher, audio, video).
    fn forwarded_rates(&self, id: EndpointId) -> Option<(EndpointId, u64, u64)> {
        let ep = self.endpoints.get(&id)?;
        let Role::Subscriber(sub) = &ep.role else {
            return None;
        };
        let publish_id = self.publish_endpoint(ep.room, sub.publisher)?;
        let Role::Publisher(source) = &self.endpoints.get(&publish_id)?.role else {
            return None;
        };
        let rate = |s: &OutStream, layer: Option<usize>| {
            layer
                .and_then(|l| source.tracks[s.source].layers.get(l))
                .map_or(0, |l| l.rate.bps())
        };
        let (mut audio, mut video) = (0, 0);
        for s in &sub.streams {
            if s.video {
                video += rate(s, s.current);
            } else {
                audio += rate(s, Some(0));
            }
        }
        Some((publish_id, audio, video))
    }

    fn publish_endpoint(&self, room: RoomId, participant: ParticipantId) -> Option<EndpointId> {
        self.rooms.get(&room)?.members.get(&participant)?.publish
    }

    /// Ask a publisher for a keyframe on one layer, at most once per [`KEYFRAME_INTERVAL`]
    /// (a request in between is sent when the interval has passed).
    fn request_keyframe(
        &mut self,
        publish_id: EndpointId,
        track: usize,
        layer: usize,
        now: Instant,
    ) {
        let Some(ep) = self.endpoints.get_mut(&publish_id) else {
            return;
        };
        let Role::Publisher(p) = &mut ep.role else {
            return;
        };
        let Some(t) = p.tracks.get_mut(track) else {
            return;
        };
        let receiver = t.receiver;
        let Some(l) = t.layers.get_mut(layer) else {
            return;
        };
        let Some(ssrc) = l.ssrc else {
            // the layer has not started; its first packets are what we wait for anyway
            l.keyframe_pending = true;
            return;
        };
        if l.last_keyframe_request
            .is_some_and(|t| now.saturating_duration_since(t) < KEYFRAME_INTERVAL)
        {
            l.keyframe_pending = true;
            return;
        }
        l.last_keyframe_request = Some(now);
        l.keyframe_pending = false;
        if let Some(mut r) = receiver.and_then(|r| ep.pc.rtp_receiver(r)) {
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc: ssrc,
            };
            if r.write_rtcp(now, vec![Box::new(pli)]).is_ok() {
                self.totals.keyframe_requests_relayed += 1;
            }
        }
        self.drain_writes(publish_id);
    }

    // ---------------------------------------------------------------- datagrams

    /// One datagram received on the shared socket.
    pub fn handle_datagram(&mut self, now: Instant, source: SocketAddr, data: &[u8]) {
        let id = match demux::stun_local_ufrag(data) {
            Some(ufrag) => match self.ufrags.get(ufrag) {
                Some(&id) => {
                    self.learn_address(id, source);
                    Some(id)
                }
                None => None,
            },
            None => self.addrs.get(&source).copied(),
        };
        let Some(id) = id else {
            self.totals.datagrams_dropped += 1;
            return;
        };
        let Some(ep) = self.endpoints.get_mut(&id) else {
            self.totals.datagrams_dropped += 1;
            return;
        };
        // flood guard: a token bucket per endpoint
        let rate = f64::from(self.setup.limits.packets_per_second);
        let elapsed = now.saturating_duration_since(ep.tokens_at).as_secs_f64();
        ep.tokens = (ep.tokens + elapsed * rate).min(rate);
        ep.tokens_at = now;
        if ep.tokens < 1.0 {
            self.totals.datagrams_dropped += 1;
            return;
        }
        ep.tokens -= 1.0;
        ep.last_rx = now;
        let msg = TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: self.setup.local,
                peer_addr: source,
                transport_protocol: TransportProtocol::UDP,
                ecn: None,
            },
            message: BytesMut::from(data),
        };
        // SRTP/SRTCP on a connected endpoint (RFC 7983: first byte 128..=191)
        let media = ep.connected && matches!(data.first(), Some(128..=191));
        if ep.pc.handle_read(msg).is_err() {
            self.totals.datagrams_dropped += 1;
        }
        if media {
            self.process_media(id, now);
        } else {
            self.process(id, now);
        }
    }

    fn learn_address(&mut self, id: EndpointId, addr: SocketAddr) {
        match self.addrs.get(&addr) {
            Some(&known) if known == id => return,
            Some(&other) => {
                if let Some(e) = self.endpoints.get_mut(&other) {
                    e.addrs.retain(|a| *a != addr);
                }
            }
            None => {}
        }
        let Some(ep) = self.endpoints.get_mut(&id) else {
            return;
        };
        if ep.addrs.len() >= ADDRS_PER_ENDPOINT {
            let old = ep.addrs.remove(0);
            self.addrs.remove(&old);
        }
        ep.addrs.push(addr);
        self.addrs.insert(addr, id);
    }

    // ---------------------------------------------------------------- time

    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            self.deadlines.remove(&id);
            if let Some(ep) = self.endpoints.get_mut(&id) {
                let _ = ep.pc.handle_timeout(now);
                self.process(id, now);
            }
        }
        if self.next_tick.is_some_and(|t| t <= now) {
            self.next_tick = None;
            self.tick(now);
            self.ensure_tick(now);
        }
    }

    fn ensure_tick(&mut self, now: Instant) {
        if self.next_tick.is_none() && !self.endpoints.is_empty() {
            self.next_tick = Some(now + TICK);
        }
    }

    fn tick(&mut self, now: Instant) {
        // deadlines not read after media (see `process_media`), and whatever a forwarded
        // packet left queued (see `forward`)
        let stale: Vec<EndpointId> = self
            .endpoints
            .iter_mut()
            .filter(|(_, e)| e.deadline_stale)
            .map(|(id, e)| {
                e.deadline_stale = false;
                *id
            })
            .collect();
        for id in stale {
            self.drain_writes(id);
            self.schedule(id);
        }
        // connect deadlines and silent peers
        let late: Vec<(EndpointId, &'static str)> = self
            .endpoints
            .iter()
            .filter_map(|(id, e)| {
                if !e.connected && e.connect_by.is_some_and(|t| t <= now) {
                    Some((*id, "never connected"))
                } else if e.connected && now.saturating_duration_since(e.last_rx) > SILENCE_TIMEOUT
                {
                    Some((*id, "silent"))
                } else {
                    None
                }
            })
            .collect();
        for (id, why) in late {
            tracing::info!(%id, why, "endpoint failed");
            self.close(id, CloseReason::Failed);
        }
        // deferred keyframe requests
        let mut due = Vec::new();
        for (&id, ep) in &self.endpoints {
            if let Role::Publisher(p) = &ep.role {
                for (t, track) in p.tracks.iter().enumerate() {
                    for (l, layer) in track.layers.iter().enumerate() {
                        if layer.keyframe_pending && layer.ssrc.is_some() {
                            due.push((id, t, l));
                        }
                    }
                }
            }
        }
        for (id, t, l) in due {
            self.request_keyframe(id, t, l, now);
        }
        // Layers start and stop (a sender under pressure drops its top layer) and change
        // size: choose again for every subscriber.
        let subscribers: Vec<EndpointId> = self
            .endpoints
            .iter()
            .filter(|(_, e)| matches!(e.role, Role::Subscriber(_)))
            .map(|(id, _)| *id)
            .collect();
        for id in subscribers {
            self.retarget(id, now);
        }
        // dominant speakers
        let mut changes = Vec::new();
        for (&room_id, room) in &mut self.rooms {
            if let Some(p) = room.speaker.handle_timeout(now) {
                changes.push((room_id, p));
            }
        }
        for (room, p) in changes {
            self.events.push_back(Event::DominantSpeaker {
                room,
                participant: Some(p),
            });
        }
    }

    // ---------------------------------------------------------------- the pipeline

    /// Drain what one endpoint's peer connection produced: events, media, datagrams; then
    /// take its next deadline.
    fn process(&mut self, id: EndpointId, now: Instant) {
        self.drain(id, now, true);
    }

    /// [`Self::process`] for media: the deadline is taken at the next tick.
    ///
    /// Reading the deadline walks every handler and interceptor of the peer connection, and
    /// media moves none of them earlier: the report, NACK and TWCC timers are armed once, by the
    /// first packet, and then move only when they fire (which reads the deadline again). Doing it
    /// per packet and per subscriber was a tenth of the bridge's instructions.
    fn process_media(&mut self, id: EndpointId, now: Instant) {
        self.drain(id, now, false);
    }

    fn drain(&mut self, id: EndpointId, now: Instant, reschedule: bool) {
        let mut failed = false;
        let mut connected_now = false;
        let mut ice_up = false;
        let mut reads = Vec::new();
        {
            let Some(ep) = self.endpoints.get_mut(&id) else {
                return;
            };
            while let Some(event) = ep.pc.poll_event() {
                match event {
                    RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                        tracing::debug!(%id, ?state, "endpoint state");
                        match state {
                            RTCPeerConnectionState::Connected if !ep.connected => {
                                ep.connected = true;
                                ep.connect_by = None;
                                connected_now = true;
                            }
                            // ICE consent lost or DTLS failed/closed by the peer;
                            // "disconnected" may recover and is left to the silence timeout
                            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                                failed = true;
                            }
                            _ => {}
                        }
                    }
                    RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                        if let Role::Publisher(p) = &mut ep.role
                            && let Some(t) =
                                p.tracks.iter().position(|t| t.track_id == init.track_id)
                        {
                            let rid = init.rid.unwrap_or_default();
                            let track = &mut p.tracks[t];
                            let l = track.layers.iter().position(|l| l.rid == rid).unwrap_or(0);
                            if let Some(layer) = track.layers.get_mut(l) {
                                if let Some(old) = layer.ssrc.replace(init.ssrc) {
                                    p.ssrcs.retain(|(s, _)| *s != old);
                                }
                                p.ssrcs.retain(|(s, _)| *s != init.ssrc);
                                p.ssrcs.push((init.ssrc, (t, l)));
                            }
                        }
                    }
                    RTCPeerConnectionEvent::OnIceConnectionStateChangeEvent(
                        RTCIceConnectionState::Connected,
                    ) => ice_up = true,
                    _ => {}
                }
            }
            while let Some(TaggedRTCMessage { message, .. }) = ep.pc.poll_read() {
                reads.push(message);
            }
        }
        if connected_now {
            self.events.push_back(Event::Connected { endpoint: id });
            self.retarget(id, now);
        }
        for message in reads {
            match message {
                RTCMessage::RtpPacket(_, packet) => self.forward(id, packet, now),
                RTCMessage::RtcpPacket(_, packets) => self.feedback(id, &packets, now),
                _ => {}
            }
        }
        self.drain_writes(id);
        if reschedule || failed || connected_now || ice_up {
            self.schedule(id);
        } else if let Some(ep) = self.endpoints.get_mut(&id) {
            ep.deadline_stale = true;
        }
        if ice_up {
            // ICE up makes rtc's DTLS client queue its first flight inside the DTLS endpoint,
            // where only a timeout collects it: left alone it waits for the ICE agent's next
            // tick (200 ms), most of a subscription's set-up time. The timeout runs at once but
            // after this call's datagrams are sent, so the STUN response that completes the
            // peer's ICE leaves first (a hello that overtakes it is dropped, and retried 1 s
            // later).
            self.schedule_at(id, now);
        }
        if failed {
            self.close(id, CloseReason::Failed);
        }
    }

    fn drain_writes(&mut self, id: EndpointId) {
        if let Some(ep) = self.endpoints.get_mut(&id) {
            while let Some(out) = ep.pc.poll_write() {
                self.transmits.push_back(Transmit {
                    destination: out.transport.peer_addr,
                    contents: out.message,
                });
            }
        }
    }

    /// Make the endpoint's next deadline `at` if that is sooner.
    fn schedule_at(&mut self, id: EndpointId, at: Instant) {
        let old = self.deadlines.get(&id).copied();
        if old.is_some_and(|t| t <= at) {
            return;
        }
        if let Some(old) = old {
            self.timers.remove(&(old, id));
        }
        self.timers.insert((at, id));
        self.deadlines.insert(id, at);
    }

    fn schedule(&mut self, id: EndpointId) {
        let Some(ep) = self.endpoints.get_mut(&id) else {
            return;
        };
        let next = ep.pc.poll_timeout();
        let old = self.deadlines.get(&id).copied();
        if old == next {
            return;
        }
        if let Some(old) = old {
            self.timers.remove(&(old, id));
            self.deadlines.remove(&id);
        }
        if let Some(next) = next {
            self.timers.insert((next, id));
            self.deadlines.insert(id, next);
        }
    }

    /// A publisher's packet, to every subscriber of it that wants this layer.
    fn forward(&mut self, from: EndpointId, packet: rtc::rtp::Packet, now: Instant) {
        let Some(ep) = self.endpoints.get_mut(&from) else {
            return;
        };
        let Role::Publisher(p) = &mut ep.role else {
            return;
        };
        let Some(&(_, (track_index, layer_index))) =
            p.ssrcs.iter().find(|(s, _)| *s == packet.header.ssrc)
        else {
            return;
        };
        if packet.payload.is_empty() {
            return; // padding only (bandwidth probes)
        }
        let (room_id, participant) = (ep.room, ep.participant);
        let track = &mut p.tracks[track_index];
        let codec = track.video_codec;
        let audio_level_id = track.audio_level_id;
        let mut keyframe = None;
        let mut is_keyframe = || {
            *keyframe.get_or_insert_with(|| {
                codec.is_some_and(|c| media::is_keyframe_start(c, &packet.payload))
            })
        };
        let layer = &mut track.layers[layer_index];
        layer.last_packet = Some(now);
        layer.rate.record(RTP_HEADER + packet.payload.len(), now);
        if codec == Some(VideoCodec::Vp8)
            && let Some((_, h)) = media::vp8_keyframe(&packet.payload)
            && layer.height != h
        {
            layer.height = h;
        }
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        if let Some(id) = audio_level_id
            && let Some(ext) = packet.header.get_extension(id)
            && let Some((dbov, _)) = media::audio_level(&ext)
        {
            room.speaker.record(participant, dbov, now);
        }
        let Some(member) = room.members.get_mut(&participant) else {
            return;
        };
        let subscribers = std::mem::take(&mut member.subscribers);
        for &sub_id in &subscribers {
            let Some(sub_ep) = self.endpoints.get_mut(&sub_id) else {
                continue;
            };
            if !sub_ep.connected {
                continue;
            }
            let Role::Subscriber(sub) = &mut sub_ep.role else {
                continue;
            };
            let mut written = 0;
            for stream in sub.streams.iter_mut().filter(|s| s.source == track_index) {
                match stream.accept(layer_index, &packet.header, &mut is_keyframe, now) {
                    Verdict::Drop => continue,
                    Verdict::Forward | Verdict::Switched => {}
                }
                let Some(header) = stream.rewrite(&packet.header, audio_level_id, now) else {
                    continue;
                };
                let out = rtc::rtp::Packet {
                    header,
                    payload: packet.payload.clone(),
                };
                // rtc routes what is written by SSRC; the track id is not read on this path
                let message = TaggedRTCMessage {
                    now,
                    message: RTCMessage::RtpPacket(String::new(), out),
                };
                if sub_ep.pc.handle_write(message).is_ok() {
                    self.totals.packets_forwarded += 1;
                    self.totals.bytes_forwarded += packet.payload.len() as u64;
                    written += 1;
                }
            }
            if written > 0 {
                // One datagram per packet written. Each poll runs the peer connection's whole
                // write pipeline, so the one that would find it empty is left out; anything
                // else queued (there is nothing else on this path) goes at the next tick.
                for _ in 0..written {
                    let Some(out) = sub_ep.pc.poll_write() else {
                        break;
                    };
                    self.transmits.push_back(Transmit {
                        destination: out.transport.peer_addr,
                        contents: out.message,
                    });
                }
                sub_ep.deadline_stale = true;
            }
        }
        if let Some(member) = self
            .rooms
            .get_mut(&room_id)
            .and_then(|r| r.members.get_mut(&participant))
        {
            member.subscribers = subscribers;
        }
    }

    /// RTCP from a subscriber: keyframe requests go to the publisher's layer it receives.
    fn feedback(&mut self, from: EndpointId, packets: &[Box<dyn rtc::rtcp::Packet>], now: Instant) {
        let Some(ep) = self.endpoints.get(&from) else {
            return;
        };
        let Role::Subscriber(sub) = &ep.role else {
            return;
        };
        let mut wanted = Vec::new();
        for packet in packets {
            let any = packet.as_any();
            let ssrcs: Vec<u32> = if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                vec![pli.media_ssrc]
            } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
                fir.fir.iter().map(|f| f.ssrc).collect()
            } else {
                continue;
            };
            for ssrc in ssrcs {
                if let Some(stream) = sub.streams.iter().find(|s| s.ssrc == ssrc && s.video)
                    && let Some(layer) = stream.current.or(stream.target)
                {
                    wanted.push((stream.source, layer));
                }
            }
        }
        if let Some(publish_id) = self.publish_endpoint(ep.room, sub.publisher) {
            for (track, layer) in wanted {
                self.request_keyframe(publish_id, track, layer, now);
            }
        }
    }

    // ---------------------------------------------------------------- teardown

    fn close(&mut self, id: EndpointId, reason: CloseReason) {
        let Some(mut ep) = self.endpoints.remove(&id) else {
            return;
        };
        let _ = ep.pc.close();
        while let Some(out) = ep.pc.poll_write() {
            self.transmits.push_back(Transmit {
                destination: out.transport.peer_addr,
                contents: out.message,
            });
        }
        self.ufrags.remove(&ep.ufrag);
        for addr in &ep.addrs {
            self.addrs.remove(addr);
        }
        if let Some(t) = self.deadlines.remove(&id) {
            self.timers.remove(&(t, id));
        }
        if let Some(room) = self.rooms.get_mut(&ep.room) {
            if let Some(member) = room.members.get_mut(&ep.participant) {
                member.own.retain(|e| *e != id);
                if member.publish == Some(id) {
                    member.publish = None;
                }
            }
            match &ep.role {
                Role::Publisher(p) => {
                    for ssrc in &p.declared {
                        room.ssrcs.remove(ssrc);
                    }
                    if let Some(change) = room.speaker.remove(ep.participant) {
                        self.events.push_back(Event::DominantSpeaker {
                            room: ep.room,
                            participant: change,
                        });
                    }
                }
                Role::Subscriber(sub) => {
                    if let Some(m) = room.members.get_mut(&sub.publisher) {
                        m.subscribers.retain(|e| *e != id);
                    }
                }
            }
            room.members.retain(|_, m| {
                m.publish.is_some() || !m.own.is_empty() || !m.subscribers.is_empty()
            });
            if room.members.is_empty() {
                self.rooms.remove(&ep.room);
            }
        }
        if self.endpoints.is_empty() {
            self.next_tick = None;
        }
        self.events.push_back(Event::Closed {
            endpoint: id,
            reason,
        });
    }
}
