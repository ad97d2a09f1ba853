//! What the benchmark needs of an SFU: rooms, a publishing session per participant, a
//! subscribing session per (subscriber, publisher) pair, the tile size a page asks for.

use std::time::Duration;

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
