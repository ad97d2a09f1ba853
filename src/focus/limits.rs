//! What a peer can make the focus hold or do, bounded. Over a bound the request gets a
//! clear error and everything else goes on.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio_xmpp::jid::BareJid;

/// Default number of participants of one call (a room setting overrides it).
pub const DEFAULT_MAX_PARTICIPANTS: usize = 16;
/// The most a room owner may set.
pub const MAX_PARTICIPANTS_CEILING: usize = 64;
/// Contents (m-lines) of a participant's own session: audio, video, a screen share and one
/// to spare.
pub const MAX_CONTENTS: usize = 4;
/// Simulcast layers (`<rid direction='send'>`) per video content: browsers send three.
pub const MAX_LAYERS: usize = 3;
/// SSRCs a participant may announce (3 simulcast layers with RTX per video, audio, screen).
pub const MAX_SOURCES: usize = 24;
/// The most a participant may send as video, all simulcast layers together (kbit/s), told to
/// it in the answer to its own session. Chromium's three layers from 720p take about 2.2 Mbit/s.
pub const MAX_VIDEO_KBPS: u32 = 2500;
/// Join requests that may wait while the focus enters the room.
pub const MAX_WAITING: usize = 32;
/// Rooms with a call at once.
pub const MAX_ROOMS: usize = 1000;
/// How long the focus waits to get into a room before it refuses the waiting requests.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a participant may take to accept a session carrying someone's media.
pub const ACCEPT_TIMEOUT: Duration = Duration::from_secs(20);

/// Join requests per JID: a burst, then one per `JOIN_INTERVAL`.
const JOIN_BURST: u32 = 5;
const JOIN_INTERVAL: Duration = Duration::from_secs(2);
/// Requesters remembered at most (the oldest full buckets are forgotten first).
const MAX_TRACKED: usize = 10_000;

/// A token bucket per bare JID for `session-initiate` to the focus.
#[derive(Debug, Default)]
pub struct JoinRate {
    buckets: HashMap<BareJid, (u32, Instant)>,
}

impl JoinRate {
    /// Whether `who` may ask to join now; takes a token if so.
    pub fn allow(&mut self, who: &BareJid, now: Instant) -> bool {
        if self.buckets.len() >= MAX_TRACKED {
            self.buckets
                .retain(|_, (tokens, at)| Self::refill(*tokens, *at, now).0 < JOIN_BURST);
        }
        let (tokens, at) = self.buckets.get(who).copied().unwrap_or((JOIN_BURST, now));
        let (tokens, at) = Self::refill(tokens, at, now);
        if tokens == 0 {
            self.buckets.insert(who.clone(), (0, at));
            return false;
        }
        self.buckets.insert(who.clone(), (tokens - 1, at));
        true
    }

    /// Tokens after refilling since `at`, and the instant the refill counts from.
    fn refill(tokens: u32, at: Instant, now: Instant) -> (u32, Instant) {
        let earned =
            (now.saturating_duration_since(at).as_millis() / JOIN_INTERVAL.as_millis()) as u32;
        if earned == 0 {
            return (tokens, at);
        }
        (
            (tokens + earned).min(JOIN_BURST),
            at + JOIN_INTERVAL * earned,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval() {
        let mut rate = JoinRate::default();
        let alice: BareJid = "alice@example".parse().unwrap();
        let bob: BareJid = "bob@example".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..JOIN_BURST {
            assert!(rate.allow(&alice, t0));
        }
        assert!(!rate.allow(&alice, t0));
        assert!(rate.allow(&bob, t0), "each JID has its own bucket");
        assert!(!rate.allow(&alice, t0 + JOIN_INTERVAL / 2));
        assert!(rate.allow(&alice, t0 + JOIN_INTERVAL));
        assert!(!rate.allow(&alice, t0 + JOIN_INTERVAL));
    }
}
