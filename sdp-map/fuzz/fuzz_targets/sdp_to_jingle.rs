#![no_main]
//! SDP text -> Jingle: never panics; whatever it accepts must round-trip.

use libfuzzer_sys::fuzz_target;
use sdp_map::{Action, Jingle, Session, ToSdp};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let envelope = Jingle::new(Action::SessionInitiate, "fuzz");
    let _ = sdp_map::sdp_to_jingle(text, envelope.clone());
    if let Ok(s) = Session::parse_sdp(text) {
        let again = Session::parse_sdp(&s.to_sdp()).expect("written SDP parses");
        let xml = Jingle { session: again, ..envelope }.to_xml();
        sdp_map::jingle::parse_xml(&xml).expect("written XML parses");
        let _ = Jingle::parse(&xml, &ToSdp::default());
    }
});
