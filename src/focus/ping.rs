//! XEP-0199 XMPP Ping: the answer.

use crate::stanza::{DefinedCondition, Iq, IqKind};

pub const NS: &str = "urn:xmpp:ping";

/// Answers a ping with an empty result.
pub fn answer(iq: &Iq) -> Iq {
    let IqKind::Get(payload) = &iq.kind else {
        return iq.error(
            DefinedCondition::FeatureNotImplemented,
            Some("ping is get-only"),
        );
    };
    if payload.children().next().is_some() {
        return iq.error(DefinedCondition::BadRequest, Some("ping has no children"));
    }
    iq.result(None)
}
