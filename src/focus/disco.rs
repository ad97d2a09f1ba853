//! XEP-0030 Service Discovery: what a JID of the focus is and what it supports right now.

use minidom::Element;
use tokio_xmpp::parsers::disco::{
    DiscoInfoQuery, DiscoInfoResult, DiscoItemsQuery, DiscoItemsResult, Identity, Item,
};

use crate::stanza::{DefinedCondition, Iq, IqKind, Jid};

pub const NS_INFO: &str = "http://jabber.org/protocol/disco#info";
pub const NS_ITEMS: &str = "http://jabber.org/protocol/disco#items";

/// What a JID (or one of its nodes) announces.
#[derive(Clone, Debug)]
pub struct Description {
    pub identity: (&'static str, &'static str, String),
    /// Only what is implemented and enabled at this moment.
    pub features: Vec<&'static str>,
}

/// One disco item: a JID with an optional node and name.
#[derive(Clone, Debug)]
pub struct Listed {
    pub jid: Jid,
    pub node: Option<&'static str>,
    pub name: &'static str,
}

/// Answers a disco#info request; `describe` gives what the queried node (None: the JID
/// itself) is, or `None` for an unknown node.
pub fn info(iq: &Iq, describe: impl FnOnce(Option<&str>) -> Option<Description>) -> Iq {
    let IqKind::Get(payload) = &iq.kind else {
        return iq.error(
            DefinedCondition::FeatureNotImplemented,
            Some("disco#info is get-only"),
        );
    };
    let Ok(query) = DiscoInfoQuery::try_from(payload.clone()) else {
        return iq.error(
            DefinedCondition::BadRequest,
            Some("malformed disco#info query"),
        );
    };
    let Some(description) = describe(query.node.as_deref()) else {
        return iq.error(DefinedCondition::ItemNotFound, Some("no such node"));
    };
    let (category, type_, name) = description.identity;
    let result = DiscoInfoResult {
        node: query.node,
        identities: vec![Identity::new(category, type_, "en", name)],
        features: description.features.iter().map(|f| f.to_string()).collect(),
        extensions: Vec::new(),
    };
    iq.result(Some(Element::from(result)))
}

/// Answers a disco#items request; `list` gives the items of the queried node, or `None`
/// for an unknown node.
pub fn items(iq: &Iq, list: impl FnOnce(Option<&str>) -> Option<Vec<Listed>>) -> Iq {
    let IqKind::Get(payload) = &iq.kind else {
        return iq.error(
            DefinedCondition::FeatureNotImplemented,
            Some("disco#items is get-only"),
        );
    };
    let Ok(query) = DiscoItemsQuery::try_from(payload.clone()) else {
        return iq.error(
            DefinedCondition::BadRequest,
            Some("malformed disco#items query"),
        );
    };
    let Some(listed) = list(query.node.as_deref()) else {
        return iq.error(DefinedCondition::ItemNotFound, Some("no such node"));
    };
    let result = DiscoItemsResult {
        node: query.node,
        items: listed
            .into_iter()
            .map(|l| Item {
                jid: l.jid,
                node: l.node.map(str::to_string),
                name: Some(l.name.to_string()),
            })
            .collect(),
        rsm: None,
    };
    iq.result(Some(Element::from(result)))
}
