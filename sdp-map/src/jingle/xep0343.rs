//! XEP-0343: Signaling WebRTC datachannels in Jingle — `<sctpmap number protocol streams/>`
//! inside the ICE-UDP `<transport>`.
//!
//! Modern SDP (`UDP/DTLS/SCTP webrtc-datachannel` + `a=sctp-port`) and legacy SDP
//! (`DTLS/SCTP 5000` + `a=sctpmap`) both map to `<sctpmap>`: its `number` is the
//! SCTP port. Which SDP form is written back is decided by the `m=` protocol.
//! `max-message-size` rides as an extra attribute of `<sctpmap>`.

use super::{opt_num, req_num, req_token, Element, JingleError, Writer, NS_DTLS_SCTP};
use crate::model::{Content, Sctp, SctpMap};

/// Writes `<sctpmap>` when the content has SCTP parameters.
pub fn write(w: &mut Writer, c: &Content) {
    let Some(sctp) = c.sctp.as_ref() else {
        return;
    };
    let (number, protocol, streams) = match (&sctp.sctpmap, sctp.port) {
        (Some(m), _) => (Some(m.number), m.protocol.as_str(), m.streams),
        (None, Some(p)) => (Some(p), "webrtc-datachannel", None),
        (None, None) => (None, "webrtc-datachannel", None),
    };
    w.start("sctpmap", NS_DTLS_SCTP);
    if let Some(n) = number {
        w.attr_num("number", n);
    }
    w.attr("protocol", protocol);
    if let Some(s) = streams {
        w.attr_num("streams", s);
    }
    if let Some(m) = sctp.max_message_size {
        w.attr_num("max-message-size", m);
    }
    w.end();
}

/// Reads `<sctpmap>` into `c.sctp` (as legacy sctpmap; see [`finish`]).
pub fn read(e: &Element<'_>, c: &mut Content) -> Result<(), JingleError> {
    let sctp = c.sctp.get_or_insert_with(Sctp::default);
    sctp.max_message_size = opt_num(e, "sctpmap", "max-message-size")?;
    if e.attr("number").is_some() {
        sctp.sctpmap = Some(SctpMap {
            number: req_num(e, "sctpmap", "number")?,
            protocol: req_token(e, "sctpmap", "protocol")?.to_string(),
            streams: opt_num(e, "sctpmap", "streams")?,
        });
    }
    Ok(())
}

/// After the content is read: unless the `m=` protocol is legacy `DTLS/SCTP`,
/// the sctpmap number becomes `a=sctp-port`.
pub fn finish(c: &mut Content) {
    if c.protocol == "DTLS/SCTP" {
        return;
    }
    if let Some(sctp) = c.sctp.as_mut() {
        if let Some(m) = sctp.sctpmap.take() {
            sctp.port = Some(m.number);
        }
    }
}
