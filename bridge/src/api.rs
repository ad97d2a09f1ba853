//! The command/event API between the conference focus and the bridge.

use std::fmt;

/// One Jingle session, that is one peer connection; chosen by the focus, unique per bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(pub u64);

/// A conference (one MUC room's call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub u64);

/// A participant of a room (one occupant's full JID, as the focus numbers them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u64);

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "endpoint {}", self.0)
    }
}

/// What the focus asks of the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A participant's own session: answer its SDP offer (recvonly); what it sends is forwarded
    /// to the room's subscribers of it.
    Publish {
        endpoint: EndpointId,
        room: RoomId,
        participant: ParticipantId,
        offer: String,
    },
    /// A session that carries `publisher`'s media to `subscriber`: the bridge makes the SDP
    /// offer (sendonly).
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
    /// The largest video the subscriber wants on this endpoint (its tile height in px;
    /// 0 = no video now).
    Constrain {
        endpoint: EndpointId,
        max_height: u32,
    },
    /// End the peer connection and free everything it holds.
    Close { endpoint: EndpointId },
}

/// What the bridge reports to the focus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The SDP answer to a `Publish` offer.
    Answer { endpoint: EndpointId, sdp: String },
    /// The SDP offer of a `Subscribe`.
    Offer { endpoint: EndpointId, sdp: String },
    /// ICE and DTLS are up.
    Connected { endpoint: EndpointId },
    /// The endpoint is gone, with everything it held.
    Closed {
        endpoint: EndpointId,
        reason: CloseReason,
    },
    /// A command was refused; nothing changed.
    Refused {
        endpoint: EndpointId,
        error: RefuseError,
    },
    /// The room's dominant speaker changed (`None`: nobody publishes audio any more).
    DominantSpeaker {
        room: RoomId,
        participant: Option<ParticipantId>,
    },
}

/// Why an endpoint closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The focus asked for it ([`Command::Close`]).
    Requested,
    /// ICE consent was lost, DTLS failed, or the peer never connected in time.
    Failed,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefuseError {
    #[error("malformed or unusable SDP: {0}")]
    BadSdp(String),
    #[error("ssrc {0} is already used by another participant")]
    SsrcInUse(u32),
    #[error("too many media sections ({count}, at most {max})")]
    TooManyContents { count: usize, max: usize },
    #[error("too many tracks of one kind ({count}, at most {max})")]
    TooManyTracks { count: usize, max: usize },
    #[error("unknown endpoint")]
    UnknownEndpoint,
    #[error("endpoint id already in use")]
    EndpointExists,
    #[error("the publisher has no publishing endpoint in this room")]
    UnknownPublisher,
    #[error("a participant cannot subscribe to itself")]
    OwnMedia,
    #[error("room is full ({max} participants)")]
    RoomFull { max: usize },
    #[error("too many endpoints ({max})")]
    TooManyEndpoints { max: usize },
    #[error("the participant already publishes in this room")]
    AlreadyPublishing,
    #[error("the command does not fit this endpoint's state")]
    WrongState,
    #[error("peer connection error: {0}")]
    Rtc(String),
}

/// Limits that protect the bridge and the other participants from one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Publishing participants per room.
    pub participants_per_room: usize,
    /// Media sections (m-lines) in one publishing offer.
    pub contents_per_endpoint: usize,
    /// Audio or video tracks of one kind a participant publishes (a screen share is a second
    /// video track).
    pub tracks_per_kind: usize,
    /// Peer connections in the whole bridge.
    pub endpoints: usize,
    /// Bitrate a publisher may send, in bit/s, advertised in the answer (`b=AS`/TIAS) and
    /// enforced by dropping what goes over it.
    pub publisher_bitrate: u32,
    /// Packets a participant's endpoint may send per second before the rest is dropped.
    pub packets_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            participants_per_room: 16,
            contents_per_endpoint: 4,
            tracks_per_kind: 2,
            endpoints: 4096,
            publisher_bitrate: 4_000_000,
            packets_per_second: 2_000,
        }
    }
}

/// Counts for tests and metrics; everything returns to zero when every endpoint has closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BridgeStats {
    pub endpoints: usize,
    pub connected_endpoints: usize,
    pub rooms: usize,
    pub publishers: usize,
    /// (subscribing endpoint, kind) pairs that currently carry media.
    pub forwarded_streams: usize,
    /// Demultiplexing entries (ufrags and remote addresses).
    pub routes: usize,
    /// Totals since start (they do not return to zero).
    pub packets_forwarded: u64,
    pub bytes_forwarded: u64,
    pub keyframe_requests_relayed: u64,
    pub datagrams_dropped: u64,
}
