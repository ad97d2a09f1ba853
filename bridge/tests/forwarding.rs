//! Three participants publish audio and video through the bridge; each receives the others'
//! media with the bridge's SSRCs, payloads intact, never its own.

mod common;

use bridge::{EndpointId, ParticipantId, RoomId};
use common::*;

#[test]
fn three_participants_receive_each_other_and_never_themselves() {
    let (bridge, mut events) = start_bridge();
    let room = RoomId(1);
    let people = [1u8, 2, 3];
    let mut publishers = Vec::new();
    for &p in &people {
        let ep = EndpointId(u64::from(p));
        let peer = publish(
            &bridge,
            &mut events,
            ep,
            room,
            ParticipantId(u64::from(p)),
            Media::new(p),
        );
        events.connected(ep);
        publishers.push(peer);
    }
    // each participant subscribes to each other one
    let mut subscriptions = Vec::new();
    for &me in &people {
        for &other in people.iter().filter(|&&o| o != me) {
            let ep = EndpointId(100 * u64::from(me) + u64::from(other));
            let (peer, offer) = subscribe(
                &bridge,
                &mut events,
                ep,
                room,
                ParticipantId(u64::from(me)),
                ParticipantId(u64::from(other)),
                None,
            );
            // the offer round-trips through the Jingle translator of the focus
            sdp_map::Session::parse_sdp(&offer).expect("sdp-map parses the bridge's offer");
            events.connected(ep);
            subscriptions.push((me, other, peer, offer));
        }
    }
    // one DTLS identity for every session of the bridge, not a key generated per session
    let fingerprints: std::collections::BTreeSet<&str> = subscriptions
        .iter()
        .flat_map(|(_, _, _, offer)| offer.lines().filter(|l| l.starts_with("a=fingerprint:")))
        .collect();
    assert_eq!(fingerprints.len(), 1, "{fingerprints:?}");
    for (me, other, peer, offer) in &subscriptions {
        let audio = offered_ssrcs(offer, "audio");
        let video = offered_ssrcs(offer, "video");
        assert_eq!(audio.len(), 1, "{offer}");
        assert!(!video.is_empty(), "{offer}");
        peer.wait("audio and video of the publisher", |s| {
            s.rtp
                .get(&audio[0])
                .and_then(|m| m.get(&(*other, 0)))
                .is_some_and(|&n| n >= 10)
                && s.rtp
                    .get(&video[0])
                    .and_then(|m| m.get(&(*other, 0)))
                    .is_some_and(|&n| n >= 5)
        });
        peer.with(|s| {
            for (ssrc, tags) in &s.rtp {
                assert!(
                    [audio[0], video[0]].contains(ssrc),
                    "{me} got an ssrc the bridge did not offer: {ssrc}"
                );
                for (tag, _) in tags.keys() {
                    assert_eq!(
                        tag, other,
                        "{me} subscribed to {other} but got media of {tag}"
                    );
                }
            }
            // the publisher's own ssrcs are never seen: they are rewritten
            assert!(!s.rtp.keys().any(|ssrc| ssrc / 1000 == u32::from(*other)));
        });
    }
    // publishers receive nothing on their own session
    for p in &publishers {
        assert!(p.with(|s| s.rtp.is_empty()));
    }
    let stats = bridge.stats_blocking().unwrap();
    assert_eq!(stats.endpoints, 9);
    assert_eq!(stats.publishers, 3);
    assert_eq!(stats.forwarded_streams, 12);
    assert!(stats.packets_forwarded > 0);

    // everyone leaves: back to zero
    for ep in [1, 2, 3, 102, 103, 201, 203, 301, 302] {
        bridge.send(bridge::Command::Close {
            endpoint: EndpointId(ep),
        });
    }
    for ep in [1, 2, 3, 102, 103, 201, 203, 301, 302] {
        events.wait("closed", |e| match e {
            bridge::Event::Closed {
                endpoint,
                reason: bridge::CloseReason::Requested,
            } if *endpoint == EndpointId(ep) => Some(()),
            _ => None,
        });
    }
    let stats = bridge.stats_blocking().unwrap();
    assert_eq!(
        (
            stats.endpoints,
            stats.rooms,
            stats.publishers,
            stats.routes,
            stats.forwarded_streams
        ),
        (0, 0, 0, 0, 0)
    );
}
