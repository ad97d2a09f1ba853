//! The `<jingle>` elements the focus sends and the parts of received ones it reads. sdp-map
//! owns the element (one parser, one writer); this module only chooses what goes in, adds
//! XEP-0298 `<conference-info/>`, and reads XEP-0167 `session-info` payloads.

use minidom::Element;
use tokio_xmpp::jid::{BareJid, FullJid};

use jingle::xep0298::ConferenceInfo;
use jingle::JingleCondition;
use sdp_map::{Action, Extension, Jingle, JingleError, Reason, ReasonCondition, SdpType, ToSdp};

use crate::stanza::{stanza_error, DefinedCondition, ErrorType, Iq};

/// XEP-0167's namespace of `session-info` payloads (mute, active, hold, ringing).
pub const NS_RTP_INFO: &str = "urn:xmpp:jingle:apps:rtp:info:1";
/// This project's `session-info` payloads in conferences: the dominant speaker (focus to
/// participant) and the largest video a participant wants on a session (participant to focus).
pub const NS_CONFERENCE: &str = "urn:xmpp:jingle-focus:conference:0";

/// Reads a received `<jingle>` element.
pub fn read(payload: &Element) -> Result<Jingle, JingleError> {
    let opts = ToSdp {
        sdp_type: SdpType::Offer,
        from: None,
    };
    Jingle::from_element(payload, &opts)
}

/// The SDP of a received session description: an offer for `session-initiate`, an answer
/// for `session-accept`.
pub fn sdp_of(jingle: &Jingle) -> String {
    jingle.session.to_sdp()
}

/// The parties of a session, as its `<jingle>` elements name them.
#[derive(Clone, Debug)]
pub struct Parties {
    pub sid: String,
    pub initiator: String,
    pub responder: String,
}

impl Parties {
    /// A session the participant started toward the focus.
    pub fn published(sid: &str, participant: &FullJid, focus: &BareJid) -> Parties {
        Parties {
            sid: sid.into(),
            initiator: participant.to_string(),
            responder: focus.to_string(),
        }
    }

    /// A session the focus started toward a participant.
    pub fn offered(sid: &str, focus: &BareJid, participant: &FullJid) -> Parties {
        Parties {
            sid: sid.into(),
            initiator: focus.to_string(),
            responder: participant.to_string(),
        }
    }

    /// The element's envelope: action, sid, initiator and responder (the SDP in it is that
    /// of the party that sends the action: the focus's answer in a `session-accept`).
    fn envelope(&self, action: Action) -> Jingle {
        Jingle {
            initiator: Some(self.initiator.clone()),
            responder: Some(self.responder.clone()),
            ..Jingle::new(action, self.sid.clone())
        }
    }
}

/// Why an SDP of the bridge could not become a `<jingle>` element.
#[derive(Debug, thiserror::Error)]
#[error("the bridge's SDP cannot be sent: {0}")]
pub struct BadBridgeSdp(#[from] sdp_map::Error);

/// `session-accept` (the focus answering, `sdp` from the bridge) or `session-initiate` (the
/// focus offering), with `<conference-info/>`.
pub fn description(
    action: Action,
    parties: &Parties,
    sdp: &str,
    info: &ConferenceInfo,
) -> Result<Element, BadBridgeSdp> {
    let mut jingle = parties
        .envelope(action)
        .with_sdp(sdp)
        .map_err(sdp_map::Error::from)?;
    if action == Action::SessionAccept {
        // The answer to a participant's own session caps what it sends (XEP-0167
        // <bandwidth/>, b=AS): browsers keep their video, all layers together, under it.
        for c in &mut jingle.session.contents {
            if c.media == Some(sdp_map::Media::Video) {
                c.bandwidths.retain(|b| b.kind != "AS");
                c.bandwidths.push(sdp_map::Bandwidth {
                    kind: "AS".into(),
                    value: u64::from(super::limits::MAX_VIDEO_KBPS),
                });
            }
        }
    }
    let info = Extension::from_element(&Element::from(info)).map_err(sdp_map::Error::from)?;
    jingle.extensions.push(info);
    Ok(jingle.to_element().map_err(sdp_map::Error::from)?)
}

/// `session-terminate` with a reason.
pub fn terminate(
    parties: &Parties,
    condition: ReasonCondition,
    text: Option<&str>,
) -> Result<Element, JingleError> {
    let reason = Reason {
        condition,
        text: text.map(str::to_string),
    };
    Jingle {
        reason: Some(reason),
        ..parties.envelope(Action::SessionTerminate)
    }
    .to_element()
}

/// `session-info` carrying `payloads`.
pub fn session_info(parties: &Parties, payloads: Vec<Element>) -> Result<Element, JingleError> {
    let mut jingle = parties.envelope(Action::SessionInfo);
    for p in &payloads {
        jingle.extensions.push(Extension::from_element(p)?);
    }
    jingle.to_element()
}

/// The children of a received `session-info`, which sdp-map does not model.
pub fn info_payloads(payload: &Element) -> impl Iterator<Item = &Element> {
    payload.children()
}

/// An IQ error carrying a Jingle condition (XEP-0166 §8).
pub fn jingle_error(iq: &Iq, condition: JingleCondition, text: Option<&str>) -> Iq {
    use jingle::error::StanzaCondition as S;
    // The error types of XEP-0166's examples.
    let (defined, type_) = match condition.stanza_condition() {
        S::ItemNotFound => (DefinedCondition::ItemNotFound, ErrorType::Cancel),
        S::UnexpectedRequest => (DefinedCondition::UnexpectedRequest, ErrorType::Wait),
        S::Conflict => (DefinedCondition::Conflict, ErrorType::Cancel),
        S::FeatureNotImplemented => (DefinedCondition::FeatureNotImplemented, ErrorType::Modify),
        S::NotAcceptable => (DefinedCondition::NotAcceptable, ErrorType::Cancel),
    };
    let mut error = stanza_error(defined, text);
    error.type_ = type_;
    error.other = Some(condition.element());
    iq.error_with(error)
}
