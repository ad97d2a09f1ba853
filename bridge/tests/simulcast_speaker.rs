//! Simulcast layer choice by tile size, and the dominant speaker.

mod common;

use bridge::{Command, EndpointId, Event, ParticipantId, RoomId};
use common::*;
use std::sync::atomic::Ordering;

const ROOM: RoomId = RoomId(3);

#[test]
fn small_tiles_get_the_low_layer_and_large_tiles_the_high_one() {
    let (bridge, mut events) = start_bridge();
    let _publisher = publish_simulcast(&bridge, &mut events, ROOM);

    bridge.send(Command::Subscribe {
        endpoint: EndpointId(2),
        room: ROOM,
        subscriber: ParticipantId(2),
        publisher: ParticipantId(1),
    });
    bridge.send(Command::Constrain {
        endpoint: EndpointId(2),
        max_height: 180,
    });
    let (small, small_offer) = subscribe_offered(&bridge, &mut events, EndpointId(2));
    bridge.send(Command::Subscribe {
        endpoint: EndpointId(3),
        room: ROOM,
        subscriber: ParticipantId(3),
        publisher: ParticipantId(1),
    });
    bridge.send(Command::Constrain {
        endpoint: EndpointId(3),
        max_height: 720,
    });
    let (large, large_offer) = subscribe_offered(&bridge, &mut events, EndpointId(3));
    let small_video = offered_ssrcs(&small_offer, "video")[0];
    let large_video = offered_ssrcs(&large_offer, "video")[0];

    small.wait("low layer", |s| layer_count(s, small_video, 1, 0) >= 10);
    large.wait("high layer", |s| layer_count(s, large_video, 1, 2) >= 10);
    small.with(|s| {
        assert_eq!(
            layer_count(s, small_video, 1, 1) + layer_count(s, small_video, 1, 2),
            0
        );
    });
    large.with(|s| {
        assert_eq!(
            layer_count(s, large_video, 1, 0) + layer_count(s, large_video, 1, 1),
            0
        );
    });

    // the small tile grows: it switches to the high layer at a keyframe, numbering continuous
    bridge.send(Command::Constrain {
        endpoint: EndpointId(2),
        max_height: 700,
    });
    small.wait("switch to the high layer", |s| {
        layer_count(s, small_video, 1, 2) >= 10
    });
    small.with(|s| {
        let seqs = &s.seqs[&small_video];
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
            "gap across the switch: {seqs:?}"
        );
    });
    // no video at all
    bridge.send(Command::Constrain {
        endpoint: EndpointId(2),
        max_height: 0,
    });
    let stats = |b: &bridge::BridgeHandle| b.stats_blocking().unwrap().forwarded_streams;
    events.wait("paused", |_| (stats(&bridge) == 3).then_some(()));
}

/// Subscribe was sent already: take the offer, answer it.
fn subscribe_offered(
    bridge: &bridge::BridgeHandle,
    events: &mut Events,
    endpoint: EndpointId,
) -> (Peer, String) {
    let offer = events.offer(endpoint);
    let (peer, answer) = answer_offer(&offer);
    bridge.send(Command::Answer { endpoint, answer });
    events.connected(endpoint);
    (peer, offer)
}

#[test]
fn the_dominant_speaker_follows_sustained_speech() {
    let (bridge, mut events) = start_bridge();
    let mut levels = Vec::new();
    let mut peers = Vec::new();
    for p in 1..=3u8 {
        let mut media = Media::new(p);
        media.video = false;
        media.dbov.store(100, Ordering::Relaxed);
        levels.push(media.dbov.clone());
        peers.push(publish(
            &bridge,
            &mut events,
            EndpointId(u64::from(p)),
            ROOM,
            ParticipantId(u64::from(p)),
            media,
        ));
        events.connected(EndpointId(u64::from(p)));
    }
    let speaker = |events: &mut Events, who: u64| {
        events.seen.clear();
        events.wait("dominant speaker", |e| match e {
            Event::DominantSpeaker {
                participant: Some(p),
                ..
            } if p.0 == who => Some(()),
            _ => None,
        });
    };
    levels[1].store(20, Ordering::Relaxed);
    speaker(&mut events, 2);
    levels[1].store(100, Ordering::Relaxed);
    levels[2].store(15, Ordering::Relaxed);
    speaker(&mut events, 3);
    // the speaker leaves: someone else becomes dominant
    events.seen.clear();
    bridge.send(Command::Close {
        endpoint: EndpointId(3),
    });
    events.wait("a new dominant speaker", |e| match e {
        Event::DominantSpeaker {
            participant: Some(p),
            ..
        } if p.0 != 3 => Some(()),
        _ => None,
    });
}
