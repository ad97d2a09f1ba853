//! What the benchmark needs of an SFU: rooms, a publishing session per participant, a
//! subscribing session per (subscriber, publisher) pair, the tile size a page asks for.

use serde_json::Value;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any signalling step may take.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub type Result<T> = std::result::Result<T, String>;

/// One subscribing session, as the SFU names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sub(pub u64);

pub trait Sfu {
    /// The process whose CPU time and memory are measured.
    fn pid(&self) -> u32;
    fn create_room(&mut self, room: u32) -> Result<()>;
    /// A participant publishes: the SFU's SDP answer to its offer.
    fn publish(&mut self, room: u32, participant: u32, offer: String) -> Result<String>;
    /// Wait until the SFU has the participant's publishing session up (ICE and DTLS done on
    /// its side too), so that others can subscribe to it.
    fn published(&mut self, participant: u32) -> Result<()>;
    /// Subscriptions `(subscriber, publisher)`, started together; the SFU's offers, in order.
    fn subscribe(&mut self, room: u32, pairs: &[(u32, u32)]) -> Result<Vec<(Sub, String)>>;
    /// The subscribers' answers.
    fn answer(&mut self, answers: Vec<(Sub, String)>) -> Result<()>;
    /// The tile a page shows the publisher in: large (the top layer) or a thumbnail (the
    /// lowest).
    fn constrain(&mut self, subs: &[(Sub, bool)]) -> Result<()>;
    /// The SFU's own count of forwarded packets, if it keeps one.
    fn packets_forwarded(&mut self) -> Option<u64> {
        None
    }
    /// The SFU's own counters, for debugging.
    fn stats(&mut self) -> Option<String> {
        None
    }
}

/// What to do with an event that arrives while waiting for another.
pub enum Other {
    /// Keep it for a later wait.
    Keep,
    /// Nobody will wait for it.
    Drop,
    /// It ends the wait with this error.
    Fail(String),
}

/// An SFU's events as its control channel delivers them, waited for by predicate.
pub struct Inbox {
    events: mpsc::Receiver<Value>,
    kept: Vec<Value>,
    /// Who sends them, for the timeout error.
    from: &'static str,
}

impl Inbox {
    pub fn new(events: mpsc::Receiver<Value>, from: &'static str) -> Self {
        Self {
            events,
            kept: Vec::new(),
            from,
        }
    }

    /// The first event, kept or arriving within [`DEADLINE`], that `pick` accepts; `other`
    /// decides about the rest.
    pub fn wait(
        &mut self,
        mut pick: impl FnMut(&Value) -> bool,
        mut other: impl FnMut(&Value) -> Other,
    ) -> Result<Value> {
        if let Some(i) = self.kept.iter().position(&mut pick) {
            return Ok(self.kept.remove(i));
        }
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(v) if pick(&v) => return Ok(v),
                Ok(v) => match other(&v) {
                    Other::Keep => self.kept.push(v),
                    Other::Drop => {}
                    Other::Fail(e) => return Err(e),
                },
                Err(_) => return Err(format!("timed out waiting for {}", self.from)),
            }
        }
    }

    /// Forget the kept events `drop` names.
    pub fn forget(&mut self, mut drop: impl FnMut(&Value) -> bool) {
        self.kept.retain(|v| !drop(v));
    }
}
