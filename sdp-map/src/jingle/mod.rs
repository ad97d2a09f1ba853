//! Jingle XML <-> [`Session`](crate::model::Session), one module per XEP.
//!
//! Everything a WebRTC peer needs and that no XEP carries (the `m=` protocol
//! when it is not the default, rejected/bundle-only sections, `a=ice-options`,
//! `a=rtcp-mux-only`, unknown attributes) travels in one element of this
//! crate's own namespace [`NS_SDP`], which other clients ignore:
//!
//! ```xml
//! <media xmlns='urn:xmpp:jingle-focus:sdp:0' protocol='UDP/TLS/RTP/SAVPF'
//!        rejected='true' bundle-only='true' rtcp-mux-only='true'
//!        ice-options='trickle'>
//!   <attribute>ptime:20</attribute>
//! </media>
//! ```
//! Simulcast (`a=rid`, `a=simulcast`) has named elements of that namespace
//! inside the RTP `<description>` (see [`ext`]).

pub mod ext;
pub mod xep0166;
pub mod xep0167;
pub mod xep0176;
pub mod xep0293;
pub mod xep0294;
pub mod xep0320;
pub mod xep0338;
pub mod xep0339;
pub mod xep0343;
pub mod xml;

pub use xml::{Document, Element, Writer, XmlError, XmlErrorKind};

pub use xep0166::{Action, Extension, Jingle, Reason, ReasonCondition};

/// XEP-0166 Jingle.
pub const NS_JINGLE: &str = "urn:xmpp:jingle:1";
/// XEP-0167 RTP application.
pub const NS_RTP: &str = "urn:xmpp:jingle:apps:rtp:1";
/// XEP-0293 RTCP feedback.
pub const NS_RTCP_FB: &str = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0";
/// XEP-0294 header extensions.
pub const NS_HDREXT: &str = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0";
/// XEP-0339 source-specific media attributes.
pub const NS_SSMA: &str = "urn:xmpp:jingle:apps:rtp:ssma:0";
/// `a=msid` as used by StanzaJS (`<stream id track/>`).
pub const NS_MSID: &str = "urn:xmpp:jingle:apps:rtp:msid:0";
/// XEP-0338 grouping.
pub const NS_GROUPING: &str = "urn:xmpp:jingle:apps:grouping:0";
/// XEP-0176 ICE-UDP transport.
pub const NS_ICE_UDP: &str = "urn:xmpp:jingle:transports:ice-udp:1";
/// XEP-0320 DTLS fingerprint.
pub const NS_DTLS: &str = "urn:xmpp:jingle:apps:dtls:0";
/// XEP-0343 DTLS/SCTP (`<sctpmap/>`).
pub const NS_DTLS_SCTP: &str = "urn:xmpp:jingle:transports:dtls-sctp:1";
/// Data channel application description (XEP-0343 usage, as Jitsi sends it).
pub const NS_DATACHANNEL: &str = "urn:xmpp:jingle:apps:webrtc-datachannel:0";
/// This crate's namespace for SDP items that no XEP carries.
pub const NS_SDP: &str = "urn:xmpp:jingle-focus:sdp:0";

/// Largest Jingle XML accepted, in bytes.
pub const MAX_XML_LEN: usize = 1 << 20;
/// Deepest element nesting accepted (a Jingle stanza needs about 7).
pub const MAX_XML_DEPTH: usize = 32;
/// Most attributes on one element, namespace declarations not counted (an ICE
/// `<candidate/>` has 15).
pub const MAX_XML_ATTRIBUTES: usize = 64;
/// Most namespace declarations on one element.
pub const MAX_XML_NAMESPACE_DECLARATIONS: usize = 16;
/// Most namespace prefixes bound at once (so that resolving one is a short scan).
pub const MAX_XML_PREFIXES: usize = 32;

/// What is wrong with a Jingle element.
#[derive(Debug, thiserror::Error)]
pub enum JingleError {
    /// Input larger than [`MAX_XML_LEN`].
    #[error("XML larger than {MAX_XML_LEN} bytes")]
    TooLarge,
    /// Elements nested deeper than [`MAX_XML_DEPTH`].
    #[error("XML nested deeper than {MAX_XML_DEPTH} elements")]
    TooDeep,
    /// Not well-formed XML.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// No `<jingle xmlns='urn:xmpp:jingle:1'>` element.
    #[error("expected <jingle xmlns='{NS_JINGLE}'>, found <{name} xmlns='{ns}'>")]
    NotJingle {
        /// Name of the element found.
        name: String,
        /// Its namespace.
        ns: String,
    },
    /// A required attribute is missing.
    #[error("<{element}> lacks attribute '{attribute}'")]
    MissingAttribute {
        /// Element name.
        element: &'static str,
        /// Attribute name.
        attribute: &'static str,
    },
    /// An attribute has a value that is not allowed.
    #[error("<{element}> attribute '{attribute}' has invalid value '{value}'")]
    BadAttribute {
        /// Element name.
        element: &'static str,
        /// Attribute name.
        attribute: &'static str,
        /// The value found (truncated to 64 characters).
        value: String,
    },
    /// Text content that is not allowed (line breaks would inject SDP lines).
    #[error("<{element}> has invalid text content")]
    BadText {
        /// Element name.
        element: &'static str,
    },
    /// More of something than the translator takes ([`crate::model::MAX_CONTENTS`] and
    /// the like).
    #[error("more than {limit} {what}")]
    TooMany {
        /// What, e.g. `<content/> elements`.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// Unknown `action`.
    #[error("unknown Jingle action '{0}'")]
    UnknownAction(String),
    /// A content of a session description (`session-initiate`, ...) has neither
    /// an RTP description nor a data channel (XEP-0343 `<sctpmap/>`).
    #[error("<content name='{0}'> has neither an RTP <description/> nor an XEP-0343 <sctpmap/>: no m= line for it")]
    NoMedia(String),
    /// Something is wrong inside a `<content>`: which one, and what.
    #[error("<content name='{name}'>: {error}")]
    InContent {
        /// The content's name (truncated to 64 characters).
        name: String,
        /// What is wrong.
        error: Box<JingleError>,
    },
    /// A required child element is missing.
    #[error("<{parent}> has no {element}")]
    MissingElement {
        /// The element that lacks it.
        parent: &'static str,
        /// What it lacks, e.g. `ICE-UDP <transport/>`.
        element: &'static str,
    },
    /// A session description without contents, or without any content that has ICE
    /// credentials (a session with nothing to connect).
    #[error("{} has no {}", .0.as_str(), if *.1 { "<content/> with ICE credentials (<transport ufrag pwd>)" } else { "<content/>" })]
    NoContent(Action, bool),
    /// [`Extension::parse`] was given an element that [`Jingle`] models.
    #[error("<{name}> is a part of <jingle> with a field of its own, not an extension")]
    NotAnExtension {
        /// Its name.
        name: String,
    },
    /// `minidom` refused the element (native adapters only).
    #[error("minidom: {0}")]
    Minidom(String),
    /// The action carries no session description (e.g. `transport-info`).
    #[error("action '{}' carries no session description{}", .0.as_str(), if *.0 == Action::TransportInfo { ": read trickled candidates with transport_info_to_candidates (wasm: transportInfoToCandidates)" } else { "" })]
    NotADescription(Action),
}

pub(crate) fn bad(element: &'static str, attribute: &'static str, value: &str) -> JingleError {
    JingleError::BadAttribute {
        element,
        attribute,
        value: value.chars().take(64).collect(),
    }
}

/// Values end up inside SDP lines: no line breaks; tokens also no whitespace.
fn check_value(
    element: &'static str,
    attribute: &'static str,
    v: &str,
    token: bool,
) -> Result<(), JingleError> {
    // fast path: printable ASCII (no space in a token)
    let lo = if token { 0x21 } else { 0x20 };
    if !v.is_empty() && v.bytes().all(|b| (lo..0x7f).contains(&b)) {
        return Ok(());
    }
    let badc = |c: char| (c.is_control() && c != '\t') || (token && c.is_whitespace());
    if v.chars().any(badc) || (token && v.is_empty()) {
        return Err(bad(element, attribute, v));
    }
    Ok(())
}

/// Optional attribute, checked for line breaks (and for whitespace when `token`).
fn opt_checked<'a>(
    e: &Element<'a>,
    element: &'static str,
    attribute: &'static str,
    token: bool,
) -> Result<Option<&'a str>, JingleError> {
    let value = e.attr(attribute);
    if let Some(v) = value {
        check_value(element, attribute, v, token)?;
    }
    Ok(value)
}

/// Optional attribute that may contain spaces but no line breaks.
pub(crate) fn opt_text<'a>(
    e: &Element<'a>,
    element: &'static str,
    attribute: &'static str,
) -> Result<Option<&'a str>, JingleError> {
    opt_checked(e, element, attribute, false)
}

/// Optional attribute that must be a token (no whitespace).
pub(crate) fn opt_token<'a>(
    e: &Element<'a>,
    element: &'static str,
    attribute: &'static str,
) -> Result<Option<&'a str>, JingleError> {
    opt_checked(e, element, attribute, true)
}

/// Required token attribute.
pub(crate) fn req_token<'a>(
    e: &Element<'a>,
    element: &'static str,
    attribute: &'static str,
) -> Result<&'a str, JingleError> {
    opt_token(e, element, attribute)?.ok_or(JingleError::MissingAttribute { element, attribute })
}

/// Optional numeric attribute.
pub(crate) fn opt_num<T: std::str::FromStr>(
    e: &Element<'_>,
    element: &'static str,
    attribute: &'static str,
) -> Result<Option<T>, JingleError> {
    match e.attr(attribute) {
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad(element, attribute, v)),
        None => Ok(None),
    }
}

/// Required numeric attribute.
pub(crate) fn req_num<T: std::str::FromStr>(
    e: &Element<'_>,
    element: &'static str,
    attribute: &'static str,
) -> Result<T, JingleError> {
    opt_num(e, element, attribute)?.ok_or(JingleError::MissingAttribute { element, attribute })
}

/// Boolean attribute (`true`/`1`).
pub(crate) fn flag(e: &Element<'_>, attribute: &str) -> bool {
    matches!(e.attr(attribute), Some("true" | "1"))
}

/// Element text that must not contain line breaks.
pub(crate) fn text(e: &Element<'_>, element: &'static str) -> Result<String, JingleError> {
    let t = e.text().trim();
    if t.chars().any(|c| c.is_control() && c != '\t') {
        return Err(JingleError::BadText { element });
    }
    Ok(t.to_string())
}

/// `Err(TooMany)` once `len` reaches `limit` (before adding one more).
pub(crate) fn room(len: usize, what: &'static str, limit: usize) -> Result<(), JingleError> {
    if len >= limit {
        return Err(JingleError::TooMany { what, limit });
    }
    Ok(())
}

/// Parses XML text after checking the size limit (depth is checked while parsing).
pub fn parse_xml(xml: &str) -> Result<Document<'_>, JingleError> {
    Document::parse(xml)
}

/// Finds the `<jingle>` element: the root itself, or a child of an `<iq>`.
pub fn find_jingle<'d>(root: &Element<'d>) -> Result<Element<'d>, JingleError> {
    if root.is("jingle", NS_JINGLE) {
        return Ok(*root);
    }
    root.children()
        .find(|c| c.is("jingle", NS_JINGLE))
        .ok_or_else(|| JingleError::NotJingle {
            name: root.name().chars().take(64).collect(),
            ns: root.ns().chars().take(128).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_rejected_promptly() {
        let xml = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        assert!(matches!(parse_xml(&xml), Err(JingleError::TooDeep)));
    }
}
