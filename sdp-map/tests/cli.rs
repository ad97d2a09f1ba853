//! The `sdp-map` CLI as a user runs it: only the documented flags, input on stdin.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use sdp_map::{Direction, Session};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn sdp_map(args: &[&str], stdin: &str) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sdp-map"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sdp-map");
    // a usage error exits before reading stdin: a broken pipe here is no failure
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes());
    let out = child.wait_with_output().expect("sdp-map output");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}

fn ok(args: &[&str], stdin: &str) -> String {
    let out = sdp_map(args, stdin);
    assert_eq!(out.code, 0, "sdp-map {args:?}: {}", out.stderr);
    out.stdout
}

fn vector(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn directions(sdp: &str) -> Vec<(String, Direction)> {
    Session::parse_sdp(sdp)
        .expect("SDP")
        .contents
        .into_iter()
        .map(|c| (c.mid, c.direction))
        .collect()
}

/// Issue 11.1: the SDP of a session-accept is the responder's unless `--from` says otherwise.
#[test]
fn answers_keep_their_directions_with_the_documented_flags() {
    let answers = [
        "chromium-156-recvonly-answer.sdp",
        "firefox-153-recvonly-answer.sdp",
        "chromium-156-simulcast-answer.sdp",
    ]
    .into_iter()
    .flat_map(|name| {
        let recvonly = vector(name);
        // the answer to a recvonly offer: sendonly
        let sendonly = recvonly.replace("a=recvonly", "a=sendonly");
        [(name, recvonly), (name, sendonly)]
    });
    for (name, answer) in answers {
        let xml = ok(
            &[
                "to-jingle",
                "--action",
                "session-accept",
                "--sid",
                "s1",
                "--initiator",
                "romeo@example.net/a",
                "--responder",
                "juliet@example.net/b",
            ],
            &answer,
        );
        let back = ok(&["to-sdp", "--type", "answer"], &xml);
        assert_eq!(directions(&back), directions(&answer), "{name}: {xml}");
        assert!(
            directions(&answer)
                .iter()
                .any(|(_, d)| *d != Direction::SendRecv),
            "{name} has a one-way m-line"
        );
    }
    // a recvonly answer: the initiator sends
    let xml = ok(
        &["to-jingle", "--action", "session-accept", "--sid", "s1"],
        &vector("chromium-156-recvonly-answer.sdp"),
    );
    assert!(xml.contains("senders='initiator'"), "{xml}");
    assert!(!xml.contains("senders='responder'"), "{xml}");
    // an explicit --from still wins
    let xml = ok(
        &[
            "to-jingle",
            "--action",
            "session-accept",
            "--sid",
            "s1",
            "--from",
            "initiator",
        ],
        &vector("chromium-156-recvonly-answer.sdp"),
    );
    assert!(xml.contains("senders='responder'"), "{xml}");
}

/// Issue 11.2: StanzaJS 12 names the RTX ssrc only in its FID group; to-sdp keeps the group
/// and describes the RTX ssrc with the primary's cname and msid.
#[test]
fn stanzajs_fid_groups_keep_retransmission() {
    // the shape StanzaJS 12 writes for a Chromium video answer
    let xml = "<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='s1' responder='juliet@example.net/b'>\
        <content creator='initiator' name='1' senders='both'>\
        <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video' ssrc='1001'>\
        <payload-type id='96' name='VP8' clockrate='90000'/>\
        <payload-type id='97' name='rtx' clockrate='90000'><parameter name='apt' value='96'/></payload-type>\
        <source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='1001'><parameter name='cname' value='c1'/></source>\
        <ssrc-group xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' semantics='FID'><source ssrc='1001'/><source ssrc='1002'/></ssrc-group>\
        <stream xmlns='urn:xmpp:jingle:apps:rtp:msid:0' id='st' track='tr'/>\
        </description>\
        <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='uf' pwd='pwpwpwpwpwpwpwpwpwpwpwpw'>\
        <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='active'>AA:BB</fingerprint>\
        </transport></content></jingle>";
    let sdp = ok(&["to-sdp", "--type", "answer"], xml);
    for line in [
        "a=ssrc-group:FID 1001 1002\r\n",
        "a=ssrc:1001 cname:c1\r\n",
        "a=ssrc:1002 cname:c1\r\n",
    ] {
        assert!(sdp.contains(line), "no {line:?} in\n{sdp}");
    }
}

/// Issue 11.3: rids and simulcast are named elements of our namespace inside `<description>`;
/// the older raw form still reads.
#[test]
fn simulcast_as_named_elements() {
    let offer = vector("chromium-156-simulcast-offer.sdp");
    let xml = ok(
        &["to-jingle", "--action", "session-initiate", "--sid", "s1"],
        &offer,
    );
    let video = &xml[xml.find("media='video'").expect("video")..];
    let description = &video[..video.find("</description>").expect("end")];
    for element in [
        "<rid xmlns='urn:xmpp:jingle-focus:sdp:0' id='h' direction='send'/>",
        "<rid xmlns='urn:xmpp:jingle-focus:sdp:0' id='l' direction='send'/>",
        "<simulcast xmlns='urn:xmpp:jingle-focus:sdp:0' send='h;m;l'/>",
    ] {
        assert!(
            description.contains(element),
            "no {element} in {description}"
        );
    }
    let sdp = ok(&["to-sdp"], &xml);
    for line in [
        "a=rid:h send\r\n",
        "a=rid:m send\r\n",
        "a=simulcast:send h;m;l\r\n",
    ] {
        assert!(sdp.contains(line), "no {line:?} in\n{sdp}");
    }
    // the older form, inside the video content's <media>
    let mut old = xml
        .replace("<simulcast xmlns='urn:xmpp:jingle-focus:sdp:0' send='h;m;l'/>", "")
        .replace(
            "<rid xmlns='urn:xmpp:jingle-focus:sdp:0' id='h' direction='send'/><rid xmlns='urn:xmpp:jingle-focus:sdp:0' id='m' direction='send'/><rid xmlns='urn:xmpp:jingle-focus:sdp:0' id='l' direction='send'/>",
            "",
        );
    let media = "<media xmlns='urn:xmpp:jingle-focus:sdp:0' ice-options='trickle'>";
    let at = old.rfind(media).expect("video <media>") + media.len();
    old.insert_str(at, "<rid id='h' direction='send'/><rid id='m' direction='send'/><rid id='l' direction='send'/>");
    old.insert_str(at - 1, " simulcast='send h;m;l'");
    assert!(
        !old.contains("<rid xmlns") && old.contains("simulcast='send h;m;l'>"),
        "{old}"
    );
    assert_eq!(ok(&["to-sdp"], &old), sdp);
}

/// Issue 11.5: a rejected m-line (port 0) is written so that a client without our namespace
/// sees it rejected (senders='none', a transport without ICE/DTLS), and keeps our marker.
#[test]
fn rejected_m_line_without_transport_parameters() {
    for name in [
        "chromium-156-rejected-answer.sdp",
        "firefox-153-rejected-answer.sdp",
    ] {
        let answer = vector(name);
        let xml = ok(
            &["to-jingle", "--action", "session-accept", "--sid", "s1"],
            &answer,
        );
        let video = &xml[xml
            .find("<content creator='initiator' name='1'")
            .expect(name)..];
        let video = &video[..video.find("</content>").expect("end")];
        assert!(video.contains("senders='none'"), "{name}: {video}");
        assert!(
            video.contains("<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/>"),
            "{name}: {video}"
        );
        assert!(
            !video.contains("ufrag=") && !video.contains("<fingerprint"),
            "{name}: {video}"
        );
        assert!(video.contains("rejected='true'"), "{name}: {video}");
        let sdp = ok(&["to-sdp", "--type", "answer"], &xml);
        let back = Session::parse_sdp(&sdp).expect("SDP");
        assert!(back.contents[1].rejected, "{name}:\n{sdp}");
        assert!(!back.contents[0].rejected, "{name}:\n{sdp}");
    }
}

/// Issue 11.4: malformed input is an error naming what is missing and where, not a translation.
#[test]
fn incomplete_descriptions_are_errors() {
    let offer = vector("chromium-156-audio-video-offer.sdp");
    let in_first_m_line = offer.find("a=ice-ufrag").expect("ufrag");
    let without_ice = offer
        .lines()
        .filter(|l| !l.starts_with("a=ice-ufrag") && !l.starts_with("a=ice-pwd"))
        .map(|l| format!("{l}\r\n"))
        .collect::<String>();
    let m_line = offer.lines().position(|l| l.starts_with("m=")).expect("m=") + 1;
    for (what, input, needle) in [
        (
            "truncated inside the first m-line",
            offer[..in_first_m_line + 8].to_string(),
            format!("SDP line {m_line}: m-line 1 (mid '') has no a=mid"),
        ),
        (
            "an offer without ice-ufrag/ice-pwd",
            without_ice,
            format!("SDP line {m_line}: m-line 1 (mid '0') has no a=ice-ufrag"),
        ),
    ] {
        let out = sdp_map(
            &["to-jingle", "--action", "session-initiate", "--sid", "s1"],
            &input,
        );
        assert_eq!(out.code, 1, "{what}: {}", out.stdout);
        assert!(out.stdout.is_empty(), "{what}: {}", out.stdout);
        assert!(out.stderr.contains(&needle), "{what}: {}", out.stderr);
    }
    // and Jingle without ICE credentials
    let xml = ok(
        &["to-jingle", "--action", "session-initiate", "--sid", "s1"],
        &offer,
    );
    let start = xml.find(" ufrag='").expect("ufrag");
    let end = start + xml[start + 1..].find(' ').expect("end") + 1;
    let broken = format!("{}{}", &xml[..start], &xml[end..]);
    let out = sdp_map(&["to-sdp"], &broken);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("<content name='0'>: <transport> lacks attribute 'ufrag'"),
        "{}",
        out.stderr
    );
}

/// Issue 11.6: key-less fmtp items (RED's `111/111`, telephone-event's `0-15`) are written as
/// `<parameter value=.../>` and read in that form, in StanzaJS's `<parameter name=.../>`
/// and in Jitsi's `<parameter name='' value=.../>`.
#[test]
fn keyless_fmtp_in_every_form() {
    let offer = vector("chromium-156-audio-offer.sdp");
    assert!(offer.contains("a=fmtp:63 111/111\r\n"));
    let xml = ok(
        &["to-jingle", "--action", "session-initiate", "--sid", "s1"],
        &offer,
    );
    assert!(xml.contains("<parameter value='111/111'/>"), "{xml}");
    for form in [
        "<parameter value='111/111'/>",
        "<parameter name='111/111'/>",
        "<parameter name='' value='111/111'/>",
    ] {
        let sdp = ok(
            &["to-sdp"],
            &xml.replace("<parameter value='111/111'/>", form),
        );
        assert!(sdp.contains("a=fmtp:63 111/111\r\n"), "{form}:\n{sdp}");
    }
}

/// Issue 11.7: `--help` is real usage, for the CLI and each command, with every flag and its
/// default; usage errors exit with 2, bad input with 1.
#[test]
fn help_lists_every_flag_and_default() {
    let top = ok(&["--help"], "");
    for needle in ["Usage: sdp-map <COMMAND>", "to-jingle", "to-sdp"] {
        assert!(top.contains(needle), "no {needle:?} in\n{top}");
    }
    let to_jingle = ok(&["to-jingle", "--help"], "");
    for needle in [
        "--action <ACTION>",
        "[default: session-initiate]",
        "--sid <SID>",
        "--initiator <JID>",
        "--responder <JID>",
        "--from <FROM>",
        "[default: who sends the action: the responder for session-accept",
        "--creator <CREATOR>",
        "[default: initiator]",
        "--reason <REASON>",
        "--reason-text <TEXT>",
    ] {
        assert!(to_jingle.contains(needle), "no {needle:?} in\n{to_jingle}");
    }
    let to_sdp = ok(&["to-sdp", "--help"], "");
    for needle in ["--type <TYPE>", "[default: offer]", "--from <FROM>"] {
        assert!(to_sdp.contains(needle), "no {needle:?} in\n{to_sdp}");
    }
    assert_eq!(ok(&["help", "to-sdp"], ""), to_sdp);
    for args in [
        &[][..],
        &["to-jingle"][..],
        &["to-jingle", "--sid"][..],
        &["to-jingle", "--sid", "s", "--action", "dance"][..],
        &["to-sdp", "--type", "pranswer"][..],
        &["translate"][..],
    ] {
        let out = sdp_map(args, "");
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("Usage:") || out.stderr.contains("try '--help'"),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert_eq!(sdp_map(&["to-sdp"], "<not-xml").code, 1);
}
