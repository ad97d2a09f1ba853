//! The focus core, sans-IO in the str0m shape: the runtime calls [`Focus::handle`] with a
//! typed [`Input`] and the current time, then drains [`Focus::poll_output`] until it says
//! when to call again ([`Output::Timeout`]). It owns no socket, reads no clock and imports
//! nothing from the XMPP edge, so the same code runs under tokio and in table-driven tests.
//!
//! Today it is the component's service face (discovery, version, ping, and the right error
//! for everything else). Conferences (XEP-0521) plug in here: their Jingle sessions arrive
//! as IQs addressed to room JIDs and leave as stanzas through the same queue.

use std::collections::VecDeque;
use std::time::Instant;

use crate::stanza::{DefinedCondition, Iq, MessageKind, Stanza};

pub mod disco;
pub mod ping;
pub mod version;

/// What happened, as the focus needs to know it.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one input at a time, moved once: boxing would only add an allocation"
)]
pub enum Input {
    /// A stanza addressed to the component, already typed by the edge.
    Stanza(Stanza),
    /// The deadline of the last [`Output::Timeout`] has passed.
    Timeout,
    /// The component stream is (again) attached to the server.
    Connected,
    /// The component stream is gone: whatever was sent but not answered may be lost.
    Disconnected,
}

/// What the focus wants the runtime to do.
#[derive(Debug, PartialEq)]
pub enum Output {
    /// Send this stanza on the component stream.
    Send(Stanza),
    /// Nothing more for now: call [`Focus::handle`] with [`Input::Timeout`] at this instant
    /// (or never, for `None`), or earlier when an input arrives.
    Timeout(Option<Instant>),
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

    /// Takes one input at time `now`.
    pub fn handle(&mut self, input: Input, _now: Instant) {
        match input {
            Input::Stanza(stanza) => self.handle_stanza(stanza),
            Input::Timeout | Input::Connected | Input::Disconnected => {}
        }
    }

    /// The next thing to do; [`Output::Timeout`] once nothing else is pending.
    pub fn poll_output(&mut self) -> Output {
        self.outputs.pop_front().unwrap_or(Output::Timeout(None))
    }

    fn handle_stanza(&mut self, stanza: Stanza) {
        match stanza {
            Stanza::Iq(iq) => {
                // Results and errors answer nothing the focus asked yet.
                if let Some(payload) = iq.request_payload() {
                    let reply = self.answer(&iq, &payload.ns());
                    self.send(Stanza::Iq(reply));
                }
            }
            Stanza::Message(m) if matches!(m.kind, MessageKind::Normal | MessageKind::Chat) => {
                // Nobody reads messages here: say so rather than let them vanish.
                let reply = m.error(DefinedCondition::ServiceUnavailable, None);
                self.send(Stanza::Message(reply));
            }
            // Errors, group chat, headlines and presence need no answer (yet).
            Stanza::Message(_) | Stanza::Presence(_) => {}
        }
    }

    /// Answers a request whose payload is in namespace `ns`.
    fn answer(&self, iq: &Iq, ns: &str) -> Iq {
        match ns {
            disco::NS_INFO => disco::info(iq, &self.description),
            disco::NS_ITEMS => disco::items(iq),
            version::NS => version::answer(iq),
            ping::NS => ping::answer(iq),
            _ => iq.error(DefinedCondition::ServiceUnavailable, None),
        }
    }

    fn send(&mut self, stanza: Stanza) {
        self.outputs.push_back(Output::Send(stanza));
    }
}

#[cfg(test)]
mod tests;
