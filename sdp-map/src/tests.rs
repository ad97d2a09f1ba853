//! Table-driven unit tests for the interop quirks (DESIGN.md §3).

use crate::jingle::{Action, Document, ReasonCondition};
use crate::*;

const HEAD: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

fn sdp(body: &str) -> Session {
    Session::parse_sdp(&format!("{HEAD}{body}")).expect("valid SDP")
}

/// A session-initiate carrying `session`.
fn initiate(session: &Session) -> Jingle {
    Jingle {
        session: session.clone(),
        ..Jingle::new(Action::SessionInitiate, "s")
    }
}

/// Reads XML with the default options.
fn parse(xml: &str) -> Result<Jingle, JingleError> {
    Jingle::parse(xml, &ToSdp::default())
}

fn via_jingle(s: &Session, from: Role) -> (String, Session) {
    let xml = Jingle {
        sdp_from: Some(from),
        ..initiate(s)
    }
    .to_xml();
    let back = Jingle::parse(
        &xml,
        &ToSdp {
            sdp_type: SdpType::Offer,
            from: Some(from),
        },
    )
    .expect("jingle")
    .session;
    (xml, back)
}

fn jingle_sdp(xml: &str, t: SdpType) -> Session {
    let s = jingle_to_sdp(
        xml,
        &ToSdp {
            sdp_type: t,
            from: None,
        },
    )
    .expect("to sdp");
    Session::parse_sdp(&s).expect("reparse")
}

#[test]
fn msid_with_and_without_braces() {
    for (line, stream, track) in [
        ("a=msid:stream1 track1", "stream1", Some("track1")),
        ("a=msid:{a-b} {c-d}", "{a-b}", Some("{c-d}")),
        ("a=msid:- track", "-", Some("track")),
        ("a=msid:onlystream", "onlystream", None),
    ] {
        let s = sdp(&format!(
            "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\n{line}\r\n"
        ));
        let m = &s.contents[0].msids[0];
        assert_eq!((m.stream.as_str(), m.track.as_deref()), (stream, track));
        let (xml, back) = via_jingle(&s, Role::Initiator);
        assert!(xml.contains(&format!("id='{stream}'")), "{xml}");
        assert_eq!(back, Session { origin: None, ..s });
    }
}

#[test]
fn firefox_cname_in_braces_and_session_level_attributes() {
    let s = sdp(
        "a=fingerprint:sha-256 AA:BB\r\na=ice-options:trickle\r\na=setup:actpass\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 109\r\na=mid:0\r\na=rtpmap:109 opus/48000/2\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\n\
        a=ssrc:1 cname:{5f1e-aa}\r\n",
    );
    let c = &s.contents[0];
    assert_eq!(c.dtls.fingerprints[0].value, "AA:BB");
    assert_eq!(c.dtls.setup.as_deref(), Some("actpass"));
    assert_eq!(c.ice.options, ["trickle"]);
    assert_eq!(
        c.sources[0].params,
        [("cname".to_string(), Some("{5f1e-aa}".to_string()))]
    );
    let (_, back) = via_jingle(&s, Role::Initiator);
    assert_eq!(back.contents, s.contents);
}

#[test]
fn sctpmap_legacy_and_modern() {
    let legacy = sdp("m=application 9 DTLS/SCTP 5000\r\na=mid:data\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=sctpmap:5000 webrtc-datachannel 1024\r\n");
    let modern = sdp("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:data\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n");
    for s in [&legacy, &modern] {
        let (xml, back) = via_jingle(s, Role::Initiator);
        assert!(
            xml.contains("<sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1'"),
            "{xml}"
        );
        assert!(xml.contains("number='5000'"), "{xml}");
        assert_eq!(back.contents, s.contents);
    }
    // XEP-0343 <sctpmap> from a Jitsi-style peer becomes a=sctp-port in modern SDP
    let xml = "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'>\
        <content creator='initiator' name='data'><description xmlns='urn:xmpp:jingle:apps:webrtc-datachannel:0'/>\
        <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'>\
        <sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1' number='5000' protocol='webrtc-datachannel' streams='1024'/>\
        </transport></content></jingle>";
    let s = jingle_sdp(xml, SdpType::Offer);
    let c = &s.contents[0];
    assert_eq!(c.protocol, "UDP/DTLS/SCTP");
    assert_eq!(c.sctp.as_ref().and_then(|x| x.port), Some(5000));
}

#[test]
fn no_bundle_dino_style() {
    let xml = "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s' initiator='a@x/d'>\
        <content creator='initiator' name='audio' senders='both'>\
        <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='111' name='opus' clockrate='48000' channels='2'/><rtcp-mux/></description>\
        <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='a1' pwd='p1'><fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256'>AA:BB</fingerprint></transport></content>\
        <content creator='initiator' name='video' senders='both'>\
        <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'><payload-type id='96' name='VP8' clockrate='90000'/></description>\
        <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='v1' pwd='p2'/></content></jingle>";
    let s = jingle_sdp(xml, SdpType::Offer);
    assert!(s.groups.is_empty());
    assert_eq!(s.contents.len(), 2);
    assert_eq!(s.contents[0].ice.ufrag.as_deref(), Some("a1"));
    assert_eq!(s.contents[1].ice.ufrag.as_deref(), Some("v1"));
    // setup=actpass is the default in an offer, active in an answer
    assert_eq!(s.contents[0].dtls.setup.as_deref(), Some("actpass"));
    let a = jingle_sdp(xml, SdpType::Answer);
    assert_eq!(a.contents[0].dtls.setup.as_deref(), Some("active"));
}

#[test]
fn setup_actpass_kept() {
    let s = sdp("m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\na=setup:actpass\r\n");
    let (xml, back) = via_jingle(&s, Role::Initiator);
    assert!(xml.contains("setup='actpass'"));
    assert_eq!(back.contents[0].dtls.setup.as_deref(), Some("actpass"));
}

#[test]
fn content_name_is_mid() {
    let s = sdp("a=group:BUNDLE audio0 v1\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:audio0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v1\r\na=rtpmap:96 VP8/90000\r\n");
    let (xml, _) = via_jingle(&s, Role::Initiator);
    assert!(
        xml.contains("name='audio0'") && xml.contains("name='v1'"),
        "{xml}"
    );
    assert!(xml.contains("<group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'><content name='audio0'/><content name='v1'/></group>"));
}

#[test]
fn candidates_mdns_and_without_network_generation() {
    for line in [
        "candidate:1 1 udp 2122260223 4f2a0c8e-1b2d-4e3f-8a9b-0c1d2e3f4a5b.local 54321 typ host generation 0 network-id 1",
        "candidate:0 1 UDP 2122252543 192.168.1.10 42761 typ host",
        "candidate:0 2 UDP 2122252542 192.168.1.10 42762 typ host",
        "candidate:3 1 udp 1686052607 203.0.113.7 46243 typ srflx raddr 192.168.0.196 rport 46243 generation 0 ufrag EsAw network-id 1 network-cost 10",
        "candidate:4 1 tcp 1518280447 192.168.0.196 9 typ host tcptype active generation 0",
    ] {
        let c = sdp::parse_candidate(line, 1).expect("candidate");
        assert_eq!(sdp::write_candidate(&c), line);
        let envelope = Jingle::new(Action::TransportInfo, "s");
        let xml = candidate_to_transport_info(line, "0", Some("u"), envelope).expect("ti");
        assert!(xml.contains("action='transport-info'"));
        assert!(xml.contains(&format!("ip='{}'", c.ip)));
        let back = transport_info_to_candidates(&xml).expect("read");
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].candidate, line);
        assert_eq!(back[0].mid, "0");
    }
    let envelope = Jingle::new(Action::TransportInfo, "s");
    let xml = candidate_to_transport_info("", "0", None, envelope).expect("eoc");
    assert!(xml.contains("gathering-complete"));
    assert!(transport_info_to_candidates(&xml).expect("read")[0].end_of_candidates);
}

/// StanzaJS 12's FID groups name an RTX ssrc without a `<source>` (issue 11.2): the group is
/// completed with the primary's cname and msid, as StanzaJS's own SDP export does; a group
/// that stays undescribed is dropped from the SDP (Chromium rejects it).
#[test]
fn fid_groups_completed_undescribed_groups_dropped() {
    let xml = "<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='s'>\
        <content creator='initiator' name='1' senders='both'>\
        <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'><payload-type id='96' name='VP8' clockrate='90000'/>\
        <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='111'><parameter name='cname' value='x'/><parameter name='msid' value='s t'/><parameter name='label' value='l'/></source>\
        <ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'><source ssrc='111'/><source ssrc='222'/></ssrc-group>\
        <ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='SIM'><source ssrc='111'/><source ssrc='333'/></ssrc-group>\
        <ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'><source ssrc='444'/><source ssrc='555'/></ssrc-group>\
        </description>\
        <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'/></content></jingle>";
    let text = jingle_to_sdp(xml, &ToSdp::default()).expect("sdp");
    for line in [
        "a=ssrc-group:FID 111 222\r\n",
        "a=ssrc:111 cname:x\r\n",
        "a=ssrc:222 cname:x\r\n",
        "a=ssrc:222 msid:s t\r\n",
    ] {
        assert!(text.contains(line), "no {line:?} in {text}");
    }
    assert!(!text.contains("a=ssrc:222 label"), "{text}");
    assert!(!text.contains("SIM") && !text.contains("444"), "{text}");
}

#[test]
fn senders_relative_to_initiator() {
    use Direction::*;
    for (dir, from, senders) in [
        (SendOnly, Role::Initiator, "initiator"),
        (SendOnly, Role::Responder, "responder"),
        (RecvOnly, Role::Initiator, "responder"),
        (RecvOnly, Role::Responder, "initiator"),
        (SendRecv, Role::Responder, "both"),
        (Inactive, Role::Initiator, "none"),
    ] {
        let s = sdp(&format!(
            "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na={}\r\n",
            dir.as_str()
        ));
        let (xml, back) = via_jingle(&s, from);
        assert!(
            xml.contains(&format!("senders='{senders}'")),
            "{dir:?} {from:?}: {xml}"
        );
        assert_eq!(back.contents[0].direction, dir);
    }
}

#[test]
fn session_terminate_reasons() {
    for &cond in ReasonCondition::ALL {
        for text in [None, Some("bye now")] {
            let envelope = Jingle {
                reason: Some(Reason {
                    condition: cond,
                    text: text.map(str::to_string),
                }),
                ..Jingle::new(Action::SessionTerminate, "s")
            };
            let xml = sdp_to_jingle("", envelope.clone()).expect("terminate");
            let j = parse(&xml).expect("read");
            assert_eq!(j, envelope, "{xml}");
        }
    }
}

#[test]
fn actions_carry_the_right_parts() {
    let s = sdp("m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\na=setup:active\r\na=candidate:1 1 udp 1 1.2.3.4 5 typ host\r\n");
    for &action in Action::ALL {
        let xml = Jingle {
            action,
            ..initiate(&s)
        }
        .to_xml();
        let j = Jingle::parse(
            &xml,
            &ToSdp {
                sdp_type: SdpType::Answer,
                from: None,
            },
        )
        .expect("read");
        assert_eq!(j.action, action);
        let has_desc = xml.contains("<description");
        let has_cand = xml.contains("<candidate");
        let has_fp = xml.contains("<fingerprint");
        match action {
            Action::SessionInitiate
            | Action::SessionAccept
            | Action::ContentAdd
            | Action::ContentAccept
            | Action::DescriptionInfo => {
                assert!(has_desc && has_cand && has_fp, "{xml}")
            }
            Action::TransportInfo => assert!(!has_desc && has_cand && !has_fp, "{xml}"),
            Action::ContentModify => assert!(xml.contains("senders=") && !has_desc, "{xml}"),
            Action::ContentRemove | Action::ContentReject => {
                assert!(xml.contains("name='0'") && !has_desc && !has_cand, "{xml}")
            }
            Action::SessionTerminate | Action::SessionInfo => {
                assert!(!xml.contains("<content"), "{xml}")
            }
            _ => assert!(has_fp && !has_desc, "{xml}"),
        }
    }
}

#[test]
fn sdp_errors_name_the_line() {
    for (text, line) in [
        ("", 0),
        ("x", 1),
        ("v=1\r\n", 1),
        ("v=0\r\no=-\r\n", 2),
        ("v=0\r\nm=audio x RTP/AVP 0\r\n", 2),
        (
            "v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:abc opus/48000\r\n",
            3,
        ),
        ("v=0\r\nm=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp\r\n", 3),
        (
            "v=0\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=extmap:1/sideways urn:x\r\n",
            4,
        ),
    ] {
        let e = Session::parse_sdp(text).expect_err(text);
        assert_eq!(e.line, line, "{text:?}: {e}");
    }
}

#[test]
fn jingle_errors_name_the_element() {
    for (xml, needle) in [
        ("<iq xmlns='jabber:client'/>", "expected <jingle"),
        ("<jingle xmlns='urn:xmpp:jingle:1' sid='s'/>", "'action'"),
        ("<jingle xmlns='urn:xmpp:jingle:1' action='dance' sid='s'/>", "dance"),
        ("<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content creator='initiator'/></jingle>", "<content> lacks attribute 'name'"),
        ("<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s'><content name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'><candidate component='1' foundation='1' ip='1.2.3.4' port='99999' priority='1' protocol='udp' type='host'/></transport></content></jingle>", "'port'"),
        ("<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content name='a&#10;b'/></jingle>", "'name'"),
        ("<jingle xmlns='urn:xmpp:jingle:1'", "XML"),
    ] {
        let e = jingle_to_sdp(xml, &ToSdp::default()).expect_err(xml).to_string();
        assert!(e.contains(needle), "{xml}: {e}");
    }
}

#[test]
fn minidom_adapters_agree_with_the_string_api() {
    let s = sdp("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\na=setup:actpass\r\na=ssrc:1 cname:a&b<c>'\"\r\n");
    let j = initiate(&s);
    let el = j.to_element().expect("minidom takes it");
    assert_eq!(el.attr("sid"), Some("s"));
    let back = Jingle::from_element(&el, &ToSdp::default()).expect("adapter");
    let direct = parse(&j.to_xml()).expect("xml");
    assert_eq!(back, direct);
    assert_eq!(back.session.contents[0].sources, s.contents[0].sources);
}

/// Interop fixes found by the StanzaJS and XEP example tests (web/test).
#[test]
fn interop_quirks_from_other_jingle_clients() {
    const J: &str = "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'>";
    const T: &str = "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'>";
    const FP: &str = "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>AA</fingerprint>";
    const SCTP: &str = "<sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1' number='5000' protocol='webrtc-datachannel' streams='1024'/>";
    const AUDIO: &str = "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='111' name='opus' clockrate='48000' channels='2'/></description>";
    let cases: &[(&str, String, &[&str])] = &[
        (
            "data channel without <description/> (StanzaJS)",
            format!("{J}<content creator='initiator' name='d'>{T}{FP}{SCTP}</transport></content></jingle>"),
            &["m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", "a=sctp-port:5000\r\n"],
        ),
        (
            "data channel under a file-transfer description (XEP-0343 example)",
            format!("{J}<content creator='initiator' name='d'><description xmlns='urn:xmpp:jingle:apps:file-transfer:3'/>{T}{FP}{SCTP}</transport></content></jingle>"),
            &["m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"],
        ),
        (
            "content with a transport without ICE/DTLS parameters is rejected (StanzaJS)",
            format!("{J}<content creator='initiator' name='a'>{AUDIO}{T}{FP}</transport></content><content creator='initiator' name='v'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'><payload-type id='96' name='VP8' clockrate='90000'/></description><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content></jingle>"),
            &["m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "m=video 0 "],
        ),
        (
            "BUNDLEd content without ICE/DTLS parameters is bundle-only",
            format!("{J}<content creator='initiator' name='a'>{AUDIO}{T}{FP}</transport></content><content creator='initiator' name='b'>{AUDIO}<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content><group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='BUNDLE'><content name='a'/><content name='b'/></group></jingle>"),
            &["m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n", "a=bundle-only\r\n"],
        ),
        (
            "key-less fmtp parameter, value only (Conversations, ours)",
            format!("{J}<content creator='initiator' name='a'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='63' name='red' clockrate='48000' channels='2'><parameter value='111/111'/></payload-type><payload-type id='101' name='telephone-event' clockrate='8000'><parameter value='0-15'/></payload-type></description>{T}{FP}</transport></content></jingle>"),
            &["a=fmtp:63 111/111\r\n", "a=fmtp:101 0-15\r\n"],
        ),
        (
            "key-less fmtp parameter, name only (StanzaJS RED, ours before)",
            format!("{J}<content creator='initiator' name='a'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='63' name='red' clockrate='48000' channels='2'><parameter name='111/111'/></payload-type></description>{T}{FP}</transport></content></jingle>"),
            &["a=fmtp:63 111/111\r\n"],
        ),
        (
            "key-less fmtp parameter, empty name (Jitsi)",
            format!("{J}<content creator='initiator' name='a'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='101' name='telephone-event' clockrate='8000'><parameter name='' value='0-15'/></payload-type></description>{T}{FP}</transport></content></jingle>"),
            &["a=fmtp:101 0-15\r\n"],
        ),
        (
            "static payload type without clockrate (XEP-0167 G729)",
            format!("{J}<content creator='initiator' name='a'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='18' name='G729'/><payload-type id='34' name='H263'/></description>{T}{FP}</transport></content></jingle>"),
            &["a=rtpmap:18 G729/8000\r\n", "a=rtpmap:34 H263/90000\r\n"],
        ),
        (
            "RTP without fingerprint is RTP/AVPF",
            format!("{J}<content creator='initiator' name='a'>{AUDIO}{T}</transport></content></jingle>"),
            &["m=audio 9 RTP/AVPF 111\r\n"],
        ),
    ];
    for (what, xml, needles) in cases {
        let sdp = jingle_to_sdp(xml, &ToSdp::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
        for n in *needles {
            assert!(sdp.contains(n), "{what}: no {n:?} in\n{sdp}");
        }
        // and what we write back reads the same
        let s = Session::parse_sdp(&sdp).expect(what);
        let (_, back) = via_jingle(&s, Role::Initiator);
        assert_eq!(back.contents, s.contents, "{what}");
    }

    let errors: &[(&str, String, &str)] = &[
        (
            "content with neither RTP nor data channel",
            format!("{J}<content creator='initiator' name='f'><description xmlns='urn:xmpp:jingle:apps:file-transfer:3'/>{T}{FP}</transport></content></jingle>"),
            "<content name='f'> has neither",
        ),
        (
            "transport-info is not a session description",
            format!("<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s'><content creator='initiator' name='a'>{T}</transport></content></jingle>"),
            "transport_info_to_candidates",
        ),
    ];
    for (what, xml, needle) in errors {
        let e = jingle_to_sdp(xml, &ToSdp::default())
            .expect_err(what)
            .to_string();
        assert!(e.contains(needle), "{what}: {e}");
    }

    // a key-less fmtp item is written as a value without a name: Conversations
    // requires a value on every <parameter/> (and maps a nameless one back to a
    // key-less fmtp), Jitsi reads a missing or empty name the same way
    let s = sdp("m=audio 9 UDP/TLS/RTP/SAVPF 63 101 111\r\na=mid:0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n");
    let (xml, back) = via_jingle(&s, Role::Initiator);
    for p in [
        "<parameter value='111/111'/>",
        "<parameter value='0-15'/>",
        "<parameter name='minptime' value='10'/>",
    ] {
        assert!(xml.contains(p), "no {p} in {xml}");
    }
    assert!(!xml.contains("<parameter name='111/111'"), "{xml}");
    assert!(!xml.contains("<parameter name='0-15'"), "{xml}");
    assert_eq!(back.contents, s.contents);
    let keyless = |s: &Session, pt: u8| {
        let c = s.contents[0]
            .codecs
            .iter()
            .find(|c| c.pt == pt)
            .expect("codec");
        c.params.clone()
    };
    assert_eq!(keyless(&back, 63), [(String::new(), "111/111".to_string())]);
    assert_eq!(keyless(&back, 101), [(String::new(), "0-15".to_string())]);
    let out = back.to_sdp();
    assert!(out.contains("a=fmtp:63 111/111\r\n"), "{out}");
    assert!(out.contains("a=fmtp:101 0-15\r\n"), "{out}");

    // the three Jingle forms of a key-less item read the same
    let red = |param: &str| {
        format!("{J}<content creator='initiator' name='a'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='63' name='red' clockrate='48000' channels='2'>{param}</payload-type></description>{T}{FP}</transport></content></jingle>")
    };
    let new_form = jingle_sdp(&red("<parameter value='111/111'/>"), SdpType::Offer);
    for old in [
        "<parameter name='111/111'/>",
        "<parameter name='' value='111/111'/>",
    ] {
        assert_eq!(jingle_sdp(&red(old), SdpType::Offer), new_form, "{old}");
    }
    assert_eq!(
        keyless(&new_form, 63),
        [(String::new(), "111/111".to_string())]
    );
}

/// The SDP's writer defaults to the party that sends the action (issue 11.1).
#[test]
fn sdp_writer_defaults_by_action() {
    let s = sdp("m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=sendonly\r\n");
    for (action, creator, senders) in [
        (Action::SessionInitiate, Role::Initiator, "initiator"),
        (Action::SessionAccept, Role::Initiator, "responder"),
        (Action::ContentAdd, Role::Initiator, "initiator"),
        (Action::ContentAdd, Role::Responder, "responder"),
        (Action::ContentAccept, Role::Initiator, "responder"),
        (Action::ContentAccept, Role::Responder, "initiator"),
    ] {
        let xml = Jingle {
            action,
            creator,
            ..initiate(&s)
        }
        .to_xml();
        assert!(
            xml.contains(&format!("senders='{senders}'")),
            "{action:?} by {creator:?}: {xml}"
        );
        // and read back with the same default, the direction is the SDP's
        let back = parse(&xml).expect("read").session;
        assert_eq!(back.contents[0].direction, Direction::SendOnly, "{xml}");
    }
}

/// Simulcast travels as named elements in the RTP description and is typed in the model
/// (issue 11.3); the older forms inside `<media>` still read the same.
#[test]
fn simulcast_as_named_elements() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/chromium-fixture-simulcast-recvonly-legacy.sdp"
    ))
    .expect("fixture");
    let s = Session::parse_sdp(&text).expect("sdp");
    let (xml, back) = via_jingle(&s, Role::Initiator);
    assert_eq!(back.contents, s.contents);
    let ns = jingle::NS_SDP;
    let description = &xml[xml.find("<description").expect("description")..];
    let description = &description[..description.find("</description>").expect("end")];
    for element in [
        format!("<rid xmlns='{ns}' id='h' direction='send'/>"),
        format!("<rid xmlns='{ns}' id='m' direction='send'><parameter name='max-width' value='640'/><parameter name='max-height' value='360'/></rid>"),
        format!("<rid xmlns='{ns}' id='l' direction='send' pt='96'><parameter name='max-width' value='320'/></rid>"),
        format!("<simulcast xmlns='{ns}' send='h;m;l'/>"),
    ] {
        assert!(description.contains(&element), "no {element} in {description}");
    }
    assert!(
        !xml.contains("rid:") && !xml.contains("simulcast="),
        "{xml}"
    );
    // what a focus reads, without string scanning
    let video = &back.contents[0];
    let layers: Vec<_> = video
        .rids
        .iter()
        .map(|r| (r.id.as_str(), r.direction, r.max_width(), r.max_height()))
        .collect();
    use RidDirection::Send;
    assert_eq!(
        layers,
        [
            ("h", Send, None, None),
            ("m", Send, Some(640), Some(360)),
            ("l", Send, Some(320), None),
        ]
    );
    assert_eq!(video.rids[2].payload_types, [96]);
    let sim = video.simulcast.as_ref().expect("simulcast");
    let sent: Vec<_> = sim.send_rids().map(|r| r.id.as_str()).collect();
    assert_eq!(sent, ["h", "m", "l"]);
    assert!(sim.recv.is_empty());

    // the older forms: attributes of <media>, raw a= lines
    let jingle = |media: &str| {
        format!("<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content creator='initiator' name='0'>\
            <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'><payload-type id='96' name='VP8' clockrate='90000'/></description>\
            <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'/>{media}</content></jingle>")
    };
    let old = [
        format!("<media xmlns='{ns}' simulcast='send h;m;l'><rid id='h' direction='send'/><rid id='m' direction='send' restrictions='max-width=640;max-height=360'/><rid id='l' direction='send' restrictions='pt=96;max-width=320'/></media>"),
        format!("<media xmlns='{ns}'><attribute>rid:h send</attribute><attribute>rid:m send max-width=640;max-height=360</attribute><attribute>rid:l send pt=96;max-width=320</attribute><attribute>simulcast:send h;m;l</attribute></media>"),
    ];
    for media in old {
        let c = &parse(&jingle(&media)).expect(&media).session.contents[0];
        assert_eq!(c.rids, video.rids, "{media}");
        assert_eq!(c.simulcast, video.simulcast, "{media}");
    }
    // malformed simulcast is an error that names it
    let e = parse(&jingle(&format!("<media xmlns='{ns}' simulcast='up h'/>")))
        .expect_err("bad simulcast")
        .to_string();
    assert!(e.contains("simulcast"), "{e}");
}

/// Every REQUIRED piece of an RTP/ICE-UDP content of a session description (XEP-0166/0167/
/// 0176/0320) is checked, and the error names what is missing and where (issue 11.4).
#[test]
fn session_descriptions_lack_nothing_required() {
    const LIVE: &str = "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=mid:a\r\na=rtpmap:111 opus/48000/2\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\na=setup:actpass\r\n";
    let full = format!("{HEAD}{LIVE}");
    let envelope = || Jingle::new(Action::SessionInitiate, "s");
    sdp_to_jingle(&full, envelope()).expect("complete");
    for (what, text, needle) in [
        ("no m= line", HEAD.to_string(), "no m= line"),
        (
            "truncated inside the first m-line",
            full[..full.find("a=ice-pwd").expect("pwd") + 7].to_string(),
            "line 5: m-line 1 (mid 'a') has no a=ice-pwd",
        ),
        ("no a=mid", full.replace("a=mid:a\r\n", ""), "line 5: m-line 1 (mid '') has no a=mid"),
        ("no ice-ufrag", full.replace("a=ice-ufrag:u\r\n", ""), "has no a=ice-ufrag"),
        ("no ice-pwd", full.replace("a=ice-pwd:p\r\n", ""), "has no a=ice-pwd"),
        ("no fingerprint", full.replace("a=fingerprint:sha-256 AA\r\n", ""), "has no a=fingerprint"),
        ("no setup", full.replace("a=setup:actpass\r\n", ""), "has no a=setup"),
        ("no payload type", full.replace(" 111 0\r\n", "\r\n"), "has no payload type"),
        ("dynamic payload type without rtpmap", full.replace("a=rtpmap:111 opus/48000/2\r\n", ""), "a=rtpmap name and clock rate for payload type 111"),
        ("rtpmap without clock rate", full.replace("opus/48000/2", "opus"), "payload type 111"),
        (
            "second m-line",
            format!("{full}m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\na=rtpmap:96 VP8/90000\r\na=ice-ufrag:u\r\n"),
            "line 12: m-line 2 (mid 'v') has no a=ice-pwd",
        ),
    ] {
        let e = sdp_to_jingle(&text, envelope()).expect_err(what).to_string();
        assert!(e.contains(needle), "{what}: {e}");
        // the model parser itself stays lenient (trickle, fragments)
        let _ = Session::parse_sdp(&text);
    }
    // not required: a rejected m-line has no transport, a bundle-only one shares the group's
    let extra = format!(
        "{full}m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\na=rtpmap:96 VP8/90000\r\n\
         m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:w\r\na=bundle-only\r\na=rtpmap:96 VP8/90000\r\n"
    );
    sdp_to_jingle(&extra, envelope()).expect("rejected and bundle-only m-lines");
    // transport-info and the like carry no description: nothing to check
    let ti = Jingle::new(Action::TransportInfo, "s");
    sdp_to_jingle(&full.replace("a=ice-pwd:p\r\n", ""), ti).expect("transport-info");

    // The Jingle side: session-initiate and session-accept.
    const DESC: &str = "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='111' name='opus' clockrate='48000' channels='2'/></description>";
    const FP: &str = "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>AA</fingerprint>";
    let jingle = |action: &str, content: &str| {
        format!("<jingle xmlns='urn:xmpp:jingle:1' action='{action}' sid='s'>{content}</jingle>")
    };
    let content = |attrs: &str, body: &str| format!("<content {attrs}>{body}</content>");
    let transport = |attrs: &str, body: &str| {
        format!(
            "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' {attrs}>{body}</transport>"
        )
    };
    let ok_content = content(
        "creator='initiator' name='a'",
        &format!("{DESC}{}", transport("ufrag='u' pwd='p'", FP)),
    );
    for action in ["session-initiate", "session-accept"] {
        jingle_to_sdp(&jingle(action, &ok_content), &ToSdp::default()).expect(action);
        for (what, xml, needle) in [
            ("no content", jingle(action, ""), format!("{action} has no <content/>")),
            (
                "no creator",
                jingle(action, &ok_content.replace("creator='initiator' ", "")),
                "<content name='a'>: <content> lacks attribute 'creator'".into(),
            ),
            (
                "bad creator",
                jingle(action, &ok_content.replace("creator='initiator'", "creator='romeo'")),
                "<content name='a'>: <content> attribute 'creator' has invalid value 'romeo'".into(),
            ),
            (
                "no transport",
                jingle(action, &content("creator='initiator' name='a'", DESC)),
                "<content name='a'>: <content> has no ICE-UDP <transport/>".into(),
            ),
            (
                "no pwd",
                jingle(action, &ok_content.replace(" pwd='p'", "")),
                "<content name='a'>: <transport> lacks attribute 'pwd'".into(),
            ),
            (
                "no ufrag",
                jingle(action, &ok_content.replace("ufrag='u' ", "")),
                "<content name='a'>: <transport> lacks attribute 'ufrag'".into(),
            ),
            (
                "fingerprint without ICE credentials",
                jingle(action, &ok_content.replace("ufrag='u' pwd='p'", "")),
                "<content name='a'>: <transport> lacks attribute 'ufrag'".into(),
            ),
            (
                "nothing with ICE credentials",
                jingle(action, &ok_content.replace("ufrag='u' pwd='p'", "").replace(FP, "")),
                format!("{action} has no <content/> with ICE credentials"),
            ),
            (
                "no payload type",
                jingle(action, &ok_content.replace("<payload-type id='111' name='opus' clockrate='48000' channels='2'/>", "")),
                "<content name='a'>: <description> has no <payload-type/>".into(),
            ),
            (
                "dynamic payload type without name",
                jingle(action, &ok_content.replace(" name='opus'", "")),
                "<content name='a'>: <payload-type> lacks attribute 'name'".into(),
            ),
            (
                "candidate without port",
                jingle(action, &ok_content.replace(FP, &format!("{FP}<candidate component='1' foundation='1' ip='1.2.3.4' priority='1' protocol='udp' type='host'/>"))),
                "<content name='a'>: <candidate> lacks attribute 'port'".into(),
            ),
            (
                "fingerprint without hash",
                jingle(action, &ok_content.replace(" hash='sha-256'", "")),
                "<content name='a'>: <fingerprint> lacks attribute 'hash'".into(),
            ),
        ] {
            let e = jingle_to_sdp(&xml, &ToSdp::default())
                .expect_err(what)
                .to_string();
            assert!(e.contains(&needle), "{action}, {what}: {e}");
        }
    }
    // What other clients send and the web plugin relies on stays accepted: a content-add
    // whose transport has no ICE credentials (Conversations, BUNDLEd), and candidates alone.
    let stub = jingle(
        "content-add",
        &content(
            "creator='initiator' name='v'",
            &format!("{DESC}{}", transport("", "")),
        ),
    );
    jingle_to_sdp(&stub, &ToSdp::default()).expect("content-add stub");
    let ti = jingle(
        "transport-info",
        &content("name='a'", &transport("ufrag='u'", "<candidate component='1' foundation='1' ip='1.2.3.4' port='5' priority='1' protocol='udp' type='host'/>")),
    );
    assert_eq!(transport_info_to_candidates(&ti).expect("trickle").len(), 1);
}

const NS_COIN: &str = "urn:xmpp:coin:1";
const NS_RTP_INFO: &str = "urn:xmpp:jingle:apps:rtp:info:1";

/// One model, one reader and one writer of `<jingle>` for every action, including those
/// without a description; what it does not model is kept as extensions, in order.
#[test]
fn one_envelope_for_every_action() {
    let cases = [
        // XEP-0167 session-info: the payload is an extension
        format!("<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1'><mute xmlns='{NS_RTP_INFO}' creator='initiator' name='0'/></jingle>"),
        format!("<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1' initiator='a@x/1'><ringing xmlns='{NS_RTP_INFO}'/></jingle>"),
        "<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><busy/><text>on the phone</text></reason></jingle>".to_string(),
        "<jingle xmlns='urn:xmpp:jingle:1' action='content-modify' sid='s1'><content creator='initiator' name='1' senders='initiator'/></jingle>".to_string(),
        "<jingle xmlns='urn:xmpp:jingle:1' action='content-remove' sid='s1'><content creator='responder' name='2'/><reason><success/></reason></jingle>".to_string(),
        "<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s1'><content creator='initiator' name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'><candidate component='1' foundation='1' generation='0' id='c1' ip='10.0.0.1' network='0' port='5000' priority='1' protocol='udp' type='host'/></transport></content></jingle>".to_string(),
        // XEP-0298/0521: the focus's session-accept, conference-info after the contents
        format!("<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='s1' responder='room@focus.x'><content creator='initiator' name='0' senders='initiator'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='111' name='opus' clockrate='48000' channels='2'/></description><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'><fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='passive'>AA</fingerprint></transport></content><conference-info xmlns='{NS_COIN}' isfocus='true'><users><user entity='xmpp:juliet@example.net'/></users></conference-info></jingle>"),
    ];
    for xml in &cases {
        let j = parse(xml).unwrap_or_else(|e| panic!("{xml}: {e}"));
        // written back: the same element, and read again: the same model
        assert_eq!(j.to_xml(), *xml);
        assert_eq!(parse(&j.to_xml()).expect("again"), j);
    }
    let mute = parse(&cases[0]).expect("mute");
    assert_eq!(mute.action, Action::SessionInfo);
    assert!(mute.extensions[0].is("mute", NS_RTP_INFO));
    assert!(mute.session.contents.is_empty());
    let bye = parse(&cases[2]).expect("terminate");
    let reason = bye.reason.expect("reason");
    assert_eq!(
        (reason.condition, reason.text.as_deref()),
        (ReasonCondition::Busy, Some("on the phone"))
    );
    let modify = parse(&cases[3]).expect("content-modify");
    assert_eq!(
        modify.senders(&modify.session.contents[0]),
        Senders::Initiator
    );
    let remove = parse(&cases[4]).expect("content-remove");
    assert_eq!(remove.creator, Role::Responder);
    let ti = parse(&cases[5]).expect("transport-info");
    assert_eq!(
        ti.session.contents[0].ice.candidates[0].id.as_deref(),
        Some("c1")
    );
    let accept = parse(&cases[6]).expect("session-accept");
    let coin = &accept.extensions[0];
    assert!(coin.is("conference-info", NS_COIN));
    let again = Document::parse(coin.xml()).expect("extension alone");
    let user = again
        .root()
        .children()
        .next()
        .expect("users")
        .children()
        .next()
        .expect("user");
    assert_eq!(user.attr("entity"), Some("xmpp:juliet@example.net"));
    // jingle_to_sdp reads it too, and the SDP is the responder's
    let sdp = jingle_to_sdp(&cases[6], &ToSdp::default()).expect("sdp");
    assert!(sdp.contains("a=recvonly\r\n"), "{sdp}");
    // actions without a description have no SDP
    assert!(matches!(
        bye_sdp(&cases[2]),
        Err(JingleError::NotADescription(_))
    ));
}

fn bye_sdp(xml: &str) -> Result<String, JingleError> {
    parse(xml)?.to_sdp()
}

/// The focus builds extensions from text and finds them by name; namespaces inherited in
/// the stanza are written out on them.
#[test]
fn extensions_built_read_and_kept_in_order() {
    let s = sdp("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\na=setup:passive\r\na=recvonly\r\n");
    let coin = Extension::parse(&format!(
        "<conference-info xmlns='{NS_COIN}' isfocus='true'><users><user entity='xmpp:romeo@example.net'/></users></conference-info>"
    ))
    .expect("extension");
    let other = Extension::parse("<x xmlns='urn:example:x' a='1'>text &amp; more</x>").expect("x");
    let j = Jingle {
        responder: Some("room@focus.example.net".into()),
        extensions: vec![coin.clone(), other.clone()],
        ..Jingle::new(Action::SessionAccept, "s1")
    }
    .with_sdp(&s.to_sdp())
    .expect("answer");
    let xml = j.to_xml();
    assert!(
        xml.ends_with(&format!("</content>{}{}</jingle>", coin.xml(), other.xml())),
        "{xml}"
    );
    let back = parse(&xml).expect("read");
    assert_eq!(back.extensions, [coin, other]);
    assert_eq!(back.session.contents[0].direction, Direction::RecvOnly);
    // inside an <iq>, with the namespace declared by a prefix on the iq
    let iq = format!("<iq xmlns='jabber:client' xmlns:c='{NS_COIN}' type='set'><jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1'><c:conference-info isfocus='true'><c:users/></c:conference-info></jingle></iq>");
    let ext = &parse(&iq).expect("iq").extensions[0];
    assert_eq!(
        ext.xml(),
        format!("<conference-info xmlns='{NS_COIN}' isfocus='true'><users/></conference-info>")
    );
    // what Jingle models is not an extension; malformed text is an error
    for bad in [
        "<content xmlns='urn:xmpp:jingle:1' name='0'/>",
        "<reason xmlns='urn:xmpp:jingle:1'><success/></reason>",
        "<x xmlns='urn:x'>",
        "<x xmlns='urn:x'/><y/>",
    ] {
        assert!(Extension::parse(bad).is_err(), "{bad}");
    }
}

/// The minidom adapters return errors; they never turn one into an empty `<jingle/>`.
#[test]
fn minidom_adapters_return_errors() {
    // a control character cannot be written in XML 1.0: minidom refuses the text
    let bad = Jingle::new(Action::SessionTerminate, "a\u{1}b");
    let e = bad.to_element().expect_err("not XML");
    assert!(matches!(e, JingleError::Minidom(_)), "{e}");
    let good = Jingle {
        extensions: vec![
            Extension::parse("<active xmlns='urn:xmpp:jingle:apps:rtp:info:1'/>").expect("active"),
        ],
        ..Jingle::new(Action::SessionInfo, "s1")
    };
    let el = good.to_element().expect("element");
    assert!(el.has_child("active", NS_RTP_INFO));
    assert_eq!(
        Jingle::from_element(&el, &ToSdp::default()).expect("back"),
        good
    );
    let not_jingle: minidom::Element = "<query xmlns='jabber:iq:version'/>".parse().expect("el");
    assert!(Jingle::from_element(&not_jingle, &ToSdp::default()).is_err());
}

/// What a peer controls is capped, with an error that says which cap: otherwise lookups
/// per line or element made a 1 MiB input take seconds (63k ssrcs: 3 s, 150k payload
/// types: 22 s, 7k contents without transport in a BUNDLE group: 2 s).
#[test]
fn limits_on_what_a_session_holds() {
    let m = "m=audio 9 RTP/AVP 0\r\na=mid:0\r\n";
    let sdp_cases = [
        (
            format!("{HEAD}{}", m.repeat(MAX_CONTENTS + 1)),
            "more than 128 m= lines",
        ),
        (
            format!("{HEAD}m=audio 9 RTP/AVP{}\r\n", " 0".repeat(MAX_CODECS + 1)),
            "more than 128 payload types",
        ),
        (
            format!(
                "{HEAD}{m}{}",
                (0..=MAX_SOURCES)
                    .map(|i| format!("a=ssrc:{i} cname:c\r\n"))
                    .collect::<String>()
            ),
            "more than 512 ssrcs",
        ),
        (
            format!(
                "{HEAD}{m}a=ssrc-group:SIM{}\r\n",
                " 1".repeat(MAX_GROUP_SSRCS + 1)
            ),
            "more than 16 ssrcs in an ssrc group",
        ),
        (
            format!("{HEAD}{}{m}", "a=group:LS 0\r\n".repeat(MAX_GROUPS + 1)),
            "more than 16 a=group lines",
        ),
    ];
    for (text, needle) in &sdp_cases {
        let e = Session::parse_sdp(text).expect_err(needle).to_string();
        assert!(e.contains(needle), "{e}");
        assert!(e.starts_with("SDP line "), "{e}");
    }
    const T: &str = "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'/>";
    let content = |name: usize, desc: &str| {
        format!("<content creator='initiator' name='{name}'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>{desc}</description>{T}</content>")
    };
    let pt = "<payload-type id='0'/>";
    let jingle = |body: String| {
        format!(
            "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'>{body}</jingle>"
        )
    };
    let ssma = |x: &str| x.replace("<s ", "<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ");
    let xml_cases = [
        (
            jingle((0..=MAX_CONTENTS).map(|i| content(i, pt)).collect()),
            "more than 128 <content/> elements",
        ),
        (jingle(content(0, &pt.repeat(MAX_CODECS + 1))), "more than 128 <payload-type/>"),
        (
            jingle(content(
                0,
                &format!("{pt}{}", (0..=MAX_SOURCES).map(|i| ssma(&format!("<s ssrc='{i}'/>"))).collect::<String>()),
            )),
            "more than 512 <source/>",
        ),
        (
            jingle(content(
                0,
                &format!(
                    "{pt}<ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='SIM'>{}</ssrc-group>",
                    "<source ssrc='1'/>".repeat(MAX_GROUP_SSRCS + 1)
                ),
            )),
            "more than 16 ssrcs in an <ssrc-group/>",
        ),
        (
            jingle(format!(
                "{}{}",
                content(0, pt),
                "<group xmlns='urn:xmpp:jingle:apps:grouping:0' semantics='LS'/>".repeat(MAX_GROUPS + 1)
            )),
            "more than 16 <group/>",
        ),
    ];
    for (xml, needle) in &xml_cases {
        let e = jingle_to_sdp(xml, &ToSdp::default())
            .expect_err(needle)
            .to_string();
        assert!(e.contains(needle), "{e}");
    }
    // at the caps, everything is still taken
    let at_cap = format!(
        "{HEAD}{}",
        (0..MAX_CONTENTS)
            .map(|i| format!(
                "m=audio 9 RTP/AVP 0\r\na=mid:{i}\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\n"
            ))
            .collect::<String>()
    );
    let xml =
        sdp_to_jingle(&at_cap, Jingle::new(Action::SessionInitiate, "s")).expect("128 m-lines");
    assert_eq!(
        parse(&xml).expect("read").session.contents.len(),
        MAX_CONTENTS
    );
}
