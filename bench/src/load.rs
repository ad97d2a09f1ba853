//! The load generator: synthetic participants as real WebRTC peers.
//!
//! Every peer is an `rtc` peer connection (full ICE, DTLS-SRTP, the default NACK/TWCC/report
//! interceptors, as a browser has them) with its own UDP socket on loopback. One thread
//! drives all of them with epoll and a timerfd, so that a few hundred peers cost a few hundred
//! sockets, not threads.
//!
//! A publisher sends what a browser sends for a 720p camera with three simulcast layers
//! (`rid` q, h, f; 150 + 350 + 1000 kbit/s at 30 frames/s, VP8-shaped payloads, keyframes on
//! request and every [`KEYFRAME_PERIOD`], paced at 2.5x the bitrate as libwebrtc's pacer
//! does) and Opus-sized audio (50 packets/s, 50 kbit/s) with the RFC 6464 audio level. Every
//! payload ends with a [`Marker`]: who sent it, which layer, and the send time. A subscriber
//! reads the marker of everything it receives: packets per second, first packet per
//! publisher (join time) and the forwarding latency against the kernel's receive timestamp
//! (`SO_TIMESTAMPNS`), so that the generator's own scheduling does not count.

use bytes::{Bytes, BytesMut};
use rtc::interceptor::{
    NackGeneratorBuilder, NackResponderBuilder, ReceiverReportBuilder, Registry,
    SenderReportBuilder, Slot,
};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_nack, configure_simulcast_extension_headers, configure_twcc_receiver_only,
    configure_twcc_sender_only,
};
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability,
    RTCRtpHeaderExtensionParameters, RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
const RID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

/// Simulcast layers, lowest first: rid, bit/s, picture height.
pub const LAYERS: [(&str, u32, u16); 3] = [
    ("q", 150_000, 180),
    ("h", 350_000, 360),
    ("f", 1_000_000, 720),
];
const FPS: u32 = 30;
/// Largest RTP payload a video packet carries (libwebrtc stays near 1,200 bytes per datagram).
const MAX_PAYLOAD: usize = 1_100;
/// A keyframe is this many times the size of a delta frame.
const KEYFRAME_FACTOR: usize = 5;
/// Keyframes without a request, now and then.
pub const KEYFRAME_PERIOD: Duration = Duration::from_secs(10);
/// A keyframe request is served at most this often per layer (libwebrtc throttles too).
const KEYFRAME_MIN_INTERVAL: Duration = Duration::from_millis(300);
/// Audio payload bytes: 50 kbit/s at 50 packets/s is 125 bytes of RTP with header and level.
const AUDIO_PAYLOAD: usize = 100;
/// The pacer sends video at this multiple of the publisher's bitrate.
const PACING_FACTOR: f64 = 2.5;

/// Latency histogram: 1 µs buckets below this many µs, 1 ms buckets above it up to 10 s.
const FINE_US: u64 = 10_000;
const BUCKETS: usize = FINE_US as usize + 10_000;

fn bucket(us: u64) -> usize {
    if us < FINE_US {
        us as usize
    } else {
        (FINE_US + (us - FINE_US) / 1000).min(BUCKETS as u64 - 1) as usize
    }
}

fn bucket_us(i: usize) -> f64 {
    let i = i as u64;
    if i < FINE_US {
        i as f64
    } else {
        (FINE_US + (i - FINE_US) * 1000) as f64
    }
}

/// The end of every payload: who sent it and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub publisher: u32,
    /// 0 audio, 1 + layer index for video.
    pub kind: u8,
    /// CLOCK_REALTIME at the moment the packet was handed to the peer connection, in ns.
    pub sent_ns: u64,
}

impl Marker {
    const LEN: usize = 16;
    const MAGIC: [u8; 2] = [0xb7, 0xe5];

    fn write(&self, to: &mut [u8]) {
        let n = to.len();
        let m = &mut to[n - Self::LEN..];
        m[0..2].copy_from_slice(&Self::MAGIC);
        m[2] = self.kind;
        m[3] = 0;
        m[4..8].copy_from_slice(&self.publisher.to_be_bytes());
        m[8..16].copy_from_slice(&self.sent_ns.to_be_bytes());
    }

    fn read(payload: &[u8]) -> Option<Self> {
        let m = payload.get(payload.len().checked_sub(Self::LEN)?..)?;
        if m[0..2] != Self::MAGIC {
            return None;
        }
        Some(Self {
            kind: m[2],
            publisher: u32::from_be_bytes(m[4..8].try_into().ok()?),
            sent_ns: u64::from_be_bytes(m[8..16].try_into().ok()?),
        })
    }
}

/// A peer, as the generator numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub usize);

/// What the orchestrator can read back.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Peers whose connection is up.
    pub connected: Vec<bool>,
    /// When each peer's connection came up.
    pub connected_at: Vec<Option<Instant>>,
    /// Peers whose connection failed.
    pub failed: Vec<bool>,
    /// (subscriber peer, publisher, kind) -> first packet received.
    pub first: HashMap<(PeerId, u32, u8), Instant>,
    /// Media packets received by all subscriber peers since the window started.
    pub received: u64,
    /// Media packets sent by all publishers since the window started.
    pub sent: u64,
    /// Latency histogram of the window (µs buckets).
    pub latency: Vec<u64>,
    pub window_started: Option<Instant>,
    /// Packets the peer connection refused to send, by kind.
    pub send_errors: [u64; 4],
    /// Packets slower than 20 ms, by kind (audio, layer 0, 1, 2).
    pub slow: [u64; 4],
    /// Keyframes sent (all layers) since the window started.
    pub keyframes: u64,
}

impl Report {
    pub fn new() -> Self {
        Self {
            latency: vec![0; BUCKETS],
            ..Default::default()
        }
    }

    /// A media packet a subscriber received at `rx_ns` (CLOCK_REALTIME).
    pub fn record(&mut self, peer: PeerId, payload: &[u8], rx_ns: u64, now: Instant) {
        let Some(m) = Marker::read(payload) else {
            return;
        };
        self.received += 1;
        let latency = rx_ns.saturating_sub(m.sent_ns) / 1000;
        self.latency[bucket(latency)] += 1;
        if latency > 20_000 {
            self.slow[usize::from(m.kind.min(3))] += 1;
        }
        self.first.entry((peer, m.publisher, m.kind)).or_insert(now);
    }

    /// A latency percentile in µs (`None` without samples).
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let total: u64 = self.latency.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &n) in self.latency.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(bucket_us(i));
            }
        }
        None
    }
}

enum Request {
    AddPublisher {
        publisher: u32,
        loud: bool,
        reply: mpsc::Sender<io::Result<(PeerId, String)>>,
    },
    SetAnswer {
        peer: PeerId,
        sdp: String,
        reply: mpsc::Sender<Result<(), String>>,
    },
    AddSubscriber {
        offer: String,
        reply: mpsc::Sender<Result<(PeerId, String), String>>,
    },
    Query(mpsc::Sender<Report>),
    StartWindow,
    Media(bool),
    Stop,
}

/// The generator thread and its mailbox.
pub struct Generator {
    requests: mpsc::Sender<Request>,
    wake: UnixDatagram,
    thread: Option<JoinHandle<()>>,
}

impl Generator {
    /// Peers bind to `address`.
    pub fn spawn(address: IpAddr) -> io::Result<Self> {
        let (wake, wake_rx) = UnixDatagram::pair()?;
        wake_rx.set_nonblocking(true)?;
        let (requests, inbox) = mpsc::channel();
        let mut looper = Looper::new(address, wake_rx, inbox)?;
        let thread = std::thread::Builder::new()
            .name("generator".into())
            .spawn(move || {
                if let Err(e) = looper.run() {
                    eprintln!("load generator stopped: {e}");
                }
            })?;
        Ok(Self {
            requests,
            wake,
            thread: Some(thread),
        })
    }

    fn ask<T>(&self, make: impl FnOnce(mpsc::Sender<T>) -> Request) -> T {
        let (tx, rx) = mpsc::channel();
        self.post(make(tx));
        rx.recv().expect("the load generator answers")
    }

    fn post(&self, request: Request) {
        if self.requests.send(request).is_ok() {
            let _ = self.wake.send(&[1]);
        }
    }

    /// A new publishing peer: its SDP offer (audio + three simulcast video layers).
    pub fn add_publisher(&self, publisher: u32, loud: bool) -> io::Result<(PeerId, String)> {
        self.ask(|reply| Request::AddPublisher {
            publisher,
            loud,
            reply,
        })
    }

    pub fn set_answer(&self, peer: PeerId, sdp: String) -> Result<(), String> {
        self.ask(|reply| Request::SetAnswer { peer, sdp, reply })
    }

    /// A new subscribing peer for an SFU's offer: its SDP answer.
    pub fn add_subscriber(&self, offer: String) -> Result<(PeerId, String), String> {
        self.ask(|reply| Request::AddSubscriber { offer, reply })
    }

    pub fn report(&self) -> Report {
        self.ask(Request::Query)
    }

    /// Reset the window counters and the latency histogram.
    pub fn start_window(&self) {
        self.post(Request::StartWindow);
    }

    /// Pause or resume every publisher's media.
    pub fn media(&self, on: bool) {
        self.post(Request::Media(on));
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        self.post(Request::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ------------------------------------------------------------------------------------ peers

struct AudioTx {
    sender: RTCRtpSenderId,
    ssrc: u32,
    pt: u8,
    level: Option<u8>,
    seq: u16,
}

struct LayerTx {
    ssrc: u32,
    rid: &'static str,
    seq: u16,
    picture_id: u16,
    keyframe_wanted: bool,
    last_keyframe: Option<Instant>,
}

struct VideoTx {
    sender: RTCRtpSenderId,
    pt: u8,
    mid_ext: Option<u8>,
    rid_ext: Option<u8>,
    mid: Bytes,
    layers: Vec<LayerTx>,
}

/// A video packet waiting for the pacer.
struct Paced {
    layer: usize,
    seq: u16,
    timestamp: u32,
    marker: bool,
    /// First packet of the frame: carries the VP8 frame header.
    start: bool,
    key: bool,
    picture_id: u16,
    size: usize,
}

pub struct Publishing {
    publisher: u32,
    loud: bool,
    audio: Option<AudioTx>,
    video: Option<VideoTx>,
    next_audio: Instant,
    next_frame: Instant,
    frame: u32,
    paced: VecDeque<Paced>,
    next_paced: Instant,
    /// Pacing rate in bytes per second.
    pace: f64,
}

impl Publishing {
    /// Media starts (or starts again) no earlier than `now`, with nothing queued.
    pub fn restart(&mut self, now: Instant) {
        self.next_audio = self.next_audio.max(now);
        self.next_frame = self.next_frame.max(now);
        self.paced.clear();
    }

    /// When the next packet or frame is due.
    pub fn next_due(&self) -> Instant {
        let mut next = self.next_audio.min(self.next_frame);
        if !self.paced.is_empty() {
            next = next.min(self.next_paced);
        }
        next
    }
}

impl Peer {
    /// Take the peer connection's events. This also moves its internal ones along (ICE up
    /// starts DTLS), so it runs after every datagram: a DTLS hello read in the same batch as
    /// the STUN response that completes ICE is otherwise dropped, and the handshake waits for
    /// a retransmission.
    fn events(&mut self, now: Instant) {
        while let Some(event) = self.pc.poll_event() {
            if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) = event {
                match state {
                    RTCPeerConnectionState::Connected => {
                        if !self.connected
                            && let Some(p) = self.publishing.as_mut()
                        {
                            p.restart(now);
                        }
                        self.connected = true;
                        self.connected_at.get_or_insert(now);
                    }
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                        self.failed = true;
                        self.connected = false;
                    }
                    _ => {}
                }
            }
        }
    }
}

struct Peer {
    pc: RTCPeerConnection,
    socket: UdpSocket,
    local: SocketAddr,
    publishing: Option<Publishing>,
    connected: bool,
    connected_at: Option<Instant>,
    failed: bool,
    timeout: Option<Instant>,
}

/// Which way a peer's media goes: it sets the interceptors, as a browser's are per direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends: answers NACKs from its history, sends sender reports, numbers packets for TWCC,
    /// hears keyframe requests.
    Publisher,
    /// Receives: NACKs what is lost, sends receiver reports and TWCC feedback.
    Subscriber,
}

fn media_engine(role: Role) -> rtc::shared::error::Result<(MediaEngine, Registry)> {
    let mut me = MediaEngine::default();
    me.register_default_codecs()?;
    me.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL.into(),
        },
        RtpCodecKind::Audio,
        None,
    )?;
    for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
        me.register_header_extension(
            RTCRtpHeaderExtensionCapability { uri: MID.into() },
            kind,
            None,
        )?;
    }
    // the feedback and extensions are negotiated the same for both; the interceptors differ
    let _ = configure_nack(Registry::new(), &mut me);
    configure_simulcast_extension_headers(&mut me)?;
    let registry = match role {
        Role::Publisher => configure_twcc_sender_only(Registry::new(), &mut me)?
            .with(Slot::NackResponder, NackResponderBuilder::new().build())
            .with(Slot::SenderReport, SenderReportBuilder::new().build())
            .with(
                Slot::from(bridge::KEYFRAME_REQUEST_SLOT),
                bridge::KeyframeRequests::default(),
            ),
        Role::Subscriber => configure_twcc_receiver_only(Registry::new(), &mut me)?
            .with(Slot::NackGenerator, NackGeneratorBuilder::new().build())
            .with(Slot::ReceiverReport, ReceiverReportBuilder::new().build()),
    };
    Ok((me, registry))
}

/// A peer connection as a browser's: full ICE, default codecs, NACK, TWCC, reports, and one
/// host candidate at `local`.
pub fn new_pc(local: SocketAddr, role: Role, now: Instant) -> io::Result<RTCPeerConnection> {
    let rtc_err = |e: rtc::shared::error::Error| io::Error::other(e.to_string());
    let (me, registry) = media_engine(role).map_err(rtc_err)?;
    // Connectivity checks timed as Chromium's: it pings at once, then every 48 ms while no
    // pair is writable, and against an ICE-lite peer nominates with the ping after the first
    // success (~50 ms). rtc sends its first check one interval after it starts and nominates
    // one interval later, so 25 ms gives it the same ~50 ms (rtc's default, 200 ms, would add
    // 300 ms to every join against a lite server). Kept up for 10 s rather than rtc's 7 tries:
    // a subscriber's checks may reach the SFU before its answer does.
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_ice_connection_attempts(Some(Duration::from_millis(25)), Some(400))
        .build();
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_setting_engine(settings)
        .with_media_engine(me)
        .with_interceptor_registry(registry)
        .build(now)
        .map_err(rtc_err)?;
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
    .map_err(rtc_err)?;
    pc.add_local_candidate(RTCIceCandidate::from(&host).to_json().map_err(rtc_err)?)
        .map_err(rtc_err)?;
    Ok(pc)
}

fn new_peer(address: IpAddr, role: Role, now: Instant) -> io::Result<Peer> {
    let socket = UdpSocket::bind(SocketAddr::new(address, 0))?;
    socket.set_nonblocking(true)?;
    let one: libc::c_int = 1;
    // SAFETY: setsockopt with a valid int option on our socket.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&one as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as u32,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let buffer: libc::c_int = 1 << 20;
    // SAFETY: as above; a bigger receive buffer so that a busy loop drops nothing.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&buffer as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as u32,
        )
    };
    let local = socket.local_addr()?;
    let pc = new_pc(local, role, now)?;
    Ok(Peer {
        pc,
        socket,
        local,
        publishing: None,
        connected: false,
        connected_at: None,
        failed: false,
        timeout: None,
    })
}

fn encoding(
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
        codec: RTCRtpCodec {
            mime_type: mime.into(),
            clock_rate,
            channels,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn ext_id(exts: &[RTCRtpHeaderExtensionParameters], uri: &str) -> Option<u8> {
    exts.iter().find(|e| e.uri == uri).map(|e| e.id as u8)
}

pub fn realtime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

// ------------------------------------------------------------------------------------ loop

struct Looper {
    address: IpAddr,
    epoll: OwnedFd,
    timer: OwnedFd,
    wake: UnixDatagram,
    inbox: mpsc::Receiver<Request>,
    peers: Vec<Peer>,
    media_on: bool,
    report: Report,
    buf: Vec<u8>,
    control: Vec<u8>,
}

const WAKE_TOKEN: u64 = u64::MAX;
const TIMER_TOKEN: u64 = u64::MAX - 1;

impl Looper {
    fn new(
        address: IpAddr,
        wake: UnixDatagram,
        inbox: mpsc::Receiver<Request>,
    ) -> io::Result<Self> {
        // SAFETY: plain syscalls creating new descriptors, checked below.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epoll < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor.
        let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
        // SAFETY: as above.
        let timer = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if timer < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor.
        let timer = unsafe { OwnedFd::from_raw_fd(timer) };
        let looper = Self {
            address,
            epoll,
            timer,
            wake,
            inbox,
            peers: Vec::new(),
            media_on: true,
            report: Report::new(),
            buf: vec![0; 2048],
            control: vec![0; 128],
        };
        looper.watch(looper.wake.as_raw_fd(), WAKE_TOKEN)?;
        looper.watch(looper.timer.as_raw_fd(), TIMER_TOKEN)?;
        Ok(looper)
    }

    fn watch(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: registering a descriptor we own with our epoll instance.
        let r =
            unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn run(&mut self) -> io::Result<()> {
        let mut events: Vec<libc::epoll_event> = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
        let debug = std::env::var_os("BENCH_DEBUG").is_some();
        loop {
            let t = Instant::now();
            if !self.requests()? {
                return Ok(());
            }
            if debug && t.elapsed() > Duration::from_millis(50) {
                eprintln!("generator: requests took {:?}", t.elapsed());
            }
            let now = Instant::now();
            self.timers(now);
            if debug && now.elapsed() > Duration::from_millis(50) {
                eprintln!("generator: timers took {:?}", now.elapsed());
            }
            let next = self.next_deadline();
            self.arm(next, Instant::now())?;
            // SAFETY: `events` is a valid buffer of that many entries.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    events.len() as i32,
                    if next.is_some() { 1000 } else { -1 },
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in &events[..n as usize] {
                match event.u64 {
                    WAKE_TOKEN => {
                        let mut b = [0u8; 64];
                        while self.wake.recv(&mut b).is_ok() {}
                    }
                    TIMER_TOKEN => {
                        let mut b = [0u8; 8];
                        // SAFETY: reading the expiry count from our timerfd.
                        unsafe { libc::read(self.timer.as_raw_fd(), b.as_mut_ptr().cast(), 8) };
                    }
                    i => self.readable(i as usize),
                }
            }
        }
    }

    /// Arm the timerfd for the next deadline (relative, ns precision).
    fn arm(&self, next: Option<Instant>, now: Instant) -> io::Result<()> {
        let Some(next) = next else {
            return Ok(());
        };
        let d = next
            .saturating_duration_since(now)
            .max(Duration::from_micros(20));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: setting our timerfd with a valid itimerspec.
        let r = unsafe {
            libc::timerfd_settime(self.timer.as_raw_fd(), 0, &spec, std::ptr::null_mut())
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for peer in &self.peers {
            if let Some(t) = peer.timeout {
                consider(t);
            }
            if let Some(p) = &peer.publishing
                && peer.connected
                && self.media_on
            {
                consider(p.next_due());
            }
        }
        next
    }

    fn requests(&mut self) -> io::Result<bool> {
        loop {
            let request = match self.inbox.try_recv() {
                Ok(r) => r,
                Err(mpsc::TryRecvError::Empty) => return Ok(true),
                Err(mpsc::TryRecvError::Disconnected) => return Ok(false),
            };
            let now = Instant::now();
            match request {
                Request::AddPublisher {
                    publisher,
                    loud,
                    reply,
                } => {
                    let r = self.add_publisher(publisher, loud, now);
                    let _ = reply.send(r);
                }
                Request::SetAnswer { peer, sdp, reply } => {
                    let r = self.set_answer(peer, sdp, now);
                    let _ = reply.send(r);
                }
                Request::AddSubscriber { offer, reply } => {
                    let r = self.add_subscriber(offer, now);
                    let _ = reply.send(r);
                }
                Request::Query(reply) => {
                    let mut r = self.report.clone();
                    r.connected = self.peers.iter().map(|p| p.connected).collect();
                    r.connected_at = self.peers.iter().map(|p| p.connected_at).collect();
                    r.failed = self.peers.iter().map(|p| p.failed).collect();
                    let _ = reply.send(r);
                }
                Request::StartWindow => {
                    self.report.latency.iter_mut().for_each(|n| *n = 0);
                    self.report.received = 0;
                    self.report.sent = 0;
                    self.report.keyframes = 0;
                    self.report.slow = [0; 4];
                    self.report.window_started = Some(now);
                }
                Request::Media(on) => {
                    self.media_on = on;
                    if on {
                        for p in self.peers.iter_mut().filter_map(|p| p.publishing.as_mut()) {
                            p.restart(now);
                        }
                    }
                }
                Request::Stop => return Ok(false),
            }
        }
    }

    fn push_peer(&mut self, peer: Peer) -> io::Result<PeerId> {
        let id = self.peers.len();
        self.watch(peer.socket.as_raw_fd(), id as u64)?;
        self.peers.push(peer);
        Ok(PeerId(id))
    }

    fn add_publisher(
        &mut self,
        publisher: u32,
        loud: bool,
        now: Instant,
    ) -> io::Result<(PeerId, String)> {
        let mut peer = new_peer(self.address, Role::Publisher, now)?;
        let (publishing, offer) = publish_offer(&mut peer.pc, publisher, loud, now)?;
        peer.publishing = Some(publishing);
        let id = self.push_peer(peer)?;
        self.after_io(id.0, now);
        Ok((id, offer))
    }

    fn set_answer(&mut self, id: PeerId, sdp: String, now: Instant) -> Result<(), String> {
        let peer = self.peers.get_mut(id.0).ok_or("no such peer")?;
        apply_answer(&mut peer.pc, peer.publishing.as_mut(), sdp, now)?;
        self.after_io(id.0, now);
        Ok(())
    }

    fn add_subscriber(&mut self, offer: String, now: Instant) -> Result<(PeerId, String), String> {
        let mut peer = new_peer(self.address, Role::Subscriber, now).map_err(|e| e.to_string())?;
        let answer = subscribe_answer(&mut peer.pc, offer, now)?;
        let id = self.push_peer(peer).map_err(|e| e.to_string())?;
        self.after_io(id.0, now);
        Ok((id, answer))
    }

    // ------------------------------------------------------------------------ time and media

    fn timers(&mut self, now: Instant) {
        for i in 0..self.peers.len() {
            let peer = &mut self.peers[i];
            let mut touched = false;
            if peer.timeout.is_some_and(|t| t <= now) {
                let _ = peer.pc.handle_timeout(now);
                touched = true;
            }
            if self.media_on && peer.connected && peer.publishing.is_some() {
                touched |= send_media(peer, now, &mut self.report);
            }
            if touched {
                self.after_io(i, now);
            }
        }
    }

    /// Drain what a peer connection produced: datagrams out, events, media in.
    fn after_io(&mut self, i: usize, now: Instant) {
        let peer = &mut self.peers[i];
        peer.events(now);
        while let Some(TaggedRTCMessage { message, .. }) = peer.pc.poll_read() {
            if let RTCMessage::RtcpPacket(_, packets) = message
                && let Some(p) = peer.publishing.as_mut()
            {
                keyframe_requests(p, &packets);
            }
            // media on a subscriber is counted where its datagram arrived (`readable`)
        }
        flush(peer);
        peer.timeout = peer.pc.poll_timeout();
    }

    fn readable(&mut self, i: usize) {
        let Some(peer) = self.peers.get_mut(i) else {
            return;
        };
        let fd = peer.socket.as_raw_fd();
        let mut received = false;
        while let Some((n, from, rx_ns)) = recv(fd, &mut self.buf, &mut self.control) {
            received = true;
            let now = Instant::now();
            let peer = &mut self.peers[i];
            let _ = peer.pc.handle_read(TaggedBytesMut {
                now,
                transport: TransportContext {
                    local_addr: peer.local,
                    peer_addr: from,
                    ecn: None,
                    transport_protocol: TransportProtocol::UDP,
                },
                message: BytesMut::from(&self.buf[..n]),
            });
            peer.events(now);
            // media is read here so that each packet meets its own receive timestamp
            while let Some(TaggedRTCMessage { message, .. }) = peer.pc.poll_read() {
                match message {
                    RTCMessage::RtpPacket(_, packet) if peer.publishing.is_none() => {
                        self.report.record(PeerId(i), &packet.payload, rx_ns, now);
                    }
                    RTCMessage::RtcpPacket(_, packets) => {
                        if let Some(p) = peer.publishing.as_mut() {
                            keyframe_requests(p, &packets);
                        }
                    }
                    _ => {}
                }
            }
        }
        if received {
            self.after_io(i, Instant::now());
        }
    }
}

/// A publisher's tracks (audio, three video layers) and its SDP offer.
pub fn publish_offer(
    pc: &mut RTCPeerConnection,
    publisher: u32,
    loud: bool,
    now: Instant,
) -> io::Result<(Publishing, String)> {
    let rtc_err = |e: rtc::shared::error::Error| io::Error::other(e.to_string());
    let base = 0x1000_0000 + publisher * 16;
    let audio_track = MediaStreamTrack::new(
        format!("s{publisher}"),
        format!("a{publisher}"),
        "audio".into(),
        RtpCodecKind::Audio,
        vec![encoding("", base, "audio/opus", 48000, 2)],
    );
    let audio_sender = pc.add_track(audio_track).map_err(rtc_err)?;
    let codings = LAYERS
        .iter()
        .enumerate()
        .map(|(i, (rid, _, _))| encoding(rid, base + 1 + i as u32, "video/VP8", 90000, 0))
        .collect();
    let video_track = MediaStreamTrack::new(
        format!("s{publisher}"),
        format!("v{publisher}"),
        "video".into(),
        RtpCodecKind::Video,
        codings,
    );
    let video_sender = pc.add_track(video_track).map_err(rtc_err)?;
    let offer = pc.create_offer(None).map_err(rtc_err)?;
    pc.set_local_description(now, offer.clone())
        .map_err(rtc_err)?;
    // stagger the publishers so that their frames do not all fall on the same instant
    let phase = Duration::from_micros(u64::from(publisher.wrapping_mul(7919)) % 33_333);
    let bits: u32 = LAYERS.iter().map(|l| l.1).sum();
    let publishing = Publishing {
        publisher,
        loud,
        audio: Some(AudioTx {
            sender: audio_sender,
            ssrc: base,
            pt: 0,
            level: None,
            seq: 0,
        }),
        video: Some(VideoTx {
            sender: video_sender,
            pt: 0,
            mid_ext: None,
            rid_ext: None,
            mid: Bytes::new(),
            layers: LAYERS
                .iter()
                .enumerate()
                .map(|(i, (rid, _, _))| LayerTx {
                    ssrc: base + 1 + i as u32,
                    rid,
                    seq: (publisher as u16).wrapping_mul(1000),
                    picture_id: 0,
                    keyframe_wanted: true,
                    last_keyframe: None,
                })
                .collect(),
        }),
        next_audio: now + phase,
        next_frame: now + phase,
        frame: 0,
        paced: VecDeque::new(),
        next_paced: now,
        pace: f64::from(bits) * PACING_FACTOR / 8.0,
    };
    Ok((publishing, offer.sdp))
}

/// The SFU's answer to a publisher: what it negotiated (payload types, extension ids).
pub fn apply_answer(
    pc: &mut RTCPeerConnection,
    publishing: Option<&mut Publishing>,
    sdp: String,
    now: Instant,
) -> Result<(), String> {
    let answer = RTCSessionDescription::answer(sdp).map_err(|e| e.to_string())?;
    pc.set_remote_description(now, answer)
        .map_err(|e| e.to_string())?;
    let Some(p) = publishing else {
        return Ok(());
    };
    if let Some(a) = p.audio.as_mut() {
        let params = pc
            .rtp_sender(a.sender)
            .ok_or("no audio sender")?
            .get_parameters()
            .clone();
        let opus = params
            .rtp_parameters
            .codecs
            .iter()
            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case("audio/opus"));
        match opus {
            Some(c) => {
                a.pt = c.payload_type;
                a.level = ext_id(&params.rtp_parameters.header_extensions, AUDIO_LEVEL);
            }
            None => p.audio = None,
        }
    }
    if let Some(v) = p.video.as_mut() {
        let sender = v.sender;
        let params = pc
            .rtp_sender(sender)
            .ok_or("no video sender")?
            .get_parameters()
            .clone();
        let vp8 = params
            .rtp_parameters
            .codecs
            .iter()
            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case("video/VP8"))
            .ok_or("the answer has no VP8")?;
        v.pt = vp8.payload_type;
        let exts = &params.rtp_parameters.header_extensions;
        v.mid_ext = ext_id(exts, MID);
        v.rid_ext = ext_id(exts, RID);
        let transceivers: Vec<_> = pc.get_transceivers().collect();
        let mid = transceivers.into_iter().find_map(|t| {
            let t = pc.rtp_transceiver(t)?;
            (t.sender() == Some(sender)).then(|| t.mid().clone())?
        });
        v.mid = Bytes::from(mid.unwrap_or_default().into_bytes());
    }
    Ok(())
}

/// A subscriber's SDP answer to the SFU's offer.
pub fn subscribe_answer(
    pc: &mut RTCPeerConnection,
    offer: String,
    now: Instant,
) -> Result<String, String> {
    let offer = RTCSessionDescription::offer(offer).map_err(|e| e.to_string())?;
    pc.set_remote_description(now, offer)
        .map_err(|e| e.to_string())?;
    let answer = pc.create_answer(None).map_err(|e| e.to_string())?;
    pc.set_local_description(now, answer.clone())
        .map_err(|e| e.to_string())?;
    Ok(answer.sdp)
}

/// PLI and FIR from the SFU: the layers they name send a keyframe next.
pub fn keyframe_requests(p: &mut Publishing, packets: &[Box<dyn rtc::rtcp::Packet>]) {
    let Some(v) = p.video.as_mut() else {
        return;
    };
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
            if let Some(l) = v.layers.iter_mut().find(|l| l.ssrc == ssrc) {
                l.keyframe_wanted = true;
            }
        }
    }
}

/// Send every datagram the peer connection has queued.
fn flush(peer: &mut Peer) {
    while let Some(out) = peer.pc.poll_write() {
        let _ = peer.socket.send_to(&out.message, out.transport.peer_addr);
    }
}

/// One datagram with its kernel receive time (CLOCK_REALTIME ns).
fn recv(fd: RawFd, buf: &mut [u8], control: &mut [u8]) -> Option<(usize, SocketAddr, u64)> {
    // SAFETY: all-zero sockaddr_storage and msghdr are valid; the pointers set below point at
    // buffers that outlive the call.
    let mut addr: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_name = (&mut addr as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as u32;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = control.len();
    // SAFETY: msg is fully initialised as above.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return None;
    }
    let mut rx_ns = 0;
    // SAFETY: walking the control messages the kernel wrote into `control`.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                rx_ns = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    if rx_ns == 0 {
        rx_ns = realtime_ns();
    }
    let from = match addr.ss_family as i32 {
        libc::AF_INET => {
            // SAFETY: the family says this is a sockaddr_in.
            let sin: &libc::sockaddr_in =
                unsafe { &*(&addr as *const libc::sockaddr_storage).cast() };
            SocketAddr::from((
                sin.sin_addr.s_addr.to_ne_bytes(),
                u16::from_be(sin.sin_port),
            ))
        }
        _ => return None,
    };
    Some((n as usize, from, rx_ns))
}

fn send_media(peer: &mut Peer, now: Instant, report: &mut Report) -> bool {
    let Some(mut p) = peer.publishing.take() else {
        return false;
    };
    let socket = &peer.socket;
    let wrote = send_due(&mut p, &mut peer.pc, now, report, &mut |pc| {
        while let Some(out) = pc.poll_write() {
            let _ = socket.send_to(&out.message, out.transport.peer_addr);
        }
    });
    peer.publishing = Some(p);
    wrote
}

/// Produce what is due: audio every 20 ms, a frame on every layer every 1/30 s (into the
/// pacer), paced video packets; `flush` sends what the peer connection queued, after each
/// packet (its send time is in its payload). True if anything was written.
pub fn send_due(
    p: &mut Publishing,
    pc: &mut RTCPeerConnection,
    now: Instant,
    report: &mut Report,
    flush: &mut dyn FnMut(&mut RTCPeerConnection),
) -> bool {
    let mut wrote = false;
    // audio: not paced (libwebrtc sends audio at once)
    while now >= p.next_audio {
        p.next_audio += Duration::from_millis(20);
        let Some(a) = p.audio.as_mut() else {
            break;
        };
        if a.pt == 0 {
            break;
        }
        a.seq = a.seq.wrapping_add(1);
        let mut header = rtc::rtp::header::Header {
            version: 2,
            payload_type: a.pt,
            sequence_number: a.seq,
            timestamp: u32::from(a.seq).wrapping_mul(960),
            ssrc: a.ssrc,
            marker: false,
            ..Default::default()
        };
        if let Some(level) = a.level {
            // a speaker varies around 20 dBov; the quiet ones sit near silence
            let base: u8 = if p.loud { 20 } else { 100 };
            let dbov = base + (a.seq % 7) as u8;
            let vad = if p.loud { 0x80 } else { 0 };
            let _ = header.set_extension(level, Bytes::copy_from_slice(&[vad | dbov]));
        }
        let mut payload = vec![0x78u8; AUDIO_PAYLOAD];
        Marker {
            publisher: p.publisher,
            kind: 0,
            sent_ns: realtime_ns(),
        }
        .write(&mut payload);
        let sender = a.sender;
        if let Some(mut s) = pc.rtp_sender(sender)
            && s.write_rtp(
                now,
                rtc::rtp::Packet {
                    header,
                    payload: payload.into(),
                },
            )
            .is_ok()
        {
            report.sent += 1;
            wrote = true;
        }
        flush(pc);
    }
    // video frames into the pacer
    let frame_interval = Duration::from_nanos(1_000_000_000 / u64::from(FPS));
    while now >= p.next_frame {
        p.next_frame += frame_interval;
        p.frame += 1;
        let Some(v) = p.video.as_mut() else {
            break;
        };
        if v.pt == 0 {
            break;
        }
        let timestamp = p.frame.wrapping_mul(90_000 / FPS);
        let periodic = p
            .frame
            .is_multiple_of(KEYFRAME_PERIOD.as_secs() as u32 * FPS);
        for (i, layer) in v.layers.iter_mut().enumerate() {
            let wanted = layer.keyframe_wanted
                && layer
                    .last_keyframe
                    .is_none_or(|t| now.saturating_duration_since(t) >= KEYFRAME_MIN_INTERVAL);
            let key = wanted || periodic;
            if key {
                layer.keyframe_wanted = false;
                layer.last_keyframe = Some(now);
                report.keyframes += 1;
            }
            let bytes = (LAYERS[i].1 / 8 / FPS) as usize * if key { KEYFRAME_FACTOR } else { 1 };
            let packets = bytes.div_ceil(MAX_PAYLOAD);
            let size = bytes / packets;
            layer.picture_id = layer.picture_id.wrapping_add(1) & 0x7fff;
            for k in 0..packets {
                layer.seq = layer.seq.wrapping_add(1);
                p.paced.push_back(Paced {
                    layer: i,
                    seq: layer.seq,
                    timestamp,
                    marker: k + 1 == packets,
                    start: k == 0,
                    key,
                    picture_id: layer.picture_id,
                    size,
                });
            }
        }
        if p.paced.len() > 1000 {
            // far behind (a stalled loop): drop the backlog rather than burst it
            p.paced.clear();
        }
    }
    // paced video
    while now >= p.next_paced
        && let Some(item) = p.paced.pop_front()
    {
        let Some(v) = p.video.as_ref() else {
            break;
        };
        let layer = &v.layers[item.layer];
        let mut header = rtc::rtp::header::Header {
            version: 2,
            payload_type: v.pt,
            sequence_number: item.seq,
            timestamp: item.timestamp,
            ssrc: layer.ssrc,
            marker: item.marker,
            ..Default::default()
        };
        if let Some(e) = v.mid_ext {
            let _ = header.set_extension(e, v.mid.clone());
        }
        if let Some(e) = v.rid_ext {
            let _ = header.set_extension(e, Bytes::from_static(layer.rid.as_bytes()));
        }
        let mut payload = vp8_payload(&item);
        Marker {
            publisher: p.publisher,
            kind: 1 + item.layer as u8,
            sent_ns: realtime_ns(),
        }
        .write(&mut payload);
        let sender = v.sender;
        let wire = item.size + 40;
        p.next_paced = p.next_paced.max(now - Duration::from_millis(5))
            + Duration::from_secs_f64(wire as f64 / p.pace);
        if let Some(mut s) = pc.rtp_sender(sender) {
            match s.write_rtp(
                now,
                rtc::rtp::Packet {
                    header,
                    payload: payload.into(),
                },
            ) {
                Ok(()) => {
                    report.sent += 1;
                    wrote = true;
                }
                Err(e) => {
                    report.send_errors[1 + item.layer] += 1;
                    if report.send_errors[1 + item.layer] == 1 {
                        log::warn!("layer {} write: {e}", item.layer);
                    }
                }
            }
        }
        flush(pc);
    }
    wrote
}

/// A VP8 payload (RFC 7741): descriptor with a 15-bit picture id, the frame header on the
/// first packet (a keyframe carries its size), filler, and room for the marker at the end.
fn vp8_payload(item: &Paced) -> Vec<u8> {
    let mut p = Vec::with_capacity(item.size.max(32));
    p.push(if item.start { 0x90 } else { 0x80 }); // X, S, partition 0
    p.push(0x80); // I: picture id present
    p.push(0x80 | (item.picture_id >> 8) as u8);
    p.push(item.picture_id as u8);
    if item.start {
        if item.key {
            let height = LAYERS[item.layer].2;
            let width = height / 9 * 16;
            p.extend_from_slice(&[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]);
            p.extend_from_slice(&width.to_le_bytes());
            p.extend_from_slice(&height.to_le_bytes());
        } else {
            p.extend_from_slice(&[0x11, 0x02, 0x00]);
        }
    }
    let len = item.size.max(p.len() + Marker::LEN);
    p.resize(len, 0x55);
    p
}
