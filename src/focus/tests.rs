//! Table-driven tests of the component's service face: each stanza in, the exact reply (or
//! none) out. Stanzas go through the edge as the runtime does it (read, focus, write), so a
//! row may be answered by the edge (malformed IQs) or by the focus.

use minidom::Element;

use super::*;
use crate::stanza::{DefinedCondition, IqKind, Stanza};
use crate::xmpp::edge::{self, Rejection, NS_COMPONENT, NS_STANZAS};

const NS: &str = "xmlns='jabber:component:accept'";

/// A focus for `focus.example`, serving the rooms of `conference.example`.
pub(crate) fn focus() -> Focus {
    let config = FocusConfig {
        domain: "focus.example".into(),
        muc_service: "conference.example".into(),
        nick: "focus".into(),
        max_participants: 16,
        server_domain: "example".into(),
    };
    Focus::new(config, 7, Instant::now())
}

/// Runs one stanza through the edge and a fresh focus and returns what was sent back.
fn replies(xml: &str) -> Vec<Element> {
    let mut focus = focus();
    let element: Element = xml.parse().expect("test XML");
    let stanza = match edge::read(&element) {
        Ok(stanza) => stanza,
        Err(Rejection::Reply(reply)) => return vec![reply],
        Err(Rejection::Drop(_)) => return Vec::new(),
    };
    focus.handle(Input::Stanza(stanza), Instant::now());
    let mut out = Vec::new();
    loop {
        match focus.poll_output() {
            Output::Send(stanza) => out.push(edge::write(stanza)),
            Output::Bridge(command) => panic!("no bridge command expected: {command:?}"),
            Output::BridgeStats(iq) => panic!("no bridge stats expected: {iq:?}"),
            Output::Timeout(_) => return out,
        }
    }
}

fn condition(reply: &Element) -> Option<String> {
    reply
        .get_child("error", NS_COMPONENT)?
        .children()
        .find(|c| c.ns() == NS_STANZAS && c.name() != "text")
        .map(|c| c.name().to_string())
}

fn iq(kind: &str, payload: &str) -> String {
    format!(
        "<iq {NS} type='{kind}' id='q1' from='alice@example/web' to='focus.example'>{payload}</iq>"
    )
}

#[test]
fn error_conditions() {
    let table: Vec<(&str, String, Option<&str>)> = vec![
        ("unknown namespace", iq("get", "<query xmlns='urn:example:unknown'/>"),
            Some("service-unavailable")),
        ("unknown namespace, set", iq("set", "<x xmlns='urn:example:unknown'/>"),
            Some("service-unavailable")),
        ("disco#info set", iq("set", "<query xmlns='http://jabber.org/protocol/disco#info'/>"),
            Some("feature-not-implemented")),
        ("ping set", iq("set", "<ping xmlns='urn:xmpp:ping'/>"), Some("feature-not-implemented")),
        ("version set", iq("set", "<query xmlns='jabber:iq:version'/>"),
            Some("feature-not-implemented")),
        ("ping with child", iq("get", "<ping xmlns='urn:xmpp:ping'><x/></ping>"),
            Some("bad-request")),
        ("unknown disco node",
            iq("get", "<query xmlns='http://jabber.org/protocol/disco#info' node='nope'/>"),
            Some("item-not-found")),
        ("unknown items node",
            iq("get", "<query xmlns='http://jabber.org/protocol/disco#items' node='nope'/>"),
            Some("item-not-found")),
        ("no payload", iq("get", ""), Some("bad-request")),
        ("two payloads", iq("get", "<ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/>"),
            Some("bad-request")),
        ("chat message",
            format!("<message {NS} type='chat' from='a@example/r' to='focus.example'><body>x</body></message>"),
            Some("service-unavailable")),
    ];
    for (name, xml, expect) in table {
        let out = replies(&xml);
        assert_eq!(out.len(), 1, "{name}: one reply");
        assert_eq!(out[0].attr("type"), Some("error"), "{name}");
        assert_eq!(condition(&out[0]).as_deref(), expect, "{name}");
        assert_eq!(
            out[0].attr("to"),
            Some(if name == "chat message" {
                "a@example/r"
            } else {
                "alice@example/web"
            })
        );
    }
}

#[test]
fn never_answered() {
    let table = [
        ("iq result", iq("result", "")),
        ("iq error", iq("error", "<error type='cancel'/>")),
        (
            "message error",
            format!("<message {NS} type='error' from='a@example' to='focus.example'/>"),
        ),
        (
            "groupchat",
            format!("<message {NS} type='groupchat' from='r@c.example/n' to='focus.example'/>"),
        ),
        (
            "headline",
            format!("<message {NS} type='headline' from='a@example' to='focus.example'/>"),
        ),
        (
            "presence",
            format!("<presence {NS} from='a@example/r' to='focus.example'/>"),
        ),
        (
            "presence error",
            format!("<presence {NS} type='error' from='a@example/r' to='focus.example'/>"),
        ),
        (
            "no from",
            format!(
                "<iq {NS} type='get' id='1' to='focus.example'><ping xmlns='urn:xmpp:ping'/></iq>"
            ),
        ),
        (
            "foreign namespace",
            "<iq xmlns='jabber:client' type='get' id='1' from='a@x' to='focus.example'/>".into(),
        ),
    ];
    for (name, xml) in table {
        assert!(replies(&xml).is_empty(), "{name}: no reply expected");
    }
}

/// The identity and sorted features of a disco#info result.
fn disco_of(reply: &Element) -> ((String, String), Vec<String>) {
    let query = reply.get_child("query", disco::NS_INFO).expect("query");
    let identity = query
        .get_child("identity", disco::NS_INFO)
        .expect("identity");
    let mut features: Vec<String> = query
        .children()
        .filter(|c| c.name() == "feature")
        .filter_map(|c| c.attr("var").map(str::to_string))
        .collect();
    features.sort();
    let pair = |a: &str| identity.attr(a).unwrap_or_default().to_string();
    ((pair("category"), pair("type")), features)
}

const JINGLE: &[&str] = &[
    "urn:ietf:rfc:5576",
    "urn:ietf:rfc:5888",
    "urn:xmpp:coin:1",
    "urn:xmpp:jingle:1",
    "urn:xmpp:jingle:apps:dtls:0",
    "urn:xmpp:jingle:apps:grouping:0",
    "urn:xmpp:jingle:apps:rtp:1",
    "urn:xmpp:jingle:apps:rtp:audio",
    "urn:xmpp:jingle:apps:rtp:rtcp-fb:0",
    "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0",
    "urn:xmpp:jingle:apps:rtp:ssma:0",
    "urn:xmpp:jingle:apps:rtp:video",
    "urn:xmpp:jingle:av-conferences:0",
    "urn:xmpp:jingle:transports:ice-udp:1",
];

#[test]
fn disco_info_lists_only_what_is_supported() {
    let out = replies(&iq(
        "get",
        "<query xmlns='http://jabber.org/protocol/disco#info'/>",
    ));
    let (identity, features) = disco_of(&out[0]);
    assert_eq!(identity, ("component".into(), "generic".into()));
    let mut expected = vec![
        "http://jabber.org/protocol/disco#info",
        "http://jabber.org/protocol/disco#items",
        "jabber:iq:version",
        "urn:xmpp:ping",
    ];
    expected.extend_from_slice(JINGLE);
    expected.sort();
    assert_eq!(features, expected);
    assert_eq!(out[0].attr("from"), Some("focus.example"));
    assert_eq!(out[0].attr("id"), Some("q1"));
}

#[test]
fn rooms_are_audio_video_conferences_with_a_settings_command() {
    let room_iq = |payload: &str| {
        format!("<iq {NS} type='get' id='d' from='alice@example/web' to='room1@focus.example'>{payload}</iq>")
    };
    let out = replies(&room_iq(
        "<query xmlns='http://jabber.org/protocol/disco#info'/>",
    ));
    let (identity, features) = disco_of(&out[0]);
    assert_eq!(identity, ("conference".into(), "audio-video".into()));
    let mut expected = vec![
        "http://jabber.org/protocol/commands",
        "http://jabber.org/protocol/disco#info",
        "http://jabber.org/protocol/disco#items",
    ];
    expected.extend_from_slice(JINGLE);
    expected.sort();
    assert_eq!(features, expected);

    let out = replies(&room_iq(
        "<query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/>",
    ));
    let item = out[0]
        .get_child("query", disco::NS_ITEMS)
        .and_then(|q| q.get_child("item", disco::NS_ITEMS))
        .expect("the settings command");
    assert_eq!(item.attr("node"), Some("urn:xmpp:av-conferences:config"));
    assert_eq!(item.attr("jid"), Some("room1@focus.example"));

    let out = replies(&room_iq(
        "<query xmlns='http://jabber.org/protocol/disco#info' node='urn:xmpp:av-conferences:config'/>",
    ));
    let (identity, _) = disco_of(&out[0]);
    assert_eq!(identity, ("automation".into(), "command-node".into()));
}

#[test]
fn version_and_ping_and_items() {
    let out = replies(&iq("get", "<query xmlns='jabber:iq:version'/>"));
    let query = out[0].get_child("query", version::NS).expect("query");
    assert_eq!(
        query
            .get_child("name", version::NS)
            .map(|n| n.text())
            .as_deref(),
        Some("jingle-focus")
    );
    assert_eq!(
        query
            .get_child("version", version::NS)
            .map(|n| n.text())
            .as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );

    let out = replies(&iq("get", "<ping xmlns='urn:xmpp:ping'/>"));
    assert_eq!(out[0].attr("type"), Some("result"));
    assert_eq!(out[0].children().count(), 0);

    let out = replies(&iq(
        "get",
        "<query xmlns='http://jabber.org/protocol/disco#items'/>",
    ));
    let query = out[0].get_child("query", disco::NS_ITEMS).expect("query");
    assert_eq!(query.children().count(), 0);
}

#[test]
fn answers_at_any_jid_of_the_domain() {
    let xml = format!("<iq {NS} type='get' id='r' from='a@example/r' to='room1@focus.example'><ping xmlns='urn:xmpp:ping'/></iq>");
    let out = replies(&xml);
    assert_eq!(out[0].attr("from"), Some("room1@focus.example"));
    assert_eq!(out[0].attr("type"), Some("result"));
}

#[test]
fn counts_go_to_local_users_only_and_include_the_bridge() {
    let mut focus = focus();
    let ask = |from: &str| {
        Input::Stanza(
            edge::read(
                &format!(
                    "<iq {NS} type='get' id='s1' from='{from}' to='focus.example'><query xmlns='urn:xmpp:jingle-focus:stats:0'/></iq>"
                )
                .parse()
                .unwrap(),
            )
            .unwrap(),
        )
    };
    focus.handle(ask("mallory@elsewhere.example/x"), Instant::now());
    let Output::Send(Stanza::Iq(reply)) = focus.poll_output() else {
        panic!("a reply")
    };
    assert!(
        matches!(reply.kind, IqKind::Error(ref e) if e.defined_condition == DefinedCondition::Forbidden)
    );

    focus.handle(ask("alice@example/web"), Instant::now());
    let Output::BridgeStats(request) = focus.poll_output() else {
        panic!("the bridge's counts are asked for")
    };
    let stats = bridge::BridgeStats {
        endpoints: 3,
        ..Default::default()
    };
    focus.handle(
        Input::BridgeStats {
            request: *request,
            stats,
        },
        Instant::now(),
    );
    let Output::Send(Stanza::Iq(reply)) = focus.poll_output() else {
        panic!("a reply")
    };
    let IqKind::Result(Some(query)) = reply.kind else {
        panic!("a result")
    };
    let value = |name: &str| {
        query
            .children()
            .find(|s| s.attr("name") == Some(name))
            .and_then(|s| s.attr("value"))
            .map(str::to_string)
    };
    assert_eq!(value("rooms").as_deref(), Some("0"));
    assert_eq!(value("bridge/endpoints").as_deref(), Some("3"));
}
