//! The media bridge's command/event API, as the focus drives it. The focus decides, the
//! bridge obeys: one endpoint (peer connection) per Jingle session; a participant's own
//! session publishes, every other session carries one publisher's media to one subscriber.
//!
//! These types mirror the `bridge` crate's API, which the runtime drives; the focus itself
//! never runs media.

/// One peer connection on the bridge, one per Jingle session; chosen by the focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(pub u64);

/// One conference on the bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub u64);

/// One participant of a conference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u64);

/// What the focus asks of the bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// A participant's own session: answer its SDP offer (receive only) and forward what it
    /// sends to the room's subscribers of it.
    Publish {
        endpoint: EndpointId,
        room: RoomId,
        participant: ParticipantId,
        offer: String,
    },
    /// A session carrying `publisher`'s media to `subscriber`: the bridge makes the offer.
    Subscribe {
        endpoint: EndpointId,
        room: RoomId,
        subscriber: ParticipantId,
        publisher: ParticipantId,
    },
    /// The subscriber's SDP answer to a `Subscribe` offer.
    Answer {
        endpoint: EndpointId,
        answer: String,
    },
    /// The largest video the subscriber wants on this endpoint (tile height, px; 0 = none).
    Constrain {
        endpoint: EndpointId,
        max_height: u32,
    },
    /// End the peer connection and free everything it holds.
    Close { endpoint: EndpointId },
}

/// Why an endpoint closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The focus asked for it.
    Closed,
    /// ICE consent lost, DTLS failed, or it never connected.
    Failed(String),
}

/// What the bridge tells the focus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The SDP answer to a `Publish`.
    Answer { endpoint: EndpointId, sdp: String },
    /// The SDP offer for a `Subscribe`.
    Offer { endpoint: EndpointId, sdp: String },
    /// ICE and DTLS are up.
    Connected { endpoint: EndpointId },
    /// The endpoint is gone.
    Closed {
        endpoint: EndpointId,
        reason: CloseReason,
    },
    /// A command was refused (bad SDP, an ssrc in use, a limit); the endpoint does not exist.
    Refused { endpoint: EndpointId, error: String },
    /// The room's dominant speaker changed.
    DominantSpeaker {
        room: RoomId,
        participant: Option<ParticipantId>,
    },
}
