//! SDP <-> Jingle translation, the single translator of Jingle Focus.
//!
//! A pure crate (no I/O, no clock) used natively by the component and, compiled
//! to `wasm32-unknown-unknown`, by the browser client.
//!
//! ```text
//!   SDP text --Jingle::with_sdp--> Jingle { action, sid, .., session } --Jingle::to_xml--> <jingle/> text
//!   <jingle/> text --Jingle::parse--> Jingle --Jingle::to_sdp--> SDP text
//! ```
//!
//! # Who owns the `<jingle>` element
//! This crate does, natively and in wasm: [`Jingle`] is the one model of the XEP-0166
//! element (the envelope attributes `action`/`sid`/`initiator`/`responder`, `<reason>`, the
//! contents, the BUNDLE group, and the child elements it does not model as
//! [`Extension`]s, such as XEP-0298 `<conference-info>` or a `session-info` `<mute/>`),
//! and [`Jingle::parse`]/[`Jingle::read`] and [`Jingle::write`] are its one reader and
//! writer, for every action (`session-info`, `session-terminate` with its reason,
//! `transport-info`, `content-modify`, ... as well as the session descriptions). The
//! session state machine and the conference focus use `Jingle` for the wire and never
//! read or write `<jingle>` themselves. The XML layer ([`jingle::xml`]) reads text into a
//! small borrowed tree and writes text directly; [`Jingle::to_element`] and
//! [`Jingle::from_element`] (native builds) are `minidom::Element` adapters over the text
//! form for XMPP code on `xmpp-parsers`, and they return errors rather than an empty element.
//!
//! # String API
//! - [`sdp_to_jingle`]`(sdp, envelope: Jingle) -> Result<String, Error>`: one
//!   `<jingle xmlns='urn:xmpp:jingle:1'>` element: `envelope` with the SDP as its session.
//! - [`jingle_to_sdp`]`(xml, &ToSdp) -> Result<String, Error>`: SDP with CRLF
//!   line ends; `xml` is a `<jingle>` element or an `<iq>` holding one, with a
//!   session description (`transport-info` and other actions are an error).
//! - Trickle ICE: [`candidate_to_transport_info`] (one `a=candidate` line ->
//!   one `transport-info`) and [`transport_info_to_candidates`].
//!
//! # Roles and senders
//! Jingle `senders` is relative to the initiator; SDP direction is relative
//! to the writer of the SDP. [`Jingle::sdp_from`] says who wrote the SDP
//! (`a=sendonly` from the responder becomes `senders='responder'`);
//! [`ToSdp::from`] says who wrote the Jingle. Both default to the party that
//! sends the action ([`Action::default_sender`]): the responder for
//! `session-accept`/`transport-accept`, the contents' creator for
//! `content-add` and the other party for `content-accept`/`content-reject`,
//! else the initiator. So the SDP of an answer is the responder's unless said otherwise.
//!
//! # What is checked
//! A session description must have every piece that XEP-0166/0167/0176/0320 mark as
//! REQUIRED for an RTP/ICE-UDP content, and the error names what is missing and where
//! (`SDP line 8: m-line 1 (mid '0') has no a=ice-pwd ...`, `<content name='0'>: <transport>
//! lacks attribute 'pwd'`). SDP given to [`sdp_to_jingle`] for an action that carries a
//! description ([`Session::parse_sdp_strict`]): an m-line, and per live m-line `a=mid`, a
//! payload type, `a=rtpmap` name and clock rate for dynamic ones, `a=ice-ufrag`/`a=ice-pwd`
//! and, with a DTLS protocol, `a=fingerprint` and `a=setup`. Jingle of a `session-initiate` or
//! `session-accept`: contents, each with `creator`, `name`, a description, an ICE-UDP
//! `<transport>` whose `ufrag`/`pwd` come together (and with any fingerprint), at least one
//! content with them, payload types with `id` (and `name` when dynamic), candidates with
//! `component`, `foundation`, `ip`, `port`, `priority`, `protocol`, `type`, fingerprints with
//! `hash`. Accepted although the XEPs ask for them, because real clients leave them out:
//! a candidate's `generation`, `id` and `network` (StanzaJS; SDP has no `id`), the
//! fingerprint's `setup` (XEP-0320 before 0.3; `actpass` in offers, `active` in answers),
//! `<parameter>` without `name` (key-less fmtp, Conversations), a transport with neither ICE
//! credentials nor fingerprint (StanzaJS's rejected m-line; bundle-only when BUNDLEd with a
//! live content), and in `content-add`/`content-accept` transports without credentials
//! (Conversations' BUNDLE stubs). `transport-info` and the other actions carry no description.
//!
//! Everything a peer controls is bounded, so that the cost of a translation stays linear
//! in its input: 1 MiB of XML or SDP, 32 levels of nesting, 64 attributes and 16 namespace
//! declarations per element, and per session [`MAX_CONTENTS`] contents, [`MAX_GROUPS`]
//! groups, per content [`MAX_CODECS`] payload types and [`MAX_SOURCES`] sources and ssrc
//! groups of at most [`MAX_GROUP_SSRCS`] ssrcs. More is an error that names the limit.
//!
//! # WebAssembly exports (`wasm-bindgen`, module `sdp_map`)
//! ```text
//! sdpToJingle(sdp: string, options: object) -> string   // throws Error(message)
//! jingleToSdp(xml: string, options: object) -> string   // throws Error(message)
//! candidateToTransportInfo(candidate: string, options: object) -> string
//! transportInfoToCandidates(xml: string) -> Array<{mid: string, candidate: string, ufrag?: string, endOfCandidates: boolean}>
//! abortForTests(stackKib: number)   // traps deep in the stack: for the tests of web/sdp-map.js
//! ```
//! `sdpToJingle` options: `action` (string, default `"session-initiate"`),
//! `sid` (string, required), `initiator` (string), `responder` (string),
//! `from` (`"initiator"` | `"responder"`, who wrote the SDP, default by action as above),
//! `creator` (`"initiator"` | `"responder"`, default `"initiator"`),
//! `reason` (a reason condition such as `"success"`), `reasonText` (string).
//! `jingleToSdp` options: `type` (`"offer"` | `"answer"`, default `"offer"`),
//! `from` (`"initiator"` | `"responder"`, who wrote the Jingle; default by action).
//! `candidateToTransportInfo` options: `sid`, `initiator`, `responder`, `mid`
//! (content name), `ufrag`, `creator`; `candidate` may be empty for an
//! end-of-candidates `transport-info`.
//!
//! # Namespaces
//! Standard XEP namespaces (see [`jingle`]) plus [`jingle::NS_SDP`] for SDP
//! items no XEP carries; other clients ignore it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod jingle;
pub mod model;
pub mod sdp;
mod simulcast;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use jingle::{Action, Extension, Jingle, JingleError, Reason, ReasonCondition};
pub use model::*;
pub use sdp::SdpError;

/// Any error of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SDP is malformed.
    #[error(transparent)]
    Sdp(#[from] SdpError),
    /// The Jingle XML is malformed.
    #[error(transparent)]
    Jingle(#[from] JingleError),
    /// An option value is not allowed.
    #[error("invalid option {name}: '{value}'")]
    Option {
        /// Option name.
        name: &'static str,
        /// Value given.
        value: String,
    },
}

/// How to read Jingle: options of [`jingle_to_sdp`] and [`Jingle::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ToSdp {
    /// Offer or answer.
    pub sdp_type: SdpType,
    /// Who wrote the Jingle; `None`: the usual sender of the action.
    pub from: Option<Role>,
}

/// `minidom` adapters for XMPP code on `xmpp-parsers` (native builds only): they go
/// through the text form, so prefer the string API where the text is at hand.
#[cfg(not(target_arch = "wasm32"))]
mod minidom_adapters {
    use super::*;

    impl Jingle {
        /// The `<jingle>` element (via [`Jingle::to_xml`]); an error if minidom refuses it
        /// (e.g. a value with a character XML cannot carry), never an empty element.
        pub fn to_element(&self) -> Result<minidom::Element, JingleError> {
            self.to_xml()
                .parse()
                .map_err(|e: minidom::Error| JingleError::Minidom(e.to_string()))
        }

        /// Reads a `<jingle>` element (or an `<iq>` holding one), as [`Jingle::parse`].
        pub fn from_element(e: &minidom::Element, opts: &ToSdp) -> Result<Jingle, JingleError> {
            Jingle::parse(&text_of(e)?, opts)
        }
    }

    impl Extension {
        /// The extension as a `minidom::Element`.
        pub fn to_element(&self) -> Result<minidom::Element, JingleError> {
            self.xml()
                .parse()
                .map_err(|e: minidom::Error| JingleError::Minidom(e.to_string()))
        }

        /// An extension from a `minidom::Element`, as [`Extension::parse`].
        pub fn from_element(e: &minidom::Element) -> Result<Extension, JingleError> {
            Extension::parse(&text_of(e)?)
        }
    }

    /// `e` as XML text (`String::from(&Element)` would panic where this returns an error).
    fn text_of(e: &minidom::Element) -> Result<String, JingleError> {
        let mut xml = Vec::with_capacity(4096);
        e.write_to(&mut xml)
            .map_err(|e| JingleError::Minidom(e.to_string()))?;
        String::from_utf8(xml).map_err(|e| JingleError::Minidom(e.to_string()))
    }
}

fn check_token(name: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() || value.contains(char::is_whitespace) {
        return Err(Error::Option {
            name,
            value: value.to_string(),
        });
    }
    Ok(())
}

/// Translates SDP text into one serialized `<jingle>` element: `envelope` (action, sid,
/// JIDs, reason, extensions, ...) with the SDP as its session ([`Jingle::with_sdp`]).
/// For `session-terminate` and `session-info` the SDP may be empty.
pub fn sdp_to_jingle(sdp: &str, envelope: Jingle) -> Result<String, Error> {
    check_token("sid", &envelope.sid)?;
    Ok(envelope.with_sdp(sdp)?.to_xml())
}

/// Translates a `<jingle>` element (or an `<iq>` holding one) into SDP text.
/// Actions that carry no session description (`transport-info`, `content-remove`,
/// `session-terminate`, ...) are an error: [`transport_info_to_candidates`] reads
/// trickled candidates.
pub fn jingle_to_sdp(xml: &str, opts: &ToSdp) -> Result<String, Error> {
    Ok(Jingle::parse(xml, opts)?.to_sdp()?)
}

/// One trickled candidate read from a `transport-info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrickleCandidate {
    /// Content name (= `sdpMid`).
    pub mid: String,
    /// The transport's `ufrag` (= `usernameFragment`).
    pub ufrag: Option<String>,
    /// `candidate:...` (the `a=` line value), empty for end-of-candidates.
    pub candidate: String,
    /// The transport said `<gathering-complete/>`.
    pub end_of_candidates: bool,
}

/// Builds a `transport-info` carrying one candidate (`candidate:...` or
/// `a=candidate:...`; empty for end-of-candidates) for content `mid`: `envelope` (sid,
/// JIDs, creator) with that action and session.
pub fn candidate_to_transport_info(
    candidate: &str,
    mid: &str,
    ufrag: Option<&str>,
    envelope: Jingle,
) -> Result<String, Error> {
    check_token("sid", &envelope.sid)?;
    check_token("mid", mid)?;
    let mut content = Content {
        mid: mid.to_string(),
        ..Content::default()
    };
    content.ice.ufrag = ufrag.map(str::to_string);
    if candidate.trim().is_empty() {
        content.ice.end_of_candidates = true;
    } else {
        content
            .ice
            .candidates
            .push(sdp::parse_candidate(candidate, 1)?);
    }
    let session = Session {
        contents: vec![content],
        ..Session::default()
    };
    Ok(Jingle {
        action: Action::TransportInfo,
        session,
        ..envelope
    }
    .to_xml())
}

/// Reads the candidates of a `transport-info` (one entry per candidate, plus
/// one with an empty `candidate` per `<gathering-complete/>`).
pub fn transport_info_to_candidates(xml: &str) -> Result<Vec<TrickleCandidate>, Error> {
    let session = Jingle::parse(xml, &ToSdp::default())?.session;
    let mut out = Vec::new();
    for c in session.contents {
        for cand in &c.ice.candidates {
            out.push(TrickleCandidate {
                mid: c.mid.clone(),
                ufrag: c.ice.ufrag.clone(),
                candidate: sdp::write_candidate(cand),
                end_of_candidates: false,
            });
        }
        if c.ice.end_of_candidates {
            out.push(TrickleCandidate {
                mid: c.mid.clone(),
                ufrag: c.ice.ufrag.clone(),
                candidate: String::new(),
                end_of_candidates: true,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
