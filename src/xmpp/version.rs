//! XEP-0092 Software Version.

use minidom::Element;
use tokio_xmpp::parsers::version::{VersionQuery, VersionResult};

use super::stanza::{Condition, IqType, Request};

pub const NS: &str = "jabber:iq:version";

/// Answers with the crate's name and version; the OS is not disclosed.
pub fn answer(request: &Request) -> Element {
    if request.kind != IqType::Get {
        return request.error(
            Condition::FeatureNotImplemented,
            Some("version is get-only"),
        );
    }
    if VersionQuery::try_from(request.payload.clone()).is_err() {
        return request.error(Condition::BadRequest, Some("malformed version query"));
    }
    let result = VersionResult {
        name: env!("CARGO_PKG_NAME").into(),
        version: env!("CARGO_PKG_VERSION").into(),
        os: None,
    };
    request.result(Some(result.into()))
}
