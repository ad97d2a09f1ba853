//! The media bridge's command/event API, as the focus drives it (the `bridge` crate's own
//! types). The focus decides, the bridge obeys: one endpoint (peer connection) per Jingle
//! session; a participant's own session publishes, every other session carries one
//! publisher's media to one subscriber. The runtime carries commands and events between
//! them; the focus itself never touches media.

pub use bridge::{
    BridgeStats, CloseReason, Command, EndpointId, Event, ParticipantId, RefuseError, RoomId,
};
