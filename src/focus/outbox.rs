//! What the focus has decided to do, in order, plus the identifiers it hands out and the
//! IQs it waits answers for. Every part of the focus writes here; the runtime drains it.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use minidom::Element;

use super::bridge::{Command, EndpointId, RoomId};
use super::Output;
use crate::stanza::{Iq, IqKind, Jid, Stanza};

/// How long a peer may take to answer an IQ of ours before it counts as an error.
pub const IQ_TIMEOUT: Duration = Duration::from_secs(20);

/// Why the focus sent an IQ: what to do with its answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Purpose {
    /// Nothing: a `session-terminate` or `session-info`; errors are only logged.
    Notice,
    /// disco#info of the MUC room, before joining it.
    RoomInfo,
    /// Our `session-accept` of a participant's own session (by its sid).
    Accept { sid: String },
    /// Our `session-initiate` of a session carrying media to a participant (by its sid).
    Initiate { sid: String },
    /// The MUC room's owner list, for the configuration command of `requester`.
    Owners { request: Box<Iq> },
}

/// An IQ sent and not yet answered.
#[derive(Debug)]
pub struct Pending {
    pub to: Jid,
    pub room: Option<RoomId>,
    pub purpose: Purpose,
    pub deadline: Instant,
}

/// The queue of outputs, with id allocation.
#[derive(Debug)]
pub struct Outbox {
    outputs: VecDeque<Output>,
    rng: fastrand::Rng,
    counter: u64,
    /// Our IQs awaiting an answer, by id.
    pub pending: HashMap<String, Pending>,
    /// Which room each bridge endpoint belongs to.
    pub endpoints: HashMap<EndpointId, RoomId>,
    /// The time of the input being handled: deadlines count from it.
    pub now: Instant,
}

impl Outbox {
    /// `seed` makes session ids unpredictable to peers and tests reproducible.
    pub fn new(seed: u64, now: Instant) -> Outbox {
        Outbox {
            outputs: VecDeque::new(),
            rng: fastrand::Rng::with_seed(seed),
            counter: 0,
            pending: HashMap::new(),
            endpoints: HashMap::new(),
            now,
        }
    }

    pub fn pop(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Queues an output as it is.
    pub fn push(&mut self, output: Output) {
        self.outputs.push_back(output);
    }

    /// Sends a stanza that expects no answer (a result, an error, a presence).
    pub fn send(&mut self, stanza: Stanza) {
        self.outputs.push_back(Output::Send(stanza));
    }

    /// Sends an IQ `set`/`get` and remembers why, to route its answer.
    pub fn request(
        &mut self,
        from: Jid,
        to: Jid,
        kind: IqKind,
        room: Option<RoomId>,
        purpose: Purpose,
    ) -> String {
        self.counter += 1;
        let id = format!("jf{}-{:08x}", self.counter, self.rng.u32(..));
        self.pending.insert(
            id.clone(),
            Pending {
                to: to.clone(),
                room,
                purpose,
                deadline: self.now + IQ_TIMEOUT,
            },
        );
        self.send(Stanza::Iq(Iq {
            id: id.clone(),
            from,
            to,
            kind,
        }));
        id
    }

    /// An IQ `set` with `payload`.
    pub fn set(
        &mut self,
        from: Jid,
        to: Jid,
        payload: Element,
        room: Option<RoomId>,
        purpose: Purpose,
    ) -> String {
        self.request(from, to, IqKind::Set(payload), room, purpose)
    }

    /// Tells the bridge to do something.
    pub fn bridge(&mut self, command: Command) {
        if let Command::Close { endpoint } = &command {
            self.endpoints.remove(endpoint);
        }
        self.outputs.push_back(Output::Bridge(command));
    }

    /// A fresh bridge endpoint of `room`.
    pub fn endpoint(&mut self, room: RoomId) -> EndpointId {
        self.counter += 1;
        let endpoint = EndpointId(self.counter);
        self.endpoints.insert(endpoint, room);
        endpoint
    }

    /// A session id nobody can guess (128 bits).
    pub fn sid(&mut self) -> String {
        format!("{:016x}{:016x}", self.rng.u64(..), self.rng.u64(..))
    }

    /// A fresh number, for ids that need only be unique.
    pub fn number(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// The earliest deadline of a pending IQ.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }
}
