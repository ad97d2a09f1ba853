//! XEP-0030 Service Discovery: what a JID of the focus is and what it supports right now.

use minidom::Element;
use tokio_xmpp::parsers::disco::{
    DiscoInfoQuery, DiscoInfoResult, DiscoItemsQuery, DiscoItemsResult, Identity,
};

use crate::stanza::{DefinedCondition, Iq, IqKind};

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
pub fn info(iq: &Iq, description: &Description) -> Iq {
    let IqKind::Get(payload) = &iq.kind else {
        return iq.error(
            DefinedCondition::FeatureNotImplemented,
            Some("disco#info is get-only"),
        );
    };
    let query = match DiscoInfoQuery::try_from(payload.clone()) {
        Ok(query) => query,
        Err(_) => {
            return iq.error(
                DefinedCondition::BadRequest,
                Some("malformed disco#info query"),
            )
        }
    };
    if query.node.is_some() {
        return iq.error(DefinedCondition::ItemNotFound, Some("no such node"));
    }
    let (category, type_, name) = description.identity;
    let result = DiscoInfoResult {
        node: None,
        identities: vec![Identity::new(category, type_, "en", name)],
        features: description.features.iter().map(|f| f.to_string()).collect(),
        extensions: Vec::new(),
    };
    iq.result(Some(Element::from(result)))
}

/// Answers a disco#items request: no items until conferences exist.
pub fn items(iq: &Iq) -> Iq {
    let IqKind::Get(payload) = &iq.kind else {
        return iq.error(
            DefinedCondition::FeatureNotImplemented,
            Some("disco#items is get-only"),
        );
    };
    let query = match DiscoItemsQuery::try_from(payload.clone()) {
        Ok(query) => query,
        Err(_) => {
            return iq.error(
                DefinedCondition::BadRequest,
                Some("malformed disco#items query"),
            )
        }
    };
    if query.node.is_some() {
        return iq.error(DefinedCondition::ItemNotFound, Some("no such node"));
    }
    let result = DiscoItemsResult {
        node: None,
        items: Vec::new(),
        rsm: None,
    };
    iq.result(Some(Element::from(result)))
}
