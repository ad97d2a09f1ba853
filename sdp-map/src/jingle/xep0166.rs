//! XEP-0166: Jingle — the `<jingle>` envelope, actions, contents and reasons.

use super::{
    ext, find_jingle, opt_text, req_token, text, xep0167, xep0176, xep0338, Element, JingleError,
    Writer, NS_DATACHANNEL, NS_ICE_UDP, NS_JINGLE, NS_RTP, NS_SDP,
};
use crate::model::{
    Content, Direction, Media, Role, SdpType, Senders, Session, MAX_CONTENTS, MAX_GROUPS,
};
use crate::sdp::SdpError;
use crate::ToSdp;

macro_rules! token_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $tok:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($(#[$vm])* $var),+ }
        impl $name {
            /// The XML token.
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $tok),+ } }
            /// Parses the XML token.
            pub fn from_token(s: &str) -> Option<Self> { match s { $($tok => Some($name::$var),)+ _ => None } }
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
        }
    };
}

token_enum! {
    /// XEP-0166 actions.
    Action {
        /// `content-accept`
        ContentAccept => "content-accept",
        /// `content-add`
        ContentAdd => "content-add",
        /// `content-modify`
        ContentModify => "content-modify",
        /// `content-reject`
        ContentReject => "content-reject",
        /// `content-remove`
        ContentRemove => "content-remove",
        /// `description-info`
        DescriptionInfo => "description-info",
        /// `security-info`
        SecurityInfo => "security-info",
        /// `session-accept`
        SessionAccept => "session-accept",
        /// `session-info`
        SessionInfo => "session-info",
        /// `session-initiate`
        SessionInitiate => "session-initiate",
        /// `session-terminate`
        SessionTerminate => "session-terminate",
        /// `transport-accept`
        TransportAccept => "transport-accept",
        /// `transport-info`
        TransportInfo => "transport-info",
        /// `transport-reject`
        TransportReject => "transport-reject",
        /// `transport-replace`
        TransportReplace => "transport-replace",
    }
}

token_enum! {
    /// XEP-0166 reason conditions.
    ReasonCondition {
        /// `alternative-session`
        AlternativeSession => "alternative-session",
        /// `busy`
        Busy => "busy",
        /// `cancel`
        Cancel => "cancel",
        /// `connectivity-error`
        ConnectivityError => "connectivity-error",
        /// `decline`
        Decline => "decline",
        /// `expired`
        Expired => "expired",
        /// `failed-application`
        FailedApplication => "failed-application",
        /// `failed-transport`
        FailedTransport => "failed-transport",
        /// `general-error`
        GeneralError => "general-error",
        /// `gone`
        Gone => "gone",
        /// `incompatible-parameters`
        IncompatibleParameters => "incompatible-parameters",
        /// `media-error`
        MediaError => "media-error",
        /// `security-error`
        SecurityError => "security-error",
        /// `success`
        Success => "success",
        /// `timeout`
        Timeout => "timeout",
        /// `unsupported-applications`
        UnsupportedApplications => "unsupported-applications",
        /// `unsupported-transports`
        UnsupportedTransports => "unsupported-transports",
    }
}

/// `<reason>`: a condition and optional human-readable text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The condition element.
    pub condition: ReasonCondition,
    /// Optional `<text>`.
    pub text: Option<String>,
}

/// Which parts of each content an action carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parts {
    /// description + transport + senders
    Full,
    /// transport with fingerprint
    Transport,
    /// ufrag/pwd + candidates (trickle)
    Candidates,
    /// only `senders`
    Senders,
    /// only name/creator
    Name,
    /// no contents
    Nothing,
}

impl Action {
    /// A `session-initiate` or `session-accept`: read strictly (every REQUIRED piece of
    /// each content checked). `content-add`/`content-accept` are not: Conversations sends
    /// transports without ICE credentials for contents it adds to a BUNDLE group.
    pub(crate) fn is_session_description(self) -> bool {
        matches!(self, Action::SessionInitiate | Action::SessionAccept)
    }

    pub(crate) fn parts(self) -> Parts {
        use Action::*;
        match self {
            SessionInitiate | SessionAccept | ContentAdd | ContentAccept | DescriptionInfo => {
                Parts::Full
            }
            TransportReplace | TransportAccept | TransportReject | SecurityInfo => Parts::Transport,
            TransportInfo => Parts::Candidates,
            ContentModify => Parts::Senders,
            ContentRemove | ContentReject => Parts::Name,
            SessionTerminate | SessionInfo => Parts::Nothing,
        }
    }

    /// The role that normally sends this action, and so wrote its SDP, given the `creator`
    /// of its contents: the responder for `session-accept` and `transport-accept`, the
    /// creator for `content-add`, the other party for `content-accept`/`content-reject`,
    /// else the initiator.
    pub fn default_sender(self, creator: Role) -> Role {
        match self {
            Action::SessionAccept | Action::TransportAccept => Role::Responder,
            Action::ContentAdd => creator,
            Action::ContentAccept | Action::ContentReject => creator.other(),
            _ => Role::Initiator,
        }
    }
}

/// A `<jingle xmlns='urn:xmpp:jingle:1'>` element: the one model of it in this project, read
/// and written here only (the session state machine and the focus use it for the wire).
///
/// `session` holds what the action carries of the contents (a whole description for
/// `session-initiate`, names and `senders` for `content-modify`, candidates for
/// `transport-info`, nothing for `session-info`/`session-terminate`); the directions in
/// it are those of its writer, [`Jingle::sdp_writer`]. Child elements this crate does not
/// model (XEP-0298 `<conference-info>`, XEP-0167 `session-info` payloads such as `<mute/>`)
/// are kept in `extensions`, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jingle {
    /// `action`
    pub action: Action,
    /// `sid`
    pub sid: String,
    /// `initiator` JID (XEP-0166: recommended for `session-initiate` only).
    pub initiator: Option<String>,
    /// `responder` JID (XEP-0166: recommended for `session-accept` only).
    pub responder: Option<String>,
    /// `<reason>` (`session-terminate` and others).
    pub reason: Option<Reason>,
    /// `creator` of the contents (`initiator` unless one says `responder`).
    pub creator: Role,
    /// Who wrote the session, i.e. from whose side its directions are (XEP-0166 `senders`
    /// is relative to the initiator). `None`: the party that sends `action`
    /// ([`Action::default_sender`]).
    pub sdp_from: Option<Role>,
    /// The contents and groups.
    pub session: Session,
    /// Child elements of `<jingle>` not modelled here, in order.
    pub extensions: Vec<Extension>,
}

/// A child element of `<jingle>` that [`Jingle`] does not model, as self-contained XML text
/// (its namespace declared on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    xml: String,
    name: String,
    ns: String,
}

impl Extension {
    /// Reads one element from XML text, e.g.
    /// `<conference-info xmlns='urn:xmpp:coin:1' isfocus='true'/>`. Elements that
    /// [`Jingle`] models (`<content>`, `<reason>`, BUNDLE `<group>`) are refused.
    pub fn parse(xml: &str) -> Result<Extension, JingleError> {
        let doc = super::parse_xml(xml)?;
        let root = doc.root();
        if is_modelled(&root) {
            return Err(JingleError::NotAnExtension {
                name: root.name().chars().take(64).collect(),
            });
        }
        Extension::read(&root)
    }

    /// An element of a parsed document.
    pub fn read(e: &Element<'_>) -> Result<Extension, JingleError> {
        let xml = e.to_xml();
        // XML 1.0 has no way to write these; a peer's text must not smuggle them through
        if xml
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(JingleError::BadText {
                element: "extension",
            });
        }
        Ok(Extension {
            xml,
            name: e.name().to_string(),
            ns: e.ns().to_string(),
        })
    }

    /// The element as XML text.
    pub fn xml(&self) -> &str {
        &self.xml
    }
    /// Its local name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its namespace.
    pub fn ns(&self) -> &str {
        &self.ns
    }
    /// True when it has this local name and namespace.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name == name && self.ns == ns
    }
}

/// The children of `<jingle>` that [`Jingle`] has fields for.
fn is_modelled(e: &Element<'_>) -> bool {
    e.is("content", NS_JINGLE)
        || e.is("reason", NS_JINGLE)
        || e.is("group", super::NS_GROUPING)
        || e.is("session", NS_SDP)
}

fn role_str(r: Role) -> &'static str {
    match r {
        Role::Initiator => "initiator",
        Role::Responder => "responder",
    }
}

impl Jingle {
    /// An element with this action and sid and nothing else.
    pub fn new(action: Action, sid: impl Into<String>) -> Jingle {
        Jingle {
            action,
            sid: sid.into(),
            initiator: None,
            responder: None,
            reason: None,
            creator: Role::Initiator,
            sdp_from: None,
            session: Session::default(),
            extensions: Vec::new(),
        }
    }

    /// This element with the session of `sdp`. For an action that carries a session
    /// description the SDP must have everything its contents require
    /// ([`Session::parse_sdp_strict`]); an empty SDP is no session for actions that carry
    /// no contents (`session-terminate`, `session-info`).
    pub fn with_sdp(mut self, sdp: &str) -> Result<Jingle, SdpError> {
        self.session = match self.action.parts() {
            Parts::Nothing if sdp.trim().is_empty() => Session::default(),
            Parts::Full => Session::parse_sdp_strict(sdp)?,
            _ => Session::parse_sdp(sdp)?,
        };
        Ok(self)
    }

    /// Who wrote the session: `sdp_from`, else the party that sends the action.
    pub fn sdp_writer(&self) -> Role {
        self.sdp_from
            .unwrap_or(self.action.default_sender(self.creator))
    }

    /// The XEP-0166 `senders` of a content of `session`, relative to the initiator.
    pub fn senders(&self, content: &Content) -> Senders {
        Senders::from_direction(content.direction, self.sdp_writer())
    }

    /// The SDP of the session; an error for actions that carry no session description.
    pub fn to_sdp(&self) -> Result<String, JingleError> {
        if self.action.parts() != Parts::Full {
            return Err(JingleError::NotADescription(self.action));
        }
        Ok(self.session.to_sdp())
    }

    /// Writes the element as XML text.
    pub fn to_xml(&self) -> String {
        let mut w = Writer::with_capacity(
            1024 + 1536 * self.session.contents.len()
                + self.extensions.iter().map(|e| e.xml.len()).sum::<usize>(),
        );
        self.write(&mut w);
        w.finish()
    }

    /// Writes the element into `w` (the one writer of `<jingle>`): the attributes, what the
    /// action carries of the session, the reason, the extensions.
    pub fn write(&self, w: &mut Writer) {
        w.start("jingle", NS_JINGLE);
        w.attr("action", self.action.as_str());
        w.attr("sid", &self.sid);
        if let Some(i) = &self.initiator {
            w.attr("initiator", i);
        }
        if let Some(r) = &self.responder {
            w.attr("responder", r);
        }
        write_body(
            w,
            &self.session,
            self.action,
            self.sdp_writer(),
            self.creator,
        );
        if let Some(r) = &self.reason {
            write_reason(w, r);
        }
        for e in &self.extensions {
            w.raw(&e.xml);
        }
        w.end();
    }

    /// Parses XML text holding a `<jingle>` element (or an `<iq>` holding one).
    pub fn parse(xml: &str, opts: &ToSdp) -> Result<Jingle, JingleError> {
        let doc = super::parse_xml(xml)?;
        Jingle::read(&doc.root(), opts)
    }

    /// Reads a `<jingle>` element (or an `<iq>` holding one). `opts.from` is the party that
    /// wrote it (`None`: the party that sends the action); `opts.sdp_type` decides the DTLS
    /// `setup` of a fingerprint without one. A `session-initiate` or `session-accept` must
    /// have every required piece (see the crate docs).
    pub fn read(root: &Element<'_>, opts: &ToSdp) -> Result<Jingle, JingleError> {
        let j = &find_jingle(root)?;
        let action_s = j.attr("action").ok_or(JingleError::MissingAttribute {
            element: "jingle",
            attribute: "action",
        })?;
        let action = Action::from_token(action_s)
            .ok_or_else(|| JingleError::UnknownAction(action_s.chars().take(64).collect()))?;
        let sid = req_token(j, "jingle", "sid")?.to_string();
        let creator = if j
            .children()
            .any(|c| c.is("content", NS_JINGLE) && c.attr("creator") == Some("responder"))
        {
            Role::Responder
        } else {
            Role::Initiator
        };
        let from = opts.from.unwrap_or(action.default_sender(creator));
        let mut session = Session::default();
        let mut reason = None;
        let mut extensions = Vec::new();
        for child in j.children() {
            let child = &child;
            if child.is("content", NS_JINGLE) {
                super::room(session.contents.len(), "<content/> elements", MAX_CONTENTS)?;
                let strict = action.is_session_description();
                let c = read_content(child, from, opts.sdp_type, strict).map_err(|error| {
                    JingleError::InContent {
                        name: child.attr("name").unwrap_or("").chars().take(64).collect(),
                        error: Box::new(error),
                    }
                })?;
                session.contents.push(c);
            } else if child.is("group", super::NS_GROUPING) {
                super::room(session.groups.len(), "<group/> elements", MAX_GROUPS)?;
                session.groups.push(xep0338::read(child)?);
            } else if child.is("session", NS_SDP) {
                ext::read_session(child, &mut session)?;
            } else if child.is("reason", NS_JINGLE) {
                reason = read_reason(child)?;
            } else {
                extensions.push(Extension::read(child)?);
            }
        }
        if action.parts() == Parts::Full {
            complete_contents(&mut session)?;
        }
        if action.is_session_description() {
            check_description(action, &session)?;
        }
        Ok(Jingle {
            action,
            sid,
            initiator: opt_text(j, "jingle", "initiator")?.map(str::to_string),
            responder: opt_text(j, "jingle", "responder")?.map(str::to_string),
            reason,
            creator,
            sdp_from: opts.from,
            session,
            extensions,
        })
    }
}

/// Writes the contents and groups that `action` carries.
pub(crate) fn write_body(w: &mut Writer, s: &Session, action: Action, from: Role, creator: Role) {
    let parts = action.parts();
    if parts != Parts::Nothing {
        for c in &s.contents {
            write_content(w, c, parts, from, creator);
        }
    }
    if parts == Parts::Full {
        for g in &s.groups {
            xep0338::write(w, g);
        }
        ext::write_session(w, s);
    }
}

/// Writes `<reason>`.
pub(crate) fn write_reason(w: &mut Writer, r: &Reason) {
    w.start("reason", NS_JINGLE);
    w.empty(r.condition.as_str(), NS_JINGLE);
    if let Some(t) = &r.text {
        w.start("text", NS_JINGLE);
        w.text(t);
        w.end();
    }
    w.end();
}

fn read_reason(e: &Element<'_>) -> Result<Option<Reason>, JingleError> {
    let mut condition = None;
    let mut txt = None;
    for c in e.children() {
        if c.is("text", NS_JINGLE) {
            txt = Some(text(&c, "text")?);
        } else if let Some(rc) = ReasonCondition::from_token(c.name()) {
            condition = Some(rc);
        }
    }
    Ok(condition.map(|condition| Reason {
        condition,
        text: txt,
    }))
}

/// What a session description needs from each content: media (or an error),
/// and contents without ICE/DTLS parameters (StanzaJS's rejected m-lines) are
/// rejected, or bundle-only when BUNDLEd with a content that has them.
fn complete_contents(s: &mut Session) -> Result<(), JingleError> {
    if let Some(c) = s.contents.iter().find(|c| c.media.is_none()) {
        return Err(JingleError::NoMedia(c.mid.chars().take(64).collect()));
    }
    // computed once, not per content (contents and groups are capped, but a peer chooses
    // how many of them there are)
    let live = |mid: &String| {
        s.contents
            .iter()
            .any(|o| o.mid == *mid && o.has_transport())
    };
    let bundles: Vec<&[String]> = s
        .groups
        .iter()
        .filter(|g| g.semantics == "BUNDLE" && g.mids.iter().any(live))
        .map(|g| g.mids.as_slice())
        .collect();
    // no fingerprint of its own: the RTP profile of the live contents, not RTP/AVPF
    let profile = s
        .contents
        .iter()
        .find(|o| o.is_rtp() && o.has_transport())
        .map(|o| o.protocol.clone());
    let mut bundled = Vec::with_capacity(s.contents.len());
    for c in &s.contents {
        bundled.push(bundles.iter().any(|mids| mids.contains(&c.mid)));
    }
    for (c, bundled) in s.contents.iter_mut().zip(bundled) {
        if c.rejected || c.bundle_only || c.has_transport() {
            continue;
        }
        if let (true, Some(p)) = (c.is_rtp() && c.protocol == c.default_protocol(), &profile) {
            c.protocol.clone_from(p);
        }
        if bundled {
            c.bundle_only = true;
        } else {
            c.rejected = true;
            c.direction = Direction::Inactive;
        }
    }
    Ok(())
}

pub(crate) fn write_content(w: &mut Writer, c: &Content, parts: Parts, from: Role, creator: Role) {
    w.start("content", NS_JINGLE);
    w.attr("creator", role_str(creator));
    w.attr("name", &c.mid);
    if matches!(parts, Parts::Full | Parts::Senders) {
        // a rejected m-line (port 0): nobody sends, whatever direction it still says
        let senders = if c.rejected && parts == Parts::Full {
            Senders::None
        } else {
            Senders::from_direction(c.direction, from)
        };
        w.attr("senders", senders.as_str());
    }
    match parts {
        Parts::Full => {
            if c.media == Some(Media::Application) {
                w.empty("description", NS_DATACHANNEL);
            } else {
                xep0167::write(w, c, from);
            }
            if c.rejected {
                // no ICE/DTLS parameters: how a client without our namespace (StanzaJS)
                // knows a rejected m-line; <media rejected='true'/> says it for us
                xep0176::write_rejected(w, c);
            } else {
                xep0176::write(w, c, true);
            }
            ext::write_media(w, c);
        }
        Parts::Transport => xep0176::write(w, c, true),
        Parts::Candidates => xep0176::write(w, c, false),
        Parts::Senders | Parts::Name | Parts::Nothing => {}
    }
    w.end();
}

/// What a session description needs beyond each content: contents, one of them live, and
/// payload types in each live RTP content.
fn check_description(action: Action, s: &Session) -> Result<(), JingleError> {
    if s.contents.is_empty() {
        return Err(JingleError::NoContent(action, false));
    }
    if !s.contents.iter().any(|c| c.ice.ufrag.is_some()) {
        return Err(JingleError::NoContent(action, true));
    }
    for c in &s.contents {
        if !c.rejected && c.is_rtp() && c.codecs.is_empty() {
            return Err(JingleError::InContent {
                name: c.mid.chars().take(64).collect(),
                error: Box::new(JingleError::MissingElement {
                    parent: "description",
                    element: "<payload-type/> (an m= line needs one)",
                }),
            });
        }
    }
    Ok(())
}

/// Reads a `<content>`. `strict` (a session description): `creator` and an ICE-UDP
/// `<transport>` are required, and its `ufrag`/`pwd` come together and go with any
/// fingerprint (a transport without them is a rejected content, as StanzaJS writes one).
pub(crate) fn read_content(
    e: &Element<'_>,
    from: Role,
    sdp_type: SdpType,
    strict: bool,
) -> Result<Content, JingleError> {
    let mut c = Content {
        mid: req_token(e, "content", "name")?.to_string(),
        ..Content::default()
    };
    if strict {
        let creator = req_token(e, "content", "creator")?;
        if !matches!(creator, "initiator" | "responder") {
            return Err(super::bad("content", "creator", creator));
        }
    }
    if let Some(s) = e.attr("senders") {
        let senders = Senders::from_token(s).ok_or_else(|| super::bad("content", "senders", s))?;
        c.direction = senders.to_direction(from);
    } else {
        c.direction = Direction::SendRecv;
    }
    let mut ext_media = None;
    let mut transport = false;
    for child in e.children() {
        let child = &child;
        if child.is("description", NS_RTP) {
            xep0167::read(child, &mut c, from)?;
        } else if child.is("description", NS_DATACHANNEL) {
            c.media = Some(Media::Application);
        } else if child.is("transport", NS_ICE_UDP) {
            transport = true;
            xep0176::read(child, &mut c, sdp_type)?;
        } else if child.is("media", NS_SDP) {
            ext_media = Some(*child);
        }
    }
    if strict {
        if !transport {
            return Err(JingleError::MissingElement {
                parent: "content",
                element: "ICE-UDP <transport/>",
            });
        }
        let missing = |attribute| JingleError::MissingAttribute {
            element: "transport",
            attribute,
        };
        match (&c.ice.ufrag, &c.ice.pwd) {
            (Some(_), None) => return Err(missing("pwd")),
            (None, Some(_)) => return Err(missing("ufrag")),
            (None, None) if !c.dtls.fingerprints.is_empty() => return Err(missing("ufrag")),
            _ => {}
        }
    }
    // no (or a non-RTP) description but an XEP-0343 <sctpmap/>: a data channel
    // (StanzaJS sends none; XEP-0343's example has a file-transfer one)
    if c.media.is_none() && c.sctp.is_some() {
        c.media = Some(Media::Application);
    }
    // defaults that ext::read_media may override
    match c.media {
        Some(Media::Application) => {
            c.protocol = c.default_protocol().into();
            c.formats = vec!["webrtc-datachannel".into()];
        }
        Some(_) => c.protocol = c.default_protocol().into(),
        None => {}
    }
    if let Some(x) = ext_media {
        ext::read_media(&x, &mut c)?;
    }
    super::xep0343::finish(&mut c);
    Ok(c)
}
