//! What a subscriber's link can carry: Google Congestion Control on its TWCC feedback, and
//! the layer cap that follows from it.
//!
//! A subscribing endpoint stamps what it sends with transport-wide sequence numbers, the
//! subscriber reports their arrival (TWCC), and `rtc`'s GCC turns the reports into a target
//! bitrate. The estimate leaves the interceptor chain only as an attribute on the feedback packet
//! that changed it; the bridge's tap interceptor copies it into an [`Estimate`] the bridge
//! reads when it chooses layers.
//!
//! The bridge sends no probes, so GCC cannot find headroom above what it forwards: after a
//! decrease its target climbs back by 8% a second from the rate the link carried. A cap
//! taken straight from the target would keep a subscriber on a low layer long after the
//! congestion went. [`LinkCap`] instead caps only after a decrease and lifts the cap after a
//! hold, so the next layer up is tried again (the trial is the probe); a link that congests
//! again doubles the hold.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// GCC's start: what a video may send (the focus caps a participant at 2.5 Mbit/s). With no
/// probing a low start would hold a clean link's subscribers on low layers for half a minute.
pub(crate) const INITIAL_BPS: f64 = 2_500_000.0;
/// GCC's floor: below the lowest layer a subscriber still gets it.
pub(crate) const MIN_BPS: f64 = 50_000.0;
/// GCC's ceiling.
pub(crate) const MAX_BPS: f64 = 50_000_000.0;

/// How long a sent packet waits for the subscriber's feedback before it is written off.
/// Feedback comes every 50-100 ms plus a round trip; rtc's default of 2 s holds twice the
/// history for a subscriber that stopped reporting.
pub(crate) const FEEDBACK_HORIZON: Duration = Duration::from_secs(1);

/// A decrease smaller than this share is noise, not congestion.
const DECREASE: f64 = 0.95;
/// The first hold after a decrease; it doubles with each decrease up to [`MAX_HOLD`]. Each
/// trial of a layer that does not fit costs the subscriber a moment of congestion.
const HOLD: Duration = Duration::from_secs(4);
/// After the cap changes, decreases are the old congestion draining, not a new one.
const SETTLE: Duration = Duration::from_secs(1);
const MAX_HOLD: Duration = Duration::from_secs(32);
/// A link that stays quiet this long after its cap changed starts over at [`HOLD`].
const CALM: Duration = Duration::from_secs(30);

/// The latest target bitrate of one endpoint's GCC, in bits per second (0: none yet).
///
/// Shared between the endpoint's interceptor chain, which writes it, and the bridge, which
/// reads it; both run on the bridge's thread.
#[derive(Clone, Default)]
pub(crate) struct Estimate(Arc<AtomicU64>);

impl Estimate {
    /// The target in bits per second, once GCC has produced one.
    pub(crate) fn get(&self) -> Option<u64> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            bps => Some(bps),
        }
    }

    pub(crate) fn set(&self, bps: f64) {
        self.0.store(bps.max(1.0) as u64, Ordering::Relaxed);
    }
}

/// The bitrate one subscriber's link allows, from its [`Estimate`] (see the module
/// documentation).
pub(crate) struct LinkCap {
    estimate: Estimate,
    /// The estimate last read.
    seen: Option<u64>,
    /// While capped: the bitrate allowed and when the cap is lifted.
    cap: Option<(u64, Instant)>,
    hold: Duration,
    /// When the cap last changed (the link is given [`SETTLE`] to drain).
    changed: Option<Instant>,
}

impl LinkCap {
    pub fn new(estimate: Estimate) -> Self {
        Self {
            estimate,
            seen: None,
            cap: None,
            hold: HOLD,
            changed: None,
        }
    }

    /// The bitrate the link allows now, or `None` for no limit. `sending` is what the
    /// endpoint forwards now, in bits per second.
    ///
    /// GCC answers congestion with a decrease, but from where it stands: started high, its
    /// loss half takes seconds to come down to the link's rate. The decrease is the signal;
    /// the cap is 85% of what was being sent (GCC's own delay-based back-off), or the target
    /// if that is lower.
    pub fn allowance(&mut self, now: Instant, sending: u64) -> Option<u64> {
        if let Some(bps) = self.estimate.get() {
            let decreased = self
                .seen
                .is_some_and(|seen| (bps as f64) < seen as f64 * DECREASE);
            self.seen = Some(bps);
            let settling = self
                .changed
                .is_some_and(|t| now.saturating_duration_since(t) < SETTLE);
            if decreased && !settling {
                if self
                    .changed
                    .is_some_and(|t| now.saturating_duration_since(t) >= CALM)
                {
                    self.hold = HOLD;
                }
                let allowed = match sending * 85 / 100 {
                    0 => bps,
                    backoff => backoff.min(bps),
                };
                let hold = self.hold;
                self.hold = (self.hold * 2).min(MAX_HOLD);
                self.changed = Some(now);
                self.cap = Some((allowed, now + hold));
            } else if let Some((cap, _)) = &mut self.cap {
                *cap = (*cap).min(bps);
            }
        }
        match self.cap {
            Some((_, until)) if now >= until => {
                self.cap = None;
                self.changed = Some(now);
                None
            }
            Some((bps, _)) => Some(bps),
            None => None,
        }
    }
}

/// Bits per second of one forwarded stream over the last whole window.
#[derive(Default)]
pub(crate) struct RateMeter {
    since: Option<Instant>,
    bytes: u64,
    bps: u64,
}

impl RateMeter {
    /// Long enough to hold a keyframe among a second of deltas.
    const WINDOW: Duration = Duration::from_secs(1);

    pub fn record(&mut self, bytes: usize, now: Instant) {
        match self.since {
            None => self.since = Some(now),
            Some(since) => {
                let elapsed = now.saturating_duration_since(since);
                if elapsed >= Self::WINDOW {
                    self.bps = (self.bytes as f64 * 8.0 / elapsed.as_secs_f64()) as u64;
                    self.bytes = 0;
                    self.since = Some(now);
                }
            }
        }
        self.bytes += bytes as u64;
    }

    /// The rate of the last whole window (0 before one has passed).
    pub fn bps(&self) -> u64 {
        self.bps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decrease_caps_below_what_was_sent_until_the_hold_ends() {
        let t0 = Instant::now();
        let estimate = Estimate::default();
        let mut cap = LinkCap::new(estimate.clone());
        assert_eq!(cap.allowance(t0, 400_000), None);
        estimate.set(2_500_000.0);
        assert_eq!(cap.allowance(t0, 400_000), None);
        // growth is no cap
        estimate.set(2_700_000.0);
        assert_eq!(cap.allowance(t0, 400_000), None);

        // a decrease while sending 400 kbit/s: 85% of that
        estimate.set(2_400_000.0);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(cap.allowance(t1, 400_000), Some(340_000));
        // what drains in the next second is not new congestion
        estimate.set(2_200_000.0);
        assert_eq!(cap.allowance(t1 + SETTLE / 2, 300_000), Some(340_000));
        // a target below the cap lowers it
        estimate.set(200_000.0);
        assert_eq!(cap.allowance(t1 + SETTLE / 2, 300_000), Some(200_000));
        assert_eq!(
            cap.allowance(t1 + HOLD, 300_000),
            None,
            "lifted after the hold"
        );

        // the trial congests: capped again, for twice as long
        estimate.set(150_000.0);
        let t2 = t1 + HOLD + SETTLE;
        assert_eq!(cap.allowance(t2, 400_000), Some(150_000));
        assert_eq!(cap.allowance(t2 + HOLD, 300_000), Some(150_000));
        assert_eq!(cap.allowance(t2 + 2 * HOLD, 300_000), None);

        // after a calm spell the hold starts over
        estimate.set(5_000_000.0);
        let t3 = t2 + 2 * HOLD + CALM;
        assert_eq!(cap.allowance(t3, 400_000), None);
        estimate.set(1_000_000.0);
        assert_eq!(cap.allowance(t3, 400_000), Some(340_000));
        assert_eq!(cap.allowance(t3 + HOLD, 400_000), None);
    }

    #[test]
    fn small_dips_are_not_congestion() {
        let t0 = Instant::now();
        let estimate = Estimate::default();
        let mut cap = LinkCap::new(estimate.clone());
        estimate.set(1_000_000.0);
        cap.allowance(t0, 400_000);
        estimate.set(980_000.0);
        assert_eq!(cap.allowance(t0, 400_000), None);
    }

    #[test]
    fn the_meter_reports_whole_windows() {
        let t0 = Instant::now();
        let mut m = RateMeter::default();
        for i in 0..=100 {
            m.record(1250, t0 + Duration::from_millis(i * 10));
        }
        // 100 packets of 10 kbit in the first second
        assert_eq!(m.bps(), 1_000_000);
    }
}
