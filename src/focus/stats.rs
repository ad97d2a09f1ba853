//! The component's counts, for operators and for tests that check a call leaves nothing
//! behind: `<query xmlns='urn:xmpp:jingle-focus:stats:0'/>` at the domain, answered to users of
//! the server the component is attached to, with XEP-0039-style `<stat name value/>` items
//! from the focus and from the media bridge.

use minidom::Element;

use super::bridge::BridgeStats;

/// This project's namespace for the counts.
pub const NS: &str = "urn:xmpp:jingle-focus:stats:0";

/// What the focus itself holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FocusStats {
    pub rooms: usize,
    pub participants: usize,
    pub sessions: usize,
    pub pending_iqs: usize,
    pub endpoints: usize,
}

/// The answer's payload.
pub fn payload(focus: FocusStats, bridge: &BridgeStats) -> Element {
    let rows: [(&str, u64); 11] = [
        ("rooms", focus.rooms as u64),
        ("participants", focus.participants as u64),
        ("sessions", focus.sessions as u64),
        ("pending-iqs", focus.pending_iqs as u64),
        ("endpoints", focus.endpoints as u64),
        ("bridge/endpoints", bridge.endpoints as u64),
        (
            "bridge/connected-endpoints",
            bridge.connected_endpoints as u64,
        ),
        ("bridge/rooms", bridge.rooms as u64),
        ("bridge/publishers", bridge.publishers as u64),
        ("bridge/routes", bridge.routes as u64),
        ("bridge/packets-forwarded", bridge.packets_forwarded),
    ];
    Element::builder("query", NS)
        .append_all(rows.iter().map(|(name, value)| {
            Element::builder("stat", NS)
                .attr(super::xml_name("name"), *name)
                .attr(super::xml_name("value"), value.to_string())
                .build()
        }))
        .build()
}
