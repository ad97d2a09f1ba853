//! Property tests: the model survives SDP and Jingle round trips.

use proptest::prelude::*;
use sdp_map::*;

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9+/_.{}-]{1,10}"
}

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    proptest::option::of(s)
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ]
}

fn fb() -> impl Strategy<Value = RtcpFb> {
    prop_oneof![
        (
            prop_oneof![
                Just("nack"),
                Just("ccm"),
                Just("goog-remb"),
                Just("transport-cc")
            ],
            opt(prop_oneof![Just("pli"), Just("fir")])
        )
            .prop_map(|(k, s)| RtcpFb {
                kind: k.into(),
                subtype: s.map(Into::into)
            }),
        (1u32..5000).prop_map(|v| RtcpFb {
            kind: "trr-int".into(),
            subtype: Some(v.to_string())
        }),
    ]
}

fn codec(pt: u8) -> impl Strategy<Value = Codec> {
    (
        "[a-zA-Z0-9-]{1,10}",
        prop_oneof![Just(8000u32), Just(48000), Just(90000)],
        opt(1u8..3),
        proptest::collection::vec(("[a-z-]{1,8}", "[a-zA-Z0-9/-]{1,8}"), 0..3),
        proptest::collection::vec(fb(), 0..3),
    )
        .prop_map(move |(name, clockrate, channels, params, rtcp_fb)| Codec {
            pt,
            name,
            clockrate,
            channels,
            params,
            rtcp_fb,
            rtpmap: true,
        })
}

fn candidate(with_id: bool) -> impl Strategy<Value = Candidate> {
    (
        (
            token(),
            1u16..3,
            prop_oneof![Just("udp"), Just("UDP"), Just("tcp")],
            any::<u32>(),
        ),
        (
            prop_oneof![Just("10.0.0.1".to_string()), "[a-f0-9-]{8}\\.local"],
            any::<u16>(),
            prop_oneof![Just("host"), Just("srflx"), Just("relay")],
        ),
        (
            opt(Just("192.0.2.1".to_string())),
            opt(any::<u16>()),
            opt(prop_oneof![
                Just("active".to_string()),
                Just("passive".to_string())
            ]),
        ),
        (
            opt(0u32..3),
            opt(1u32..9),
            opt(0u32..999),
            opt(token()),
            if with_id {
                opt(token()).boxed()
            } else {
                Just(None).boxed()
            },
        ),
    )
        .prop_map(
            |(
                (foundation, component, protocol, priority),
                (ip, port, kind),
                (rel_addr, rel_port, tcptype),
                (generation, network, network_cost, ufrag, id),
            )| Candidate {
                foundation,
                component,
                protocol: protocol.into(),
                priority,
                ip,
                port,
                kind: kind.into(),
                rel_addr,
                rel_port,
                tcptype,
                generation,
                network,
                network_cost,
                ufrag,
                id,
            },
        )
}

fn rid() -> impl Strategy<Value = Rid> {
    (
        "[a-zA-Z0-9_-]{1,6}",
        prop_oneof![Just(RidDirection::Send), Just(RidDirection::Recv)],
        proptest::collection::vec(96u8..100, 0..3),
        proptest::collection::vec(
            (
                "max-width|max-height|max-fps|depend|x-[a-z]{1,4}",
                opt("[0-9.,a-z]{1,5}"),
            ),
            0..3,
        ),
    )
        .prop_map(|(id, direction, payload_types, restrictions)| Rid {
            id,
            direction,
            payload_types,
            restrictions,
        })
}

fn simulcast() -> impl Strategy<Value = Simulcast> {
    let stream = proptest::collection::vec(("[a-z0-9_-]{1,4}", any::<bool>()), 1..3).prop_map(
        |alternatives| SimulcastStream {
            alternatives: alternatives
                .into_iter()
                .map(|(id, paused)| SimulcastRid { id, paused })
                .collect(),
        },
    );
    (
        proptest::collection::vec(stream.clone(), 1..4),
        proptest::collection::vec(stream, 0..3),
        any::<bool>(),
    )
        .prop_map(|(a, b, recv_only)| {
            if recv_only {
                Simulcast {
                    send: vec![],
                    recv: a,
                }
            } else {
                Simulcast { send: a, recv: b }
            }
        })
}

fn ice(with_id: bool) -> impl Strategy<Value = Ice> {
    (
        opt(token()),
        opt(token()),
        proptest::collection::vec(token(), 0..2),
        proptest::collection::vec(candidate(with_id), 0..3),
        any::<bool>(),
    )
        .prop_map(|(ufrag, pwd, options, candidates, end_of_candidates)| Ice {
            ufrag,
            pwd,
            options,
            candidates,
            end_of_candidates,
        })
}

fn dtls() -> impl Strategy<Value = Dtls> {
    (
        proptest::collection::vec(
            (
                prop_oneof![Just("sha-256"), Just("sha-1")],
                "[A-F0-9:]{2,20}",
            ),
            0..2,
        ),
        prop_oneof![Just("actpass"), Just("active"), Just("passive")],
    )
        .prop_map(|(f, setup)| Dtls {
            setup: if f.is_empty() {
                None
            } else {
                Some(setup.into())
            },
            fingerprints: f
                .into_iter()
                .map(|(h, v)| Fingerprint {
                    hash: h.into(),
                    value: v,
                })
                .collect(),
        })
}

fn rtp_content(i: usize, with_id: bool) -> impl Strategy<Value = Content> {
    let pts: Vec<u8> = (96..100).collect();
    (
        (
            prop_oneof![Just(Media::Audio), Just(Media::Video)],
            direction(),
            any::<(bool, bool, bool, bool, bool)>(),
        ),
        (
            proptest::collection::vec(codec(pts[0]), 0..2),
            codec(pts[1]),
            proptest::collection::vec(fb(), 0..2),
        ),
        proptest::collection::vec((1u16..15, opt(direction()), token()), 0..3),
        proptest::collection::btree_set(any::<u32>(), 0..3),
        proptest::collection::vec(("[a-z]{1,6}", opt(token())), 0..2),
        (
            proptest::collection::vec((token(), opt(token())), 0..2),
            proptest::collection::vec(rid(), 0..3),
            opt(simulcast()),
        ),
        (
            ice(with_id),
            dtls(),
            proptest::collection::vec((prop_oneof![Just("AS"), Just("TIAS")], any::<u32>()), 0..2),
        ),
    )
        .prop_map(
            move |(
                (media, direction, (rej, bo, mux, muxonly, rsize)),
                (first, second, fb_all),
                hdr,
                ssrcs,
                sparams,
                (msids, rids, simulcast),
                (ice, dtls, bw),
            )| {
                let mut codecs = first;
                codecs.push(second);
                let ssrcs: Vec<u32> = ssrcs.into_iter().collect();
                let sources = ssrcs
                    .iter()
                    .map(|s| Source {
                        ssrc: *s,
                        params: sparams
                            .iter()
                            .map(|(n, v)| (n.clone(), v.clone()))
                            .collect(),
                    })
                    .collect();
                let ssrc_groups = if ssrcs.len() >= 2 {
                    vec![SsrcGroup {
                        semantics: "FID".into(),
                        ssrcs: ssrcs.clone(),
                    }]
                } else {
                    vec![]
                };
                Content {
                    mid: format!("m{i}"),
                    media: Some(media),
                    rejected: rej && !bo,
                    bundle_only: bo,
                    direction,
                    protocol: "UDP/TLS/RTP/SAVPF".into(),
                    formats: vec![],
                    codecs,
                    rtcp_fb_all: fb_all,
                    hdrexts: hdr
                        .into_iter()
                        .map(|(id, direction, uri)| HeaderExtension {
                            id,
                            direction,
                            uri,
                            attributes: None,
                        })
                        .collect(),
                    extmap_allow_mixed: mux,
                    sources,
                    ssrc_groups,
                    msids: msids
                        .into_iter()
                        .map(|(stream, track)| Msid { stream, track })
                        .collect(),
                    rids,
                    simulcast,
                    ice,
                    dtls,
                    rtcp_mux: mux,
                    rtcp_mux_only: muxonly,
                    rtcp_rsize: rsize,
                    bandwidths: bw
                        .into_iter()
                        .map(|(k, v)| Bandwidth {
                            kind: k.into(),
                            value: v.into(),
                        })
                        .collect(),
                    sctp: None,
                    extra: vec![],
                }
            },
        )
}

fn data_content(i: usize, with_id: bool) -> impl Strategy<Value = Content> {
    (
        ice(with_id),
        dtls(),
        any::<u16>(),
        opt(any::<u32>()),
        any::<bool>(),
    )
        .prop_map(move |(ice, dtls, port, mms, legacy)| Content {
            mid: format!("m{i}"),
            media: Some(Media::Application),
            protocol: if legacy {
                "DTLS/SCTP".into()
            } else {
                "UDP/DTLS/SCTP".into()
            },
            formats: vec![if legacy {
                port.to_string()
            } else {
                "webrtc-datachannel".into()
            }],
            ice,
            dtls,
            sctp: Some(if legacy {
                Sctp {
                    port: None,
                    max_message_size: mms.map(u64::from),
                    sctpmap: Some(SctpMap {
                        number: port,
                        protocol: "webrtc-datachannel".into(),
                        streams: Some(1024),
                    }),
                }
            } else {
                Sctp {
                    port: Some(port),
                    max_message_size: mms.map(u64::from),
                    sctpmap: None,
                }
            }),
            ..Content::default()
        })
}

fn session(with_id: bool) -> impl Strategy<Value = Session> {
    (
        proptest::collection::vec(any::<bool>(), 1..4),
        opt(Just(" WMS *".to_string())),
        any::<bool>(),
    )
        .prop_flat_map(move |(kinds, msid_semantic, bundle)| {
            let contents: Vec<BoxedStrategy<Content>> = kinds
                .iter()
                .enumerate()
                .map(|(i, rtp)| {
                    if *rtp {
                        rtp_content(i, with_id).boxed()
                    } else {
                        data_content(i, with_id).boxed()
                    }
                })
                .collect();
            let n = kinds.len();
            (contents, Just(msid_semantic.clone())).prop_map(
                move |(mut contents, msid_semantic)| {
                    // a live Jingle content without any ICE/DTLS parameter reads back as
                    // rejected (or bundle-only): live ones get a ufrag, as every browser's do
                    for c in contents.iter_mut() {
                        if !c.rejected && !c.bundle_only && !c.has_transport() {
                            c.ice.ufrag = Some("u".into());
                        }
                    }
                    Session {
                        origin: Some(Origin {
                            username: "-".into(),
                            session_id: "42".into(),
                            session_version: "2".into(),
                            address: "IN IP4 127.0.0.1".into(),
                        }),
                        groups: if bundle {
                            vec![Group {
                                semantics: "BUNDLE".into(),
                                mids: (0..n).map(|i| format!("m{i}")).collect(),
                            }]
                        } else {
                            vec![]
                        },
                        msid_semantic,
                        extra: vec![],
                        contents,
                    }
                },
            )
        })
}

/// What Jingle carries of a session: a rejected content has no direction, ICE or DTLS.
fn as_in_jingle(mut s: Session) -> Session {
    s.origin = None;
    for c in s.contents.iter_mut().filter(|c| c.rejected) {
        c.direction = Direction::Inactive;
        c.ice = Ice::default();
        c.dtls = Dtls::default();
    }
    s
}

/// A session a session-initiate can carry: at least one content not rejected, and ICE
/// credentials (both) on every one that is not.
fn as_description(mut s: Session) -> Session {
    if s.contents.iter().all(|c| c.rejected) {
        s.contents[0].rejected = false;
    }
    for c in s.contents.iter_mut().filter(|c| !c.rejected) {
        c.ice.ufrag.get_or_insert_with(|| "u".into());
        c.ice.pwd.get_or_insert_with(|| "p".into());
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sdp_round_trip(s in session(false)) {
        let text = s.to_sdp();
        let back = Session::parse_sdp(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, s);
    }

    #[test]
    fn jingle_round_trip(s in session(true), responder in any::<bool>()) {
        let s = as_description(s);
        let from = if responder { Role::Responder } else { Role::Initiator };
        let j = Jingle { sdp_from: Some(from), session: s.clone(), ..Jingle::new(Action::SessionInitiate, "s1") };
        let xml = j.to_xml();
        let read = Jingle::parse(&xml, &ToSdp { sdp_type: SdpType::Offer, from: Some(from) })
            .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        // the envelope comes back as it was, and what Jingle carries of the session
        prop_assert_eq!(&Jingle { session: Session::default(), ..read.clone() }, &Jingle { session: Session::default(), ..j });
        let back = read.session;
        prop_assert_eq!(back, as_in_jingle(s));
    }
}
