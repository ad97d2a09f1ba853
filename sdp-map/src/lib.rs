//! SDP <-> Jingle translation, the single translator of Jingle Focus.
//!
//! A pure crate (no I/O, no clock) used natively by the component and, compiled
//! to `wasm32-unknown-unknown`, by the browser client.
//!
//! ```text
//!   SDP text --Session::parse_sdp--> Session --Session::to_jingle_xml--> <jingle/> text
//!   <jingle/> text --Session::from_jingle_xml--> Session --Session::to_sdp--> SDP text
//! ```
//!
//! The XML layer ([`jingle::xml`]) reads text into a small borrowed tree and
//! writes text directly; `Session::to_jingle`/`from_jingle` (native builds)
//! are thin `minidom::Element` adapters over the text form for the component.
//!
//! # String API
//! - [`sdp_to_jingle`]`(sdp, &ToJingle) -> Result<String, Error>`: one
//!   `<jingle xmlns='urn:xmpp:jingle:1'>` element.
//! - [`jingle_to_sdp`]`(xml, &ToSdp) -> Result<String, Error>`: SDP with CRLF
//!   line ends; `xml` is a `<jingle>` element or an `<iq>` holding one, with a
//!   session description (`transport-info` and other actions are an error).
//! - Trickle ICE: [`candidate_to_transport_info`] (one `a=candidate` line ->
//!   one `transport-info`) and [`transport_info_to_candidates`].
//!
//! # Roles and senders
//! Jingle `senders` is relative to the initiator; SDP direction is relative
//! to the writer of the SDP. [`ToJingle::sdp_from`] says who wrote the SDP
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
//! # WebAssembly exports (`wasm-bindgen`, module `sdp_map`)
//! ```text
//! sdpToJingle(sdp: string, options: object) -> string   // throws Error(message)
//! jingleToSdp(xml: string, options: object) -> string   // throws Error(message)
//! candidateToTransportInfo(candidate: string, options: object) -> string
//! transportInfoToCandidates(xml: string) -> Array<{mid: string, candidate: string, ufrag?: string, endOfCandidates: boolean}>
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

pub use jingle::{Action, Jingle, JingleError, Reason, ReasonCondition};
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

/// Options of [`sdp_to_jingle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToJingle {
    /// The Jingle action.
    pub action: Action,
    /// Session id.
    pub sid: String,
    /// Initiator JID (`session-initiate` must have one).
    pub initiator: Option<String>,
    /// Responder JID.
    pub responder: Option<String>,
    /// Who wrote the SDP; `None`: the party that sends `action`
    /// ([`Action::default_sender`]: the responder for `session-accept`).
    pub sdp_from: Option<Role>,
    /// `creator` of the contents.
    pub creator: Role,
    /// Optional `<reason>`.
    pub reason: Option<Reason>,
}

impl Default for ToJingle {
    fn default() -> Self {
        ToJingle {
            action: Action::SessionInitiate,
            sid: String::new(),
            initiator: None,
            responder: None,
            sdp_from: None,
            creator: Role::Initiator,
            reason: None,
        }
    }
}

/// Options of [`jingle_to_sdp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ToSdp {
    /// Offer or answer.
    pub sdp_type: SdpType,
    /// Who wrote the Jingle; `None`: the usual sender of the action.
    pub from: Option<Role>,
}

fn write_jingle(session: &Session, opts: &ToJingle) -> String {
    use jingle::xep0166::{write_jingle, Envelope};
    let mut w = jingle::Writer::with_capacity(1024 + 1536 * session.contents.len());
    // the envelope borrows the session: no clone of the model
    let envelope = Envelope {
        action: opts.action,
        sid: &opts.sid,
        initiator: opts.initiator.as_deref(),
        responder: opts.responder.as_deref(),
        creator: opts.creator,
        reason: opts.reason.as_ref(),
    };
    let sdp_from = opts
        .sdp_from
        .unwrap_or(opts.action.default_sender(opts.creator));
    write_jingle(&mut w, &envelope, session, sdp_from);
    w.finish()
}

impl Session {
    /// Serializes a `<jingle xmlns='urn:xmpp:jingle:1'>` element for this session.
    pub fn to_jingle_xml(&self, opts: &ToJingle) -> String {
        write_jingle(self, opts)
    }

    /// Reads the contents of XML text holding a `<jingle>` element (or an `<iq>` holding one).
    pub fn from_jingle_xml(xml: &str, opts: &ToSdp) -> Result<Session, JingleError> {
        Ok(Jingle::parse(xml, opts.from, opts.sdp_type)?.session)
    }
}

/// `minidom` adapters for the component (native builds only): they go through
/// the text form, so prefer the string API where the text is at hand.
#[cfg(not(target_arch = "wasm32"))]
mod minidom_adapters {
    use super::*;

    impl Session {
        /// Builds a `<jingle>` element for this session (via [`Session::to_jingle_xml`]).
        pub fn to_jingle(&self, opts: &ToJingle) -> minidom::Element {
            self.to_jingle_xml(opts)
                .parse()
                .unwrap_or_else(|_| minidom::Element::bare("jingle", jingle::NS_JINGLE))
        }

        /// Reads the contents of a `<jingle>` element (or an `<iq>` holding one).
        pub fn from_jingle(e: &minidom::Element, opts: &ToSdp) -> Result<Session, JingleError> {
            Session::from_jingle_xml(&String::from(e), opts)
        }
    }

    impl Jingle {
        /// Builds the `<jingle>` element (via [`Jingle::to_xml`]).
        pub fn to_element(&self, sdp_from: Role) -> minidom::Element {
            self.to_xml(sdp_from)
                .parse()
                .unwrap_or_else(|_| minidom::Element::bare("jingle", jingle::NS_JINGLE))
        }

        /// Reads a `<jingle>` element (or an `<iq>` holding one).
        pub fn from_element(
            e: &minidom::Element,
            from: Option<Role>,
            sdp_type: SdpType,
        ) -> Result<Jingle, JingleError> {
            Jingle::parse(&String::from(e), from, sdp_type)
        }
    }
}

/// Translates SDP text into one serialized `<jingle>` element.
/// For `session-terminate` the SDP may be empty.
pub fn sdp_to_jingle(sdp: &str, opts: &ToJingle) -> Result<String, Error> {
    if opts.sid.is_empty() || opts.sid.contains(char::is_whitespace) {
        return Err(Error::Option {
            name: "sid",
            value: opts.sid.clone(),
        });
    }
    let session = match opts.action.parts() {
        jingle::xep0166::Parts::Nothing if sdp.trim().is_empty() => Session::default(),
        // a session description: every live m-line must have what its content requires
        jingle::xep0166::Parts::Full => Session::parse_sdp_strict(sdp)?,
        _ => Session::parse_sdp(sdp)?,
    };
    Ok(write_jingle(&session, opts))
}

/// Translates a `<jingle>` element (or an `<iq>` holding one) into SDP text.
/// Actions that carry no session description (`transport-info`, `content-remove`,
/// `session-terminate`, ...) are an error: [`transport_info_to_candidates`] reads
/// trickled candidates.
pub fn jingle_to_sdp(xml: &str, opts: &ToSdp) -> Result<String, Error> {
    let j = Jingle::parse(xml, opts.from, opts.sdp_type)?;
    if j.action.parts() != jingle::xep0166::Parts::Full {
        return Err(JingleError::NotADescription(j.action).into());
    }
    Ok(j.session.to_sdp())
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
/// `a=candidate:...`; empty for end-of-candidates) for content `mid`.
/// `opts.action` is ignored.
pub fn candidate_to_transport_info(
    candidate: &str,
    mid: &str,
    ufrag: Option<&str>,
    opts: &ToJingle,
) -> Result<String, Error> {
    let mut content = Content {
        mid: mid.to_string(),
        ..Content::default()
    };
    if mid.is_empty() || mid.contains(char::is_whitespace) {
        return Err(Error::Option {
            name: "mid",
            value: mid.to_string(),
        });
    }
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
    let opts = ToJingle {
        action: Action::TransportInfo,
        ..opts.clone()
    };
    Ok(write_jingle(&session, &opts))
}

/// Reads the candidates of a `transport-info` (one entry per candidate, plus
/// one with an empty `candidate` per `<gathering-complete/>`).
pub fn transport_info_to_candidates(xml: &str) -> Result<Vec<TrickleCandidate>, Error> {
    let session = Session::from_jingle_xml(xml, &ToSdp::default())?;
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
