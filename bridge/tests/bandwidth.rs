//! Simulcast layer choice by each subscriber's bandwidth estimate (TWCC feedback, GCC).

mod common;

use bridge::{Command, EndpointId, ParticipantId, RoomId};
use common::*;

const ROOM: RoomId = RoomId(5);

#[test]
fn a_subscriber_behind_a_narrow_link_gets_a_layer_that_fits_it() {
    let (bridge, mut events) = start_bridge();
    let _publisher = publish_simulcast(&bridge, &mut events, ROOM);

    // both want a large tile; one of them has 260 kbit/s, less than the top layer and audio
    let (wide, wide_offer) = subscribe(
        &bridge,
        &mut events,
        EndpointId(2),
        ROOM,
        ParticipantId(2),
        ParticipantId(1),
        None,
    );
    let (narrow, narrow_offer) = subscribe_behind(
        &bridge,
        &mut events,
        EndpointId(3),
        ROOM,
        ParticipantId(3),
        ParticipantId(1),
        260_000,
    );
    for endpoint in [EndpointId(2), EndpointId(3)] {
        bridge.send(Command::Constrain {
            endpoint,
            max_height: 720,
        });
    }
    assert!(
        narrow_offer.contains("transport-wide-cc") && narrow_offer.contains("transport-cc"),
        "the subscriber is asked for TWCC feedback: {narrow_offer}"
    );
    let wide_video = offered_ssrcs(&wide_offer, "video")[0];
    let narrow_video = offered_ssrcs(&narrow_offer, "video")[0];

    // the narrow link congests on the top layer, and its subscriber is moved to one that fits
    narrow.wait("a lower layer on the narrow link", |s| {
        layer_count(s, narrow_video, 1, 0) + layer_count(s, narrow_video, 1, 1) >= 90
    });
    // the wide link keeps the top layer all along
    wide.wait("the top layer on the wide link", |s| {
        layer_count(s, wide_video, 1, 2) >= 150
    });
    wide.with(|s| {
        let lower = layer_count(s, wide_video, 1, 0) + layer_count(s, wide_video, 1, 1);
        let top = layer_count(s, wide_video, 1, 2);
        assert!(
            lower * 10 <= top,
            "the wide link is not held back: {lower} lower vs {top} top-layer packets"
        );
    });
}
