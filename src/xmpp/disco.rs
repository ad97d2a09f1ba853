//! XEP-0030 Service Discovery: what the focus is and what it supports right now.

use minidom::Element;
use tokio_xmpp::parsers::disco::{
    DiscoInfoQuery, DiscoInfoResult, DiscoItemsQuery, DiscoItemsResult, Identity,
};

use super::stanza::{Condition, IqType, Request};

pub const NS_INFO: &str = "http://jabber.org/protocol/disco#info";
pub const NS_ITEMS: &str = "http://jabber.org/protocol/disco#items";

/// What a JID at the focus domain announces.
#[derive(Clone, Debug)]
pub struct Description {
    pub identity: (&'static str, &'static str, &'static str),
    /// Only what is implemented and enabled at this moment.
    pub features: Vec<&'static str>,
}

/// Answers a disco#info request.
pub fn info(request: &Request, description: &Description) -> Element {
    if request.kind != IqType::Get {
        return request.error(
            Condition::FeatureNotImplemented,
            Some("disco#info is get-only"),
        );
    }
    let query = match DiscoInfoQuery::try_from(request.payload.clone()) {
        Ok(query) => query,
        Err(_) => return request.error(Condition::BadRequest, Some("malformed disco#info query")),
    };
    if query.node.is_some() {
        return request.error(Condition::ItemNotFound, Some("no such node"));
    }
    let (category, type_, name) = description.identity;
    let result = DiscoInfoResult {
        node: None,
        identities: vec![Identity::new(category, type_, "en", name)],
        features: description.features.iter().map(|f| f.to_string()).collect(),
        extensions: Vec::new(),
    };
    request.result(Some(result.into()))
}

/// Answers a disco#items request: no items until conferences exist.
pub fn items(request: &Request) -> Element {
    if request.kind != IqType::Get {
        return request.error(
            Condition::FeatureNotImplemented,
            Some("disco#items is get-only"),
        );
    }
    let query = match DiscoItemsQuery::try_from(request.payload.clone()) {
        Ok(query) => query,
        Err(_) => return request.error(Condition::BadRequest, Some("malformed disco#items query")),
    };
    if query.node.is_some() {
        return request.error(Condition::ItemNotFound, Some("no such node"));
    }
    let result = DiscoItemsResult {
        node: None,
        items: Vec::new(),
        rsm: None,
    };
    request.result(Some(result.into()))
}
