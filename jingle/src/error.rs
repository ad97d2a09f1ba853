//! XEP-0166 §8 error conditions: the Jingle-specific element and the stanza error it rides on.

use minidom::Element;

/// The namespace of Jingle error conditions.
pub const NS_ERRORS: &str = "urn:xmpp:jingle:errors:1";

/// Why a Jingle request is refused, in Jingle's own terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JingleCondition {
    /// The `sid` names no session between these parties.
    #[error("unknown-session")]
    UnknownSession,
    /// The action is not allowed in the session's state.
    #[error("out-of-order")]
    OutOfOrder,
    /// Both parties asked for a change at once, and this side's request wins.
    #[error("tie-break")]
    TieBreak,
    /// A `session-info` payload that this party does not understand.
    #[error("unsupported-info")]
    UnsupportedInfo,
    /// The session would have to be secured first.
    #[error("security-required")]
    SecurityRequired,
}

/// The stanza error condition (RFC 6120 §8.3.3) a Jingle condition travels in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StanzaCondition {
    /// `item-not-found`
    ItemNotFound,
    /// `unexpected-request`
    UnexpectedRequest,
    /// `conflict`
    Conflict,
    /// `feature-not-implemented`
    FeatureNotImplemented,
    /// `not-acceptable`
    NotAcceptable,
}

impl JingleCondition {
    /// The XML name of the condition element.
    pub fn name(self) -> &'static str {
        match self {
            JingleCondition::UnknownSession => "unknown-session",
            JingleCondition::OutOfOrder => "out-of-order",
            JingleCondition::TieBreak => "tie-break",
            JingleCondition::UnsupportedInfo => "unsupported-info",
            JingleCondition::SecurityRequired => "security-required",
        }
    }

    /// The stanza error condition XEP-0166 pairs it with.
    pub fn stanza_condition(self) -> StanzaCondition {
        match self {
            JingleCondition::UnknownSession => StanzaCondition::ItemNotFound,
            JingleCondition::OutOfOrder => StanzaCondition::UnexpectedRequest,
            JingleCondition::TieBreak => StanzaCondition::Conflict,
            JingleCondition::UnsupportedInfo => StanzaCondition::FeatureNotImplemented,
            JingleCondition::SecurityRequired => StanzaCondition::NotAcceptable,
        }
    }

    /// The application-specific condition element, e.g. `<out-of-order xmlns='urn:xmpp:jingle:errors:1'/>`.
    pub fn element(self) -> Element {
        Element::bare(self.name(), NS_ERRORS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_condition_has_its_element_and_stanza_condition() {
        let table = [
            (
                JingleCondition::UnknownSession,
                StanzaCondition::ItemNotFound,
            ),
            (
                JingleCondition::OutOfOrder,
                StanzaCondition::UnexpectedRequest,
            ),
            (JingleCondition::TieBreak, StanzaCondition::Conflict),
            (
                JingleCondition::UnsupportedInfo,
                StanzaCondition::FeatureNotImplemented,
            ),
            (
                JingleCondition::SecurityRequired,
                StanzaCondition::NotAcceptable,
            ),
        ];
        for (condition, stanza) in table {
            assert_eq!(condition.stanza_condition(), stanza);
            let el = condition.element();
            assert_eq!(el.name(), condition.to_string());
            assert_eq!(el.ns(), NS_ERRORS);
        }
    }
}
