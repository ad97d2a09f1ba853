#![no_main]
//! Jingle XML -> SDP: never panics; whatever it accepts gives parseable SDP.

use libfuzzer_sys::fuzz_target;
use sdp_map::{Session, ToSdp};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(sdp) = sdp_map::jingle_to_sdp(text, &ToSdp::default()) {
        Session::parse_sdp(&sdp).expect("written SDP parses");
    }
    let _ = sdp_map::transport_info_to_candidates(text);
});
