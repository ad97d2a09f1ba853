#![no_main]
//! SDP text -> Jingle: never panics; whatever it accepts must round-trip.

use libfuzzer_sys::fuzz_target;
use sdp_map::{Session, ToJingle, ToSdp};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let opts = ToJingle { sid: "fuzz".into(), ..ToJingle::default() };
    let _ = sdp_map::sdp_to_jingle(text, &opts);
    if let Ok(s) = Session::parse_sdp(text) {
        let again = Session::parse_sdp(&s.to_sdp()).expect("written SDP parses");
        let xml = again.to_jingle_xml(&opts);
        sdp_map::jingle::parse_xml(&xml).expect("written XML parses");
        let _ = Session::from_jingle_xml(&xml, &ToSdp::default());
    }
});
