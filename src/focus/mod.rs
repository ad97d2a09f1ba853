//! The focus core, sans-IO: stanzas in, stanzas out. It owns no socket and reads no clock,
//! so the same code runs under the tokio runtime and under table-driven tests.
//!
//! Today it is the component's service face (discovery, version, ping, and the right error
//! for everything else). Conferences (XEP-0521) plug in here: their Jingle sessions arrive
//! as IQ requests addressed to room JIDs and leave as stanzas through the same queue.

use std::collections::VecDeque;

use minidom::Element;

use crate::xmpp::stanza::{error_reply, Condition, Inbound, Rejection, Request};
use crate::xmpp::{disco, ping, version};

/// What the focus wants the runtime to do.
#[derive(Debug, PartialEq)]
pub enum Output {
    Send(Element),
}

/// The conference focus for one component domain.
#[derive(Debug)]
pub struct Focus {
    domain: String,
    description: disco::Description,
    outputs: VecDeque<Output>,
}

impl Focus {
    pub fn new(domain: &str) -> Focus {
        Focus {
            domain: domain.to_string(),
            description: disco::Description {
                identity: ("component", "generic", "Jingle Focus"),
                features: vec![disco::NS_INFO, disco::NS_ITEMS, version::NS, ping::NS],
            },
            outputs: VecDeque::new(),
        }
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Handles one stanza addressed to the component.
    pub fn handle_stanza(&mut self, stanza: &Element) {
        match Inbound::parse(stanza) {
            Ok(Inbound::Request(request)) => {
                let reply = self.answer(&request);
                self.send(reply);
            }
            Ok(Inbound::Message { kind, .. }) if kind == "normal" || kind == "chat" => {
                // Nobody reads messages here: say so rather than let them vanish.
                self.send(error_reply(stanza, Condition::ServiceUnavailable, None));
            }
            // Results, errors, group chat, headlines and presence need no answer (yet).
            Ok(_) => {}
            Err(Rejection::Reply(reply)) => self.send(reply),
            Err(Rejection::Drop(why)) => tracing::debug!(why, "dropped a stanza"),
        }
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    fn answer(&self, request: &Request) -> Element {
        match request.ns().as_str() {
            disco::NS_INFO => disco::info(request, &self.description),
            disco::NS_ITEMS => disco::items(request),
            version::NS => version::answer(request),
            ping::NS => ping::answer(request),
            _ => request.error(Condition::ServiceUnavailable, None),
        }
    }

    fn send(&mut self, stanza: Element) {
        self.outputs.push_back(Output::Send(stanza));
    }
}

#[cfg(test)]
mod tests;
