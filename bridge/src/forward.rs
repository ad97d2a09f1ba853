//! One forwarded stream: a publisher's track as one subscriber receives it.
//!
//! The subscriber sees one SSRC per track whatever simulcast layer is behind it, with
//! continuous sequence numbers and timestamps: a layer switch happens only on a keyframe of
//! the new layer, and the offsets are recomputed there so that the receiver's jitter buffer
//! and decoder see one stream.

use rtc::rtp::header::{EXTENSION_PROFILE_ONE_BYTE, Extension, Header};
use std::time::Instant;

/// Which layer of the source to forward, and what the output stream looks like.
#[derive(Debug)]
pub(crate) struct OutStream {
    /// Index of the publisher's track this stream carries.
    pub source: usize,
    pub video: bool,
    pub ssrc: u32,
    /// Publisher payload type -> subscriber payload type.
    pub pt_map: Vec<(u8, u8)>,
    /// The audio-level extension id on the subscriber's side.
    pub audio_level_id: Option<u8>,
    pub clock_rate: u32,
    /// The layer now forwarded.
    pub current: Option<usize>,
    /// The layer wanted; becomes `current` at its next keyframe.
    pub target: Option<usize>,
    seq_offset: u16,
    ts_offset: u32,
    last: Option<Sent>,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: u16,
    ts: u32,
    at: Instant,
}

/// What [`OutStream::accept`] decided for one packet.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Forward,
    /// Forward: the stream switched to this packet's layer.
    Switched,
    Drop,
}

impl OutStream {
    pub(crate) fn new(
        source: usize,
        video: bool,
        ssrc: u32,
        pt_map: Vec<(u8, u8)>,
        audio_level_id: Option<u8>,
        clock_rate: u32,
    ) -> Self {
        Self {
            source,
            video,
            ssrc,
            pt_map,
            audio_level_id,
            clock_rate,
            current: (!video).then_some(0),
            target: (!video).then_some(0),
            seq_offset: 0,
            ts_offset: 0,
            last: None,
        }
    }

    /// Whether a packet of `layer` goes out, switching layers on a keyframe of the target.
    pub(crate) fn accept(
        &mut self,
        layer: usize,
        header: &Header,
        is_keyframe: impl FnOnce() -> bool,
        now: Instant,
    ) -> Verdict {
        if self.current == Some(layer) && self.target == self.current {
            return Verdict::Forward;
        }
        if self.target == Some(layer) && is_keyframe() {
            self.switch_to(layer, header, now);
            return Verdict::Switched;
        }
        if self.current == Some(layer) {
            // still on the old layer until the target's keyframe arrives
            return Verdict::Forward;
        }
        Verdict::Drop
    }

    /// Stop forwarding at once (no video wanted).
    pub(crate) fn pause(&mut self) {
        self.current = None;
        self.target = None;
    }

    fn switch_to(&mut self, layer: usize, header: &Header, now: Instant) {
        self.current = Some(layer);
        if let Some(last) = self.last {
            self.seq_offset = last
                .seq
                .wrapping_add(1)
                .wrapping_sub(header.sequence_number);
            // advance the clock by the wall time since the last packet (at least one tick)
            let elapsed = now.saturating_duration_since(last.at);
            let ticks = (elapsed.as_micros() as u64 * u64::from(self.clock_rate) / 1_000_000)
                .clamp(1, u64::from(u32::MAX / 2)) as u32;
            self.ts_offset = last.ts.wrapping_add(ticks).wrapping_sub(header.timestamp);
        }
    }

    /// The header the subscriber receives: our SSRC, its payload type, continuous
    /// numbering, only the extensions it negotiated (the rest is added by the interceptors).
    pub(crate) fn rewrite(
        &mut self,
        header: &Header,
        source_audio_level: Option<u8>,
        now: Instant,
    ) -> Option<Header> {
        let pt = self
            .pt_map
            .iter()
            .find(|(from, _)| *from == header.payload_type)?
            .1;
        let seq = header.sequence_number.wrapping_add(self.seq_offset);
        let ts = header.timestamp.wrapping_add(self.ts_offset);
        let newer = self
            .last
            .is_none_or(|last| seq.wrapping_sub(last.seq) < 0x8000 && seq != last.seq);
        if newer {
            self.last = Some(Sent { seq, ts, at: now });
        }
        let mut extensions = Vec::new();
        if let (Some(to), Some(from)) = (self.audio_level_id, source_audio_level)
            && let Some(ext) = header.extensions.iter().find(|e| e.id == from)
        {
            extensions.push(Extension {
                id: to,
                payload: ext.payload.clone(),
            });
        }
        Some(Header {
            version: 2,
            padding: header.padding,
            extension: !extensions.is_empty(),
            marker: header.marker,
            payload_type: pt,
            sequence_number: seq,
            timestamp: ts,
            ssrc: self.ssrc,
            csrc: Vec::new(),
            extension_profile: if extensions.is_empty() {
                0
            } else {
                EXTENSION_PROFILE_ONE_BYTE
            },
            extensions,
            extensions_padding: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn header(seq: u16, ts: u32, ssrc: u32) -> Header {
        Header {
            version: 2,
            payload_type: 96,
            sequence_number: seq,
            timestamp: ts,
            ssrc,
            ..Default::default()
        }
    }

    #[test]
    fn layer_switch_waits_for_keyframe_and_keeps_numbering_continuous() {
        let t0 = Instant::now();
        let mut s = OutStream::new(0, true, 7, vec![(96, 100)], None, 90_000);
        s.target = Some(0);
        // layer 0 delta frames are dropped until its keyframe
        assert_eq!(
            s.accept(0, &header(10, 1000, 1), || false, t0),
            Verdict::Drop
        );
        assert_eq!(
            s.accept(0, &header(11, 1000, 1), || true, t0),
            Verdict::Switched
        );
        let h = s.rewrite(&header(11, 1000, 1), None, t0).unwrap();
        assert_eq!((h.ssrc, h.payload_type, h.sequence_number), (7, 100, 11));
        let h = s.rewrite(&header(12, 4000, 1), None, t0).unwrap();
        assert_eq!(h.sequence_number, 12);
        // ask for layer 2: layer 0 keeps flowing until layer 2's keyframe
        s.target = Some(2);
        assert_eq!(
            s.accept(2, &header(500, 77, 3), || false, t0),
            Verdict::Drop
        );
        assert_eq!(
            s.accept(0, &header(13, 7000, 1), || false, t0),
            Verdict::Forward
        );
        s.rewrite(&header(13, 7000, 1), None, t0).unwrap();
        let t1 = t0 + Duration::from_millis(10);
        assert_eq!(
            s.accept(2, &header(501, 80, 3), || true, t1),
            Verdict::Switched
        );
        let h = s.rewrite(&header(501, 80, 3), None, t1).unwrap();
        assert_eq!(h.sequence_number, 14);
        assert_eq!(h.timestamp, 7000 + 900);
        assert_eq!(
            s.accept(0, &header(14, 10000, 1), || true, t1),
            Verdict::Drop
        );
        let h = s.rewrite(&header(502, 80, 3), None, t1).unwrap();
        assert_eq!(h.sequence_number, 15);
        // an unknown payload type is not forwarded
        let mut odd = header(503, 80, 3);
        odd.payload_type = 120;
        assert!(s.rewrite(&odd, None, t1).is_none());
    }

    #[test]
    fn audio_level_is_renumbered_and_others_dropped() {
        let t0 = Instant::now();
        let mut s = OutStream::new(0, false, 9, vec![(111, 109)], Some(3), 48_000);
        let mut h = header(1, 960, 5);
        h.payload_type = 111;
        h.set_extension(1, bytes::Bytes::from_static(&[0x9e]))
            .unwrap();
        h.set_extension(4, bytes::Bytes::from_static(b"0")).unwrap();
        assert_eq!(s.accept(0, &h, || false, t0), Verdict::Forward);
        let out = s.rewrite(&h, Some(1), t0).unwrap();
        assert_eq!(out.extensions.len(), 1);
        assert_eq!(out.get_extension(3).as_deref(), Some(&[0x9e][..]));
        assert_eq!(out.payload_type, 109);
    }
}
