//! The typed stanza edge: an incoming [`Element`] becomes an [`Inbound`] or a precise
//! [`Rejection`]; replies are built here so that every error stanza has one shape.
//!
//! Parsing is deliberately lenient about what it does not need (unknown attributes,
//! extra children of messages) and strict about what RFC 6120 §8 requires of IQs: an
//! `id`, a known `type`, and exactly one payload child for `get`/`set`.

use minidom::rxml::NcName;
use minidom::Element;

/// The component stream's default namespace: stanzas carry it, replies must too.
pub const NS_COMPONENT: &str = "jabber:component:accept";
/// Stanza error conditions (RFC 6120 §8.3.3).
pub const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// An attribute name from a literal. Every literal in this crate is a valid XML name (the
/// unit tests build every element that uses one), so the conversion cannot fail at run time.
pub fn xml_name(name: &'static str) -> NcName {
    NcName::try_from(name).expect("attribute name literals are valid XML names")
}

/// The IQ types that reach a handler (`error` is dropped earlier; RFC 6120 §8.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IqType {
    Get,
    Set,
    Result,
}

/// An incoming stanza the focus may act on.
#[derive(Debug)]
pub enum Inbound {
    /// An IQ `get` or `set` with exactly one payload child.
    Request(Request),
    /// An IQ `result` or `error`: answers to what the focus sent; never answered.
    Response {
        id: String,
        from: String,
        kind: IqType,
    },
    /// A message (not of type `error`).
    Message {
        from: String,
        to: String,
        kind: String,
    },
    /// A presence (not of type `error`).
    Presence { from: String, to: String },
    /// Any stanza of type `error`: never answered (RFC 6120 §8.3.1).
    Error,
}

/// An IQ `get`/`set` and its payload.
#[derive(Debug)]
pub struct Request {
    pub id: String,
    pub from: String,
    pub to: String,
    pub kind: IqType,
    pub payload: Element,
}

/// Why a stanza cannot be handled, with the reply it deserves (if any).
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Answer with this error condition.
    Reply(Element),
    /// Not a stanza we may answer (no `from`, or an unknown top-level element): drop it.
    Drop(&'static str),
}

/// Stanza error types (RFC 6120 §8.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    Cancel,
    Modify,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            ErrorType::Cancel => "cancel",
            ErrorType::Modify => "modify",
        }
    }
}

/// The stanza error conditions the focus sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    BadRequest,
    FeatureNotImplemented,
    ServiceUnavailable,
    ItemNotFound,
}

impl Condition {
    pub fn name(self) -> &'static str {
        match self {
            Condition::BadRequest => "bad-request",
            Condition::FeatureNotImplemented => "feature-not-implemented",
            Condition::ServiceUnavailable => "service-unavailable",
            Condition::ItemNotFound => "item-not-found",
        }
    }

    fn error_type(self) -> ErrorType {
        match self {
            Condition::BadRequest => ErrorType::Modify,
            _ => ErrorType::Cancel,
        }
    }
}

impl Inbound {
    /// Reads one top-level element of the component stream.
    pub fn parse(el: &Element) -> Result<Inbound, Rejection> {
        if el.ns() != NS_COMPONENT {
            return Err(Rejection::Drop("not in the component namespace"));
        }
        let kind = el.attr("type");
        if kind == Some("error") {
            return Ok(Inbound::Error);
        }
        // ejabberd stamps `from` on every routed stanza; without it there is nobody to answer.
        let Some(from) = el.attr("from") else {
            return Err(Rejection::Drop("no `from`"));
        };
        let to = el.attr("to").unwrap_or_default();
        match el.name() {
            "iq" => parse_iq(el, from, to),
            "message" => Ok(Inbound::Message {
                from: from.into(),
                to: to.into(),
                kind: kind.unwrap_or("normal").into(),
            }),
            "presence" => Ok(Inbound::Presence {
                from: from.into(),
                to: to.into(),
            }),
            _ => Err(Rejection::Drop("not a stanza")),
        }
    }
}

fn parse_iq(el: &Element, from: &str, to: &str) -> Result<Inbound, Rejection> {
    let id = el.attr("id");
    let kind = match el.attr("type") {
        Some("get") => IqType::Get,
        Some("set") => IqType::Set,
        Some("result") => IqType::Result,
        _ => {
            return Err(reject(
                el,
                Condition::BadRequest,
                "unknown or missing IQ type",
            ))
        }
    };
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        if kind == IqType::Result {
            return Err(Rejection::Drop("IQ result without id"));
        }
        return Err(reject(el, Condition::BadRequest, "IQ without id"));
    };
    if kind == IqType::Result {
        return Ok(Inbound::Response {
            id: id.into(),
            from: from.into(),
            kind,
        });
    }
    let mut children = el.children();
    let (Some(payload), None) = (children.next(), children.next()) else {
        return Err(reject(
            el,
            Condition::BadRequest,
            "IQ get/set needs exactly one child",
        ));
    };
    Ok(Inbound::Request(Request {
        id: id.into(),
        from: from.into(),
        to: to.into(),
        kind,
        payload: payload.clone(),
    }))
}

fn reject(el: &Element, condition: Condition, text: &str) -> Rejection {
    Rejection::Reply(error_reply(el, condition, Some(text)))
}

/// An error reply to `original` (RFC 6120 §8.3): same name and id, addresses swapped.
pub fn error_reply(original: &Element, condition: Condition, text: Option<&str>) -> Element {
    let mut error = Element::builder("error", NS_COMPONENT)
        .attr(xml_name("type"), condition.error_type().as_str())
        .append(Element::builder(condition.name(), NS_STANZAS).build());
    if let Some(text) = text {
        error = error.append(Element::builder("text", NS_STANZAS).append(text).build());
    }
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
    reply.append(error.build()).build()
}

impl Request {
    /// The `result` reply carrying `payload` (or nothing).
    pub fn result(&self, payload: Option<Element>) -> Element {
        let mut reply = Element::builder("iq", NS_COMPONENT)
            .attr(xml_name("type"), "result")
            .attr(xml_name("id"), self.id.as_str())
            .attr(xml_name("from"), self.to.as_str())
            .attr(xml_name("to"), self.from.as_str());
        if let Some(payload) = payload {
            reply = reply.append(payload);
        }
        reply.build()
    }

    /// The error reply for this request.
    pub fn error(&self, condition: Condition, text: Option<&str>) -> Element {
        let original = Element::builder("iq", NS_COMPONENT)
            .attr(xml_name("id"), self.id.as_str())
            .attr(xml_name("from"), self.from.as_str())
            .attr(xml_name("to"), self.to.as_str())
            .build();
        error_reply(&original, condition, text)
    }

    /// The payload's namespace, which selects the handler.
    pub fn ns(&self) -> String {
        self.payload.ns()
    }
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
                Ok("response"),
            ),
            (
                "<iq type='error' id='1' from='a@x/r' to='f.x'/>",
                Ok("error"),
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
            (
                "<iq id='1' from='a@x/r' to='f.x'/>",
                Err(Some("bad-request")),
            ),
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
        ];
        for (xml, expect) in cases {
            let xml = xml.replacen("<iq ", &format!("<iq {NS} "), 1);
            let got = Inbound::parse(&el(&xml));
            match (expect, got) {
                (Ok("request"), Ok(Inbound::Request(_))) => {}
                (Ok("response"), Ok(Inbound::Response { .. })) => {}
                (Ok("error"), Ok(Inbound::Error)) => {}
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
        let reply = error_reply(&iq, Condition::ServiceUnavailable, None);
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
        assert!(
            matches!(Inbound::parse(&m), Ok(Inbound::Message { kind, .. }) if kind == "normal")
        );
        let e = el(&format!(
            "<message {NS} type='error' from='a@x/r' to='f.x'/>"
        ));
        assert!(matches!(Inbound::parse(&e), Ok(Inbound::Error)));
        let p = el(&format!("<presence {NS} from='a@x/r' to='f.x'/>"));
        assert!(matches!(Inbound::parse(&p), Ok(Inbound::Presence { .. })));
        let other = el(&format!("<foo {NS} from='a@x/r'/>"));
        assert!(matches!(Inbound::parse(&other), Err(Rejection::Drop(_))));
    }
}
