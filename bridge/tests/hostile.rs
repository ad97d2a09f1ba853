//! Bad commands and hostile peers are refused or ignored, and disturb no one.

mod common;

use bridge::{
    BridgeConfig, BridgeHandle, Command, EndpointId, Limits, ParticipantId, RefuseError, RoomId,
};
use common::*;
use std::net::UdpSocket;

const ROOM: RoomId = RoomId(9);

#[test]
fn hostile_inputs_are_refused_and_the_call_goes_on() {
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
    let packets = |p: &Peer| {
        p.with(|s| {
            s.rtp
                .get(&video)
                .map(|m| m.values().sum::<u32>())
                .unwrap_or(0)
        })
    };
    sub.wait("media", |s| s.rtp.contains_key(&video));

    // another participant claims participant 1's ssrcs (same tag = same ssrcs)
    let stolen = offer_sdp(&Media::new(1));
    bridge.send(Command::Publish {
        endpoint: EndpointId(3),
        room: ROOM,
        participant: ParticipantId(3),
        offer: stolen.clone(),
    });
    assert!(matches!(
        events.refused(EndpointId(3)),
        RefuseError::SsrcInUse(_)
    ));

    // hundreds of media sections
    let mut many = offer_sdp(&Media::new(4));
    let video_section = many[many.find("m=video").unwrap()..].to_owned();
    for i in 0..200 {
        many.push_str(&video_section.replace("a=mid:1", &format!("a=mid:x{i}")));
    }
    bridge.send(Command::Publish {
        endpoint: EndpointId(4),
        room: ROOM,
        participant: ParticipantId(4),
        offer: many,
    });
    assert!(matches!(
        events.refused(EndpointId(4)),
        RefuseError::TooManyContents { .. }
    ));

    // garbage SDP, unknown endpoints, own media, an answer to a publish
    bridge.send(Command::Publish {
        endpoint: EndpointId(5),
        room: ROOM,
        participant: ParticipantId(5),
        offer: "v=0\r\nnonsense".into(),
    });
    assert!(matches!(
        events.refused(EndpointId(5)),
        RefuseError::BadSdp(_)
    ));
    bridge.send(Command::Answer {
        endpoint: EndpointId(77),
        answer: "v=0".into(),
    });
    assert_eq!(events.refused(EndpointId(77)), RefuseError::UnknownEndpoint);
    bridge.send(Command::Subscribe {
        endpoint: EndpointId(6),
        room: ROOM,
        subscriber: ParticipantId(1),
        publisher: ParticipantId(1),
    });
    assert_eq!(events.refused(EndpointId(6)), RefuseError::OwnMedia);
    bridge.send(Command::Subscribe {
        endpoint: EndpointId(7),
        room: ROOM,
        subscriber: ParticipantId(2),
        publisher: ParticipantId(99),
    });
    assert_eq!(events.refused(EndpointId(7)), RefuseError::UnknownPublisher);
    bridge.send(Command::Answer {
        endpoint: EndpointId(1),
        answer: "v=0".into(),
    });
    assert_eq!(events.refused(EndpointId(1)), RefuseError::WrongState);
    bridge.send(Command::Publish {
        endpoint: EndpointId(2),
        room: ROOM,
        participant: ParticipantId(8),
        offer: stolen,
    });
    assert_eq!(events.refused(EndpointId(2)), RefuseError::EndpointExists);

    // garbage datagrams: random bytes, RTP-looking, STUN with an unknown ufrag, DTLS-looking
    let attacker = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = bridge.local_addr();
    let mut stun = vec![0, 1, 0, 12, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[9; 12]);
    stun.extend_from_slice(&[0, 6, 0, 7]);
    stun.extend_from_slice(b"nobody:x\0");
    for i in 0..2000u32 {
        let datagram: Vec<u8> = match i % 4 {
            0 => (0..100).map(|j| (i * 31 + j) as u8).collect(),
            1 => {
                let mut d = vec![0x80, 96];
                d.extend_from_slice(&[7; 200]);
                d
            }
            2 => stun.clone(),
            _ => {
                let mut d = vec![22, 0xfe, 0xfd];
                d.extend_from_slice(&[1; 60]);
                d
            }
        };
        attacker.send_to(&datagram, target).unwrap();
    }
    let before = packets(&sub);
    sub.wait("media still flows after the garbage", |s| {
        s.rtp
            .get(&video)
            .map(|m| m.values().sum::<u32>())
            .unwrap_or(0)
            >= before + 20
    });
    let stats = bridge.stats_blocking().unwrap();
    // (the kernel drops part of the flood before the bridge sees it)
    assert!(stats.datagrams_dropped >= 100, "{stats:?}");
    assert_eq!((stats.endpoints, stats.connected_endpoints), (2, 2));
}

#[test]
fn a_full_room_refuses_the_next_publisher() {
    let mut config = BridgeConfig::new("127.0.0.1:0".parse().unwrap());
    config.limits = Limits {
        participants_per_room: 2,
        ..Limits::default()
    };
    let (bridge, rx) = BridgeHandle::spawn(config).unwrap();
    let mut events = Events::from_receiver(rx);
    for p in 1..=2u8 {
        let _ = publish(
            &bridge,
            &mut events,
            EndpointId(u64::from(p)),
            ROOM,
            ParticipantId(u64::from(p)),
            Media::new(p),
        );
    }
    bridge.send(Command::Publish {
        endpoint: EndpointId(3),
        room: ROOM,
        participant: ParticipantId(3),
        offer: offer_sdp(&Media::new(3)),
    });
    assert_eq!(
        events.refused(EndpointId(3)),
        RefuseError::RoomFull { max: 2 }
    );
    // another room is not affected
    bridge.send(Command::Publish {
        endpoint: EndpointId(4),
        room: RoomId(10),
        participant: ParticipantId(3),
        offer: offer_sdp(&Media::new(3)),
    });
    events.answer(EndpointId(4));
}
