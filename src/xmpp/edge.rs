//! The typed stanza edge: an incoming [`Element`] becomes a [`Stanza`] or a precise
//! [`Rejection`], and a [`Stanza`] the focus wants sent becomes an [`Element`] again.
//!
//! Reading is deliberately lenient about what the focus does not need (unknown attributes,
//! a malformed `<error/>`, extra children of messages) and strict about what RFC 6120 §8
//! requires of IQs: an `id`, a known `type`, and exactly one payload child for `get`/`set`.
//! A stanza that breaks those rules never reaches the focus: the edge answers it itself.

use minidom::rxml::NcName;
use minidom::Element;

use crate::stanza::{
    stanza_error, DefinedCondition, Iq, IqKind, Jid, Message, MessageKind, Presence, PresenceKind,
    Stanza, StanzaError,
};

/// The component stream's default namespace: stanzas carry it, replies must too.
pub const NS_COMPONENT: &str = "jabber:component:accept";
/// Stanza error conditions (RFC 6120 §8.3.3).
pub const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// An attribute name from a literal. Every literal in this crate is a valid XML name (the
/// unit tests build every element that uses one), so the conversion cannot fail at run time.
pub fn xml_name(name: &'static str) -> NcName {
    NcName::try_from(name).expect("attribute name literals are valid XML names")
}

/// Why a stanza cannot be handed to the focus, with the reply it deserves (if any).
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Answer with this error stanza.
    Reply(Element),
    /// Not a stanza we may answer (no `from`, or an unknown top-level element): drop it.
    Drop(&'static str),
}

/// Reads one top-level element of the component stream.
pub fn read(el: &Element) -> Result<Stanza, Rejection> {
    if el.ns() != NS_COMPONENT {
        return Err(Rejection::Drop("not in the component namespace"));
    }
    // ejabberd stamps `from` on every routed stanza; without it there is nobody to answer.
    let Some(from) = el.attr("from") else {
        return Err(Rejection::Drop("no `from`"));
    };
    let Ok(from) = Jid::new(from) else {
        return Err(Rejection::Drop("malformed `from`"));
    };
    let to = match el.attr("to").map(Jid::new) {
        Some(Ok(to)) => to,
        _ => return Err(Rejection::Drop("missing or malformed `to`")),
    };
    let id = el.attr("id").map(str::to_string);
    let kind = el.attr("type");
    match el.name() {
        "iq" => read_iq(el, id, from, to),
        "message" => {
            let kind = match kind {
                None | Some("normal") => MessageKind::Normal,
                Some("chat") => MessageKind::Chat,
                Some("groupchat") => MessageKind::Groupchat,
                Some("headline") => MessageKind::Headline,
                Some("error") => MessageKind::Error(error_of(el)),
                // RFC 6121 §5.2.2: an unknown type is treated as normal.
                Some(_) => MessageKind::Normal,
            };
            Ok(Stanza::Message(Message {
                id,
                from,
                to,
                kind,
                payloads: payloads(el),
            }))
        }
        "presence" => {
            let kind = match kind {
                None => PresenceKind::Available,
                Some("unavailable") => PresenceKind::Unavailable,
                Some("subscribe") => PresenceKind::Subscribe,
                Some("subscribed") => PresenceKind::Subscribed,
                Some("unsubscribe") => PresenceKind::Unsubscribe,
                Some("unsubscribed") => PresenceKind::Unsubscribed,
                Some("probe") => PresenceKind::Probe,
                Some("error") => PresenceKind::Error(error_of(el)),
                Some(_) => return Err(Rejection::Drop("unknown presence type")),
            };
            Ok(Stanza::Presence(Presence {
                id,
                from,
                to,
                kind,
                payloads: payloads(el),
            }))
        }
        _ => Err(Rejection::Drop("not a stanza")),
    }
}

fn read_iq(el: &Element, id: Option<String>, from: Jid, to: Jid) -> Result<Stanza, Rejection> {
    let kind = el.attr("type");
    let answer = matches!(kind, Some("result" | "error"));
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        if answer {
            return Err(Rejection::Drop("IQ answer without id"));
        }
        return Err(reject(el, DefinedCondition::BadRequest, "IQ without id"));
    };
    let kind = match kind {
        Some("get" | "set") => {
            let mut children = el.children();
            let (Some(payload), None) = (children.next(), children.next()) else {
                return Err(reject(
                    el,
                    DefinedCondition::BadRequest,
                    "IQ get/set needs exactly one child",
                ));
            };
            if kind == Some("get") {
                IqKind::Get(payload.clone())
            } else {
                IqKind::Set(payload.clone())
            }
        }
        Some("result") => IqKind::Result(el.children().next().cloned()),
        Some("error") => IqKind::Error(error_of(el)),
        _ => {
            return Err(reject(
                el,
                DefinedCondition::BadRequest,
                "unknown or missing IQ type",
            ))
        }
    };
    Ok(Stanza::Iq(Iq { id, from, to, kind }))
}

/// The children of a message or presence, except its `<error/>`.
fn payloads(el: &Element) -> Vec<Element> {
    el.children()
        .filter(|c| !(c.name() == "error" && c.ns() == NS_COMPONENT))
        .cloned()
        .collect()
}

/// The `<error/>` of an error stanza; one that cannot be read becomes `undefined-condition`,
/// so that whoever waits for the answer still learns that the request failed.
fn error_of(el: &Element) -> Box<StanzaError> {
    let error = el
        .get_child("error", NS_COMPONENT)
        .and_then(|e| StanzaError::try_from(e.clone()).ok())
        .unwrap_or_else(|| stanza_error(DefinedCondition::UndefinedCondition, None));
    Box::new(error)
}

fn reject(el: &Element, condition: DefinedCondition, text: &str) -> Rejection {
    Rejection::Reply(error_reply(el, condition, Some(text)))
}

/// An error reply to an element that never became a [`Stanza`] (RFC 6120 §8.3): same name
/// and id, addresses swapped.
pub fn error_reply(original: &Element, condition: DefinedCondition, text: Option<&str>) -> Element {
    let mut reply = Element::builder(original.name(), NS_COMPONENT).attr(xml_name("type"), "error");
    for (name, value) in [
        ("id", original.attr("id")),
        ("from", original.attr("to")),
        ("to", original.attr("from")),
    ] {
        if let Some(value) = value {
            reply = reply.attr(xml_name(name), value);
        }
    }
    reply
        .append(Element::from(stanza_error(condition, text)))
        .build()
}

/// Writes a stanza for the component stream.
pub fn write(stanza: Stanza) -> Element {
    match stanza {
        Stanza::Iq(iq) => {
            let (kind, child) = match iq.kind {
                IqKind::Get(p) => ("get", Some(p)),
                IqKind::Set(p) => ("set", Some(p)),
                IqKind::Result(p) => ("result", p),
                IqKind::Error(e) => ("error", Some(Element::from(*e))),
            };
            let mut b = envelope("iq", Some(&iq.id), &iq.from, &iq.to, Some(kind));
            if let Some(child) = child {
                b = b.append(child);
            }
            b.build()
        }
        Stanza::Message(m) => {
            let (kind, error) = match m.kind {
                MessageKind::Normal => (None, None),
                MessageKind::Chat => (Some("chat"), None),
                MessageKind::Groupchat => (Some("groupchat"), None),
                MessageKind::Headline => (Some("headline"), None),
                MessageKind::Error(e) => (Some("error"), Some(e)),
            };
            with_children("message", m.id, &m.from, &m.to, kind, m.payloads, error)
        }
        Stanza::Presence(p) => {
            let (kind, error) = match p.kind {
                PresenceKind::Available => (None, None),
                PresenceKind::Unavailable => (Some("unavailable"), None),
                PresenceKind::Subscribe => (Some("subscribe"), None),
                PresenceKind::Subscribed => (Some("subscribed"), None),
                PresenceKind::Unsubscribe => (Some("unsubscribe"), None),
                PresenceKind::Unsubscribed => (Some("unsubscribed"), None),
                PresenceKind::Probe => (Some("probe"), None),
                PresenceKind::Error(e) => (Some("error"), Some(e)),
            };
            with_children("presence", p.id, &p.from, &p.to, kind, p.payloads, error)
        }
    }
}

fn envelope(
    name: &str,
    id: Option<&str>,
    from: &Jid,
    to: &Jid,
    kind: Option<&str>,
) -> minidom::ElementBuilder {
    let mut b = Element::builder(name, NS_COMPONENT)
        .attr(xml_name("from"), from.to_string())
        .attr(xml_name("to"), to.to_string());
    if let Some(id) = id {
        b = b.attr(xml_name("id"), id);
    }
    if let Some(kind) = kind {
        b = b.attr(xml_name("type"), kind);
    }
    b
}

fn with_children(
    name: &str,
    id: Option<String>,
    from: &Jid,
    to: &Jid,
    kind: Option<&str>,
    children: Vec<Element>,
    error: Option<Box<StanzaError>>,
) -> Element {
    envelope(name, id.as_deref(), from, to, kind)
        .append_all(children)
        .append_all(error.map(|e| Element::from(*e)))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(xml: &str) -> Element {
        xml.parse().expect("test XML")
    }

    fn condition_of(reply: &Element) -> Option<String> {
        let error = reply.get_child("error", NS_COMPONENT)?;
        error
            .children()
            .find(|c| c.ns() == NS_STANZAS && c.name() != "text")
            .map(|c| c.name().to_string())
    }

    const NS: &str = "xmlns='jabber:component:accept'";

    #[test]
    fn iq_shapes() {
        let cases: &[(&str, Result<&str, Option<&str>>)] = &[
            (
                "<iq type='get' id='1' from='a@x/r' to='f.x'><ping xmlns='urn:xmpp:ping'/></iq>",
                Ok("request"),
            ),
            (
                "<iq type='result' id='1' from='a@x/r' to='f.x'/>",
                Ok("result"),
            ),
            (
                "<iq type='result' id='1' from='a@x/r' to='f.x'><query xmlns='u'/></iq>",
                Ok("result with payload"),
            ),
            (
                "<iq type='error' id='1' from='a@x/r' to='f.x'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
                Ok("error item-not-found"),
            ),
            (
                "<iq type='error' id='1' from='a@x/r' to='f.x'/>",
                Ok("error undefined-condition"),
            ),
            (
                "<iq type='get' from='a@x/r' to='f.x'><ping xmlns='urn:xmpp:ping'/></iq>",
                Err(Some("bad-request")),
            ),
            (
                "<iq type='get' id='' from='a@x/r' to='f.x'><ping xmlns='urn:xmpp:ping'/></iq>",
                Err(Some("bad-request")),
            ),
            (
                "<iq type='fetch' id='1' from='a@x/r' to='f.x'/>",
                Err(Some("bad-request")),
            ),
            ("<iq id='1' from='a@x/r' to='f.x'/>", Err(Some("bad-request"))),
            (
                "<iq type='get' id='1' from='a@x/r' to='f.x'/>",
                Err(Some("bad-request")),
            ),
            (
                "<iq type='set' id='1' from='a@x/r' to='f.x'><a xmlns='u'/><b xmlns='u'/></iq>",
                Err(Some("bad-request")),
            ),
            (
                "<iq type='get' id='1' to='f.x'><ping xmlns='urn:xmpp:ping'/></iq>",
                Err(None),
            ),
            ("<iq type='result' from='a@x/r' to='f.x'/>", Err(None)),
            ("<iq type='error' from='a@x/r' to='f.x'/>", Err(None)),
        ];
        for (xml, expect) in cases {
            let xml = xml.replacen("<iq ", &format!("<iq {NS} "), 1);
            let got = read(&el(&xml));
            match (expect, got) {
                (
                    Ok("request"),
                    Ok(Stanza::Iq(Iq {
                        kind: IqKind::Get(_),
                        ..
                    })),
                ) => {}
                (
                    Ok("result"),
                    Ok(Stanza::Iq(Iq {
                        kind: IqKind::Result(None),
                        ..
                    })),
                ) => {}
                (
                    Ok("result with payload"),
                    Ok(Stanza::Iq(Iq {
                        kind: IqKind::Result(Some(p)),
                        ..
                    })),
                ) => assert_eq!(p.name(), "query"),
                (
                    Ok(e),
                    Ok(Stanza::Iq(Iq {
                        kind: IqKind::Error(err),
                        id,
                        from,
                        ..
                    })),
                ) if e.starts_with("error ") => {
                    assert_eq!(id, "1");
                    assert_eq!(from.to_string(), "a@x/r");
                    let cond = Element::from(err.defined_condition.clone());
                    assert_eq!(cond.name(), &e["error ".len()..], "{xml}");
                }
                (Err(Some(cond)), Err(Rejection::Reply(reply))) => {
                    assert_eq!(condition_of(&reply).as_deref(), Some(*cond), "{xml}");
                    assert_eq!(reply.attr("type"), Some("error"));
                }
                (Err(None), Err(Rejection::Drop(_))) => {}
                (expect, got) => panic!("{xml}: expected {expect:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn error_reply_swaps_addresses_and_keeps_id() {
        let iq = el(&format!(
            "<iq {NS} type='get' id='q7' from='a@x/r' to='f.x'><q xmlns='u'/></iq>"
        ));
        let reply = error_reply(&iq, DefinedCondition::ServiceUnavailable, None);
        assert_eq!(reply.attr("id"), Some("q7"));
        assert_eq!(reply.attr("to"), Some("a@x/r"));
        assert_eq!(reply.attr("from"), Some("f.x"));
        assert_eq!(condition_of(&reply).as_deref(), Some("service-unavailable"));
        let error = reply.get_child("error", NS_COMPONENT).expect("error child");
        assert_eq!(error.attr("type"), Some("cancel"));
    }

    #[test]
    fn messages_and_presences() {
        let m = el(&format!(
            "<message {NS} from='a@x/r' to='f.x'><body>hi</body></message>"
        ));
        let Ok(Stanza::Message(m)) = read(&m) else {
            panic!("a message")
        };
        assert_eq!(m.kind, MessageKind::Normal);
        assert_eq!(m.payloads.len(), 1);
        let e = el(&format!(
            "<message {NS} type='error' from='a@x/r' to='f.x'/>"
        ));
        assert!(matches!(
            read(&e),
            Ok(Stanza::Message(Message {
                kind: MessageKind::Error(_),
                ..
            }))
        ));
        let p = el(&format!(
            "<presence {NS} type='unavailable' from='r@c.x/nick' to='r@f.x/focus'><x xmlns='http://jabber.org/protocol/muc#user'/></presence>"
        ));
        let Ok(Stanza::Presence(p)) = read(&p) else {
            panic!("a presence")
        };
        assert_eq!(p.kind, PresenceKind::Unavailable);
        assert_eq!(p.from.resource().map(|r| r.as_str()), Some("nick"));
        assert_eq!(p.payloads.len(), 1);
        let other = el(&format!("<foo {NS} from='a@x/r' to='f.x'/>"));
        assert!(matches!(read(&other), Err(Rejection::Drop(_))));
        let bad_from = el(&format!("<presence {NS} from='@' to='f.x'/>"));
        assert!(matches!(read(&bad_from), Err(Rejection::Drop(_))));
    }

    #[test]
    fn written_stanzas_read_back_the_same() {
        let from = Jid::new("room@focus.x").unwrap();
        let to = Jid::new("alice@x/web").unwrap();
        let stanzas = [
            Stanza::Iq(Iq {
                id: "a1".into(),
                from: from.clone(),
                to: to.clone(),
                kind: IqKind::Set(Element::bare("jingle", "urn:xmpp:jingle:1")),
            }),
            Stanza::Iq(Iq {
                id: "a2".into(),
                from: from.clone(),
                to: to.clone(),
                kind: IqKind::Error(Box::new(stanza_error(
                    DefinedCondition::Forbidden,
                    Some("not an occupant"),
                ))),
            }),
            Stanza::Presence(Presence {
                id: None,
                from: from.clone(),
                to: to.clone(),
                kind: PresenceKind::Unavailable,
                payloads: vec![Element::bare("x", "http://jabber.org/protocol/muc")],
            }),
            Stanza::Message(Message {
                id: Some("m".into()),
                from,
                to,
                kind: MessageKind::Chat,
                payloads: vec![Element::bare("body", NS_COMPONENT)],
            }),
        ];
        for stanza in stanzas {
            let el = write(stanza.clone());
            assert_eq!(read(&el), Ok(stanza), "{}", String::from(&el));
        }
    }
}
