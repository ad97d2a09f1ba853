//! Dominant speaker identification after Volfin and Cohen, "Dominant Speaker Identification
//! for Multipoint Videoconferencing" (2013), on RFC 6464 audio levels, as Jitsi's
//! `DominantSpeakerIdentification` and mediasoup's `ActiveSpeakerObserver` do it.
//!
//! Each speaker's recent levels are quantised into "sub-bands" of loudness; three scores
//! compare how likely the speaker is active over an immediate (the last level), a medium
//! (N2 levels) and a long (N2·N3 levels) window, against a noise floor tracked per speaker.
//! Every decision interval, another speaker replaces the dominant one only if it beats it in
//! all three windows by the margins C1, C2, C3 (log-ratios of the scores): a cough or a door
//! slam wins the immediate window but not the medium and long ones, so it does not take over.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Margins by which a challenger's log score ratio must beat the dominant speaker's in the
/// immediate, medium and long windows.
const C1: f64 = 3.0;
const C2: f64 = 2.0;
const C3: f64 = 0.0;
/// Sub-bands of the level range (immediate window).
const N1: usize = 13;
/// Immediates per medium block.
const N2: usize = 5;
/// Medium blocks per long window.
const N3: usize = 10;
/// An immediate counts as active above this many sub-bands; a medium block above this many
/// active immediates.
const MEDIUM_THRESHOLD: u8 = 7;
const LONG_THRESHOLD: u8 = 4;
const MAX_LEVEL: u8 = 127;
const SUBUNIT: u8 = (MAX_LEVEL as usize).div_ceil(N1) as u8;
/// Levels kept per speaker: one long window.
const HISTORY: usize = N2 * N3;
/// How long the noise floor estimate takes to rise (15 s of 20 ms packets).
const MIN_LEVEL_WINDOW: u32 = 15_000 / 20;
const MIN_SCORE: f64 = 1e-10;

/// Timing of the detector.
#[derive(Debug, Clone, Copy)]
pub struct SpeakerConfig {
    /// How often a decision is made.
    pub decision_interval: Duration,
    /// A speaker without a level for this long is counted as silent for that time.
    pub level_idle: Duration,
}

impl Default for SpeakerConfig {
    fn default() -> Self {
        Self {
            decision_interval: Duration::from_millis(300),
            level_idle: Duration::from_millis(40),
        }
    }
}

#[derive(Debug)]
struct Speaker {
    /// Loudness (127 − dBov), newest first.
    levels: [u8; HISTORY],
    last_level: Instant,
    min_level: u8,
    next_min_level: u8,
    next_min_count: u32,
    scores: [f64; 3],
}

impl Speaker {
    fn new(now: Instant) -> Self {
        Self {
            levels: [0; HISTORY],
            last_level: now,
            min_level: 0,
            next_min_level: 0,
            next_min_count: 0,
            scores: [MIN_SCORE; 3],
        }
    }

    fn push(&mut self, loudness: u8) {
        self.levels.copy_within(0..HISTORY - 1, 1);
        self.levels[0] = loudness.min(MAX_LEVEL);
        self.track_floor(loudness);
    }

    /// The noise floor: the lowest non-zero level, allowed to rise slowly (geometric mean with
    /// the lowest level of the last window) so that a noisy room does not look like speech.
    fn track_floor(&mut self, level: u8) {
        if level == 0 {
            return;
        }
        if self.min_level == 0 || level < self.min_level {
            self.min_level = level;
            self.next_min_level = 0;
            self.next_min_count = 0;
        } else if self.next_min_level == 0 {
            self.next_min_level = level;
            self.next_min_count = 1;
        } else {
            self.next_min_level = self.next_min_level.min(level);
            self.next_min_count += 1;
            if self.next_min_count >= MIN_LEVEL_WINDOW {
                let risen = (f64::from(self.min_level) * f64::from(self.next_min_level)).sqrt();
                self.min_level = risen.clamp(1.0, f64::from(MAX_LEVEL)) as u8;
                self.next_min_level = 0;
                self.next_min_count = 0;
            }
        }
    }

    fn evaluate(&mut self) {
        let floor = self.min_level.saturating_add(SUBUNIT);
        let immediate = |level: u8| if level < floor { 0 } else { level / SUBUNIT };
        // medium block b: active immediates among levels [b*N2, (b+1)*N2)
        let medium = |block: usize| {
            self.levels[block * N2..(block + 1) * N2]
                .iter()
                .filter(|&&l| immediate(l) > MEDIUM_THRESHOLD)
                .count() as u8
        };
        let long = (0..N3).filter(|&b| medium(b) > LONG_THRESHOLD).count() as u8;
        self.scores = [
            activity_score(immediate(self.levels[0]), N1, 0.5, 0.78),
            activity_score(medium(0), N2, 0.5, 24.0),
            activity_score(long, N3, 0.5, 47.0),
        ];
    }
}

/// Log-likelihood that `active` of `total` sub-units are speech (binomial) rather than noise
/// (exponential with rate `lambda`), floored so that ratios stay finite.
fn activity_score(active: u8, total: usize, p: f64, lambda: f64) -> f64 {
    let v = f64::from(active);
    let n = total as f64;
    let score = ln_binomial(total, usize::from(active)) + v * p.ln() + (n - v) * (1.0 - p).ln()
        - lambda.ln()
        + lambda * v;
    score.max(MIN_SCORE)
}

fn ln_binomial(n: usize, k: usize) -> f64 {
    let k = k.min(n);
    let k = k.min(n - k);
    (0..k).map(|i| ((n - i) as f64 / (i + 1) as f64).ln()).sum()
}

/// The detector of one room, keyed by whatever identifies a speaker.
#[derive(Debug)]
pub struct SpeakerDetector<T> {
    config: SpeakerConfig,
    speakers: HashMap<T, Speaker>,
    dominant: Option<T>,
    next_decision: Option<Instant>,
}

impl<T: Copy + Eq + Hash + Ord> SpeakerDetector<T> {
    pub fn new(config: SpeakerConfig) -> Self {
        Self {
            config,
            speakers: HashMap::new(),
            dominant: None,
            next_decision: None,
        }
    }

    /// A level from the RFC 6464 extension: `dbov` is 0 (loudest) to 127 (silence).
    pub fn record(&mut self, id: T, dbov: u8, now: Instant) {
        let speaker = self.speakers.entry(id).or_insert_with(|| Speaker::new(now));
        if now < speaker.last_level {
            return;
        }
        speaker.last_level = now;
        speaker.push(MAX_LEVEL - dbov.min(MAX_LEVEL));
        if self.next_decision.is_none() {
            self.next_decision = Some(now + self.config.decision_interval);
        }
    }

    /// Forget a speaker (it left). Returns the new dominant speaker if this changed it.
    pub fn remove(&mut self, id: T) -> Option<Option<T>> {
        self.speakers.remove(&id);
        if self.speakers.is_empty() {
            self.next_decision = None;
        }
        if self.dominant == Some(id) {
            self.dominant = None;
            return Some(self.pick_first());
        }
        None
    }

    fn pick_first(&mut self) -> Option<T> {
        self.dominant = self.speakers.keys().min().copied();
        self.dominant
    }

    pub fn dominant(&self) -> Option<T> {
        self.dominant
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_decision
    }

    /// Run a decision if one is due; returns the new dominant speaker when it changed.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<T> {
        let due = self.next_decision.is_some_and(|t| t <= now);
        if !due {
            return None;
        }
        self.next_decision = Some(now + self.config.decision_interval);
        // A speaker without levels is silent: one zero level per idle interval.
        let idle = self.config.level_idle;
        for speaker in self.speakers.values_mut() {
            let quiet = now.saturating_duration_since(speaker.last_level);
            if quiet > idle {
                let missing = (quiet.as_millis() / idle.as_millis().max(1)).min(HISTORY as u128);
                for _ in 0..missing {
                    speaker.push(0);
                }
                speaker.last_level = now;
            }
        }
        self.decide()
    }

    fn decide(&mut self) -> Option<T> {
        if self.speakers.is_empty() {
            return None;
        }
        let mut changed = false;
        let dominant = match self.dominant.filter(|d| self.speakers.contains_key(d)) {
            Some(d) => d,
            None => {
                changed = true;
                self.pick_first()?
            }
        };
        for speaker in self.speakers.values_mut() {
            speaker.evaluate();
        }
        let base = self.speakers[&dominant].scores;
        let mut best: Option<(T, f64)> = None;
        for (&id, speaker) in &self.speakers {
            if id == dominant {
                continue;
            }
            let rel: Vec<f64> = (0..3).map(|i| (speaker.scores[i] / base[i]).ln()).collect();
            let beats = rel[0] > C1 && rel[1] > C2 && rel[2] > C3;
            if beats && best.is_none_or(|(_, c2)| rel[1] > c2) {
                best = Some((id, rel[1]));
            }
        }
        if let Some((id, _)) = best {
            self.dominant = Some(id);
            return Some(id);
        }
        changed.then_some(dominant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed 20 ms levels for `secs` seconds; `level(id, tick)` gives each speaker's dBov.
    fn run(
        detector: &mut SpeakerDetector<u8>,
        start: Instant,
        from_ms: u64,
        secs: u64,
        level: impl Fn(u8, u64) -> Option<u8>,
    ) -> Vec<(u64, u8)> {
        let mut changes = Vec::new();
        for tick in 0..secs * 50 {
            let ms = from_ms + tick * 20;
            let now = start + Duration::from_millis(ms);
            for id in [1u8, 2, 3] {
                if let Some(dbov) = level(id, tick) {
                    detector.record(id, dbov, now);
                }
            }
            if let Some(new) = detector.handle_timeout(now) {
                changes.push((ms, new));
            }
        }
        changes
    }

    #[test]
    fn sustained_speech_takes_over_and_a_short_burst_does_not() {
        let start = Instant::now();
        let mut d = SpeakerDetector::new(SpeakerConfig::default());
        // 1 speaks for 3 s, the others are near silence (noise at -90..-95 dBov)
        let noise = |tick: u64| 90 + (tick % 5) as u8;
        let changes = run(&mut d, start, 0, 3, |id, t| {
            Some(if id == 1 {
                20 + (t % 7) as u8
            } else {
                noise(t)
            })
        });
        assert_eq!(d.dominant(), Some(1), "{changes:?}");
        // 3 coughs for 100 ms while 1 keeps speaking: no switch
        let changes = run(&mut d, start, 3000, 2, |id, t| match id {
            1 => Some(20 + (t % 7) as u8),
            3 if t < 5 => Some(5),
            _ => Some(noise(t)),
        });
        assert!(changes.is_empty(), "a burst switched: {changes:?}");
        // 2 speaks continuously, 1 stops: 2 takes over within a few seconds
        let changes = run(&mut d, start, 5000, 6, |id, t| match id {
            2 => Some(25 + (t % 5) as u8),
            _ => Some(noise(t)),
        });
        assert_eq!(d.dominant(), Some(2), "{changes:?}");
        let (when, who) = changes[0];
        assert_eq!(who, 2);
        assert!(when < 5000 + 4000, "switch took {} ms", when - 5000);
    }

    #[test]
    fn leaving_dominant_is_replaced_and_empty_room_has_none() {
        let start = Instant::now();
        let mut d = SpeakerDetector::new(SpeakerConfig::default());
        d.record(1, 30, start);
        d.record(2, 30, start);
        assert_eq!(
            d.handle_timeout(start + Duration::from_millis(300)),
            Some(1)
        );
        assert_eq!(d.remove(1), Some(Some(2)));
        assert_eq!(d.remove(2), Some(None));
        assert_eq!(d.poll_timeout(), None);
    }

    #[test]
    fn scores_order() {
        assert!(activity_score(12, N1, 0.5, 0.78) > activity_score(2, N1, 0.5, 0.78));
        assert_eq!(activity_score(0, N3, 0.5, 47.0), MIN_SCORE);
        assert!((ln_binomial(5, 2) - 10f64.ln()).abs() < 1e-9);
    }
}
