//! XEP-0092 Software Version.

use minidom::Element;
use tokio_xmpp::parsers::version::{VersionQuery, VersionResult};

use crate::stanza::{DefinedCondition, Iq, IqKind};

pub const NS: &str = "jabber:iq:version";

/// Answers with the crate's name and version; the OS is not disclosed.
pub fn answer(iq: &Iq) -> Iq {
    let IqKind::Get(payload) = &iq.kind else {
        return iq.error(
            DefinedCondition::FeatureNotImplemented,
            Some("version is get-only"),
        );
    };
    if VersionQuery::try_from(payload.clone()).is_err() {
        return iq.error(
            DefinedCondition::BadRequest,
            Some("malformed version query"),
        );
    }
    let result = VersionResult {
        name: env!("CARGO_PKG_NAME").into(),
        version: env!("CARGO_PKG_VERSION").into(),
        os: None,
    };
    iq.result(Some(Element::from(result)))
}
