//! What the bridge reads from RTP without decoding media: keyframes, VP8 picture size, the
//! RFC 6464 audio level.

/// The video codecs the bridge can forward; it must find keyframes in them to switch layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VideoCodec {
    Vp8,
    Vp9,
    H264,
    Av1,
}

impl VideoCodec {
    pub(crate) fn from_mime(mime: &str) -> Option<Self> {
        let sub = mime.rsplit('/').next()?;
        if sub.eq_ignore_ascii_case("VP8") {
            Some(Self::Vp8)
        } else if sub.eq_ignore_ascii_case("VP9") {
            Some(Self::Vp9)
        } else if sub.eq_ignore_ascii_case("H264") {
            Some(Self::H264)
        } else if sub.eq_ignore_ascii_case("AV1") {
            Some(Self::Av1)
        } else {
            None
        }
    }
}

/// Whether this packet starts a keyframe: a layer switch may only happen here.
pub(crate) fn is_keyframe_start(codec: VideoCodec, payload: &[u8]) -> bool {
    match codec {
        VideoCodec::Vp8 => vp8_keyframe(payload).is_some(),
        VideoCodec::Vp9 => vp9_keyframe_start(payload),
        VideoCodec::H264 => h264_has_idr_or_sps(payload),
        VideoCodec::Av1 => av1_new_sequence(payload),
    }
}

/// The VP8 payload after the payload descriptor (RFC 7741 §4.2), if this packet starts a
/// partition 0.
fn vp8_frame_start(payload: &[u8]) -> Option<&[u8]> {
    let b0 = *payload.first()?;
    let start = b0 & 0x10 != 0;
    let partition = b0 & 0x0f;
    if !start || partition != 0 {
        return None;
    }
    let mut i = 1;
    if b0 & 0x80 != 0 {
        let x = *payload.get(i)?;
        i += 1;
        if x & 0x80 != 0 {
            // picture id, 7 or 15 bits
            let m = *payload.get(i)?;
            i += if m & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            i += 1; // TID/Y/KEYIDX
        }
    }
    payload.get(i..)
}

/// For a packet that starts a VP8 keyframe: the picture's (width, height) (RFC 6386 §9.1).
pub(crate) fn vp8_keyframe(payload: &[u8]) -> Option<(u16, u16)> {
    let frame = vp8_frame_start(payload)?;
    // frame tag: bit 0 of the first byte is 0 for a keyframe
    if frame.len() < 10 || frame[0] & 0x01 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let height = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((width, height))
}

/// VP9 (RFC 9628 §4.2): start of a frame (B) that is not inter-predicted (P = 0), base
/// spatial layer.
fn vp9_keyframe_start(payload: &[u8]) -> bool {
    let Some(&b0) = payload.first() else {
        return false;
    };
    let inter_predicted = b0 & 0x40 != 0;
    let begin = b0 & 0x08 != 0;
    if inter_predicted || !begin {
        return false;
    }
    // with layer indices (L), the spatial id must be 0
    if b0 & 0x20 != 0 {
        let mut i = 1;
        if b0 & 0x80 != 0 {
            let Some(&m) = payload.get(i) else {
                return false;
            };
            i += if m & 0x80 != 0 { 2 } else { 1 };
        }
        let Some(&layers) = payload.get(i) else {
            return false;
        };
        return (layers >> 1) & 0x07 == 0;
    }
    true
}

/// H.264 (RFC 6184): an IDR slice or SPS in a single NAL unit, STAP-A, or the first FU-A
/// fragment.
fn h264_has_idr_or_sps(payload: &[u8]) -> bool {
    let Some(&b0) = payload.first() else {
        return false;
    };
    let key = |nal_type: u8| nal_type == 5 || nal_type == 7;
    match b0 & 0x1f {
        24 => {
            // STAP-A: 16-bit sizes then NAL units
            let mut i = 1;
            while i + 2 < payload.len() {
                let size = u16::from_be_bytes([payload[i], payload[i + 1]]) as usize;
                if key(payload[i + 2] & 0x1f) {
                    return true;
                }
                i += 2 + size;
            }
            false
        }
        28 => payload
            .get(1)
            .is_some_and(|&fu| fu & 0x80 != 0 && key(fu & 0x1f)),
        t => key(t),
    }
}

/// AV1 (RTP payload format §4.4): the N bit marks the first packet of a coded video sequence.
fn av1_new_sequence(payload: &[u8]) -> bool {
    payload.first().is_some_and(|&b| b & 0x08 != 0)
}

/// RFC 6464: the level in -dBov (0 loudest, 127 silence) and the voice-activity flag.
pub(crate) fn audio_level(ext: &[u8]) -> Option<(u8, bool)> {
    let b = *ext.first()?;
    Some((b & 0x7f, b & 0x80 != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VP8 keyframe packet as Chromium sends it: extended descriptor with a 15-bit picture id.
    fn vp8_key(width: u16, height: u16) -> Vec<u8> {
        let mut p = vec![0x90, 0x80, 0x81, 0x23];
        p.extend_from_slice(&[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]);
        p.extend_from_slice(&width.to_le_bytes());
        p.extend_from_slice(&height.to_le_bytes());
        p.extend_from_slice(&[0; 8]);
        p
    }

    #[test]
    fn vp8_keyframes_and_sizes() {
        assert_eq!(vp8_keyframe(&vp8_key(1280, 720)), Some((1280, 720)));
        assert!(is_keyframe_start(VideoCodec::Vp8, &vp8_key(320, 180)));
        let mut delta = vp8_key(320, 180);
        delta[4] |= 0x01; // inter frame
        assert!(!is_keyframe_start(VideoCodec::Vp8, &delta));
        let mut middle = vp8_key(320, 180);
        middle[0] &= !0x10; // not the start of a partition
        assert!(!is_keyframe_start(VideoCodec::Vp8, &middle));
        assert!(!is_keyframe_start(VideoCodec::Vp8, &[]));
        assert!(!is_keyframe_start(VideoCodec::Vp8, &[0x90, 0x80]));
    }

    #[test]
    fn h264_vp9_av1_keyframes() {
        let cases: &[(VideoCodec, &[u8], bool)] = &[
            (VideoCodec::H264, &[0x65, 0x88], true),             // IDR
            (VideoCodec::H264, &[0x41, 0x9a], false),            // non-IDR slice
            (VideoCodec::H264, &[0x78, 0, 2, 0x67, 0x42], true), // STAP-A with SPS
            (VideoCodec::H264, &[0x7c, 0x85, 0x88], true),       // FU-A start of IDR
            (VideoCodec::H264, &[0x7c, 0x05, 0x88], false),      // FU-A middle
            (VideoCodec::Vp9, &[0x08], true),                    // B, not P
            (VideoCodec::Vp9, &[0x48], false),                   // P
            (VideoCodec::Av1, &[0x08], true),
            (VideoCodec::Av1, &[0x00], false),
            (VideoCodec::H264, &[], false),
        ];
        for (codec, payload, key) in cases {
            assert_eq!(
                is_keyframe_start(*codec, payload),
                *key,
                "{codec:?} {payload:?}"
            );
        }
    }

    #[test]
    fn levels() {
        assert_eq!(audio_level(&[0x80 | 30]), Some((30, true)));
        assert_eq!(audio_level(&[127]), Some((127, false)));
        assert_eq!(audio_level(&[]), None);
    }
}
