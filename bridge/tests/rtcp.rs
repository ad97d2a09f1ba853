//! Keyframe requests reach the publisher; a lost packet is retransmitted; a vanished peer is
//! noticed.

mod common;

use bridge::{CloseReason, EndpointId, ParticipantId, RoomId};
use common::*;

const ROOM: RoomId = RoomId(7);

#[test]
fn a_subscribers_pli_reaches_the_publisher() {
    let (bridge, mut events) = start_bridge();
    let publisher = publish(
        &bridge,
        &mut events,
        EndpointId(1),
        ROOM,
        ParticipantId(1),
        Media::new(1),
    );
    events.connected(EndpointId(1));
    let (sub, offer) = subscribe(
        &bridge,
        &mut events,
        EndpointId(2),
        ROOM,
        ParticipantId(2),
        ParticipantId(1),
        None,
    );
    events.connected(EndpointId(2));
    let video = offered_ssrcs(&offer, "video")[0];
    sub.wait("video", |s| {
        s.rtp
            .get(&video)
            .is_some_and(|m| m.values().sum::<u32>() >= 5)
    });
    // the publisher's video ssrc is 1002 (tag 1: audio 1001, video 1002)
    let before = publisher.with(|s| s.plis.get(&1002).copied().unwrap_or(0));
    assert!(before >= 1, "a joining subscriber asks for a keyframe");
    sub.send_pli(video);
    publisher.wait("the relayed PLI", |s| {
        s.plis.get(&1002).copied().unwrap_or(0) > before
    });
    assert!(bridge.stats_blocking().unwrap().keyframe_requests_relayed >= 2);
}

#[test]
fn a_lost_packet_is_retransmitted() {
    let (bridge, mut events) = start_bridge();
    let _publisher = publish(
        &bridge,
        &mut events,
        EndpointId(1),
        ROOM,
        ParticipantId(1),
        Media::new(1),
    );
    events.connected(EndpointId(1));
    // the subscriber loses its 15th large (video) datagram
    let (sub, offer) = subscribe(
        &bridge,
        &mut events,
        EndpointId(2),
        ROOM,
        ParticipantId(2),
        ParticipantId(1),
        Some(15),
    );
    events.connected(EndpointId(2));
    let video = offered_ssrcs(&offer, "video")[0];
    sub.wait("40 video packets with no gap left", |s| {
        let Some(seqs) = s.seqs.get(&video) else {
            return false;
        };
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        sorted.len() >= 40 && sorted.windows(2).all(|w| w[1] == w[0] + 1)
    });
    // the hole was there: one sequence number arrived out of order
    sub.with(|s| {
        let seqs = &s.seqs[&video];
        assert!(
            seqs.windows(2).any(|w| w[1] < w[0]),
            "no retransmission seen: {seqs:?}"
        );
    });
}

#[test]
fn a_vanished_peer_is_closed_within_ten_seconds() {
    let (bridge, mut events) = start_bridge();
    let _publisher = publish(
        &bridge,
        &mut events,
        EndpointId(1),
        ROOM,
        ParticipantId(1),
        Media::new(1),
    );
    events.connected(EndpointId(1));
    let (sub, _) = subscribe(
        &bridge,
        &mut events,
        EndpointId(2),
        ROOM,
        ParticipantId(2),
        ParticipantId(1),
        None,
    );
    events.connected(EndpointId(2));
    let gone = std::time::Instant::now();
    sub.vanish();
    assert_eq!(closed(&mut events, EndpointId(2)), CloseReason::Failed);
    assert!(
        gone.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        gone.elapsed()
    );
    // the publisher is untouched
    let stats = bridge.stats_blocking().unwrap();
    assert_eq!((stats.endpoints, stats.publishers), (1, 1));
}
