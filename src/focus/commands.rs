//! XEP-0050 Ad-Hoc Commands: the room's call settings, on node
//! `urn:xmpp:av-conferences:config` of `ROOM@focus.HOST`, for the MUC room's owners.
//!
//! Two stages: `execute` returns an XEP-0004 form with the current settings; `complete` with
//! the submitted form saves them (`cancel` abandons). Each stage asks the MUC room for its
//! owner list first (the focus may read it as a service administrator), so nothing here
//! trusts an earlier answer.

use minidom::Element;
use tokio_xmpp::jid::BareJid;
use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType, Field, FieldType};

use super::limits::MAX_PARTICIPANTS_CEILING;
use crate::stanza::{DefinedCondition, Iq, IqKind};

pub const NS_COMMANDS: &str = "http://jabber.org/protocol/commands";
/// The node of the settings command, and the FORM_TYPE of its form.
pub const NODE_CONFIG: &str = "urn:xmpp:av-conferences:config";
/// The MUC admin namespace, where the owner list is asked for.
pub const NS_MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
/// The form field for the participant limit.
const FIELD_MAX: &str = "max-participants";

/// A room's call settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoomSettings {
    pub max_participants: usize,
}

/// What a command request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The form with the current settings.
    Execute,
    /// Save these settings.
    Complete(RoomSettings),
    Cancel,
}

/// Why a command request is refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{text}")]
pub struct Refusal {
    pub condition: DefinedCondition,
    pub text: String,
}

impl Refusal {
    fn new(condition: DefinedCondition, text: impl Into<String>) -> Refusal {
        Refusal {
            condition,
            text: text.into(),
        }
    }

    /// The error reply to `iq`.
    pub fn reply(&self, iq: &Iq) -> Iq {
        iq.error(self.condition.clone(), Some(&self.text))
    }
}

/// Reads a command request.
pub fn read(iq: &Iq) -> Result<Request, Refusal> {
    let IqKind::Set(command) = &iq.kind else {
        return Err(Refusal::new(
            DefinedCondition::BadRequest,
            "commands are executed with set",
        ));
    };
    if command.attr("node") != Some(NODE_CONFIG) {
        return Err(Refusal::new(
            DefinedCondition::ItemNotFound,
            "no such command",
        ));
    }
    match command.attr("action").unwrap_or("execute") {
        "execute" | "complete" | "next" => {}
        "cancel" => return Ok(Request::Cancel),
        _ => return Err(Refusal::new(DefinedCondition::BadRequest, "unknown action")),
    }
    let Some(x) = command.get_child("x", "jabber:x:data") else {
        return Ok(Request::Execute);
    };
    let form = DataForm::try_from(x.clone())
        .map_err(|_| Refusal::new(DefinedCondition::BadRequest, "malformed form"))?;
    if form.type_ != DataFormType::Submit {
        return Ok(Request::Execute);
    }
    let value = form
        .fields
        .iter()
        .find(|f| f.var.as_deref() == Some(FIELD_MAX))
        .and_then(|f| f.values.first());
    match value.and_then(|v| v.trim().parse::<usize>().ok()) {
        Some(n) if (1..=MAX_PARTICIPANTS_CEILING).contains(&n) => {
            Ok(Request::Complete(RoomSettings {
                max_participants: n,
            }))
        }
        _ => Err(Refusal::new(
            DefinedCondition::NotAcceptable,
            format!("{FIELD_MAX} must be a number from 1 to {MAX_PARTICIPANTS_CEILING}"),
        )),
    }
}

/// The query for the MUC room's owners.
pub fn owners_query() -> Element {
    Element::builder("query", NS_MUC_ADMIN)
        .append(
            Element::builder("item", NS_MUC_ADMIN)
                .attr(crate::focus::xml_name("affiliation"), "owner"),
        )
        .build()
}

/// The bare JIDs in an owner list.
pub fn owners(result: Option<&Element>) -> Vec<BareJid> {
    result
        .into_iter()
        .flat_map(|q| q.children())
        .filter(|c| c.name() == "item")
        .filter_map(|c| c.attr("jid")?.parse::<BareJid>().ok())
        .collect()
}

/// The reply to a request from an owner.
pub fn answer(iq: &Iq, request: &Request, current: RoomSettings, sessionid: &str) -> Iq {
    let command = Element::builder("command", NS_COMMANDS)
        .attr(crate::focus::xml_name("node"), NODE_CONFIG)
        .attr(crate::focus::xml_name("sessionid"), sessionid);
    let command = match request {
        Request::Execute => {
            let mut field = Field::new(FIELD_MAX, FieldType::TextSingle)
                .with_value(&current.max_participants.to_string());
            field.label = Some("Most participants in the call".into());
            field.required = true;
            let mut form = DataForm::new(DataFormType::Form, NODE_CONFIG, vec![field]);
            form.title = Some("Call settings".into());
            command
                .attr(crate::focus::xml_name("status"), "executing")
                .append(
                    Element::builder("actions", NS_COMMANDS)
                        .attr(crate::focus::xml_name("execute"), "complete")
                        .append(Element::bare("complete", NS_COMMANDS)),
                )
                .append(Element::from(form))
        }
        Request::Complete(_) => command
            .attr(crate::focus::xml_name("status"), "completed")
            .append(
                Element::builder("note", NS_COMMANDS)
                    .attr(crate::focus::xml_name("type"), "info")
                    .append("Saved"),
            ),
        Request::Cancel => command.attr(crate::focus::xml_name("status"), "canceled"),
    };
    iq.result(Some(command.build()))
}
