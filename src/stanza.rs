//! Typed stanzas: the vocabulary between the XMPP edge ([`crate::xmpp::edge`], which reads
//! and writes elements) and the sans-IO [`crate::focus`], which never sees raw stanzas.
//!
//! Addresses are [`Jid`]s; payloads stay [`Element`]s, read by the module of their XEP;
//! stanza errors are xmpp-parsers' [`StanzaError`], so an IQ error keeps its id, its sender
//! and its condition for whoever sent the request.

use minidom::Element;
pub use tokio_xmpp::jid::Jid;
pub use tokio_xmpp::parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};

/// One stanza of the component stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Stanza {
    Iq(Iq),
    Message(Message),
    Presence(Presence),
}

/// An IQ (RFC 6120 §8.2.3): a request with exactly one payload, or its answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Iq {
    pub id: String,
    pub from: Jid,
    pub to: Jid,
    pub kind: IqKind,
}

/// What an IQ carries.
#[derive(Clone, Debug, PartialEq)]
pub enum IqKind {
    Get(Element),
    Set(Element),
    /// A result, with its payload if it has one (disco#info results, for example).
    Result(Option<Element>),
    Error(Box<StanzaError>),
}

/// A message.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: Option<String>,
    pub from: Jid,
    pub to: Jid,
    pub kind: MessageKind,
    pub payloads: Vec<Element>,
}

/// A message's `type`.
#[derive(Clone, Debug, PartialEq)]
pub enum MessageKind {
    Normal,
    Chat,
    Groupchat,
    Headline,
    Error(Box<StanzaError>),
}

/// A presence.
#[derive(Clone, Debug, PartialEq)]
pub struct Presence {
    pub id: Option<String>,
    pub from: Jid,
    pub to: Jid,
    pub kind: PresenceKind,
    pub payloads: Vec<Element>,
}

/// A presence's `type`; `Available` when it has none.
#[derive(Clone, Debug, PartialEq)]
pub enum PresenceKind {
    Available,
    Unavailable,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
    Probe,
    Error(Box<StanzaError>),
}

/// The error type RFC 6120 §8.3.3 suggests for a condition.
pub fn error_type_of(condition: &DefinedCondition) -> ErrorType {
    use DefinedCondition as C;
    match condition {
        C::BadRequest | C::JidMalformed | C::NotAcceptable | C::PolicyViolation => {
            ErrorType::Modify
        }
        C::Forbidden | C::NotAuthorized => ErrorType::Auth,
        C::ResourceConstraint | C::UnexpectedRequest | C::InternalServerError => ErrorType::Wait,
        _ => ErrorType::Cancel,
    }
}

/// A stanza error with the usual type for `condition` and an optional English text.
pub fn stanza_error(condition: DefinedCondition, text: Option<&str>) -> StanzaError {
    let type_ = error_type_of(&condition);
    match text {
        Some(text) => StanzaError::new(type_, condition, "en", text),
        None => StanzaError {
            type_,
            by: None,
            defined_condition: condition,
            texts: Default::default(),
            other: None,
        },
    }
}

impl Iq {
    /// The request's payload, for `get` and `set`.
    pub fn request_payload(&self) -> Option<&Element> {
        match &self.kind {
            IqKind::Get(p) | IqKind::Set(p) => Some(p),
            IqKind::Result(_) | IqKind::Error(_) => None,
        }
    }

    /// The `result` answering this request.
    pub fn result(&self, payload: Option<Element>) -> Iq {
        self.answer(IqKind::Result(payload))
    }

    /// The error answering this request.
    pub fn error(&self, condition: DefinedCondition, text: Option<&str>) -> Iq {
        self.answer(IqKind::Error(Box::new(stanza_error(condition, text))))
    }

    /// An error answering this request, built by the caller (for an application condition).
    pub fn error_with(&self, error: StanzaError) -> Iq {
        self.answer(IqKind::Error(Box::new(error)))
    }

    fn answer(&self, kind: IqKind) -> Iq {
        Iq {
            id: self.id.clone(),
            from: self.to.clone(),
            to: self.from.clone(),
            kind,
        }
    }
}

impl Message {
    /// The error answering this message: same id, addresses swapped, no payload.
    pub fn error(&self, condition: DefinedCondition, text: Option<&str>) -> Message {
        Message {
            id: self.id.clone(),
            from: self.to.clone(),
            to: self.from.clone(),
            kind: MessageKind::Error(Box::new(stanza_error(condition, text))),
            payloads: Vec::new(),
        }
    }
}
