//! `bridge-bench replay`: the benchmark's load against the sans-IO bridge core in one thread,
//! with datagrams handed over in memory and a virtual clock. Nothing in it depends on the
//! machine's load, so it gives what the shared, noisy machine cannot:
//!
//! - instructions per forwarded packet, under
//!   `valgrind --tool=callgrind --toggle-collect='*replay*measured*'` (only the bridge's calls
//!   in the measured seconds are counted; syscalls are not part of the core);
//! - the bridge's heap per participant, counted by the global allocator while the bridge runs.
//!
//! The peers are the same as the live benchmark's ([`crate::load`]).

use crate::load::{self, PeerId, Publishing, Report};
use bridge::{
    Bridge, BridgeSetup, Command, EndpointId, Event, Limits, ParticipantId, RoomId, SpeakerConfig,
};
use bytes::BytesMut;
use rtc::peer_connection::RTCPeerConnection;
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting the bytes that the bridge's calls keep.
pub struct Counting;

static BRIDGE_HEAP: AtomicI64 = AtomicI64::new(0);

thread_local! {
    static IN_BRIDGE: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards to the system allocator; the bookkeeping touches no allocated memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if IN_BRIDGE.try_with(Cell::get).unwrap_or(false) {
            BRIDGE_HEAP.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if IN_BRIDGE.try_with(Cell::get).unwrap_or(false) {
            BRIDGE_HEAP.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if IN_BRIDGE.try_with(Cell::get).unwrap_or(false) {
            BRIDGE_HEAP.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Run `f` as the bridge: its allocations count as the bridge's.
fn in_bridge<R>(f: impl FnOnce() -> R) -> R {
    IN_BRIDGE.with(|b| b.set(true));
    let r = f();
    IN_BRIDGE.with(|b| b.set(false));
    r
}

/// The bridge's calls during the measured seconds: callgrind counts inside this function only.
#[inline(never)]
fn measured<R>(f: impl FnOnce() -> R) -> R {
    in_bridge(f)
}

struct VPeer {
    pc: RTCPeerConnection,
    addr: SocketAddr,
    publishing: Option<Publishing>,
    connected: bool,
    timeout: Option<Instant>,
}

struct Sim {
    bridge: Bridge,
    bridge_addr: SocketAddr,
    peers: Vec<VPeer>,
    by_port: HashMap<u16, usize>,
    events: Vec<Event>,
    report: Report,
    now: Instant,
    measuring: bool,
    /// Wall time spent in the bridge's calls while measuring.
    bridge_time: Duration,
}

/// What one replay measured.
pub struct Outcome {
    pub forwarded: u64,
    pub seconds: f64,
    pub bridge_time: Duration,
    pub heap: i64,
    /// The bridge's heap once every endpoint exists (before ICE and DTLS).
    pub heap_created: i64,
    /// ... once everyone receives video.
    pub heap_connected: i64,
    pub participants: u32,
    pub endpoints: usize,
    /// Virtual time from the publishers' offers to all of them connected (ICE and DTLS; the
    /// peers pace their checks as browsers do).
    pub publish_connect: Duration,
    /// Virtual time from the last subscription's answer to every subscriber connected.
    pub subscribe_connect: Duration,
}

impl Sim {
    fn call<R>(&mut self, f: impl FnOnce(&mut Bridge, Instant) -> R) -> R {
        let now = self.now;
        if self.measuring {
            let t = Instant::now();
            let bridge = &mut self.bridge;
            let r = measured(|| f(bridge, now));
            self.bridge_time += t.elapsed();
            r
        } else {
            let bridge = &mut self.bridge;
            in_bridge(|| f(bridge, now))
        }
    }

    fn add_peer(&mut self, role: load::Role) -> usize {
        let i = self.peers.len();
        let port = 20_000 + i as u16;
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), port);
        let pc = load::new_pc(addr, role, self.now).expect("peer connection");
        self.peers.push(VPeer {
            pc,
            addr,
            publishing: None,
            connected: false,
            timeout: None,
        });
        self.by_port.insert(port, i);
        i
    }

    fn command(&mut self, command: Command) {
        self.call(|b, now| b.handle_command(command, now));
        self.pump();
    }

    /// Move datagrams both ways until nothing is in flight.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..self.peers.len() {
                while let Some(out) = self.peers[i].pc.poll_write() {
                    moved = true;
                    if out.transport.peer_addr == self.bridge_addr {
                        let from = self.peers[i].addr;
                        self.call(|b, now| b.handle_datagram(now, from, &out.message));
                    }
                }
            }
            while let Some(t) = self.call(|b, _| b.poll_transmit()) {
                moved = true;
                let Some(&i) = self.by_port.get(&t.destination.port()) else {
                    continue;
                };
                // a copy for the peer: the bridge's buffer is freed as the bridge's
                let message = BytesMut::from(&t.contents[..]);
                self.call(|_, _| drop(t));
                let now = self.now;
                let peer = &mut self.peers[i];
                let _ = peer.pc.handle_read(TaggedBytesMut {
                    now,
                    transport: TransportContext {
                        local_addr: peer.addr,
                        peer_addr: self.bridge_addr,
                        ecn: None,
                        transport_protocol: TransportProtocol::UDP,
                    },
                    message,
                });
                self.drain_peer(i);
            }
            while let Some(event) = self.call(|b, _| b.poll_event()) {
                self.events.push(event);
            }
            if !moved {
                break;
            }
        }
        for i in 0..self.peers.len() {
            self.drain_peer(i);
        }
    }

    fn drain_peer(&mut self, i: usize) {
        let now = self.now;
        let peer = &mut self.peers[i];
        while let Some(event) = peer.pc.poll_event() {
            if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(
                RTCPeerConnectionState::Connected,
            ) = event
            {
                peer.connected = true;
                if let Some(p) = peer.publishing.as_mut() {
                    p.restart(now);
                }
            }
        }
        while let Some(TaggedRTCMessage { message, .. }) = peer.pc.poll_read() {
            match message {
                RTCMessage::RtpPacket(_, packet) if peer.publishing.is_none() => {
                    self.report.record(PeerId(i), &packet.payload, 0, now);
                }
                RTCMessage::RtcpPacket(_, packets) => {
                    if let Some(p) = peer.publishing.as_mut() {
                        load::keyframe_requests(p, &packets);
                    }
                }
                _ => {}
            }
        }
        peer.timeout = peer.pc.poll_timeout();
    }

    /// Advance the clock to the next thing due and do it.
    fn step(&mut self, until: Instant) -> bool {
        let mut next = self.call(|b, _| b.poll_timeout());
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        for peer in &self.peers {
            if let Some(t) = peer.timeout {
                consider(t);
            }
            if let Some(p) = &peer.publishing
                && peer.connected
            {
                consider(p.next_due());
            }
        }
        let next = next.unwrap_or(until).min(until).max(self.now);
        if next >= until {
            self.now = until;
            return false;
        }
        self.now = next;
        let now = self.now;
        if self.call(|b, _| b.poll_timeout()).is_some_and(|t| t <= now) {
            self.call(|b, now| b.handle_timeout(now));
        }
        for i in 0..self.peers.len() {
            let peer = &mut self.peers[i];
            if peer.timeout.is_some_and(|t| t <= now) {
                let _ = peer.pc.handle_timeout(now);
            }
            if peer.connected
                && let Some(p) = peer.publishing.as_mut()
            {
                load::send_due(p, &mut peer.pc, now, &mut self.report, &mut |_| {});
            }
            peer.timeout = peer.pc.poll_timeout();
        }
        self.pump();
        true
    }

    fn run_until(&mut self, end: Instant, mut done: impl FnMut(&Sim) -> bool) -> bool {
        while self.step(end) {
            if done(self) {
                return true;
            }
        }
        done(self)
    }

    fn take_event(&mut self, pick: impl Fn(&Event) -> bool) -> Option<Event> {
        let i = self.events.iter().position(pick)?;
        Some(self.events.remove(i))
    }
}

/// Replay `rooms` × `per_room` participants for `seconds` of media after everyone is
/// connected and receiving video.
pub fn run(rooms: u32, per_room: u32, seconds: f64) -> Result<Outcome, String> {
    let start = Instant::now();
    let bridge_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 10_000);
    let bridge = in_bridge(|| {
        Bridge::new(BridgeSetup {
            local: bridge_addr,
            candidate: bridge_addr,
            limits: Limits::default(),
            speaker: SpeakerConfig::default(),
        })
    });
    let mut sim = Sim {
        bridge,
        bridge_addr,
        peers: Vec::new(),
        by_port: HashMap::new(),
        events: Vec::new(),
        report: Report::new(),
        now: start,
        measuring: false,
        bridge_time: Duration::ZERO,
    };
    let heap0 = BRIDGE_HEAP.load(Ordering::Relaxed);
    let mut endpoint = 0u64;
    let mut subscriptions: Vec<(usize, u32)> = Vec::new();
    let mut publish_connect = Duration::ZERO;
    for room in 0..rooms {
        let room_id = RoomId(u64::from(room) + 1);
        let members: Vec<u32> = (0..per_room).map(|k| room * per_room + k).collect();
        // everyone publishes
        for &participant in &members {
            let i = sim.add_peer(load::Role::Publisher);
            let now = sim.now;
            let (publishing, offer) = load::publish_offer(
                &mut sim.peers[i].pc,
                participant,
                participant % per_room == 0,
                now,
            )
            .map_err(|e| e.to_string())?;
            sim.peers[i].publishing = Some(publishing);
            endpoint += 1;
            let id = EndpointId(endpoint);
            sim.command(Command::Publish {
                endpoint: id,
                room: room_id,
                participant: ParticipantId(u64::from(participant)),
                offer,
            });
            let Some(Event::Answer { sdp, .. }) =
                sim.take_event(|e| matches!(e, Event::Answer { endpoint, .. } if *endpoint == id))
            else {
                return Err(format!("no answer for {participant}: {:?}", sim.events));
            };
            let peer = &mut sim.peers[i];
            load::apply_answer(&mut peer.pc, peer.publishing.as_mut(), sdp, now)?;
            sim.drain_peer(i);
            sim.pump();
        }
        let end = sim.now + Duration::from_secs(10);
        let t_pub = sim.now;
        sim.run_until(end, |s| s.peers.iter().all(|p| p.connected));
        publish_connect = publish_connect.max(sim.now - t_pub);
        // everyone subscribes to everyone else: the room's first participant large
        for &subscriber in &members {
            for &publisher in members.iter().filter(|&&p| p != subscriber) {
                endpoint += 1;
                let id = EndpointId(endpoint);
                sim.command(Command::Subscribe {
                    endpoint: id,
                    room: room_id,
                    subscriber: ParticipantId(u64::from(subscriber)),
                    publisher: ParticipantId(u64::from(publisher)),
                });
                let Some(Event::Offer { sdp, .. }) = sim
                    .take_event(|e| matches!(e, Event::Offer { endpoint, .. } if *endpoint == id))
                else {
                    return Err(format!("no offer: {:?}", sim.events));
                };
                let i = sim.add_peer(load::Role::Subscriber);
                let now = sim.now;
                let answer = load::subscribe_answer(&mut sim.peers[i].pc, sdp, now)?;
                sim.drain_peer(i);
                let first = room * per_room + u32::from(subscriber == room * per_room);
                sim.command(Command::Constrain {
                    endpoint: id,
                    max_height: if publisher == first { 720 } else { 180 },
                });
                sim.command(Command::Answer {
                    endpoint: id,
                    answer,
                });
                subscriptions.push((i, publisher));
            }
        }
    }
    let heap_created = BRIDGE_HEAP.load(Ordering::Relaxed) - heap0;
    let t_sub = sim.now;
    let end = sim.now + Duration::from_secs(20);
    sim.run_until(end, |s| s.peers.iter().all(|p| p.connected));
    let subscribe_connect = sim.now - t_sub;
    let end = sim.now + Duration::from_secs(20);
    let all_video = |s: &Sim| {
        subscriptions
            .iter()
            .all(|(i, p)| (1..=3).any(|k| s.report.first.contains_key(&(PeerId(*i), *p, k))))
    };
    if !sim.run_until(end, all_video) {
        return Err("not every subscription received video".into());
    }
    let heap_connected = BRIDGE_HEAP.load(Ordering::Relaxed) - heap0;
    // settle (layer switches, keyframes), then measure
    let settle = sim.now + Duration::from_secs(2);
    sim.run_until(settle, |_| false);
    sim.report = Report::new();
    sim.measuring = true;
    let end = sim.now + Duration::from_secs_f64(seconds);
    sim.run_until(end, |_| false);
    sim.measuring = false;
    let heap = BRIDGE_HEAP.load(Ordering::Relaxed) - heap0;
    let endpoints = in_bridge(|| sim.bridge.stats().endpoints);
    Ok(Outcome {
        forwarded: sim.report.received,
        seconds,
        bridge_time: sim.bridge_time,
        heap,
        heap_created,
        heap_connected,
        participants: rooms * per_room,
        endpoints,
        publish_connect,
        subscribe_connect,
    })
}
